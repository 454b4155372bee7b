package exporter

import (
	"context"
	"net/http"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"k8s.io/utils/clock"
)

// TestSDKErrorsMarkOnlyTheFailingQueue runs the real AWS SDK client against a
// server answering like SQS: access denied, throttled on every attempt, a
// deleted queue, and one healthy queue.
func TestSDKErrorsMarkOnlyTheFailingQueue(t *testing.T) {
	base := "https://sqs.us-east-1.amazonaws.com/123456789012/"
	srv := startSQSJSONServer(t, func(op string, req map[string]any) sqsAnswer {
		if op != "GetQueueAttributes" {
			return sqsFail(http.StatusBadRequest, "InvalidAction")
		}
		switch req["QueueUrl"] {
		case base + "denied":
			return sqsFail(http.StatusForbidden, "AccessDenied")
		case base + "throttled":
			return sqsFail(http.StatusBadRequest, "RequestThrottled")
		case base + "healthy":
			return sqsOK(map[string]any{"Attributes": map[string]string{
				"ApproximateNumberOfMessages":           "12",
				"ApproximateNumberOfMessagesNotVisible": "3",
				"ApproximateNumberOfMessagesDelayed":    "1",
			}})
		}
		return sqsFail(http.StatusBadRequest, "QueueDoesNotExist")
	})
	e, err := New(newSDKClient(t, srv.URL, 4), testConfig(func(c *Config) {
		c.Queues = mustQueues(t, base+"denied", base+"throttled", base+"deleted", base+"healthy")
	}), clock.RealClock{})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	snap := e.Snapshot(ctx)
	want := map[string]view{
		"denied":    {URL: base + "denied"},
		"throttled": {URL: base + "throttled"},
		"deleted":   {URL: base + "deleted"},
		"healthy":   {URL: base + "healthy", Up: true, Visible: 12, InFlight: 3, Delayed: 1},
	}
	if diff := cmp.Diff(want, viewOf(snap)); diff != "" {
		t.Errorf("queues (-want +got):\n%s", diff)
	}
	codes := make(map[string]string)
	for _, q := range snap.Queues {
		codes[q.Name] = errorCode(q.Err)
	}
	wantCodes := map[string]string{"denied": "AccessDenied", "throttled": "RequestThrottled", "deleted": "AWS.SimpleQueueService.NonExistentQueue", "healthy": ""}
	if diff := cmp.Diff(wantCodes, codes); diff != "" {
		t.Errorf("error codes (-want +got):\n%s", diff)
	}
	// The SDK's standard retryer made the retries (3 attempts), not us;
	// access denied and a missing queue are not retried.
	for url, want := range map[string]int{base + "throttled": 3, base + "denied": 1, base + "deleted": 1, base + "healthy": 1} {
		if got := srv.count("GetQueueAttributes " + url); got != want {
			t.Errorf("attempts for %s = %d, want %d", url, got, want)
		}
	}
	if got, want := e.requests.failure[opGetQueueAttributes].Load(), uint64(3); got != want {
		t.Errorf("GetQueueAttributes errors counted = %d, want %d (a retried call counts once)", got, want)
	}
}
