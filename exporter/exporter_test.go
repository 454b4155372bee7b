package exporter

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/sqs/types"
	"github.com/google/go-cmp/cmp"
	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"
	"k8s.io/utils/clock"
	testingclock "k8s.io/utils/clock/testing"
)

var epoch = time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)

func testConfig(mod func(*Config)) Config {
	c := Config{
		DiscoveryInterval:   5 * time.Minute,
		MinRefreshInterval:  15 * time.Second,
		Concurrency:         4,
		RefreshTimeout:      30 * time.Second,
		ScrapeTimeoutOffset: 500 * time.Millisecond,
	}
	if mod != nil {
		mod(&c)
	}
	return c
}

func newTestExporter(t testing.TB, client SQS, cfg Config) (*Exporter, *testingclock.FakeClock) {
	t.Helper()
	clk := testingclock.NewFakeClock(epoch)
	e, err := New(client, cfg, clk)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	return e, clk
}

func mustQueues(t testing.TB, args ...string) []Queue {
	t.Helper()
	var qs []Queue
	for _, a := range args {
		q, err := ParseQueue(a)
		if err != nil {
			t.Fatal(err)
		}
		qs = append(qs, q)
	}
	return qs
}

// view is what a user sees of one queue.
type view struct {
	URL                        string
	Up                         bool
	Visible, InFlight, Delayed float64
}

func viewOf(s *Snapshot) map[string]view {
	out := make(map[string]view)
	for _, q := range s.Queues {
		out[q.Name] = view{URL: q.URL, Up: q.Err == nil, Visible: q.Visible, InFlight: q.InFlight, Delayed: q.Delayed}
	}
	return out
}

func TestRefreshReportsEachQueueOnItsOwn(t *testing.T) {
	u := func(name string) string { return fakeURLBase + name }
	tests := []struct {
		name    string
		queues  []string
		prefix  []string
		prepare func(*fakeSQS)
		want    map[string]view
		// wantCalls is the number of GetQueueAttributes calls.
		wantCalls int
	}{
		{
			name:   "names, URLs and prefixes all read",
			queues: []string{"orders", fakeURLBase + "jobs.fifo"},
			prefix: []string{"img-"},
			prepare: func(f *fakeSQS) {
				f.add("orders", 3, 2, 1)
				f.add("jobs.fifo", 7, 0, 0)
				f.add("img-a", 0, 0, 0)
				f.add("img-b", 10, 5, 0)
				f.add("unrelated", 1, 1, 1)
			},
			want: map[string]view{
				"orders":    {URL: u("orders"), Up: true, Visible: 3, InFlight: 2, Delayed: 1},
				"jobs.fifo": {URL: u("jobs.fifo"), Up: true, Visible: 7},
				"img-a":     {URL: u("img-a"), Up: true},
				"img-b":     {URL: u("img-b"), Up: true, Visible: 10, InFlight: 5},
			},
			wantCalls: 4,
		},
		{
			name:   "access denied marks only that queue down",
			queues: []string{"a", "b"},
			prepare: func(f *fakeSQS) {
				f.add("a", 1, 0, 0)
				f.add("b", 2, 0, 0).err = apiError("AccessDenied")
			},
			want: map[string]view{
				"a": {URL: u("a"), Up: true, Visible: 1},
				"b": {URL: u("b")},
			},
			wantCalls: 2,
		},
		{
			name:   "throttled past the SDK's retries marks only that queue down",
			queues: []string{"a", "b"},
			prepare: func(f *fakeSQS) {
				f.add("a", 0, 0, 0).err = apiError("RequestThrottled")
				f.add("b", 2, 0, 0)
			},
			want: map[string]view{
				"a": {URL: u("a")},
				"b": {URL: u("b"), Up: true, Visible: 2},
			},
			wantCalls: 2,
		},
		{
			name:   "queue given by URL that does not exist",
			queues: []string{fakeURLBase + "gone", "a"},
			prepare: func(f *fakeSQS) {
				f.add("a", 4, 0, 0)
			},
			want: map[string]view{
				"gone": {URL: u("gone")},
				"a":    {URL: u("a"), Up: true, Visible: 4},
			},
			wantCalls: 2,
		},
		{
			name:    "queue given by name that does not resolve is down without a URL and costs no GetQueueAttributes",
			queues:  []string{"nosuch", "a"},
			prepare: func(f *fakeSQS) { f.add("a", 0, 1, 0) },
			want: map[string]view{
				"nosuch": {},
				"a":      {URL: u("a"), Up: true, InFlight: 1},
			},
			wantCalls: 1,
		},
		{
			name:   "a response without a count is a failure, not a zero",
			queues: []string{"a", "b"},
			prepare: func(f *fakeSQS) {
				delete(f.add("a", 0, 0, 0).attrs, "ApproximateNumberOfMessagesDelayed")
				f.add("b", 0, 0, 0).attrs["ApproximateNumberOfMessages"] = "lots"
			},
			want: map[string]view{
				"a": {URL: u("a")},
				"b": {URL: u("b")},
			},
			wantCalls: 2,
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			f := newFakeSQS()
			tc.prepare(f)
			e, _ := newTestExporter(t, f, testConfig(func(c *Config) {
				c.Queues = mustQueues(t, tc.queues...)
				c.Prefixes = tc.prefix
			}))
			snap := e.Snapshot(context.Background())
			if diff := cmp.Diff(tc.want, viewOf(snap)); diff != "" {
				t.Errorf("queues (-want +got):\n%s", diff)
			}
			for _, q := range snap.Queues {
				if q.Err == nil && q.LastSuccess.IsZero() {
					t.Errorf("queue %s read but has no last success time", q.Name)
				}
				if q.Err != nil && !q.LastSuccess.IsZero() {
					t.Errorf("queue %s never read but has a last success time", q.Name)
				}
			}
			if got := f.callCount("GetQueueAttributes"); got != tc.wantCalls {
				t.Errorf("GetQueueAttributes calls = %d, want %d", got, tc.wantCalls)
			}
			wantNames := []types.QueueAttributeName{"ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible", "ApproximateNumberOfMessagesDelayed"}
			for _, names := range f.attrNames {
				if diff := cmp.Diff(wantNames, names); diff != "" {
					t.Errorf("attributes asked for (-want +got):\n%s", diff)
				}
			}
		})
	}
}

func TestSnapshotReusedWithinMinRefreshInterval(t *testing.T) {
	f := newFakeSQS()
	f.add("a", 1, 0, 0)
	f.add("b", 2, 0, 0)
	e, clk := newTestExporter(t, f, testConfig(func(c *Config) {
		c.Queues = mustQueues(t, "a", "b")
		c.MinRefreshInterval = 15 * time.Second
	}))
	steps := []struct {
		advance   time.Duration
		setA      int
		wantA     float64
		wantCalls int
	}{
		{advance: 0, setA: 1, wantA: 1, wantCalls: 2},
		{advance: 5 * time.Second, setA: 9, wantA: 1, wantCalls: 2},  // reused
		{advance: 9 * time.Second, setA: 9, wantA: 1, wantCalls: 2},  // 14 s after the refresh: reused
		{advance: 1 * time.Second, setA: 9, wantA: 9, wantCalls: 4},  // 15 s: refreshed
		{advance: 14 * time.Second, setA: 3, wantA: 9, wantCalls: 4}, // reused
		{advance: time.Minute, setA: 3, wantA: 3, wantCalls: 6},      // refreshed
	}
	for i, s := range steps {
		clk.Step(s.advance)
		f.mu.Lock()
		f.queues[fakeURLBase+"a"].attrs["ApproximateNumberOfMessages"] = fmt.Sprint(s.setA)
		f.mu.Unlock()
		got := viewOf(e.Snapshot(context.Background()))["a"].Visible
		if got != s.wantA {
			t.Errorf("step %d: visible = %v, want %v", i, got, s.wantA)
		}
		if calls := f.callCount("GetQueueAttributes"); calls != s.wantCalls {
			t.Errorf("step %d: GetQueueAttributes calls = %d, want %d", i, calls, s.wantCalls)
		}
	}
}

// waitFor polls cond until it holds or 10 s pass.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func TestConcurrentScrapesShareOneRefresh(t *testing.T) {
	const queues = 6
	f := newFakeSQS()
	var names []string
	for i := range queues {
		names = append(names, fmt.Sprintf("q%d", i))
		f.add(names[i], i, 0, 0)
	}
	f.release = make(chan struct{})
	e, _ := newTestExporter(t, f, testConfig(func(c *Config) {
		c.Queues = mustQueues(t, names...)
		c.Concurrency = queues
	}))
	h := e.Handler(nil)
	const scrapers = 3
	bodies := make([]string, scrapers)
	var wg sync.WaitGroup
	scrape := func(i int) {
		defer wg.Done()
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/metrics", nil))
		bodies[i] = rec.Body.String()
	}
	wg.Add(1)
	go scrape(0)
	// The first scrape's refresh is now waiting inside SQS calls; the others
	// arrive while it runs.
	waitFor(t, "the first refresh to call SQS", func() bool { return f.callCount("GetQueueAttributes") == queues })
	for i := 1; i < scrapers; i++ {
		wg.Add(1)
		go scrape(i)
	}
	time.Sleep(100 * time.Millisecond) // let them reach the refresh
	close(f.release)
	wg.Wait()
	if got := f.callCount("GetQueueAttributes"); got != queues {
		t.Errorf("GetQueueAttributes calls = %d for %d concurrent scrapes, want %d (one per queue)", got, scrapers, queues)
	}
	for i := 1; i < scrapers; i++ {
		if !strings.Contains(bodies[i], `sqs_messages_visible{queue="q5"} 5`) {
			t.Errorf("scrape %d lacks the shared result:\n%s", i, bodies[i])
		}
	}
}

func TestRefreshConcurrencyIsBounded(t *testing.T) {
	for _, limit := range []int{1, 3, 8} {
		t.Run(fmt.Sprint(limit), func(t *testing.T) {
			f := newFakeSQS()
			var names []string
			for i := range 40 {
				names = append(names, fmt.Sprintf("q%02d", i))
				f.add(names[i], 0, 0, 0)
			}
			f.release = make(chan struct{})
			e, _ := newTestExporter(t, f, testConfig(func(c *Config) {
				c.Queues = mustQueues(t, names...)
				c.Concurrency = limit
			}))
			done := make(chan *Snapshot)
			go func() { done <- e.Snapshot(context.Background()) }()
			inFlight := func() int { f.mu.Lock(); defer f.mu.Unlock(); return f.inFlight }
			waitFor(t, fmt.Sprintf("%d calls in flight", limit), func() bool { return inFlight() == limit })
			time.Sleep(100 * time.Millisecond) // room for any call beyond the limit to start
			if got := inFlight(); got != limit {
				t.Errorf("calls in flight = %d, want %d", got, limit)
			}
			close(f.release)
			snap := <-done
			f.mu.Lock()
			defer f.mu.Unlock()
			if f.maxInFlight != limit {
				t.Errorf("most calls in flight = %d, want %d", f.maxInFlight, limit)
			}
			if len(snap.Queues) != 40 || f.calls["GetQueueAttributes"] != 40 {
				t.Errorf("refresh read %d queues with %d calls, want 40 and 40", len(snap.Queues), f.calls["GetQueueAttributes"])
			}
		})
	}
}

func TestDiscovery(t *testing.T) {
	f := newFakeSQS()
	for i := range 2500 {
		f.add(fmt.Sprintf("img-%04d", i), 1, 0, 0)
	}
	f.add("other", 1, 0, 0)
	e, clk := newTestExporter(t, f, testConfig(func(c *Config) {
		c.Prefixes = []string{"img-"}
		c.Concurrency = 16
		c.MinRefreshInterval = 10 * time.Second
		c.DiscoveryInterval = time.Minute
	}))
	count := func(s *Snapshot) (up, down int) {
		for _, q := range s.Queues {
			if q.Err == nil {
				up++
			} else {
				down++
			}
		}
		return up, down
	}

	s := e.Snapshot(context.Background())
	if up, down := count(s); up != 2500 || down != 0 {
		t.Fatalf("first refresh: %d up, %d down; want 2500 up over three ListQueues pages", up, down)
	}
	if got := f.callCount("ListQueues"); got != 3 {
		t.Errorf("ListQueues calls = %d, want 3 (pages of 1,000)", got)
	}

	// Deleted between discovery and refresh: down until the next discovery.
	f.remove("img-0042")
	clk.Step(10 * time.Second)
	s = e.Snapshot(context.Background())
	if up, down := count(s); up != 2499 || down != 1 || viewOf(s)["img-0042"].Up {
		t.Errorf("after deleting img-0042: %d up, %d down; want 2499 up and img-0042 down", up, down)
	}
	if got := f.callCount("ListQueues"); got != 3 {
		t.Errorf("ListQueues calls = %d before the discovery interval passed, want 3", got)
	}

	// Discovery fails: the last known queues stay.
	f.mu.Lock()
	f.listErr = apiError("AccessDenied")
	f.mu.Unlock()
	clk.Step(time.Minute)
	s = e.Snapshot(context.Background())
	if got := len(s.Queues); got != 2500 {
		t.Errorf("after a failed discovery: %d queues, want the last known 2500", got)
	}
	if got := e.requests.failure[opListQueues].Load(); got != 1 {
		t.Errorf("ListQueues errors counted = %d, want 1", got)
	}

	// Discovery works again: the deleted queue is gone.
	f.mu.Lock()
	f.listErr = nil
	f.mu.Unlock()
	clk.Step(time.Minute)
	s = e.Snapshot(context.Background())
	if up, down := count(s); up != 2499 || down != 0 {
		t.Errorf("after rediscovery: %d up, %d down; want 2499 up, the deleted queue gone", up, down)
	}
	if _, ok := viewOf(s)["img-0042"]; ok {
		t.Error("img-0042 still listed after rediscovery")
	}
	if got, want := e.requests.success[opListQueues].Load(), uint64(6); got != want {
		t.Errorf("ListQueues successes counted = %d, want %d", got, want)
	}
}

func TestNamedQueueResolvedOnceItExists(t *testing.T) {
	f := newFakeSQS()
	e, clk := newTestExporter(t, f, testConfig(func(c *Config) {
		c.Queues = mustQueues(t, "late")
		c.MinRefreshInterval = time.Second
		c.DiscoveryInterval = time.Minute
	}))
	if v := viewOf(e.Snapshot(context.Background()))["late"]; v.Up || v.URL != "" {
		t.Fatalf("missing queue: %+v, want down without URL", v)
	}
	f.add("late", 5, 0, 0)
	clk.Step(time.Minute)
	if v := viewOf(e.Snapshot(context.Background()))["late"]; !v.Up || v.Visible != 5 {
		t.Errorf("created queue after rediscovery: %+v, want up with 5 visible", v)
	}
	clk.Step(time.Minute)
	e.Snapshot(context.Background())
	if got := f.callCount("GetQueueUrl"); got != 2 {
		t.Errorf("GetQueueUrl calls = %d, want 2 (a resolved name is not looked up again)", got)
	}
}

func TestScrapeTimeoutHeaderBoundsRefresh(t *testing.T) {
	f := newFakeSQS()
	f.add("slow", 1, 0, 0)
	f.add("fast", 1, 0, 0)
	f.release = make(chan struct{}) // never closed: calls end at the deadline
	e, err := New(f, testConfig(func(c *Config) {
		c.Queues = mustQueues(t, "slow")
		c.ScrapeTimeoutOffset = 250 * time.Millisecond
	}), clock.RealClock{})
	if err != nil {
		t.Fatal(err)
	}
	req := httptest.NewRequest(http.MethodGet, "/metrics", nil)
	req.Header.Set("X-Prometheus-Scrape-Timeout-Seconds", "0.75")
	rec := httptest.NewRecorder()
	e.Handler(nil).ServeHTTP(rec, req)
	if rec.Code != http.StatusOK {
		t.Fatalf("status %d: %s", rec.Code, rec.Body)
	}
	if !strings.Contains(rec.Body.String(), `sqs_queue_up{queue="slow"} 0`) || strings.Contains(rec.Body.String(), "sqs_messages_visible") {
		t.Errorf("a queue not read by the deadline must be down with no depth:\n%s", rec.Body)
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	if len(f.deadlines) != 1 || f.deadlines[0] > 500*time.Millisecond || f.deadlines[0] <= 0 {
		t.Errorf("time left when SQS was called = %v, want one call with at most 0.75 s - 0.25 s", f.deadlines)
	}
}

func TestScrapeTimeout(t *testing.T) {
	tests := []struct {
		header string
		offset time.Duration
		want   time.Duration
	}{
		{"", 500 * time.Millisecond, 30 * time.Second},
		{"10", 500 * time.Millisecond, 9500 * time.Millisecond},
		{"2.5", 0, 2500 * time.Millisecond},
		{"120", 500 * time.Millisecond, 30 * time.Second},
		{"0.2", 500 * time.Millisecond, 200 * time.Millisecond},
		{"soon", 500 * time.Millisecond, 30 * time.Second},
		{"-1", 500 * time.Millisecond, 30 * time.Second},
	}
	for _, tc := range tests {
		t.Run(tc.header, func(t *testing.T) {
			if got := scrapeTimeout(tc.header, tc.offset, 30*time.Second); got != tc.want {
				t.Errorf("scrapeTimeout(%q, %v) = %v, want %v", tc.header, tc.offset, got, tc.want)
			}
		})
	}
}

func TestParseQueue(t *testing.T) {
	tests := []struct {
		in      string
		want    Queue
		wantErr string
	}{
		{in: "orders", want: Queue{Name: "orders"}},
		{in: "jobs.fifo", want: Queue{Name: "jobs.fifo"}},
		{in: "https://sqs.us-east-1.amazonaws.com/123456789012/orders", want: Queue{Name: "orders", URL: "https://sqs.us-east-1.amazonaws.com/123456789012/orders"}},
		{in: "http://sqs.us-east-1.127.0.0.1:4566/000000000000/a_b-c", want: Queue{Name: "a_b-c", URL: "http://sqs.us-east-1.127.0.0.1:4566/000000000000/a_b-c"}},
		{in: "", wantErr: `queue name "" is invalid`},
		{in: "has space", wantErr: "is invalid"},
		{in: strings.Repeat("x", 81), wantErr: "is invalid"},
		{in: "ftp://host/1/q", wantErr: "scheme must be https or http"},
		{in: "https:///1/q", wantErr: "no host"},
		{in: "https://sqs.us-east-1.amazonaws.com/q", wantErr: "/ACCOUNT_ID/QUEUE_NAME"},
		{in: "https://sqs.us-east-1.amazonaws.com/1/q/extra", wantErr: "/ACCOUNT_ID/QUEUE_NAME"},
		{in: "https://sqs.us-east-1.amazonaws.com/1/bad name", wantErr: "not an SQS queue name"},
		{in: "https://sqs.us-east-1.amazonaws.com:bad/1/q", wantErr: "is invalid"},
		{in: "https://sqs.us-east-1.amazonaws.com/1/q?", wantErr: "without query"},
		{in: "https://sqs.us-east-1.amazonaws.com/1/q#", wantErr: "without query"},
		{in: "https://sqs.us-east-1.amazonaws.com/1/%71", wantErr: "without query"},
		{in: "https://me@sqs.us-east-1.amazonaws.com/1/q", wantErr: "without query"},
	}
	for _, tc := range tests {
		t.Run(tc.in, func(t *testing.T) {
			got, err := ParseQueue(tc.in)
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("ParseQueue(%q) error = %v, want one containing %q", tc.in, err, tc.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tc.want, got); diff != "" {
				t.Errorf("(-want +got):\n%s", diff)
			}
		})
	}
	if !(Queue{Name: "a.fifo"}).FIFO() || (Queue{Name: "fifo"}).FIFO() {
		t.Error("FIFO() must follow the .fifo suffix")
	}
}

func TestConfigValidateJoinsAllProblems(t *testing.T) {
	err := Config{Prefixes: []string{"bad prefix"}, Concurrency: 0, ScrapeTimeoutOffset: -1}.Validate()
	if err == nil {
		t.Fatal("Validate accepted an empty config")
	}
	for _, want := range []string{
		`queue prefix "bad prefix" is invalid`,
		"--discovery-interval must be positive, got 0s",
		"--min-refresh-interval must be positive",
		"--refresh-timeout must be positive",
		"--scrape-timeout-offset must not be negative",
		"--concurrency must be at least 1, got 0",
	} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error lacks %q:\n%v", want, err)
		}
	}
	if err := (Config{}).Validate(); err == nil || !strings.Contains(err.Error(), "no queues") {
		t.Errorf("no queues and no prefix: %v", err)
	}
	if err := testConfig(func(c *Config) { c.Prefixes = []string{"a"} }).Validate(); err != nil {
		t.Errorf("valid config rejected: %v", err)
	}
}

// parseExposition parses the text format into metric families.
func parseExposition(t testing.TB, text string) map[string]*dto.MetricFamily {
	t.Helper()
	p := expfmt.NewTextParser(model.UTF8Validation)
	fams, err := p.TextToMetricFamilies(strings.NewReader(text))
	if err != nil {
		t.Fatalf("parse exposition: %v\n%s", err, text)
	}
	return fams
}

// sample returns the value of the series of name with exactly the labels
// given as name/value pairs.
func sample(fams map[string]*dto.MetricFamily, name string, labels ...string) (float64, bool) {
	fam, ok := fams[name]
	if !ok {
		return 0, false
	}
	for _, m := range fam.GetMetric() {
		got := make(map[string]string)
		for _, lp := range m.GetLabel() {
			got[lp.GetName()] = lp.GetValue()
		}
		want := make(map[string]string)
		for i := 0; i+1 < len(labels); i += 2 {
			want[labels[i]] = labels[i+1]
		}
		if !cmp.Equal(got, want) {
			continue
		}
		switch {
		case m.Gauge != nil:
			return m.GetGauge().GetValue(), true
		case m.Counter != nil:
			return m.GetCounter().GetValue(), true
		}
	}
	return 0, false
}

func TestFailedQueueHasNoDepthSeries(t *testing.T) {
	f := newFakeSQS()
	f.add("ok", 0, 0, 0)
	f.add("denied", 5, 0, 0)
	e, clk := newTestExporter(t, f, testConfig(func(c *Config) { c.Queues = mustQueues(t, "ok", "denied") }))
	e.Snapshot(context.Background())
	f.setErr("denied", apiError("AccessDenied"))
	clk.Step(time.Minute)
	rec := httptest.NewRecorder()
	e.Handler(nil).ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/metrics", nil))
	fams := parseExposition(t, rec.Body.String())
	for _, name := range []string{"sqs_messages_visible", "sqs_messages_in_flight", "sqs_messages_delayed"} {
		if v, ok := sample(fams, name, "queue", "denied"); ok {
			t.Errorf("%s{queue=denied} = %v for a queue that failed, want no series", name, v)
		}
		if v, ok := sample(fams, name, "queue", "ok"); !ok || v != 0 {
			t.Errorf("%s{queue=ok} = %v, %v; want 0, present (an empty queue that was read)", name, v, ok)
		}
	}
	if v, _ := sample(fams, "sqs_queue_up", "queue", "denied"); v != 0 {
		t.Errorf("sqs_queue_up{queue=denied} = %v, want 0", v)
	}
	if v, ok := sample(fams, "sqs_queue_last_success_timestamp_seconds", "queue", "denied"); !ok || v != unixSeconds(epoch) {
		t.Errorf("last success of denied = %v, %v; want the first refresh's time %v", v, ok, unixSeconds(epoch))
	}
	if v, _ := sample(fams, "sqs_exporter_requests_total", "operation", "GetQueueAttributes", "outcome", "error"); v != 1 {
		t.Errorf("GetQueueAttributes errors = %v, want 1", v)
	}
}
