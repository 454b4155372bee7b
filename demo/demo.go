// Package demo runs the whole queuescale system on a local, real control
// plane and plays a scripted Microbadger-like story on it: the engine of
// `make demo` (cmd/queuescale-demo) and of its end-to-end test.
//
// What is real: kube-apiserver, kube-controller-manager (the HPA controller),
// kube-scheduler (priority preemption), etcd, the SQS-compatible emulator, the
// exporter, Prometheus, the metrics adapter behind the aggregator, and the
// priority coordinator, with the example workload applied from
// manifests/examples/microbadger. What stands in: the worker pods run on KWOK
// fake nodes and run no code, so package load consumes the queues for them,
// one single-threaded worker per Running pod.
package demo

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"k8s.io/klog/v2"

	"github.com/queuescale/queuescale/demo/load"
	"github.com/queuescale/queuescale/demo/story"
	"github.com/queuescale/queuescale/demo/timeline"
	"github.com/queuescale/queuescale/demo/view"
)

// TierSpec ties a worker Deployment to its HPA, the queue its pods consume,
// the queue they feed and their job times at the scenario's pace.
type TierSpec struct {
	HPA, Deployment string
	Queue, Next     string
	JobTime         load.JobTime
}

// The example workload's names, as in manifests/examples/microbadger.
const (
	Namespace  = "microbadger"
	PolicyName = "microbadger"
	// StaticPods is the scenario's static baseline: 10 Inspector + 10 Size.
	StaticPods = 20
)

// Microbadger returns the reference scenario's tiers, highest priority first.
func Microbadger() []TierSpec {
	return []TierSpec{
		{HPA: "inspector", Deployment: "inspector", Queue: "inspection", Next: "size", JobTime: load.JobTime{Median: 2 * time.Second, P95: 6 * time.Second}},
		{HPA: "size", Deployment: "size", Queue: "size", JobTime: load.JobTime{Median: 45 * time.Second, P95: 120 * time.Second}},
	}
}

// Config is a validated demo configuration (see cmd/queuescale-demo's
// options for what each field means).
type Config struct {
	Story     story.Config
	TimeScale float64
	Keep      bool
	// Dir holds everything the run writes: cluster state, logs, the plot.
	Dir      string
	PlotPath string
	// RulesFile is the adapter's rules; empty for adapter/rules/default.yaml.
	RulesFile string
	Refresh   time.Duration
	Seed      uint64
	// HPASyncPeriod of the local HPA controller.
	HPASyncPeriod time.Duration
	// ScaleDownWindow replaces the HPAs' scale-down stabilization window;
	// negative keeps what the manifests say.
	ScaleDownWindow time.Duration
	// Out gets the view and messages; Terminal says whether it is a terminal.
	Out      io.Writer
	Terminal bool
	// Width is the terminal's width in columns; 0 when unknown.
	Width int
	// PlainEvery is how often a plain line is printed when Out is not a
	// terminal.
	PlainEvery time.Duration
}

// Result is what a run produced.
type Result struct {
	Snapshots []timeline.Snapshot
	Summary   timeline.Summary
	Workers   []load.TierStats
	// BurstAt is when the burst started (since the story started).
	BurstAt     time.Duration
	Interrupted bool
	PlotPath    string
	CSVPath     string
	LogDirs     []string
	Kubeconfig  string
	// Processes were running under the demo before it stopped; Leftover are
	// those still alive after it stopped (empty after a clean stop).
	Processes, Leftover []int
}

// Run starts the system, plays the story and stops everything. It returns
// early with an error when start-up fails; an interrupted story (ctx ended)
// still yields a summary and a plot.
func Run(ctx context.Context, cfg Config) (res *Result, err error) {
	res = &Result{PlotPath: cfg.PlotPath}
	out := cfg.Out
	started := time.Now()
	progress := func(format string, args ...any) {
		fmt.Fprintf(out, "[%5.1fs] %s\n", time.Since(started).Seconds(), fmt.Sprintf(format, args...))
	}

	sys, err := startSystem(ctx, cfg, progressWriter{out: out, started: started})
	if sys != nil {
		res.LogDirs, res.Kubeconfig = sys.logDirs, sys.kubeconfig
		defer func() {
			res.Processes = descendants(os.Getpid())
			progress("stopping everything (%d processes)", len(res.Processes))
			sys.stop()
			res.Leftover = waitGone(res.Processes, 20*time.Second)
			if len(res.Leftover) > 0 {
				err = errors.Join(err, fmt.Errorf("processes still running after the stop: %v", res.Leftover))
				return
			}
			progress("stopped: no process left")
			tidy(cfg.Dir)
		}()
	}
	if err != nil {
		return res, err
	}
	lookForYourself(out, sys)

	obs := sys.observer
	rec := &timeline.Recorder{}
	tiers := Microbadger()
	var loadTiers []load.Tier
	for _, t := range tiers {
		lt := load.Tier{Deployment: t.Deployment, QueueURL: sys.queueURLs[t.Queue], JobTime: t.JobTime.Scaled(cfg.TimeScale)}
		if t.Next != "" {
			lt.NextQueueURL = sys.queueURLs[t.Next]
		}
		loadTiers = append(loadTiers, lt)
	}
	pool, err := load.New(sys.sqs, obs, load.Config{Tiers: loadTiers, Seed: cfg.Seed})
	if err != nil {
		return res, err
	}
	script, err := story.New(cfg.Story)
	if err != nil {
		return res, err
	}
	sizeTier := tiers[len(tiers)-1].HPA
	player := &story.Player{
		Script: script, Sender: sys.sqs,
		InspectionURL: sys.queueURLs["inspection"], SizeURL: sys.queueURLs["size"],
		SizeBusy: func() bool {
			s, ok := rec.Last()
			if !ok {
				return false
			}
			for _, h := range s.HPAs {
				if h.Name == sizeTier && h.Err == "" {
					return h.Current*4 >= h.UserMax*3
				}
			}
			return false
		},
	}

	progress("playing the story: warm-up until Size is busy (at most %s), a burst of %d inspections over %s, then the drain; %s in all",
		cfg.Story.MaxWarmup, cfg.Story.Burst, cfg.Story.BurstWindow, cfg.Story.Duration)
	fmt.Fprintln(out)

	loadCtx, stopLoad := context.WithCancel(ctx)
	var wg sync.WaitGroup
	wg.Go(func() { pool.Run(loadCtx) })
	storyStart := time.Now()
	viewCtx, stopView := context.WithCancel(ctx)
	screen := view.NewScreen(out, cfg.Terminal, cfg.Width, cfg.PlainEvery)
	var viewDone sync.WaitGroup
	viewDone.Go(func() {
		ticker := time.NewTicker(cfg.Refresh)
		defer ticker.Stop()
		for {
			snap := obs.observe(viewCtx)
			if viewCtx.Err() != nil {
				return
			}
			snap.At = time.Since(storyStart)
			phase, _ := player.State()
			snap.Phase = string(phase)
			workers := pool.Stats()
			for i := range snap.Tiers {
				for _, w := range workers {
					if w.Deployment == snap.Tiers[i].Deployment {
						snap.Tiers[i].Workers = w.Workers
					}
				}
			}
			rec.Add(snap)
			screen.Show(view.Frame{Snapshot: snap, Workers: workers})
			select {
			case <-viewCtx.Done():
				return
			case <-ticker.C:
			}
		}
	})
	playErr := player.Run(ctx)
	stopView()
	viewDone.Wait()
	screen.Release()
	fmt.Fprintln(out)
	if ctx.Err() != nil {
		res.Interrupted = true
		progress("interrupted: stopping the story")
	} else if playErr != nil {
		err = playErr
	}
	if at, ok := script.BurstAt(); ok {
		res.BurstAt = at
	}

	res.Snapshots = rec.Snapshots()
	res.Summary = timeline.Summarize(res.Snapshots)
	res.Workers = pool.Stats()
	if len(res.Snapshots) > 0 {
		if perr := timeline.WritePlot(res.Snapshots, cfg.PlotPath); perr != nil {
			err = errors.Join(err, perr)
			res.PlotPath = ""
		}
		res.CSVPath = strings.TrimSuffix(cfg.PlotPath, filepath.Ext(cfg.PlotPath)) + ".csv"
		if cerr := timeline.WriteCSV(res.Snapshots, res.CSVPath); cerr != nil {
			err = errors.Join(err, cerr)
			res.CSVPath = ""
		}
	} else {
		res.PlotPath = ""
	}
	view.WriteSummary(out, res.Summary, res.Workers, view.Baseline{StaticPods: StaticPods})
	fmt.Fprintln(out)
	if res.PlotPath != "" {
		fmt.Fprintf(out, "Timeline plot: %s\n", res.PlotPath)
	}
	if res.CSVPath != "" {
		fmt.Fprintf(out, "Timeline data: %s\n", res.CSVPath)
	}
	fmt.Fprintf(out, "Logs: %s\n", joinPaths(res.LogDirs))

	if cfg.Keep && ctx.Err() == nil {
		fmt.Fprintln(out)
		fmt.Fprintln(out, "--keep: the cluster and the stand-in workers keep running. Explore with the commands above; Ctrl-C stops everything.")
		<-ctx.Done()
		fmt.Fprintln(out)
	}
	stopLoad()
	wg.Wait()
	return res, err
}

func joinPaths(p []string) string { return strings.Join(p, ", ") }

// tidy removes the bulky parts of a stopped run (the binaries built for it
// and etcd's data, about 250 MB), keeping the logs and the plot.
func tidy(dir string) {
	for _, p := range []string{"bin", filepath.Join("stack", "bin"), filepath.Join("cluster", "etcd")} {
		if err := os.RemoveAll(filepath.Join(dir, p)); err != nil {
			klog.ErrorS(err, "Remove a stopped run's files", "path", filepath.Join(dir, p))
		}
	}
}

// waitGone waits up to timeout for pids to end and returns those that did not.
func waitGone(pids []int, timeout time.Duration) []int {
	deadline := time.Now().Add(timeout)
	for {
		left := alive(pids)
		if len(left) == 0 || time.Now().After(deadline) {
			return left
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// progressWriter prefixes start-up lines of the harness with the elapsed time.
type progressWriter struct {
	out     io.Writer
	started time.Time
}

func (p progressWriter) Write(b []byte) (int, error) {
	for _, l := range strings.Split(strings.TrimRight(string(b), "\n"), "\n") {
		fmt.Fprintf(p.out, "[%5.1fs] %s\n", time.Since(p.started).Seconds(), l)
	}
	return len(b), nil
}

func lookForYourself(out io.Writer, sys *system) {
	q := url.QueryEscape("queue=inspection")
	fmt.Fprintf(out, `
Look for yourself while it runs (everything listens on 127.0.0.1 only):
  export KUBECONFIG=%s
  %s get hpa,prioritypolicies,pods -n %s
  %s get --raw "/apis/external.metrics.k8s.io/v1beta1/namespaces/%s/sqs_backlog?labelSelector=%s"
  Prometheus: %s   (try the query sqs_messages_visible)
  Logs: %s

`, sys.kubeconfig, sys.kubectl, Namespace, sys.kubectl, Namespace, q, sys.prometheusURL, joinPaths(sys.logDirs))
}
