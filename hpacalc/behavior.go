package hpacalc

import (
	"math"
	"time"
)

// The arithmetic below follows pkg/controller/podautoscaler/horizontal.go of
// Kubernetes v1.37: the scale-down stabilization window, the scale-up limit of
// an HPA without behavior, and the behavior's stabilization and rate policies.
// Times are passed in, so the functions stay pure.

// DefaultSyncPeriod is the controller's --horizontal-pod-autoscaler-sync-period.
const DefaultSyncPeriod = 15 * time.Second

// DefaultDownscaleStabilization is the controller's
// --horizontal-pod-autoscaler-downscale-stabilization.
const DefaultDownscaleStabilization = 5 * time.Minute

// PolicyType is the kind of a scaling policy.
type PolicyType string

// Policy types, as in autoscaling/v2.
const (
	PodsPolicy    PolicyType = "Pods"
	PercentPolicy PolicyType = "Percent"
)

// SelectPolicy picks among several policies.
type SelectPolicy string

// Policy selections, as in autoscaling/v2.
const (
	MaxChange SelectPolicy = "Max"
	MinChange SelectPolicy = "Min"
	Disabled  SelectPolicy = "Disabled"
)

// ScalingPolicy allows a change of Value pods (or percent) per PeriodSeconds.
type ScalingPolicy struct {
	Type          PolicyType
	Value         int32
	PeriodSeconds int32
}

// ScalingRules is one direction of an HPA's behavior.
type ScalingRules struct {
	StabilizationWindowSeconds int32
	SelectPolicy               SelectPolicy
	Policies                   []ScalingPolicy
}

// Behavior is an HPA's spec.behavior with every field filled in, as the API
// server's defaulting leaves it.
type Behavior struct {
	ScaleUp, ScaleDown ScalingRules
}

// DefaultScaleUpRules are the API defaults for behavior.scaleUp: no
// stabilization, the larger of +100% and +4 pods per 15 s.
func DefaultScaleUpRules() ScalingRules {
	return ScalingRules{
		StabilizationWindowSeconds: 0,
		SelectPolicy:               MaxChange,
		Policies: []ScalingPolicy{
			{Type: PercentPolicy, Value: 100, PeriodSeconds: 15},
			{Type: PodsPolicy, Value: 4, PeriodSeconds: 15},
		},
	}
}

// DefaultScaleDownRules are the API defaults for behavior.scaleDown: the
// controller's stabilization window (300 s) and -100% per 15 s.
func DefaultScaleDownRules() ScalingRules {
	return ScalingRules{
		StabilizationWindowSeconds: int32(DefaultDownscaleStabilization / time.Second),
		SelectPolicy:               MaxChange,
		Policies:                   []ScalingPolicy{{Type: PercentPolicy, Value: 100, PeriodSeconds: 15}},
	}
}

// DefaultBehavior is spec.behavior as defaulted by the API server.
func DefaultBehavior() Behavior {
	return Behavior{ScaleUp: DefaultScaleUpRules(), ScaleDown: DefaultScaleDownRules()}
}

// ScaleEvent is a past rescale: Change replicas (always positive; the
// direction is the list it is kept in) at At.
type ScaleEvent struct {
	Change int32
	At     time.Time
}

// Recommendation is a past metric recommendation (before normalization).
type Recommendation struct {
	Replicas int32
	At       time.Time
}

// Limit names what bounded a normalized replica count; the values are the
// reasons of the HPA's ScalingLimited condition.
type Limit string

// Limits, as the controller reports them.
const (
	DesiredWithinRange Limit = "DesiredWithinRange"
	ScaleUpLimited     Limit = "ScaleUpLimit"
	ScaleDownLimited   Limit = "ScaleDownLimit"
	TooManyReplicas    Limit = "TooManyReplicas"
	TooFewReplicas     Limit = "TooFewReplicas"
)

// ChangeInPeriod is the sum of the events' changes strictly after
// now - periodSeconds (upstream getReplicasChangePerPeriod).
func ChangeInPeriod(now time.Time, periodSeconds int32, events []ScaleEvent) int32 {
	cutoff := now.Add(-time.Duration(periodSeconds) * time.Second)
	var n int32
	for _, e := range events {
		if e.At.After(cutoff) {
			n += e.Change
		}
	}
	return n
}

// ScaleUpLimit is the most replicas the rules allow now (upstream
// calculateScaleUpLimitWithScalingRules). It may be below current when
// recent scale-ups used the whole allowance.
func ScaleUpLimit(now time.Time, current int32, up, down []ScaleEvent, rules ScalingRules) int32 {
	var result int32
	pick := func(a, b int32) int32 { return max(a, b) }
	switch rules.SelectPolicy {
	case Disabled:
		return current
	case MinChange:
		result = math.MaxInt32
		pick = func(a, b int32) int32 { return min(a, b) }
	default:
		result = math.MinInt32
	}
	for _, p := range rules.Policies {
		start := current - ChangeInPeriod(now, p.PeriodSeconds, up) + ChangeInPeriod(now, p.PeriodSeconds, down)
		var proposed int32
		switch p.Type {
		case PodsPolicy:
			proposed = start + p.Value
		case PercentPolicy:
			proposed = int32(math.Ceil(float64(start) * (1 + float64(p.Value)/100)))
		}
		result = pick(result, proposed)
	}
	return result
}

// ScaleDownLimit is the fewest replicas the rules allow now (upstream
// calculateScaleDownLimitWithBehaviors).
func ScaleDownLimit(now time.Time, current int32, up, down []ScaleEvent, rules ScalingRules) int32 {
	var result int32
	pick := func(a, b int32) int32 { return min(a, b) }
	switch rules.SelectPolicy {
	case Disabled:
		return current
	case MinChange:
		result = math.MinInt32
		pick = func(a, b int32) int32 { return max(a, b) }
	default:
		result = math.MaxInt32
	}
	for _, p := range rules.Policies {
		start := current - ChangeInPeriod(now, p.PeriodSeconds, up) + ChangeInPeriod(now, p.PeriodSeconds, down)
		var proposed int32
		switch p.Type {
		case PodsPolicy:
			proposed = start - p.Value
		case PercentPolicy:
			proposed = int32(float64(start) * (1 - float64(p.Value)/100))
		}
		result = pick(result, proposed)
	}
	return result
}

// LegacyScaleUpLimit is the scale-up bound of an HPA without behavior:
// twice the current replicas, at least 4 (upstream calculateScaleUpLimit).
func LegacyScaleUpLimit(current int32) int32 {
	return int32(math.Max(2.0*float64(current), 4.0))
}

// LegacyStabilize is the recommendation an HPA without behavior acts on: the
// highest of desired and the recommendations not older than window (upstream
// stabilizeRecommendation; a sample exactly window old still counts).
func LegacyStabilize(now time.Time, window time.Duration, recs []Recommendation, desired int32) int32 {
	cutoff := now.Add(-window)
	out := desired
	for _, r := range recs {
		if !r.At.Before(cutoff) && r.Replicas > out {
			out = r.Replicas
		}
	}
	return out
}

// ConvertWithRules bounds a stabilized recommendation for an HPA without
// behavior (upstream convertDesiredReplicasWithRules).
func ConvertWithRules(current, desired, minReplicas, maxReplicas int32) (int32, Limit) {
	upLimit := LegacyScaleUpLimit(current)
	maxAllowed, reason := maxReplicas, TooManyReplicas
	if maxReplicas > upLimit {
		maxAllowed, reason = upLimit, ScaleUpLimited
	}
	switch {
	case desired < minReplicas:
		return minReplicas, TooFewReplicas
	case desired > maxAllowed:
		return maxAllowed, reason
	}
	return desired, DesiredWithinRange
}

// StabilizeWithBehavior is the recommendation an HPA with behavior acts on
// (upstream stabilizeRecommendationWithBehaviors): current replicas, raised
// to the lowest recommendation within the scale-up window and lowered to the
// highest within the scale-down window; desired itself counts in both.
func StabilizeWithBehavior(now time.Time, current, desired int32, recs []Recommendation, b Behavior) int32 {
	upCutoff := now.Add(-time.Duration(b.ScaleUp.StabilizationWindowSeconds) * time.Second)
	downCutoff := now.Add(-time.Duration(b.ScaleDown.StabilizationWindowSeconds) * time.Second)
	up, down := desired, desired
	for _, r := range recs {
		if r.At.After(upCutoff) {
			up = min(up, r.Replicas)
		}
		if r.At.After(downCutoff) {
			down = max(down, r.Replicas)
		}
	}
	rec := current
	if rec < up {
		rec = up
	}
	if rec > down {
		rec = down
	}
	return rec
}

// ConvertWithBehaviorRate bounds a stabilized recommendation by the
// behavior's rate policies and by min and max (upstream
// convertDesiredReplicasWithBehaviorRate).
func ConvertWithBehaviorRate(now time.Time, current, desired, minReplicas, maxReplicas int32, up, down []ScaleEvent, b Behavior) (int32, Limit) {
	switch {
	case desired > current:
		limit := max(ScaleUpLimit(now, current, up, down, b.ScaleUp), current)
		maxAllowed, reason := maxReplicas, TooManyReplicas
		if maxAllowed > limit {
			maxAllowed, reason = limit, ScaleUpLimited
		}
		if desired > maxAllowed {
			return maxAllowed, reason
		}
	case desired < current:
		limit := min(ScaleDownLimit(now, current, up, down, b.ScaleDown), current)
		minAllowed, reason := minReplicas, TooFewReplicas
		if minAllowed < limit {
			minAllowed, reason = limit, ScaleDownLimited
		}
		if desired < minAllowed {
			return minAllowed, reason
		}
	}
	return desired, DesiredWithinRange
}
