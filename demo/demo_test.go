package demo

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/queuescale/queuescale/demo/story"
)

// syncBuffer is a bytes.Buffer safe for the view and the test to share.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// TestDemoEndToEnd plays a shortened story on the real local control plane
// with the whole system, and checks what a user of `make demo` would see:
// the Inspector HPA scales up in the burst, the coordinator caps Size and
// releases it once the burst is over, the summary and plot are written, and
// no process is left running.
func TestDemoEndToEnd(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 15*time.Minute)
	defer cancel()
	dir := t.TempDir()
	out := &syncBuffer{}
	cfg := Config{
		Story: story.Config{
			Duration:    150 * time.Second,
			MinWarmup:   10 * time.Second,
			MaxWarmup:   45 * time.Second,
			Trickle:     0.2,
			SizePrefill: 100,
			Burst:       150,
			BurstWindow: 10 * time.Second,
		},
		TimeScale:       0.5,
		Dir:             dir,
		PlotPath:        filepath.Join(dir, "timeline.svg"),
		Refresh:         time.Second,
		PlainEvery:      5 * time.Second,
		HPASyncPeriod:   2 * time.Second,
		ScaleDownWindow: 20 * time.Second,
		Seed:            1,
		Out:             out,
	}
	if err := os.MkdirAll(filepath.Join(dir, "logs"), 0o755); err != nil {
		t.Fatal(err)
	}
	res, err := Run(ctx, cfg)
	defer func() {
		if t.Failed() {
			t.Logf("demo output:\n%s", out.String())
		}
	}()
	if err != nil {
		t.Fatalf("demo failed (is everything installed? run `make deps`): %v", err)
	}
	if res.Interrupted {
		t.Fatal("the story was interrupted")
	}

	// No process is left: every PID that ran under the demo is gone.
	if len(res.Processes) < 8 {
		t.Errorf("only %d processes ran under the demo (%v); expected the control plane, the stack and the coordinator", len(res.Processes), res.Processes)
	}
	if left := alive(res.Processes); len(left) > 0 || len(res.Leftover) > 0 {
		t.Errorf("processes still running after the demo: %v (reported %v)", left, res.Leftover)
	}

	// The Inspector HPA scaled up during the burst.
	maxBefore, maxAfter := int32(0), int32(0)
	for _, s := range res.Snapshots {
		for _, h := range s.HPAs {
			if h.Name != "inspector" || h.Err != "" {
				continue
			}
			if s.At < res.BurstAt {
				maxBefore = max(maxBefore, h.Current)
			} else {
				maxAfter = max(maxAfter, h.Current)
			}
		}
	}
	if maxAfter < 4 || maxAfter <= maxBefore {
		t.Errorf("Inspector HPA: at most %d replicas before the burst and %d after; want a scale-up to at least 4", maxBefore, maxAfter)
	}

	// Size was capped after the burst started, then released.
	var capped bool
	for _, c := range res.Summary.Caps {
		if c.HPA != "size" {
			continue
		}
		capped = true
		if c.LowestMax >= c.UserMax {
			t.Errorf("size cap %d is not below the user's %d", c.LowestMax, c.UserMax)
		}
		if c.From < res.BurstAt {
			t.Errorf("size capped at %s, before the burst started at %s", c.From, res.BurstAt)
		}
		if c.StillCapped {
			t.Errorf("size still capped at the end (capped since %s)", c.From)
		}
	}
	if !capped {
		t.Errorf("the coordinator never capped the Size HPA; caps: %+v", res.Summary.Caps)
	}

	// Work was done by the stand-in workers, and the user is told about it.
	for _, w := range res.Workers {
		if w.Finished == 0 {
			t.Errorf("no %s job finished: %+v", w.Deployment, w)
		}
	}
	if st, err := os.Stat(res.PlotPath); err != nil || st.Size() < 1000 {
		t.Errorf("plot %s not written: %v", res.PlotPath, err)
	}
	if data, err := os.ReadFile(res.CSVPath); err != nil || bytes.Count(data, []byte("\n")) != len(res.Snapshots)+1 {
		t.Errorf("timeline CSV %s: %v, want a header and %d rows", res.CSVPath, err, len(res.Snapshots))
	}
	for _, want := range []string{"Summary after", "peak backlog", "Timeline plot: " + res.PlotPath, "sqs_backlog?labelSelector=queue%3Dinspection", "KUBECONFIG=", "stopped: no process left"} {
		if !bytes.Contains([]byte(out.String()), []byte(want)) {
			t.Errorf("the output does not show %q", want)
		}
	}
}

// TestDemoStopsCleanly covers the two other ways a run ends: interrupted
// mid-story (Ctrl-C cancels the context) it still prints the summary and
// writes the plot; failing at start-up (here an invalid adapter rules file)
// it reports the error. Either way no process is left.
func TestDemoStopsCleanly(t *testing.T) {
	base := func(t *testing.T, out *syncBuffer) Config {
		dir := t.TempDir()
		if err := os.MkdirAll(filepath.Join(dir, "logs"), 0o755); err != nil {
			t.Fatal(err)
		}
		return Config{
			Story: story.Config{
				Duration: 4 * time.Minute, MinWarmup: 20 * time.Second, MaxWarmup: 90 * time.Second,
				Trickle: 0.2, SizePrefill: 150, Burst: 300, BurstWindow: 15 * time.Second,
			},
			TimeScale: 0.5, Dir: dir, PlotPath: filepath.Join(dir, "timeline.png"),
			Refresh: time.Second, PlainEvery: 5 * time.Second, HPASyncPeriod: 2 * time.Second,
			ScaleDownWindow: 30 * time.Second, Seed: 1, Out: out,
		}
	}
	checkNoneLeft := func(t *testing.T, res *Result) {
		t.Helper()
		if res == nil {
			t.Fatal("no result")
		}
		if left := alive(res.Processes); len(left) > 0 || len(res.Leftover) > 0 {
			t.Errorf("processes still running: %v (reported %v)", left, res.Leftover)
		}
	}

	t.Run("interrupted", func(t *testing.T) {
		out := &syncBuffer{}
		cfg := base(t, out)
		ctx, cancel := context.WithTimeout(context.Background(), 15*time.Minute)
		defer cancel()
		go func() {
			// Interrupt a few seconds into the story.
			for ctx.Err() == nil && !bytes.Contains([]byte(out.String()), []byte("playing the story")) {
				time.Sleep(100 * time.Millisecond)
			}
			time.Sleep(5 * time.Second)
			cancel()
		}()
		res, err := Run(ctx, cfg)
		defer func() {
			if t.Failed() {
				t.Logf("demo output:\n%s", out.String())
			}
		}()
		if err != nil {
			t.Fatalf("interrupted run returned an error: %v", err)
		}
		if !res.Interrupted {
			t.Error("the run does not say it was interrupted")
		}
		if len(res.Processes) < 8 {
			t.Errorf("only %d processes ran under the demo: %v", len(res.Processes), res.Processes)
		}
		checkNoneLeft(t, res)
		if st, err := os.Stat(res.PlotPath); err != nil || st.Size() < 1000 {
			t.Errorf("plot %s not written: %v", res.PlotPath, err)
		}
		for _, want := range []string{"interrupted: stopping the story", "Summary after", "stopped: no process left"} {
			if !bytes.Contains([]byte(out.String()), []byte(want)) {
				t.Errorf("the output does not show %q", want)
			}
		}
	})

	t.Run("start-up fails", func(t *testing.T) {
		out := &syncBuffer{}
		cfg := base(t, out)
		cfg.RulesFile = filepath.Join(cfg.Dir, "rules.yaml")
		if err := os.WriteFile(cfg.RulesFile, []byte("rules:\n- name: sqs_backlog\n"), 0o644); err != nil {
			t.Fatal(err)
		}
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
		defer cancel()
		res, err := Run(ctx, cfg)
		if err == nil {
			t.Fatalf("a run with an invalid rules file succeeded:\n%s", out.String())
		}
		checkNoneLeft(t, res)
		if len(res.Processes) == 0 {
			t.Errorf("no process was recorded before the stop; the cluster should have been running:\n%s", out.String())
		}
	})
}
