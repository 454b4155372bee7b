// Package sim is a deterministic discrete-event simulation of queue workers
// on a shared pool of nodes, scaled by one of several policies: static
// pools, plain HorizontalPodAutoscalers, HPAs with the priority coordinator,
// or the priority scaler queuescale comes from. The HPA arithmetic is
// hpacalc's and the coordinator's is coordinator/plan's, the same code the
// controllers run.
package sim

import (
	"errors"
	"fmt"
	"math"
	"slices"
)

// Policy names a scaling policy.
type Policy string

// The policies the simulator knows.
const (
	// Static runs each tier's StaticReplicas all day.
	Static Policy = "static"
	// HPA is one plain HPA per tier, pods without priority classes.
	HPA Policy = "hpa"
	// HPAPriority is one HPA per tier, with the tiers' pod priorities (so
	// the scheduler preempts), but no coordinator.
	HPAPriority Policy = "hpa-priority"
	// Coordinator is one HPA per tier, pod priorities, and the coordinator
	// as shipped writing the lower tiers' maxReplicas from coordinator/plan:
	// a tier's demand is the larger of its HPA's metric proposal and the
	// replicas its scale target has (plan.Tier.Current), so pods an HPA
	// still holds during its scale-down stabilization keep their room.
	Coordinator Policy = "coordinator"
	// CoordinatorMetricOnly is the coordinator's first version, kept for
	// comparison: a tier's demand is its HPA's metric proposal alone
	// (plan.Tier.Current left zero), so room an HPA still holds is handed to
	// the lower tiers, whose new pods then wait in Pending.
	CoordinatorMetricOnly Policy = "coordinator-metric-only"
	// PriorityScaler is the scaler queuescale comes from: one budget of
	// containers, strict priority, one step up or down per period.
	PriorityScaler Policy = "priority-scaler"
)

// AllPolicies lists the policies in report order.
var AllPolicies = []Policy{Static, HPA, HPAPriority, Coordinator, CoordinatorMetricOnly, PriorityScaler}

// ParsePolicy checks a policy name.
func ParsePolicy(s string) (Policy, error) {
	p := Policy(s)
	if slices.Contains(AllPolicies, p) {
		return p, nil
	}
	return "", fmt.Errorf("unknown policy %q (known: %v)", s, AllPolicies)
}

// Tier is one worker pool reading one queue. Tiers are in priority order;
// every job a tier finishes puts one job on the next tier's queue.
type Tier struct {
	Name  string `json:"name"`
	Queue string `json:"queue"`
	// Pod requests.
	MilliCPU    int64 `json:"milliCPU"`
	MemoryBytes int64 `json:"memoryBytes"`
	// Job time, log-normal with this median and 95th percentile (seconds).
	JobMedianSeconds float64 `json:"jobMedianSeconds"`
	JobP95Seconds    float64 `json:"jobP95Seconds"`
	// HPA: External metric visible + in flight, AverageValue target.
	TargetPerPod float64 `json:"targetPerPod"`
	MinReplicas  int32   `json:"minReplicas"`
	MaxReplicas  int32   `json:"maxReplicas"`
	// StaticReplicas is the tier's size under the static policy.
	StaticReplicas int32 `json:"staticReplicas"`
	// Priority is the pod priority (PriorityClass value) in policies that
	// use priorities; higher preempts lower.
	Priority int32 `json:"priority"`
}

// Config is everything a run needs besides the workload.
type Config struct {
	Seed            uint64  `json:"seed"`
	DurationSeconds float64 `json:"durationSeconds"`
	// Pool: identical nodes.
	Nodes           int   `json:"nodes"`
	NodeMilliCPU    int64 `json:"nodeMilliCPU"`
	NodeMemoryBytes int64 `json:"nodeMemoryBytes"`
	// StartDelaySeconds is from scheduling on a node to consuming.
	StartDelaySeconds float64 `json:"startDelaySeconds"`
	// TerminationGraceSeconds is how long a deleted busy worker may finish
	// its job before it is killed and its message returns to the queue.
	TerminationGraceSeconds float64 `json:"terminationGraceSeconds"`
	Tiers                   []Tier  `json:"tiers"`
	// HPA controller settings.
	HPASyncSeconds                float64 `json:"hpaSyncSeconds"`
	HPATolerance                  float64 `json:"hpaTolerance"`
	DownscaleStabilizationSeconds int32   `json:"downscaleStabilizationSeconds"`
	CoordinatorPeriodSeconds      float64 `json:"coordinatorPeriodSeconds"`
	PriorityScalerBudget          int32   `json:"priorityScalerBudget"`
	PriorityScalerPeriodSeconds   float64 `json:"priorityScalerPeriodSeconds"`
	PriorityScalerDeadBand        float64 `json:"priorityScalerDeadBand"`
	SamplePeriodSeconds           float64 `json:"samplePeriodSeconds"`
	// MetricScrapeSeconds, when positive, makes the HPAs and the
	// coordinator read the queue depth as of the last scrape, taken every
	// that many seconds (the exporter's refresh and Prometheus' scrape);
	// zero reads it live.
	MetricScrapeSeconds           float64 `json:"metricScrapeSeconds"`
	ShortPollIntervalSeconds      float64 `json:"shortPollIntervalSeconds"`
	LongPollWaitSeconds           float64 `json:"longPollWaitSeconds"`
	InspectorObjectiveWaitSeconds float64 `json:"inspectorObjectiveWaitSeconds"`
}

const (
	mi = int64(1) << 20
	gi = int64(1) << 30
)

// DefaultConfig is the reference scenario (docs: SCENARIO).
func DefaultConfig() Config {
	return Config{
		Seed:                    1,
		DurationSeconds:         86400,
		Nodes:                   2,
		NodeMilliCPU:            2000,
		NodeMemoryBytes:         4 * gi,
		StartDelaySeconds:       5,
		TerminationGraceSeconds: 30,
		Tiers: []Tier{
			{Name: "inspector", Queue: "inspection", MilliCPU: 200, MemoryBytes: 256 * mi, JobMedianSeconds: 2, JobP95Seconds: 6,
				TargetPerPod: 2, MinReplicas: 1, MaxReplicas: 16, StaticReplicas: 10, Priority: 1000},
			{Name: "size", Queue: "size", MilliCPU: 200, MemoryBytes: 256 * mi, JobMedianSeconds: 45, JobP95Seconds: 120,
				TargetPerPod: 5, MinReplicas: 1, MaxReplicas: 16, StaticReplicas: 10, Priority: 100},
		},
		HPASyncSeconds:                15,
		HPATolerance:                  0.1,
		DownscaleStabilizationSeconds: 300,
		CoordinatorPeriodSeconds:      5,
		PriorityScalerBudget:          20,
		PriorityScalerPeriodSeconds:   5,
		PriorityScalerDeadBand:        0.7,
		SamplePeriodSeconds:           60,
		ShortPollIntervalSeconds:      1,
		LongPollWaitSeconds:           20,
		InspectorObjectiveWaitSeconds: 10,
	}
}

// Validate reports every problem, each naming the field and its value.
func (c Config) Validate() error {
	var errs []error
	bad := func(field string, v any, why string) {
		errs = append(errs, fmt.Errorf("%s: %v %s", field, v, why))
	}
	positive := func(field string, v float64) {
		if !(v > 0) || math.IsInf(v, 0) {
			bad(field, v, "must be a positive number")
		}
	}
	positive("durationSeconds", c.DurationSeconds)
	if c.Nodes < 1 {
		bad("nodes", c.Nodes, "must be at least 1")
	}
	if c.NodeMilliCPU <= 0 {
		bad("nodeMilliCPU", c.NodeMilliCPU, "must be positive")
	}
	if c.NodeMemoryBytes <= 0 {
		bad("nodeMemoryBytes", c.NodeMemoryBytes, "must be positive")
	}
	if c.StartDelaySeconds < 0 {
		bad("startDelaySeconds", c.StartDelaySeconds, "must not be negative")
	}
	if c.TerminationGraceSeconds < 0 {
		bad("terminationGraceSeconds", c.TerminationGraceSeconds, "must not be negative")
	}
	positive("hpaSyncSeconds", c.HPASyncSeconds)
	if c.HPATolerance < 0 || c.HPATolerance >= 1 {
		bad("hpaTolerance", c.HPATolerance, "must be in [0, 1)")
	}
	if c.DownscaleStabilizationSeconds < 0 {
		bad("downscaleStabilizationSeconds", c.DownscaleStabilizationSeconds, "must not be negative")
	}
	positive("coordinatorPeriodSeconds", c.CoordinatorPeriodSeconds)
	positive("priorityScalerPeriodSeconds", c.PriorityScalerPeriodSeconds)
	positive("samplePeriodSeconds", c.SamplePeriodSeconds)
	if !(c.MetricScrapeSeconds >= 0) || math.IsInf(c.MetricScrapeSeconds, 0) {
		bad("metricScrapeSeconds", c.MetricScrapeSeconds, "must be zero or a positive number")
	}
	positive("shortPollIntervalSeconds", c.ShortPollIntervalSeconds)
	positive("longPollWaitSeconds", c.LongPollWaitSeconds)
	positive("inspectorObjectiveWaitSeconds", c.InspectorObjectiveWaitSeconds)
	if !(c.PriorityScalerDeadBand > 0 && c.PriorityScalerDeadBand <= 1) {
		bad("priorityScalerDeadBand", c.PriorityScalerDeadBand, "must be in (0, 1]")
	}
	if len(c.Tiers) < 2 {
		bad("tiers", len(c.Tiers), "tiers given; need at least 2")
	}
	var mins int32
	names := map[string]bool{}
	for i, t := range c.Tiers {
		f := func(name string) string { return fmt.Sprintf("tiers[%d].%s", i, name) }
		if t.Name == "" {
			bad(f("name"), `""`, "must not be empty")
		}
		if names[t.Name] {
			bad(f("name"), t.Name, "is used twice")
		}
		names[t.Name] = true
		if t.Queue == "" {
			bad(f("queue"), `""`, "must not be empty")
		}
		if t.MilliCPU <= 0 {
			bad(f("milliCPU"), t.MilliCPU, "must be positive")
		}
		if t.MemoryBytes <= 0 {
			bad(f("memoryBytes"), t.MemoryBytes, "must be positive")
		}
		positive(f("jobMedianSeconds"), t.JobMedianSeconds)
		if !(t.JobP95Seconds > t.JobMedianSeconds) {
			bad(f("jobP95Seconds"), t.JobP95Seconds, fmt.Sprintf("must be above the median (%v)", t.JobMedianSeconds))
		}
		positive(f("targetPerPod"), t.TargetPerPod)
		if t.MinReplicas < 0 {
			bad(f("minReplicas"), t.MinReplicas, "must not be negative")
		}
		if t.MaxReplicas < 1 || t.MaxReplicas < t.MinReplicas {
			bad(f("maxReplicas"), t.MaxReplicas, fmt.Sprintf("must be at least 1 and at least minReplicas (%d)", t.MinReplicas))
		}
		if t.StaticReplicas < 0 {
			bad(f("staticReplicas"), t.StaticReplicas, "must not be negative")
		}
		mins += t.MinReplicas
	}
	if c.PriorityScalerBudget < mins {
		bad("priorityScalerBudget", c.PriorityScalerBudget, fmt.Sprintf("is below the tiers' minimum replicas (%d)", mins))
	}
	return errors.Join(errs...)
}

// sigma is the log-normal shape from the median and the 95th percentile.
func sigma(median, p95 float64) float64 {
	const z95 = 1.6448536269514722
	return math.Log(p95/median) / z95
}
