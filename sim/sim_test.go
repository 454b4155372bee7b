package sim

import (
	"math"
	"slices"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
)

func runDay(t testing.TB, cfg Config, p Policy) *Result {
	t.Helper()
	arr := DefaultDay().Generate(cfg.Seed, cfg.DurationSeconds)
	r, err := Run(cfg, p, arr)
	if err != nil {
		t.Fatalf("Run(%s): %v", p, err)
	}
	return r
}

// smallPool is a pool where the autoscaled tiers cannot all fit, so pods
// wait, get preempted and messages get requeued.
func smallPool() Config {
	cfg := DefaultConfig()
	cfg.Nodes = 1
	cfg.NodeMilliCPU = 1300 // 6 pods of 200m
	cfg.DurationSeconds = 6 * 3600
	return cfg
}

// threeTiers chains a third tier after size, with scale-to-zero allowed on
// the lower tiers.
func threeTiers() Config {
	cfg := DefaultConfig()
	cfg.DurationSeconds = 8 * 3600
	third := cfg.Tiers[1]
	third.Name, third.Queue, third.Priority, third.JobMedianSeconds, third.JobP95Seconds = "archive", "archive", 10, 5, 20
	third.StaticReplicas = 2
	cfg.Tiers = append(cfg.Tiers, third)
	cfg.Tiers[1].MinReplicas, cfg.Tiers[2].MinReplicas = 0, 0
	cfg.Tiers[1].StaticReplicas = 8
	return cfg
}

func TestEveryMessageProcessedExactlyOnce(t *testing.T) {
	requeued := 0
	for _, cfg := range []Config{DefaultConfig(), smallPool(), threeTiers()} {
		for _, p := range AllPolicies {
			t.Run(string(p), func(t *testing.T) {
				r := runDay(t, cfg, p)
				requeued += r.Requeued
				perTier := make([]int, r.Tiers)
				completed, left := 0, 0
				for id, m := range r.Messages {
					perTier[m.Tier]++
					ends := 0
					if m.Completions == 1 {
						ends++
						completed++
					}
					if m.QueuedAtEnd {
						ends++
						left++
					}
					if m.InFlightAtEnd {
						ends++
						left++
					}
					if m.Completions > 1 || ends != 1 {
						t.Fatalf("message %d (tier %d, created %.1f s): completed %d times, queued at end %v, in flight at end %v; want exactly one of completed once, queued, in flight",
							id, m.Tier, m.Created, m.Completions, m.QueuedAtEnd, m.InFlightAtEnd)
					}
				}
				if got, want := perTier[0], r.Arrivals; got != want {
					t.Errorf("top-tier messages %d, arrivals %d", got, want)
				}
				if r.Arrivals+r.FanOut != r.Completed+r.LeftQueued+r.LeftInFlight {
					t.Errorf("arrivals %d + fan-out %d != completed %d + queued %d + in flight %d",
						r.Arrivals, r.FanOut, r.Completed, r.LeftQueued, r.LeftInFlight)
				}
				if completed != r.Completed || left != r.LeftQueued+r.LeftInFlight {
					t.Errorf("ledger says %d completed, %d left; result says %d, %d", completed, left, r.Completed, r.LeftQueued+r.LeftInFlight)
				}
				// Fan-out: one lower-tier job per finished top-tier job.
				topDone := 0
				for _, m := range r.Messages {
					if m.Tier == 0 && m.Completions == 1 {
						topDone++
					}
				}
				if len(cfg.Tiers) == 2 && (perTier[1] != topDone || r.FanOut != topDone) {
					t.Errorf("size jobs %d (fan-out counter %d), finished inspections %d", perTier[1], r.FanOut, topDone)
				}
			})
		}
	}
	if requeued == 0 {
		t.Error("no message was ever returned to a queue: the eviction and termination paths went untested")
	}
}

func TestPodsNeverExceedThePool(t *testing.T) {
	for _, cfg := range []Config{DefaultConfig(), smallPool(), threeTiers()} {
		for _, p := range AllPolicies {
			t.Run(string(p), func(t *testing.T) {
				r := runDay(t, cfg, p)
				if max := int64(cfg.Nodes) * cfg.NodeMilliCPU; r.PeakMilliCPU > max {
					t.Errorf("peak CPU requests %dm above the pool's %dm", r.PeakMilliCPU, max)
				}
				if max := int64(cfg.Nodes) * cfg.NodeMemoryBytes; r.PeakMemoryBytes > max {
					t.Errorf("peak memory requests %d above the pool's %d", r.PeakMemoryBytes, max)
				}
				perPod := cfg.Tiers[0].MilliCPU
				limit := float64((int64(cfg.Nodes) * cfg.NodeMilliCPU) / perPod)
				for i := range r.Series.Seconds {
					var running float64
					for _, ts := range r.Series.Tiers {
						running += ts.Running[i]
					}
					if running > limit {
						t.Fatalf("at %.0f s: %v pods running, the pool holds %v", r.Series.Seconds[i], running, limit)
					}
				}
			})
		}
	}
	// The small pool must actually have made pods wait, or the test above
	// proved nothing.
	if r := runDay(t, smallPool(), HPA); r.PendingPodSeconds == 0 {
		t.Error("no pod was ever Pending in the small pool")
	}
}

func TestStaticPodHours(t *testing.T) {
	tests := []struct {
		name         string
		nodes        int
		replicas     [2]int32
		hours        float64
		wantPodHours float64
	}{
		{"reference 10+10 for a day", 2, [2]int32{10, 10}, 24, 480},
		{"3+2 for an hour", 2, [2]int32{3, 2}, 1, 5},
		{"0+4 for 90 minutes", 1, [2]int32{0, 4}, 1.5, 6},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			cfg := DefaultConfig()
			cfg.Nodes = tc.nodes
			cfg.DurationSeconds = tc.hours * 3600
			cfg.Tiers[0].StaticReplicas, cfg.Tiers[1].StaticReplicas = tc.replicas[0], tc.replicas[1]
			r := runDay(t, cfg, Static)
			if math.Abs(r.PodHours-tc.wantPodHours) > 1e-9 {
				t.Errorf("pod-hours %v, want %v", r.PodHours, tc.wantPodHours)
			}
			if r.ScalingActions != 0 || r.PendingPodSeconds != 0 {
				t.Errorf("static pools scaled %d times and had %v pending pod-seconds", r.ScalingActions, r.PendingPodSeconds)
			}
		})
	}
}

func TestIdlePolling(t *testing.T) {
	cfg := DefaultConfig()
	cfg.DurationSeconds = 100
	cfg.Tiers[0].StaticReplicas, cfg.Tiers[1].StaticReplicas = 2, 1
	r, err := Run(cfg, Static, nil)
	if err != nil {
		t.Fatal(err)
	}
	want := struct{ Short, Long Calls }{
		Short: Calls{Total: 300, Empty: 300}, // 3 idle pods, one call a second
		Long:  Calls{Total: 15, Empty: 15},   // 3 idle pods, one 20 s wait each
	}
	if diff := cmp.Diff(want, struct{ Short, Long Calls }{r.Short, r.Long}); diff != "" {
		t.Errorf("calls (-want +got):\n%s", diff)
	}
}

func TestDeterminism(t *testing.T) {
	opts := cmp.Options{cmpopts.IgnoreUnexported(Result{})}
	for _, p := range AllPolicies {
		t.Run(string(p), func(t *testing.T) {
			a, b := runDay(t, DefaultConfig(), p), runDay(t, DefaultConfig(), p)
			if diff := cmp.Diff(a, b, opts); diff != "" {
				t.Errorf("same seed, different results (-first +second):\n%s", diff)
			}
			other := DefaultConfig()
			other.Seed = 2
			if c := runDay(t, other, p); cmp.Equal(a, c, opts) {
				t.Error("seeds 1 and 2 gave identical results")
			}
		})
	}
}

func TestDayShape(t *testing.T) {
	d := DefaultDay()
	if got := d.Rate(4 * 3600); math.Abs(got-0.02) > 1e-12 {
		t.Errorf("rate at 04:00 = %v, want 0.02", got)
	}
	if got := d.Rate(16 * 3600); math.Abs(got-0.15) > 1e-12 {
		t.Errorf("rate at 16:00 = %v, want 0.15", got)
	}
	arr := d.Generate(7, 86400)
	smooth := 0.085 * 86400 // the curve's integral over a day
	lo, hi := smooth-5*math.Sqrt(smooth)+600, smooth+5*math.Sqrt(smooth)+2400
	if n := float64(len(arr)); n < lo || n > hi {
		t.Errorf("%v arrivals, want between %.0f and %.0f", n, lo, hi)
	}
	// Night (02:00-06:00) must be much quieter than afternoon (14:00-18:00),
	// bursts aside: compare per-hour counts at their medians.
	count := func(from, to float64) int {
		n := 0
		for _, a := range arr {
			if a.Seconds >= from && a.Seconds < to {
				n++
			}
		}
		return n
	}
	if night, noon := count(2*3600, 6*3600), count(14*3600, 18*3600); night*3 > noon {
		t.Errorf("night %d arrivals, afternoon %d: the daily curve is missing", night, noon)
	}
}

func TestJobTimeDistribution(t *testing.T) {
	cfg := DefaultConfig()
	e := &engine{cfg: cfg, arrivals: make([]Arrival, 20000)}
	e.drawJobTimes()
	for tier, tc := range cfg.Tiers {
		var xs []float64
		for _, ts := range e.jobTimes {
			xs = append(xs, ts[tier])
		}
		slices.Sort(xs)
		med, p95 := quantile(xs, 0.5), quantile(xs, 0.95)
		if math.Abs(med/tc.JobMedianSeconds-1) > 0.05 || math.Abs(p95/tc.JobP95Seconds-1) > 0.07 {
			t.Errorf("%s: median %.2f s, p95 %.2f s; want about %v and %v", tc.Name, med, p95, tc.JobMedianSeconds, tc.JobP95Seconds)
		}
	}
}

func TestConfigValidate(t *testing.T) {
	tests := []struct {
		name   string
		mutate func(*Config)
		want   []string
	}{
		{"reference is valid", func(*Config) {}, nil},
		{"no nodes", func(c *Config) { c.Nodes = 0 }, []string{"nodes: 0"}},
		{"p95 below median", func(c *Config) { c.Tiers[1].JobP95Seconds = 10 }, []string{"tiers[1].jobP95Seconds: 10"}},
		{"max below min", func(c *Config) { c.Tiers[0].MinReplicas = 5; c.Tiers[0].MaxReplicas = 4 }, []string{"tiers[0].maxReplicas: 4"}},
		{"several at once", func(c *Config) { c.HPASyncSeconds = -1; c.Tiers[0].TargetPerPod = 0 }, []string{"hpaSyncSeconds: -1", "tiers[0].targetPerPod: 0"}},
		{"one tier", func(c *Config) { c.Tiers = c.Tiers[:1] }, []string{"tiers: 1"}},
		{"duplicate names", func(c *Config) { c.Tiers[1].Name = "inspector" }, []string{"tiers[1].name: inspector is used twice"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			cfg := DefaultConfig()
			tc.mutate(&cfg)
			err := cfg.Validate()
			if len(tc.want) == 0 {
				if err != nil {
					t.Fatalf("Validate: %v", err)
				}
				return
			}
			if err == nil {
				t.Fatal("Validate accepted it")
			}
			for _, w := range tc.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q does not mention %q", err, w)
				}
			}
		})
	}
}

func TestCoordinatorCapsTheLowerTier(t *testing.T) {
	for _, p := range []Policy{Coordinator, CoordinatorMetricOnly} {
		t.Run(string(p), func(t *testing.T) {
			r := runDay(t, DefaultConfig(), p)
			if r.CapWrites == 0 {
				t.Fatal("the coordinator never wrote a cap")
			}
			capped := false
			for i := range r.Series.Seconds {
				if c := r.Series.Tiers[1].MaxReplicas[i]; c < 16 {
					capped = true
				}
				if r.Series.Tiers[1].Replicas[i] > r.Series.Tiers[1].MaxReplicas[i] && i > 0 &&
					r.Series.Tiers[1].Replicas[i-1] > r.Series.Tiers[1].MaxReplicas[i-1] {
					t.Errorf("at %.0f s: size replicas %v above its cap %v for two samples in a row",
						r.Series.Seconds[i], r.Series.Tiers[1].Replicas[i], r.Series.Tiers[1].MaxReplicas[i])
				}
			}
			if !capped {
				t.Error("no sample shows the size tier capped below its own maximum")
			}
		})
	}
}

// TestCoordinatorCountsHeldReplicas checks the coordinator's demand counts
// the replicas an HPA holds during its scale-down stabilization: on the
// reference day the metric-only coordinator hands that room to the size
// tier, whose pods then wait in Pending for minutes after each burst; the
// coordinator as shipped nearly never leaves a pod Pending.
func TestCoordinatorCountsHeldReplicas(t *testing.T) {
	cfg := DefaultConfig()
	held := runDay(t, cfg, Coordinator)
	metricOnly := runDay(t, cfg, CoordinatorMetricOnly)
	if metricOnly.PendingPodSeconds < 1000 {
		t.Fatalf("metric-only coordinator: %.0f Pending pod-seconds, want the reference day's thousands", metricOnly.PendingPodSeconds)
	}
	if held.PendingPodSeconds*20 > metricOnly.PendingPodSeconds {
		t.Errorf("Pending pod-seconds: coordinator %.0f, metric-only %.0f; want the coordinator's at most 5%% of it",
			held.PendingPodSeconds, metricOnly.PendingPodSeconds)
	}
	// Holding the room back must not cost the size tier much work: both
	// finish the day's jobs.
	if d := held.Completed - metricOnly.Completed; d < -20 || d > 20 {
		t.Errorf("completed: coordinator %d, metric-only %d", held.Completed, metricOnly.Completed)
	}
}

func TestScaleToZero(t *testing.T) {
	cfg := threeTiers()
	r := runDay(t, cfg, HPA)
	zero := false
	for i := range r.Series.Seconds {
		if r.Series.Tiers[2].Replicas[i] == 0 {
			zero = true
		}
	}
	if !zero {
		t.Error("the archive tier (minReplicas 0) never scaled to zero")
	}
	done := 0
	for _, m := range r.Messages {
		if m.Tier == 2 && m.Completions == 1 {
			done++
		}
	}
	if done == 0 {
		t.Error("the archive tier never processed a job after scaling from zero")
	}
}

func TestMetricScrapeDelaysTheHPA(t *testing.T) {
	cfg := DefaultConfig()
	cfg.DurationSeconds = 300
	cfg.SamplePeriodSeconds = 30
	var arr []Arrival
	for i := range 60 {
		arr = append(arr, Arrival{Seconds: 1 + float64(i)*0.1})
	}
	at30 := func(scrape float64) float64 {
		c := cfg
		c.MetricScrapeSeconds = scrape
		r, err := Run(c, HPA, arr)
		if err != nil {
			t.Fatal(err)
		}
		if r.Series.Seconds[1] != 30 {
			t.Fatalf("second sample at %v s", r.Series.Seconds[1])
		}
		return r.Series.Tiers[0].Replicas[1]
	}
	if live := at30(0); live <= 1 {
		t.Errorf("live metric: inspector replicas at 30 s = %v, want a scale-up", live)
	}
	// Scraped at 0 s (empty) and next at 100 s: the HPA cannot see the
	// burst before then.
	if stale := at30(100); stale != 1 {
		t.Errorf("scraped every 100 s: inspector replicas at 30 s = %v, want still 1", stale)
	}
}
