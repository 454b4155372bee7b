package view

import (
	"fmt"
	"io"
	"strings"

	"github.com/queuescale/queuescale/demo/load"
	"github.com/queuescale/queuescale/demo/timeline"
)

// Baseline is the static pool the scenario started from, to compare pod use
// with: StaticPods pods running all the time.
type Baseline struct {
	StaticPods int
}

// WriteSummary prints what the run showed.
func WriteSummary(w io.Writer, s timeline.Summary, workers []load.TierStats, base Baseline) {
	fmt.Fprintf(w, "Summary after %s:\n", clock(s.Duration))
	var peaks []string
	for _, q := range s.Queues {
		peaks = append(peaks, fmt.Sprintf("%s %d at %s (%d at the end)", q.Name, q.Peak, clock(q.At), q.Final))
	}
	fmt.Fprintf(w, "  peak backlog:  %s\n", orNone(strings.Join(peaks, "; ")))
	for _, t := range workers {
		if len(t.Waits) == 0 {
			fmt.Fprintf(w, "  %s waits:  no job started\n", t.Deployment)
			continue
		}
		fmt.Fprintf(w, "  %s waits:  longest %s, p95 %s, over %d jobs (%d finished)\n", t.Deployment, secs(t.MaxWait()), secs(t.WaitQuantile(0.95)), len(t.Waits), t.Finished)
	}
	total := 0.0
	for _, t := range s.Tiers {
		fmt.Fprintf(w, "  %s pods:  at most %d running and %d pending, %.0f pod-seconds\n", t.Deployment, t.PeakRunning, t.PeakPending, t.PodSeconds)
		total += t.PodSeconds
	}
	if base.StaticPods > 0 && s.Duration > 0 {
		fmt.Fprintf(w, "  pods used:  %.0f pod-seconds in all; a static pool of %d pods would have used %.0f\n", total, base.StaticPods, float64(base.StaticPods)*s.Duration.Seconds())
	}
	if len(s.Caps) == 0 {
		fmt.Fprintln(w, "  cap:  no HPA was capped")
	}
	for _, c := range s.Caps {
		state := "still capped at the end"
		if !c.StillCapped {
			state = "released at " + clock(c.Released)
		}
		fmt.Fprintf(w, "  cap:  %s maxReplicas lowered to %d at most (user max %d) from %s, %s\n", c.HPA, c.LowestMax, c.UserMax, clock(c.From), state)
	}
	var polls []string
	for _, t := range workers {
		polls = append(polls, fmt.Sprintf("%s %d of %d receives", t.Deployment, t.EmptyReceives, t.Receives))
	}
	if len(polls) > 0 {
		fmt.Fprintf(w, "  empty polls:  %s\n", strings.Join(polls, "; "))
	}
	if s.Unreadable > 0 {
		fmt.Fprintf(w, "  unreadable samples:  %d (left out of the numbers above)\n", s.Unreadable)
	}
}

func orNone(s string) string {
	if s == "" {
		return "none recorded"
	}
	return s
}
