package exporter

import (
	"context"
	"fmt"
	"net/http"
	"testing"
	"time"

	"k8s.io/utils/clock"
)

// BenchmarkRefresh10000Queues times one full refresh of 10,000 queues through
// the real SDK client against an SQS JSON endpoint that answers every
// GetQueueAttributes after 20 ms, at several concurrency limits. It fails
// unless every queue is read with exactly one call.
//
//	go test -run '^$' -bench BenchmarkRefresh10000Queues -benchtime 3x ./exporter/
func BenchmarkRefresh10000Queues(b *testing.B) {
	const queues = 10000
	const latency = 20 * time.Millisecond
	base := "https://sqs.us-east-1.amazonaws.com/123456789012/"
	attrs := map[string]any{"Attributes": map[string]string{
		"ApproximateNumberOfMessages":           "5",
		"ApproximateNumberOfMessagesNotVisible": "1",
		"ApproximateNumberOfMessagesDelayed":    "0",
	}}
	var urls []string
	for i := range queues {
		urls = append(urls, fmt.Sprintf("%sq-%05d", base, i))
	}
	for _, concurrency := range []int{25, 50, 100, 200} {
		b.Run(fmt.Sprintf("concurrency=%d", concurrency), func(b *testing.B) {
			srv := startSQSJSONServer(b, func(op string, _ map[string]any) sqsAnswer {
				if op != "GetQueueAttributes" {
					return sqsFail(http.StatusBadRequest, "InvalidAction")
				}
				time.Sleep(latency)
				return sqsOK(attrs)
			})
			e, err := New(newSDKClient(b, srv.URL, concurrency), testConfig(func(c *Config) {
				c.Queues = mustQueues(b, urls...)
				c.Concurrency = concurrency
				c.MinRefreshInterval = time.Nanosecond // every Snapshot refreshes
				c.RefreshTimeout = 5 * time.Minute
			}), clock.RealClock{})
			if err != nil {
				b.Fatal(err)
			}
			refreshes := 0
			start := time.Now()
			for b.Loop() {
				snap := e.Snapshot(context.Background())
				refreshes++
				for _, q := range snap.Queues {
					if q.Err != nil {
						b.Fatalf("queue %s: %v", q.Name, q.Err)
					}
				}
			}
			elapsed := time.Since(start)
			calls := srv.count("GetQueueAttributes")
			if calls != queues*refreshes {
				b.Fatalf("%d GetQueueAttributes calls for %d refreshes of %d queues, want exactly one per queue", calls, refreshes, queues)
			}
			b.ReportMetric(elapsed.Seconds()/float64(refreshes), "s/refresh")
			b.ReportMetric(float64(calls)/float64(refreshes), "calls/refresh")
			b.ReportMetric(float64(srv.connections())/float64(refreshes), "conns/refresh")
		})
	}
}
