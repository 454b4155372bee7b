// Package plan is the coordinator's arithmetic: given a pool of capacity and
// tiers of workers in priority order, how many replicas may each lower tier
// have so the higher tiers' demand fits. It is pure (no I/O, no clock), so the
// controller, its tests and the simulator all run this same code.
package plan

import (
	"errors"
	"fmt"
	"math"
)

// Unlimited marks a pool dimension without a limit (a fixed budget that names
// only CPU, say).
const Unlimited int64 = math.MaxInt64

// Resources is an amount of capacity: CPU in millicores, memory in bytes, and
// a number of pods.
type Resources struct {
	MilliCPU    int64
	MemoryBytes int64
	Pods        int64
}

// Tier is one workload in priority order, as the planner sees it.
type Tier struct {
	// Name identifies the tier in the plan (the HPA's name).
	Name string
	// MinReplicas and MaxReplicas are the HPA's minimum and the user's own
	// maximum (not a cap the coordinator wrote earlier).
	MinReplicas, MaxReplicas int32
	// Desired is the replica count the tier's HPA would want now from its
	// metrics, before clamping to [MinReplicas, MaxReplicas].
	Desired int32
	// Current is the replica count the tier's scale target has now. An HPA
	// scales down only after its stabilization window (five minutes by
	// default), so until then the tier holds Current replicas whatever its
	// metrics say: counting them keeps that room from being handed to a
	// lower tier whose pods would only wait in Pending. Zero counts nothing.
	Current int32
	// PerReplica is what one replica requests (the pod template's requests;
	// Pods is normally 1). A zero dimension does not consume that resource.
	PerReplica Resources
}

// TierPlan is the planner's answer for one tier.
type TierPlan struct {
	Name string
	// Demand is the larger of Desired and Current, clamped to
	// [MinReplicas, MaxReplicas].
	Demand int32
	// Grant is the replicas the pool gives the tier: its demand, less what
	// does not fit after the demand of the tiers above it.
	Grant int32
	// Cap is the maxReplicas to write on the tier's HPA. It equals
	// MaxReplicas when the tier is not capped; the top tier is never capped.
	Cap int32
	// Capped reports Cap < MaxReplicas.
	Capped bool
	// Fit is how many replicas of this tier the pool has room for after the
	// demand above and the minimums below (before clamping to min and max).
	Fit int64
}

// Plan is the planner's answer for a whole policy.
type Plan struct {
	Tiers []TierPlan
	// Capacity is the pool the plan was made for.
	Capacity Resources
	// Granted is the sum of Grant × PerReplica over the tiers.
	Granted Resources
}

// ErrMinimumsExceedPool is returned (wrapped) when the tiers' minimum replicas
// alone do not fit the pool; nothing should be written then.
var ErrMinimumsExceedPool = errors.New("the tiers' minimum replicas alone exceed the pool")

// Validate reports tier definitions the planner cannot work with.
func Validate(tiers []Tier) error {
	var errs []error
	if len(tiers) < 2 {
		errs = append(errs, fmt.Errorf("need at least two tiers, got %d", len(tiers)))
	}
	seen := map[string]bool{}
	for i, t := range tiers {
		if seen[t.Name] {
			errs = append(errs, fmt.Errorf("tier %d (%s): named twice", i, t.Name))
		}
		seen[t.Name] = true
		if t.Current < 0 {
			errs = append(errs, fmt.Errorf("tier %d (%s): current replicas %d is negative", i, t.Name, t.Current))
		}
		if t.MinReplicas < 0 {
			errs = append(errs, fmt.Errorf("tier %d (%s): minReplicas %d is negative", i, t.Name, t.MinReplicas))
		}
		if t.MaxReplicas < t.MinReplicas {
			errs = append(errs, fmt.Errorf("tier %d (%s): maxReplicas %d is below minReplicas %d", i, t.Name, t.MaxReplicas, t.MinReplicas))
		}
		if t.PerReplica.MilliCPU < 0 || t.PerReplica.MemoryBytes < 0 || t.PerReplica.Pods < 0 {
			errs = append(errs, fmt.Errorf("tier %d (%s): negative per-replica requests %+v", i, t.Name, t.PerReplica))
		}
	}
	return errors.Join(errs...)
}

// Compute plans the tiers (highest priority first) over capacity.
//
// The top tier is granted its demand as far as the pool allows after the
// minimums of the tiers below; it is never capped. Each lower tier may grow
// into what is left after the demand of the tiers above it and the minimums
// of the tiers below it; that room, clamped to [MinReplicas, MaxReplicas], is
// its cap, and its grant is its demand up to that cap.
//
// Subtracting the higher tiers' demand rather than their grants keeps a lower
// tier waiting while a higher one still wants room it cannot get, and makes
// the caps monotone: more demand on any tier never raises the cap of any tier
// below it, whatever the replicas' shapes.
func Compute(capacity Resources, tiers []Tier) (Plan, error) {
	if err := Validate(tiers); err != nil {
		return Plan{}, err
	}
	minimums := make([]Resources, len(tiers)+1) // minimums[i] = Σ_{j>=i} min_j × per_j
	for i := len(tiers) - 1; i >= 0; i-- {
		minimums[i] = add(minimums[i+1], scale(tiers[i].PerReplica, int64(tiers[i].MinReplicas)))
	}
	if !fits(minimums[0], capacity) {
		return Plan{}, fmt.Errorf("%w: minimums need %s, pool has %s", ErrMinimumsExceedPool, minimums[0], capacity)
	}

	p := Plan{Capacity: capacity, Tiers: make([]TierPlan, len(tiers))}
	remaining := capacity
	for i, t := range tiers {
		room := sub(remaining, minimums[i+1])
		fit := fitCount(room, t.PerReplica)
		demand := clamp(int64(max(t.Desired, t.Current)), t.MinReplicas, t.MaxReplicas)
		tp := TierPlan{Name: t.Name, Demand: demand, Fit: fit, Cap: t.MaxReplicas}
		if i > 0 {
			tp.Cap = clamp(fit, t.MinReplicas, t.MaxReplicas)
			tp.Capped = tp.Cap < t.MaxReplicas
		}
		tp.Grant = min(demand, clamp(fit, t.MinReplicas, t.MaxReplicas))
		remaining = sub(remaining, scale(t.PerReplica, int64(demand)))
		p.Granted = add(p.Granted, scale(t.PerReplica, int64(tp.Grant)))
		p.Tiers[i] = tp
	}
	return p, nil
}

// fitCount is how many replicas of per fit in room.
func fitCount(room, per Resources) int64 {
	n := int64(math.MaxInt32)
	for _, d := range [][2]int64{{room.MilliCPU, per.MilliCPU}, {room.MemoryBytes, per.MemoryBytes}, {room.Pods, per.Pods}} {
		if d[1] > 0 && d[0] != Unlimited {
			n = min(n, max(d[0], 0)/d[1])
		}
	}
	return n
}

func clamp(n int64, lo, hi int32) int32 {
	return int32(min(max(n, int64(lo)), int64(hi)))
}

func fits(need, pool Resources) bool {
	return need.MilliCPU <= pool.MilliCPU && need.MemoryBytes <= pool.MemoryBytes && need.Pods <= pool.Pods
}

func scale(r Resources, n int64) Resources {
	return Resources{MilliCPU: r.MilliCPU * n, MemoryBytes: r.MemoryBytes * n, Pods: r.Pods * n}
}

func add(a, b Resources) Resources {
	return Resources{MilliCPU: a.MilliCPU + b.MilliCPU, MemoryBytes: a.MemoryBytes + b.MemoryBytes, Pods: a.Pods + b.Pods}
}

// sub subtracts b from a, leaving Unlimited dimensions unlimited.
func sub(a, b Resources) Resources {
	f := func(x, y int64) int64 {
		if x == Unlimited {
			return Unlimited
		}
		return x - y
	}
	return Resources{MilliCPU: f(a.MilliCPU, b.MilliCPU), MemoryBytes: f(a.MemoryBytes, b.MemoryBytes), Pods: f(a.Pods, b.Pods)}
}

// String prints resources the way Kubernetes users read them.
func (r Resources) String() string {
	dim := func(v int64, unit string) string {
		if v == Unlimited {
			return "unlimited"
		}
		return fmt.Sprintf("%d%s", v, unit)
	}
	return fmt.Sprintf("cpu=%s memory=%s pods=%s", dim(r.MilliCPU, "m"), dim(r.MemoryBytes, "B"), dim(r.Pods, ""))
}
