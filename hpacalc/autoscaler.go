package hpacalc

import (
	"fmt"
	"time"
)

// Spec is an HPA with one External metric and an AverageValue target, the
// kind queuescale's HPAs are.
type Spec struct {
	MinReplicas, MaxReplicas int32
	// TargetAverageValueMilli is the per-pod target in milli-units.
	TargetAverageValueMilli int64
	Tolerance               Tolerance
	// Behavior is spec.behavior as defaulted; nil is an HPA without
	// behavior, which the controller treats with its legacy rules and
	// DownscaleStabilization.
	Behavior *Behavior
	// DownscaleStabilization is the controller's
	// --horizontal-pod-autoscaler-downscale-stabilization (used only when
	// Behavior is nil).
	DownscaleStabilization time.Duration
}

// Validate reports fields the controller would reject.
func (s Spec) Validate() error {
	switch {
	case s.MinReplicas < 0:
		return fmt.Errorf("minReplicas %d is negative", s.MinReplicas)
	case s.MaxReplicas < 1:
		return fmt.Errorf("maxReplicas %d must be at least 1", s.MaxReplicas)
	case s.MaxReplicas < s.MinReplicas:
		return fmt.Errorf("maxReplicas %d is below minReplicas %d", s.MaxReplicas, s.MinReplicas)
	case s.TargetAverageValueMilli <= 0:
		return fmt.Errorf("target average value %dm must be positive", s.TargetAverageValueMilli)
	}
	return nil
}

// Decision is the outcome of one reconcile.
type Decision struct {
	// Desired is the replica count the controller writes when Rescale.
	Desired int32
	Rescale bool
	// Metric is the metric's own proposal, before normalization (-1 when
	// the controller did not read the metric).
	Metric int32
}

// Autoscaler is the HPA controller's memory of one HPA: past
// recommendations and scale events. It holds no clock; every call gets the
// time. The zero value is ready to use.
type Autoscaler struct {
	recs         []Recommendation
	initialized  bool
	up, down     []ScaleEvent
	scaledToZero bool
}

// Reconcile is one pass of the controller's reconcileAutoscaler for an HPA
// whose target has current replicas and whose metric reads usageMilli.
// When current exceeds MaxReplicas the answer is MaxReplicas at once, with
// neither rate limits nor stabilization, as upstream does.
func (a *Autoscaler) Reconcile(now time.Time, spec Spec, current int32, usageMilli int64) Decision {
	if !a.initialized {
		a.recs = []Recommendation{{Replicas: current, At: now}}
		a.initialized = true
	}
	d := Decision{Metric: -1}
	compute := true
	switch {
	case current == 0:
		// Scaling from zero happens only after the HPA itself scaled to zero.
		if !a.scaledToZero {
			return Decision{Desired: 0, Metric: -1}
		}
	case current > spec.MaxReplicas:
		d.Desired, compute = spec.MaxReplicas, false
	case current < spec.MinReplicas:
		d.Desired, compute = spec.MinReplicas, false
	}
	if compute {
		d.Metric = AverageValueReplicas(current, usageMilli, spec.TargetAverageValueMilli, spec.Tolerance)
		desired := max(d.Metric, 0)
		if spec.Behavior == nil {
			desired = a.normalize(now, spec, current, desired)
		} else {
			desired = a.normalizeWithBehavior(now, spec, current, desired)
		}
		if current == 0 && spec.MinReplicas != 0 && desired < spec.MinReplicas {
			desired = spec.MinReplicas
		}
		d.Desired = desired
	}
	d.Rescale = d.Desired != current
	if d.Rescale {
		a.storeEvent(now, spec, current, d.Desired)
		a.scaledToZero = current > 0 && d.Desired == 0 && spec.MinReplicas == 0
	}
	return d
}

func (a *Autoscaler) normalize(now time.Time, spec Spec, current, desired int32) int32 {
	cutoff := now.Add(-spec.DownscaleStabilization)
	a.recs = pruneRecs(a.recs, func(r Recommendation) bool { return r.At.Before(cutoff) })
	stabilized := LegacyStabilize(now, spec.DownscaleStabilization, a.recs, desired)
	a.recs = append(a.recs, Recommendation{Replicas: desired, At: now})
	out, _ := ConvertWithRules(current, stabilized, spec.MinReplicas, spec.MaxReplicas)
	return out
}

func (a *Autoscaler) normalizeWithBehavior(now time.Time, spec Spec, current, desired int32) int32 {
	b := *spec.Behavior
	stabilized := StabilizeWithBehavior(now, current, desired, a.recs, b)
	upCutoff := now.Add(-time.Duration(b.ScaleUp.StabilizationWindowSeconds) * time.Second)
	downCutoff := now.Add(-time.Duration(b.ScaleDown.StabilizationWindowSeconds) * time.Second)
	a.recs = pruneRecs(a.recs, func(r Recommendation) bool { return r.At.Before(upCutoff) && r.At.Before(downCutoff) })
	a.recs = append(a.recs, Recommendation{Replicas: desired, At: now})
	out, _ := ConvertWithBehaviorRate(now, current, stabilized, spec.MinReplicas, spec.MaxReplicas, a.up, a.down, b)
	return out
}

// storeEvent remembers a rescale for the rate policies; an HPA without
// behavior keeps none (upstream storeScaleEvent).
func (a *Autoscaler) storeEvent(now time.Time, spec Spec, prev, next int32) {
	if spec.Behavior == nil {
		return
	}
	if next > prev {
		cutoff := now.Add(-time.Duration(longestPeriod(spec.Behavior.ScaleUp)) * time.Second)
		a.up = pruneEvents(a.up, cutoff)
		a.up = append(a.up, ScaleEvent{Change: next - prev, At: now})
		return
	}
	cutoff := now.Add(-time.Duration(longestPeriod(spec.Behavior.ScaleDown)) * time.Second)
	a.down = pruneEvents(a.down, cutoff)
	a.down = append(a.down, ScaleEvent{Change: prev - next, At: now})
}

func longestPeriod(r ScalingRules) int32 {
	var p int32
	for _, pol := range r.Policies {
		p = max(p, pol.PeriodSeconds)
	}
	return p
}

// pruneEvents drops events that can no longer count in any period.
func pruneEvents(evs []ScaleEvent, cutoff time.Time) []ScaleEvent {
	out := evs[:0]
	for _, e := range evs {
		if !e.At.Before(cutoff) {
			out = append(out, e)
		}
	}
	return out
}

func pruneRecs(recs []Recommendation, old func(Recommendation) bool) []Recommendation {
	out := recs[:0]
	for _, r := range recs {
		if !old(r) {
			out = append(out, r)
		}
	}
	return out
}
