package provider

import (
	"context"
	"errors"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	promv1 "github.com/prometheus/client_golang/api/prometheus/v1"
	"github.com/prometheus/common/model"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/resource"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/component-base/metrics"
	"k8s.io/component-base/metrics/testutil"
	cmprovider "sigs.k8s.io/custom-metrics-apiserver/pkg/provider"

	"github.com/queuescale/queuescale/adapter/rules"
)

const testRules = `rules:
- name: backlog
  series: sqs_messages_visible
  aggregation: sum
  labels: [queue]
  namespaces: [shop]
- name: everywhere
  series: sqs_messages_visible
  aggregation: max
  labels: [queue]
  namespaces: "*"
`

// fakeProm answers queries from a table and counts them.
type fakeProm struct {
	mu      sync.Mutex
	answers map[string]model.Value
	err     error
	calls   atomic.Int64
	// gate, when set, holds every query until closed or the context ends.
	gate chan struct{}
}

func (f *fakeProm) Query(ctx context.Context, q string, _ time.Time, _ ...promv1.Option) (model.Value, promv1.Warnings, promv1.Infos, error) {
	f.calls.Add(1)
	if f.gate != nil {
		select {
		case <-f.gate:
		case <-ctx.Done():
			return nil, nil, nil, ctx.Err()
		}
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.err != nil {
		return nil, nil, nil, f.err
	}
	v, ok := f.answers[q]
	if !ok {
		return model.Vector{}, nil, nil, nil
	}
	return v, nil, nil, nil
}

func (f *fakeProm) set(q string, v model.Value) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.answers[q] = v
}

type fakeClock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *fakeClock) Now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.now }
func (c *fakeClock) Add(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(d)
}

var t0 = time.Date(2026, 12, 4, 12, 0, 0, 0, time.UTC)

func vec(v float64, lbls model.Metric) model.Vector {
	return model.Vector{{Metric: lbls, Value: model.SampleValue(v), Timestamp: model.TimeFromUnixNano(t0.UnixNano())}}
}

func stamp(t time.Time) model.Vector {
	return model.Vector{{Metric: model.Metric{}, Value: model.SampleValue(float64(t.UnixNano()) / 1e9)}}
}

const (
	valueQ = `sum(sqs_messages_visible{queue="inspection"})`
	tsQ    = `min(timestamp(sqs_messages_visible{queue="inspection"}))`
)

type fixture struct {
	prov    *Provider
	prom    *fakeProm
	clock   *fakeClock
	metrics *Metrics
}

func newFixture(t *testing.T, opts Options) *fixture {
	t.Helper()
	set, err := rules.Parse("test.yaml", []byte(testRules))
	if err != nil {
		t.Fatal(err)
	}
	prom := &fakeProm{answers: map[string]model.Value{}}
	clock := &fakeClock{now: t0}
	opts.Now = clock.Now
	if opts.QueryTimeout == 0 {
		opts.QueryTimeout = 5 * time.Second
	}
	if opts.MaxSampleAge == 0 {
		opts.MaxSampleAge = time.Minute
	}
	m := NewMetrics()
	if err := m.Register(metrics.NewKubeRegistry().Register); err != nil {
		t.Fatal(err)
	}
	return &fixture{prov: New(rules.NewStore(set), prom, opts, m), prom: prom, clock: clock, metrics: m}
}

func (f *fixture) get(t *testing.T, ns, metric, selector string) (float64, time.Time, error) {
	t.Helper()
	sel, err := labels.Parse(selector)
	if err != nil {
		t.Fatal(err)
	}
	list, err := f.prov.GetExternalMetric(context.Background(), ns, sel, cmprovider.ExternalMetricInfo{Metric: metric})
	if err != nil {
		if list != nil {
			t.Errorf("error %v came with a value list %+v", err, list)
		}
		return 0, time.Time{}, err
	}
	if len(list.Items) != 1 {
		t.Fatalf("got %d items, want 1", len(list.Items))
	}
	return list.Items[0].Value.AsApproximateFloat64(), list.Items[0].Timestamp.Time, nil
}

func (f *fixture) requests(t *testing.T, metric, outcome string) float64 {
	t.Helper()
	v, err := testutil.GetCounterMetricValue(f.metrics.Requests.WithLabelValues(metric, outcome))
	if err != nil {
		t.Fatal(err)
	}
	return v
}

func TestGetExternalMetric(t *testing.T) {
	f := newFixture(t, Options{CacheTTL: 0})
	sampleTime := t0.Add(-10 * time.Second)
	f.prom.set(valueQ, vec(7.5, model.Metric{}))
	f.prom.set(tsQ, stamp(sampleTime))

	v, ts, err := f.get(t, "shop", "backlog", "queue=inspection")
	if err != nil {
		t.Fatalf("GetExternalMetric: %v", err)
	}
	if v != 7.5 {
		t.Errorf("value = %v, want 7.5", v)
	}
	if !ts.Equal(sampleTime) {
		t.Errorf("timestamp = %v, want the sample's own %v", ts, sampleTime)
	}
	if got := f.requests(t, "backlog", OutcomeSuccess); got != 1 {
		t.Errorf("requests_total{backlog,success} = %v, want 1", got)
	}
}

func TestGetExternalMetricErrors(t *testing.T) {
	tests := []struct {
		name      string
		ns        string
		metric    string
		selector  string
		setup     func(f *fixture)
		isErr     func(error) bool
		outcome   string
		metricLbl string
	}{
		{name: "unknown metric", ns: "shop", metric: "nope", selector: "queue=inspection",
			isErr: apierrors.IsNotFound, outcome: OutcomeNotFound, metricLbl: "unknown"},
		{name: "namespace not granted", ns: "billing", metric: "backlog", selector: "queue=inspection",
			isErr: apierrors.IsNotFound, outcome: OutcomeNotFound, metricLbl: "backlog"},
		{name: "label outside the allow-list", ns: "shop", metric: "backlog", selector: "team=a",
			isErr: apierrors.IsBadRequest, outcome: OutcomeBadRequest, metricLbl: "backlog"},
		{name: "no data is not zero", ns: "shop", metric: "backlog", selector: "queue=inspection",
			setup: func(f *fixture) {}, isErr: apierrors.IsNotFound, outcome: OutcomeNoData, metricLbl: "backlog"},
		{name: "value without timestamps", ns: "shop", metric: "backlog", selector: "queue=inspection",
			setup: func(f *fixture) { f.prom.set(valueQ, vec(3, nil)) },
			isErr: apierrors.IsNotFound, outcome: OutcomeNoData, metricLbl: "backlog"},
		{name: "stale sample", ns: "shop", metric: "backlog", selector: "queue=inspection",
			setup: func(f *fixture) {
				f.prom.set(valueQ, vec(3, nil))
				f.prom.set(tsQ, stamp(t0.Add(-2*time.Minute)))
			}, isErr: apierrors.IsServiceUnavailable, outcome: OutcomeStale, metricLbl: "backlog"},
		{name: "prometheus down", ns: "shop", metric: "backlog", selector: "queue=inspection",
			setup: func(f *fixture) { f.prom.err = errors.New("connection refused") },
			isErr: apierrors.IsServiceUnavailable, outcome: OutcomeError, metricLbl: "backlog"},
		{name: "NaN", ns: "shop", metric: "backlog", selector: "queue=inspection",
			setup: func(f *fixture) {
				f.prom.set(valueQ, vec(0, nil))
				f.prom.set(valueQ, model.Vector{{Value: model.SampleValue(nan())}})
				f.prom.set(tsQ, stamp(t0))
			}, isErr: apierrors.IsServiceUnavailable, outcome: OutcomeError, metricLbl: "backlog"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFixture(t, Options{CacheTTL: time.Minute})
			if tt.setup != nil {
				tt.setup(f)
			}
			_, _, err := f.get(t, tt.ns, tt.metric, tt.selector)
			if err == nil || !tt.isErr(err) {
				t.Fatalf("error = %v (%T), want the right API error class", err, err)
			}
			if got := f.requests(t, tt.metricLbl, tt.outcome); got != 1 {
				t.Errorf("requests_total{%s,%s} = %v, want 1", tt.metricLbl, tt.outcome, got)
			}
		})
	}
}

func nan() float64 { var z float64; return z / z }

// Errors are not cached: once Prometheus answers again, so does the adapter.
func TestErrorsAreNotCached(t *testing.T) {
	f := newFixture(t, Options{CacheTTL: time.Minute})
	f.prom.err = errors.New("connection refused")
	if _, _, err := f.get(t, "shop", "backlog", "queue=inspection"); err == nil {
		t.Fatal("want an error while Prometheus is down")
	}
	f.prom.err = nil
	f.prom.set(valueQ, vec(4, nil))
	f.prom.set(tsQ, stamp(t0))
	if v, _, err := f.get(t, "shop", "backlog", "queue=inspection"); err != nil || v != 4 {
		t.Fatalf("after recovery got %v, %v; want 4", v, err)
	}
}

func TestCache(t *testing.T) {
	f := newFixture(t, Options{CacheTTL: 2 * time.Second, MaxSampleAge: 30 * time.Second})
	f.prom.set(valueQ, vec(4, nil))
	f.prom.set(tsQ, stamp(t0))
	for range 3 {
		if v, _, err := f.get(t, "shop", "backlog", "queue=inspection"); err != nil || v != 4 {
			t.Fatalf("got %v, %v; want 4", v, err)
		}
	}
	if got := f.prom.calls.Load(); got != 2 {
		t.Errorf("Prometheus queries = %d, want 2 (one value + one timestamp query) for 3 requests", got)
	}
	if hits, _ := testutil.GetCounterMetricValue(f.metrics.CacheHits); hits != 2 {
		t.Errorf("cache hits = %v, want 2", hits)
	}
	f.prom.set(valueQ, vec(9, nil))
	f.clock.Add(3 * time.Second)
	if v, _, err := f.get(t, "shop", "backlog", "queue=inspection"); err != nil || v != 9 {
		t.Fatalf("after the TTL got %v, %v; want the new value 9", v, err)
	}
}

// A cached answer is judged for age at the time of each request.
func TestCachedAnswerGoesStale(t *testing.T) {
	f := newFixture(t, Options{CacheTTL: time.Minute, MaxSampleAge: 30 * time.Second})
	f.prom.set(valueQ, vec(4, nil))
	f.prom.set(tsQ, stamp(t0))
	if _, _, err := f.get(t, "shop", "backlog", "queue=inspection"); err != nil {
		t.Fatal(err)
	}
	f.clock.Add(40 * time.Second)
	_, _, err := f.get(t, "shop", "backlog", "queue=inspection")
	if !apierrors.IsServiceUnavailable(err) {
		t.Fatalf("error = %v, want stale (503)", err)
	}
	if got := f.prom.calls.Load(); got != 2 {
		t.Errorf("Prometheus queries = %d, want 2: the second answer comes from the cache", got)
	}
}

func TestCoalescing(t *testing.T) {
	f := newFixture(t, Options{CacheTTL: 0})
	f.prom.set(valueQ, vec(5, nil))
	f.prom.set(tsQ, stamp(t0))
	f.prom.gate = make(chan struct{})
	const n = 20
	var wg sync.WaitGroup
	errs := make(chan error, n)
	for range n {
		wg.Go(func() {
			sel, _ := labels.Parse("queue=inspection")
			list, err := f.prov.GetExternalMetric(context.Background(), "shop", sel, cmprovider.ExternalMetricInfo{Metric: "backlog"})
			if err == nil && list.Items[0].Value.Cmp(resource.MustParse("5")) != 0 {
				err = errors.New("wrong value " + list.Items[0].Value.String())
			}
			errs <- err
		})
	}
	// Wait until the shared query is in flight, give the others time to
	// join it, then release it.
	deadline := time.Now().Add(10 * time.Second)
	for f.prom.calls.Load() < 2 && time.Now().Before(deadline) {
		time.Sleep(5 * time.Millisecond)
	}
	time.Sleep(100 * time.Millisecond)
	close(f.prom.gate)
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Error(err)
		}
	}
	if got := f.prom.calls.Load(); got != 2 {
		t.Errorf("Prometheus queries = %d for %d identical concurrent requests, want 2", got, n)
	}
}

func TestQueryTimeout(t *testing.T) {
	f := newFixture(t, Options{QueryTimeout: 100 * time.Millisecond})
	f.prom.gate = make(chan struct{}) // never released: Prometheus hangs
	t.Cleanup(func() { close(f.prom.gate) })
	done := make(chan error, 1)
	go func() {
		_, _, err := f.get(t, "shop", "backlog", "queue=inspection")
		done <- err
	}()
	select {
	case err := <-done:
		if !apierrors.IsServiceUnavailable(err) {
			t.Fatalf("error = %v, want 503 after the query timeout", err)
		}
	case <-time.After(30 * time.Second):
		t.Fatal("request did not end although the query timeout passed")
	}
}

func TestListAllExternalMetrics(t *testing.T) {
	f := newFixture(t, Options{})
	want := []cmprovider.ExternalMetricInfo{{Metric: "backlog"}, {Metric: "everywhere"}}
	if diff := cmp.Diff(want, f.prov.ListAllExternalMetrics()); diff != "" {
		t.Errorf("list (-want +got):\n%s", diff)
	}
}

func TestRulesReloadedMetrics(t *testing.T) {
	m := NewMetrics()
	if err := m.Register(metrics.NewKubeRegistry().Register); err != nil {
		t.Fatal(err)
	}
	m.RulesReloaded(true)
	m.RulesReloaded(false)
	m.RulesReloaded(false)
	ok, _ := testutil.GetCounterMetricValue(m.RulesReloads.WithLabelValues(OutcomeSuccess))
	bad, _ := testutil.GetCounterMetricValue(m.RulesReloads.WithLabelValues(OutcomeError))
	last, _ := testutil.GetGaugeMetricValue(m.RulesReloadStatus)
	if diff := cmp.Diff([]float64{1, 2, 0}, []float64{ok, bad, last}); diff != "" {
		t.Errorf("reload metrics [success error last] (-want +got):\n%s", diff)
	}
}
