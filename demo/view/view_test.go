package view

import (
	"bytes"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/queuescale/queuescale/demo/load"
	"github.com/queuescale/queuescale/demo/timeline"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata/")

func golden(t *testing.T, name, got string) {
	t.Helper()
	path := filepath.Join("testdata", name)
	if *update {
		if err := os.WriteFile(path, []byte(got), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test -update to create it)", err)
	}
	if diff := cmp.Diff(string(want), got); diff != "" {
		t.Errorf("%s (-want +got):\n%s", path, diff)
	}
}

func burstFrame() Frame {
	return Frame{
		Snapshot: timeline.Snapshot{
			At:    83 * time.Second,
			Phase: "burst",
			Queues: []timeline.Queue{
				{Name: "inspection", Visible: 212, InFlight: 14},
				{Name: "size", Visible: 133, InFlight: 16},
			},
			HPAs: []timeline.HPA{
				{Name: "inspector", Current: 5, Desired: 10, Min: 1, Max: 16, UserMax: 16},
				{Name: "size", Current: 15, Desired: 4, Min: 1, Max: 4, UserMax: 16},
			},
			Tiers: []timeline.Tier{
				{Deployment: "inspector", Running: 5, Pending: 0, Workers: 5},
				{Deployment: "size", Running: 15, Pending: 0, Workers: 15},
			},
			Policy: timeline.Policy{
				Name: "microbadger", Ready: "True", Reason: "Planned",
				Capped: "size: 4 of 16 (inspector needs 16)",
				Pool:   "4 cpu, 8Gi over 2 nodes",
				Tiers: []timeline.PolicyTier{
					{HPA: "inspector", Demand: 16, Grant: 16, MaxReplicas: 16, UserMax: 16},
					{HPA: "size", Demand: 16, Grant: 4, MaxReplicas: 4, UserMax: 16, Capped: true},
				},
			},
		},
		Workers: []load.TierStats{
			{Deployment: "inspector", Workers: 5, Started: 40, Finished: 35, Receives: 60, EmptyReceives: 20, Waits: []time.Duration{time.Second, 12 * time.Second, 3 * time.Second}},
			{Deployment: "size", Workers: 15, Started: 30, Finished: 10, Abandoned: 2, Errors: 1, LastError: "receive: connection refused", Waits: []time.Duration{time.Second}},
		},
	}
}

func unreadableFrame() Frame {
	f := burstFrame()
	f.Snapshot.Queues[0] = timeline.Queue{Name: "inspection", Err: "get attributes of queue inspection: AccessDenied"}
	f.Snapshot.HPAs[1] = timeline.HPA{Name: "size", Err: "the server could not find the requested resource"}
	f.Snapshot.Tiers[1].Err = "list pods: timeout"
	f.Snapshot.Policy = timeline.Policy{Name: "microbadger", Err: "prioritypolicies.queuescale.io \"microbadger\" not found"}
	return f
}

// heldFrame is after the burst: the inspection queue is empty but the
// Inspector HPA keeps its 16 pods until its scale-down stabilization ends.
func heldFrame() Frame {
	f := burstFrame()
	f.Snapshot.At, f.Snapshot.Phase = 95*time.Second, "drain"
	f.Snapshot.Queues[0] = timeline.Queue{Name: "inspection"}
	f.Snapshot.HPAs[0] = timeline.HPA{Name: "inspector", Current: 16, Desired: 16, Min: 1, Max: 16, UserMax: 16}
	f.Snapshot.Policy.Tiers[0].Held = true
	return f
}

func TestRender(t *testing.T) {
	tests := []struct {
		name  string
		frame Frame
	}{
		{"burst", burstFrame()},
		{"held", heldFrame()},
		{"unreadable", unreadableFrame()},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := strings.Join(Render(tt.frame), "\n") + "\n\n" + Line(tt.frame) + "\n"
			golden(t, "render-"+tt.name+".txt", got)
		})
	}
}

func TestUnreadableIsNeverZero(t *testing.T) {
	got := strings.Join(Render(unreadableFrame()), "\n") + Line(unreadableFrame())
	for _, want := range []string{"queue inspection unreadable: get attributes", "HPA size unreadable: the server", "pods of size unreadable: list pods", "policy microbadger unreadable", "inspection=unreadable", "size unreadable", "policy unreadable"} {
		if !strings.Contains(got, want) {
			t.Errorf("view does not say %q:\n%s", want, got)
		}
	}
}

func TestScreen(t *testing.T) {
	t.Run("terminal redraws in place", func(t *testing.T) {
		var out bytes.Buffer
		s := NewScreen(&out, true, 0, 0)
		s.Show(burstFrame())
		first := out.Len()
		n := len(Render(burstFrame()))
		s.Show(burstFrame())
		if got := out.String()[first:]; !strings.HasPrefix(got, fmt.Sprintf("\x1b[%dA", n)) {
			t.Errorf("second frame does not move up %d lines: %q", n, got[:min(20, len(got))])
		}
	})
	t.Run("terminal lines are cut to its width", func(t *testing.T) {
		var out bytes.Buffer
		NewScreen(&out, true, 40, 0).Show(burstFrame())
		for _, l := range strings.Split(out.String(), "\n") {
			if n := len([]rune(strings.TrimPrefix(l, "\r\x1b[2K"))); n > 39 {
				t.Errorf("line of %d runes on a 40-column terminal: %q", n, l)
			}
		}
	})
	t.Run("plain prints a line per interval", func(t *testing.T) {
		var out bytes.Buffer
		s := NewScreen(&out, false, 0, 5*time.Second)
		for at := range 12 {
			f := burstFrame()
			f.Snapshot.At = time.Duration(at) * time.Second
			s.Show(f)
		}
		if got := strings.Count(out.String(), "\n"); got != 3 {
			t.Errorf("printed %d lines over 12 s at one per 5 s, want 3:\n%s", got, out.String())
		}
		if strings.Contains(out.String(), "\x1b") {
			t.Error("plain output contains escape sequences")
		}
	})
}

func TestWriteSummary(t *testing.T) {
	sum := timeline.Summary{
		Duration: 185 * time.Second,
		Queues: []timeline.QueuePeak{
			{Name: "inspection", Peak: 312, At: 80 * time.Second, Final: 0},
			{Name: "size", Peak: 420, At: 100 * time.Second, Final: 380},
		},
		Tiers: []timeline.TierUse{
			{Deployment: "inspector", PeakRunning: 16, PodSeconds: 812},
			{Deployment: "size", PeakRunning: 16, PeakPending: 4, PodSeconds: 1820},
		},
		Caps:       []timeline.Cap{{HPA: "size", LowestMax: 4, UserMax: 16, From: 82 * time.Second, Released: 130 * time.Second}},
		Unreadable: 2,
	}
	var out bytes.Buffer
	WriteSummary(&out, sum, burstFrame().Workers, Baseline{StaticPods: 20})
	golden(t, "summary.txt", out.String())
}
