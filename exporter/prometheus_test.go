package exporter

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/prometheus/client_golang/api"
	promv1 "github.com/prometheus/client_golang/api/prometheus/v1"
	"github.com/prometheus/common/model"
	"k8s.io/utils/clock"

	"github.com/queuescale/queuescale/internal/testenv"
	"github.com/queuescale/queuescale/internal/testenv/promserver"
)

// TestPrometheusPairSharesRefreshes has two real Prometheus servers (an HA
// pair) scrape one exporter every second, with a 3 s minimum refresh
// interval: SQS sees at most one GetQueueAttributes per queue per 3 s, not
// one per scrape, and both servers store every queue.
func TestPrometheusPairSharesRefreshes(t *testing.T) {
	_, client := startEmulator(t)
	const queues = 10
	for i := range queues {
		createQueue(t, client, fmt.Sprintf("ha-%02d", i), nil)
	}
	const minRefresh = 3 * time.Second
	e, err := New(client, testConfig(func(c *Config) {
		c.Prefixes = []string{"ha-"}
		c.MinRefreshInterval = minRefresh
	}), clock.RealClock{})
	if err != nil {
		t.Fatal(err)
	}
	var scrapes atomic.Int64
	h := e.Handler(nil)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get(scrapeTimeoutHeader) == "" {
			t.Errorf("Prometheus sent no %s header", scrapeTimeoutHeader)
		}
		scrapes.Add(1)
		h.ServeHTTP(w, r)
	}))
	t.Cleanup(srv.Close)

	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	start := time.Now()
	var proms []*promserver.Server
	for i := range 2 {
		dir := filepath.Join(t.TempDir(), fmt.Sprint("prometheus-", i))
		p, err := promserver.Start(ctx, promserver.Options{
			Dir: dir, LogDir: dir, ScrapeInterval: time.Second,
			Targets: []promserver.Target{{Job: "sqs", Addr: strings.TrimPrefix(srv.URL, "http://")}},
		})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(p.Stop)
		proms = append(proms, p)
	}

	// Each server stores all ten queues as up.
	for i, p := range proms {
		papi := promv1.NewAPI(mustAPIClient(t, p.URL))
		err := testenv.Poll(ctx, 500*time.Millisecond, fmt.Sprintf("prometheus %d to store every queue", i), func(ctx context.Context) error {
			v, _, _, err := papi.Query(ctx, `count(sqs_queue_up{job="sqs"} == 1) and count(sqs_messages_visible{job="sqs"})`, time.Now())
			if err != nil {
				return err
			}
			vec, ok := v.(model.Vector)
			if !ok || len(vec) != 1 || vec[0].Value != queues {
				return fmt.Errorf("got %v", v)
			}
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
	}
	if err := testenv.Poll(ctx, 200*time.Millisecond, "20 scrapes", func(context.Context) error {
		if n := scrapes.Load(); n < 20 {
			return fmt.Errorf("%d scrapes", n)
		}
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	elapsed := time.Since(start)
	calls := e.requests.success[opGetQueueAttributes].Load()
	n := scrapes.Load()
	if calls%queues != 0 {
		t.Errorf("%d GetQueueAttributes calls is not a whole number of refreshes of %d queues", calls, queues)
	}
	refreshes := int64(calls / queues)
	limit := int64(elapsed/minRefresh) + 1
	t.Logf("%d scrapes by two Prometheus servers in %v caused %d refreshes (%d GetQueueAttributes calls)", n, elapsed.Round(time.Millisecond), refreshes, calls)
	if refreshes > limit {
		t.Errorf("%d refreshes in %v, want at most %d (one per %v)", refreshes, elapsed, limit, minRefresh)
	}
	if refreshes*2 > n {
		t.Errorf("%d refreshes for %d scrapes: scrapes are not sharing refreshes", refreshes, n)
	}
}

func mustAPIClient(t *testing.T, url string) api.Client {
	t.Helper()
	c, err := api.NewClient(api.Config{Address: url})
	if err != nil {
		t.Fatal(err)
	}
	return c
}
