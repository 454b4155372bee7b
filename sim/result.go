package sim

import (
	"encoding/csv"
	"fmt"
	"io"
	"math"
	"slices"
	"strconv"
	"text/tabwriter"
)

// Calls counts ReceiveMessage calls.
type Calls struct {
	Total, Empty int64
}

// MessageRecord is one message's fate, for checking that each is processed
// exactly once.
type MessageRecord struct {
	Tier          int
	Created       float64
	Completions   int
	QueuedAtEnd   bool
	InFlightAtEnd bool
}

// TierSeries is one tier over time, sampled every SamplePeriodSeconds.
type TierSeries struct {
	Visible, InFlight, Replicas, Running, Pending, MaxReplicas []float64
}

// Series is the run over time, for plots.
type Series struct {
	Seconds []float64
	Tiers   []TierSeries
}

// Result is one policy's run.
type Result struct {
	Policy Policy
	Tiers  int

	// Top tier ("Inspector"): wait from arrival to the start of the attempt
	// that completed, in seconds.
	WaitP50, WaitP95, WaitP99, WaitMax float64
	// WithinObjective is the share of top-tier jobs started within
	// InspectorObjectiveWaitSeconds.
	WithinObjective float64
	// LagP95 is the 95th percentile, over jobs of the lower tiers, of the
	// time from enqueue to completion, in seconds.
	LagP95 float64

	PodSeconds        float64 // pods on a node (starting, running, terminating)
	PodHours          float64
	PendingPodSeconds float64 // pods waiting for room
	// PendingPodSecondsByTier splits PendingPodSeconds by tier.
	PendingPodSecondsByTier []float64
	Short, Long             Calls // ReceiveMessage under short and long polling
	ScalingActions          int   // writes of a Deployment's replicas
	CapWrites               int   // maxReplicas writes by the coordinator
	Evictions               int   // pods preempted
	Requeued                int   // messages returned to the queue unprocessed
	PodsCreated             int
	CoordinatorErrors       int

	Arrivals, FanOut, Completed int
	LeftQueued, LeftInFlight    int
	PeakMilliCPU                int64
	PeakMemoryBytes             int64

	Messages []MessageRecord
	Series   Series

	inspectorWaits, lowerLags []float64
}

func (r *Result) summarize(cfg Config) {
	r.PodHours = r.PodSeconds / 3600
	w := slices.Clone(r.inspectorWaits)
	slices.Sort(w)
	r.WaitP50, r.WaitP95, r.WaitP99 = quantile(w, 0.50), quantile(w, 0.95), quantile(w, 0.99)
	if len(w) > 0 {
		r.WaitMax = w[len(w)-1]
		n, _ := slices.BinarySearch(w, math.Nextafter(cfg.InspectorObjectiveWaitSeconds, math.Inf(1)))
		r.WithinObjective = float64(n) / float64(len(w))
	}
	l := slices.Clone(r.lowerLags)
	slices.Sort(l)
	r.LagP95 = quantile(l, 0.95)
}

// quantile is the nearest-rank quantile of sorted values (0 when empty).
func quantile(sorted []float64, q float64) float64 {
	if len(sorted) == 0 {
		return 0
	}
	i := int(math.Ceil(q*float64(len(sorted)))) - 1
	return sorted[min(max(i, 0), len(sorted)-1)]
}

var columns = []string{
	"policy", "wait_p50_s", "wait_p95_s", "wait_p99_s", "wait_max_s", "started_within_objective",
	"size_lag_p95_s", "pod_hours", "short_poll_calls", "short_poll_empty", "long_poll_calls", "long_poll_empty",
	"pending_pod_seconds", "pending_top_tier_pod_seconds", "scaling_actions", "cap_writes", "evictions", "jobs_redone", "completed", "left_in_queues",
}

func (r *Result) row() []string {
	f := func(v float64, prec int) string { return strconv.FormatFloat(v, 'f', prec, 64) }
	i := func(v int64) string { return strconv.FormatInt(v, 10) }
	return []string{
		string(r.Policy), f(r.WaitP50, 1), f(r.WaitP95, 1), f(r.WaitP99, 1), f(r.WaitMax, 1), f(100*r.WithinObjective, 2) + "%",
		f(r.LagP95, 0), f(r.PodHours, 1), i(r.Short.Total), i(r.Short.Empty), i(r.Long.Total), i(r.Long.Empty),
		f(r.PendingPodSeconds, 0), f(r.PendingPodSecondsByTier[0], 0), strconv.Itoa(r.ScalingActions), strconv.Itoa(r.CapWrites), strconv.Itoa(r.Evictions),
		strconv.Itoa(r.Requeued), strconv.Itoa(r.Completed), strconv.Itoa(r.LeftQueued + r.LeftInFlight),
	}
}

// WriteTable writes the results as an aligned text table.
func WriteTable(w io.Writer, results []*Result) error {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
	line := func(cells []string) {
		for _, c := range cells {
			fmt.Fprint(tw, c, "\t")
		}
		fmt.Fprintln(tw)
	}
	line(columns)
	for _, r := range results {
		line(r.row())
	}
	return tw.Flush()
}

// WriteCSV writes the results as CSV with a header row.
func WriteCSV(w io.Writer, results []*Result) error {
	cw := csv.NewWriter(w)
	if err := cw.Write(columns); err != nil {
		return err
	}
	for _, r := range results {
		if err := cw.Write(r.row()); err != nil {
			return err
		}
	}
	cw.Flush()
	return cw.Error()
}
