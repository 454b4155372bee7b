package integration

import (
	"context"
	"fmt"
	"net/http"
	"os"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/queuescale/queuescale/internal/testenv"
)

const benchQueues = 125 // x 4 metrics = 500 distinct metric/selector pairs

// BenchmarkEndToEnd drives the adapter binary over HTTPS with the real
// Prometheus behind it, across 500 distinct metric/selector pairs, and
// reports requests per second, p50/p99 latency and the adapter's resident
// memory idle and under load. "cached" runs with --cache-ttl=30s, longer
// than the run, so every measured answer comes from the cache; "ttl=2s" is
// the default, where the run revisits each pair after its answer expired
// and about one request in five queries Prometheus; "uncached" runs with
// --cache-ttl=0 (every request queries Prometheus, only identical
// concurrent requests share a query).
func BenchmarkEndToEnd(b *testing.B) {
	queues := make([]string, benchQueues)
	for i := range queues {
		queues[i] = fmt.Sprintf("bench-%03d", i)
	}
	// A 3 s scrape interval gives the exporter a 3 s scrape timeout to read
	// 125 queues on a machine the benchmark itself keeps busy.
	e := startEnv(b, envOptions{queues: queues, maxSampleAge: time.Minute, cacheTTL: 2 * time.Second, scrapeInterval: 3 * time.Second})
	var paths []string
	for _, q := range queues {
		for _, m := range []string{"sqs_backlog", "sqs_messages_visible", "sqs_messages_in_flight", "sqs_messages_delayed"} {
			paths = append(paths, metricPath("default", m, "queue="+q))
		}
	}
	// Wait until Prometheus has every queue.
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	err := testenv.Poll(ctx, 500*time.Millisecond, "every queue in Prometheus", func(ctx context.Context) error {
		for _, p := range []string{paths[0], paths[len(paths)-1]} {
			code, body, err := e.get(ctx, e.client, p)
			if err != nil {
				return err
			}
			if code != http.StatusOK {
				return fmt.Errorf("%s: %d %s", p, code, body)
			}
		}
		return nil
	})
	if err != nil {
		b.Fatal(err)
	}

	ttl := 2 * time.Second
	for _, bc := range []struct {
		name    string
		ttl     time.Duration
		workers int
	}{
		{"cached/clients=1", 30 * time.Second, 1}, {"cached/clients=8", 30 * time.Second, 8},
		{"ttl=2s/clients=1", 2 * time.Second, 1}, {"ttl=2s/clients=8", 2 * time.Second, 8},
		{"uncached/clients=1", 0, 1}, {"uncached/clients=8", 0, 8},
	} {
		b.Run(bc.name, func(b *testing.B) {
			if bc.ttl != ttl {
				e.adapter.Stop(5 * time.Second)
				e.startAdapter(b, envOptions{maxSampleAge: time.Minute, cacheTTL: bc.ttl})
				ttl = bc.ttl
			}
			// Warm up: every pair once (fills the cache, opens connections).
			load(b, e, paths, len(paths), 8)
			time.Sleep(time.Second)
			idle, idleAnon := rssKiB(b, e.adapter.Pid())

			var peak, peakAnon atomic.Int64
			stop := make(chan struct{})
			var wg sync.WaitGroup
			wg.Go(func() {
				t := time.NewTicker(50 * time.Millisecond)
				defer t.Stop()
				for {
					select {
					case <-stop:
						return
					case <-t.C:
						v, anon := rssKiB(b, e.adapter.Pid())
						if v > peak.Load() {
							peak.Store(v)
						}
						if anon > peakAnon.Load() {
							peakAnon.Store(anon)
						}
					}
				}
			})
			hitsBefore := cacheHits(b, e)
			b.ResetTimer()
			start := time.Now()
			lat := load(b, e, paths, b.N, bc.workers)
			elapsed := time.Since(start)
			b.StopTimer()
			hits := cacheHits(b, e) - hitsBefore
			close(stop)
			wg.Wait()

			slices.Sort(lat)
			q := func(p float64) float64 { return float64(lat[int(p*float64(len(lat)-1))]) / float64(time.Millisecond) }
			b.ReportMetric(float64(len(lat))/elapsed.Seconds(), "req/s")
			b.ReportMetric(q(0.50), "p50-ms")
			b.ReportMetric(q(0.99), "p99-ms")
			b.ReportMetric(100*hits/float64(len(lat)), "hit-%")
			b.ReportMetric(float64(idle)/1024, "rss-idle-MiB")
			b.ReportMetric(float64(peak.Load())/1024, "rss-load-MiB")
			b.ReportMetric(float64(idleAnon)/1024, "anon-idle-MiB")
			b.ReportMetric(float64(peakAnon.Load())/1024, "anon-load-MiB")
		})
	}
}

// load sends n requests over the pairs from workers goroutines and returns
// each request's latency; any non-200 answer fails the benchmark.
func load(b *testing.B, e *env, paths []string, n, workers int) []time.Duration {
	var next atomic.Int64
	lat := make([]time.Duration, n)
	var wg sync.WaitGroup
	var failed atomic.Value
	ctx := context.Background()
	for range workers {
		wg.Go(func() {
			for {
				i := int(next.Add(1)) - 1
				if i >= n {
					return
				}
				t0 := time.Now()
				code, body, err := e.get(ctx, e.client, paths[i%len(paths)])
				lat[i] = time.Since(t0)
				if err != nil || code != http.StatusOK {
					failed.Store(fmt.Sprintf("%s: %d %s %v", paths[i%len(paths)], code, body, err))
					return
				}
			}
		})
	}
	wg.Wait()
	if f := failed.Load(); f != nil {
		b.Fatal(f)
	}
	return lat
}

// rssKiB reads VmRSS (all resident pages) and RssAnon (the private,
// non-file-backed part: heap, stacks) of pid from /proc, in KiB.
func rssKiB(b *testing.B, pid int) (rss, anon int64) {
	data, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		b.Fatal(err)
	}
	field := func(name string) int64 {
		for _, line := range strings.Split(string(data), "\n") {
			if rest, ok := strings.CutPrefix(line, name+":"); ok {
				v, err := strconv.ParseInt(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(rest), "kB")), 10, 64)
				if err != nil {
					b.Fatal(err)
				}
				return v
			}
		}
		b.Fatalf("no %s in /proc/%d/status", name, pid)
		return 0
	}
	return field("VmRSS"), field("RssAnon")
}

// cacheHits reads queuescale_adapter_cache_hits_total from the adapter's
// /metrics, so the benchmark reports how many answers really came from the
// cache.
func cacheHits(b *testing.B, e *env) float64 {
	b.Helper()
	code, body, err := e.get(context.Background(), e.client, "/metrics")
	if err != nil || code != http.StatusOK {
		b.Fatalf("/metrics: %d %v", code, err)
	}
	for _, line := range strings.Split(string(body), "\n") {
		if v, ok := strings.CutPrefix(line, "queuescale_adapter_cache_hits_total "); ok {
			n, err := strconv.ParseFloat(strings.TrimSpace(v), 64)
			if err != nil {
				b.Fatalf("queuescale_adapter_cache_hits_total %q: %v", v, err)
			}
			return n
		}
	}
	b.Fatal("/metrics has no queuescale_adapter_cache_hits_total")
	return 0
}
