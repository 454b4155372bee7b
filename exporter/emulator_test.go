package exporter

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	dto "github.com/prometheus/client_model/go"
	"golang.org/x/sync/errgroup"
	"k8s.io/utils/clock"
	testingclock "k8s.io/utils/clock/testing"

	"github.com/queuescale/queuescale/internal/testenv"
	"github.com/queuescale/queuescale/internal/testenv/sqsemu"
)

// The tests in this file run against fauxqs, an SQS-compatible server,
// started on 127.0.0.1 by the test. Things worth knowing about it:
//   - queue URLs look like http://sqs.us-east-1.127.0.0.1:PORT/000000000000/NAME;
//     the SDK sends every call to its BaseEndpoint, the URL is only a
//     parameter, and fauxqs looks queues up by the exact URL it issued;
//   - counts are exact right after each call; its timers (visibility
//     timeouts, delays) run every 100 ms in our launcher;
//   - ListQueues pagination is provided by our launcher (test/sqs-emulator).

// startEmulator starts the emulator and returns a client for it, made by
// NewClient as the exporter's own is.
func startEmulator(t *testing.T) (*sqsemu.Emulator, *sqs.Client) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	emu, err := sqsemu.Start(ctx, t.TempDir())
	if err != nil {
		t.Fatalf("start the SQS emulator: %v (run `make deps`)", err)
	}
	t.Cleanup(emu.Stop)
	return emu, newSDKClient(t, emu.Endpoint, 64)
}

func createQueue(t *testing.T, c *sqs.Client, name string, attrs map[string]string) string {
	t.Helper()
	out, err := c.CreateQueue(context.Background(), &sqs.CreateQueueInput{QueueName: aws.String(name), Attributes: attrs})
	if err != nil {
		t.Fatalf("create queue %s: %v", name, err)
	}
	return aws.ToString(out.QueueUrl)
}

// serve exposes e's handler on 127.0.0.1 and returns the /metrics URL.
func serve(t *testing.T, e *Exporter) string {
	t.Helper()
	srv := httptest.NewServer(e.Handler(nil))
	t.Cleanup(srv.Close)
	return srv.URL + "/metrics"
}

// get scrapes url as Prometheus would, with a 10 s scrape timeout.
func get(t *testing.T, url string) (string, map[string]*dto.MetricFamily) {
	t.Helper()
	req, err := http.NewRequest(http.MethodGet, url, nil)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("X-Prometheus-Scrape-Timeout-Seconds", "10")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("scrape: %v", err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil || resp.StatusCode != http.StatusOK {
		t.Fatalf("scrape: %s %v\n%s", resp.Status, err, body)
	}
	return string(body), parseExposition(t, string(body))
}

// depth is what a scrape says of a queue: visible, in flight, delayed, or
// ok false when it has no depth series.
type depth struct {
	Visible, InFlight, Delayed float64
	ok                         bool
}

func depthOf(fams map[string]*dto.MetricFamily, queue string) depth {
	v, ok1 := sample(fams, "sqs_messages_visible", "queue", queue)
	f, ok2 := sample(fams, "sqs_messages_in_flight", "queue", queue)
	d, ok3 := sample(fams, "sqs_messages_delayed", "queue", queue)
	return depth{Visible: v, InFlight: f, Delayed: d, ok: ok1 && ok2 && ok3}
}

func TestEmulatorCountsFollowMessages(t *testing.T) {
	_, client := startEmulator(t)
	ctx := context.Background()
	workURL := createQueue(t, client, "work", nil)
	fifoURL := createQueue(t, client, "events.fifo", map[string]string{"FifoQueue": "true"})
	e, err := New(client, testConfig(func(c *Config) {
		c.Queues = mustQueues(t, "work", fifoURL, "absent")
		c.MinRefreshInterval = time.Nanosecond // every scrape reads SQS
	}), clock.RealClock{})
	if err != nil {
		t.Fatal(err)
	}
	url := serve(t, e)

	expect := func(step string, want depth) {
		t.Helper()
		if got := depthOf(scrapeFams(t, url), "work"); got != want {
			t.Fatalf("%s: work = %+v, want %+v", step, got, want)
		}
	}
	// eventually polls until the queue reaches want (timers in SQS run late).
	eventually := func(step string, want depth) {
		t.Helper()
		pctx, cancel := context.WithTimeout(ctx, 30*time.Second)
		defer cancel()
		err := testenv.Poll(pctx, 200*time.Millisecond, step, func(context.Context) error {
			if got := depthOf(scrapeFams(t, url), "work"); got != want {
				return fmt.Errorf("work = %+v, want %+v", got, want)
			}
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
	}

	_, fams := get(t, url)
	if got := depthOf(fams, "work"); got != (depth{ok: true}) {
		t.Fatalf("new queue: %+v, want 0 0 0 exported", got)
	}
	if up, _ := sample(fams, "sqs_queue_up", "queue", "absent"); up != 0 || depthOf(fams, "absent").ok {
		t.Errorf("a queue that does not exist must be down with no depth series")
	}
	if v, ok := sample(fams, "sqs_queue_info", "queue", "events.fifo", "url", fifoURL, "fifo", "true"); !ok || v != 1 {
		t.Errorf("sqs_queue_info for the FIFO queue missing")
	}
	if v, ok := sample(fams, "sqs_queue_info", "queue", "work", "url", workURL, "fifo", "false"); !ok || v != 1 {
		t.Errorf("sqs_queue_info for work missing")
	}

	for i := range 3 {
		if _, err := client.SendMessage(ctx, &sqs.SendMessageInput{QueueUrl: aws.String(workURL), MessageBody: aws.String(fmt.Sprint("job ", i))}); err != nil {
			t.Fatal(err)
		}
	}
	expect("after 3 sends", depth{Visible: 3, ok: true})

	for i := range 2 {
		if _, err := client.SendMessage(ctx, &sqs.SendMessageInput{QueueUrl: aws.String(workURL), MessageBody: aws.String(fmt.Sprint("later ", i)), DelaySeconds: 2}); err != nil {
			t.Fatal(err)
		}
	}
	expect("after 2 delayed sends", depth{Visible: 3, Delayed: 2, ok: true})
	eventually("the delay to expire", depth{Visible: 5, ok: true})

	got, err := client.ReceiveMessage(ctx, &sqs.ReceiveMessageInput{QueueUrl: aws.String(workURL), MaxNumberOfMessages: 2, VisibilityTimeout: 2})
	if err != nil || len(got.Messages) != 2 {
		t.Fatalf("receive 2: %d messages, %v", len(got.Messages), err)
	}
	expect("after receiving 2 with a 2 s visibility timeout", depth{Visible: 3, InFlight: 2, ok: true})
	eventually("the visibility timeout to return them", depth{Visible: 5, ok: true})

	got, err = client.ReceiveMessage(ctx, &sqs.ReceiveMessageInput{QueueUrl: aws.String(workURL), MaxNumberOfMessages: 1, VisibilityTimeout: 60})
	if err != nil || len(got.Messages) != 1 {
		t.Fatalf("receive 1: %d messages, %v", len(got.Messages), err)
	}
	expect("after receiving 1", depth{Visible: 4, InFlight: 1, ok: true})
	if _, err := client.DeleteMessage(ctx, &sqs.DeleteMessageInput{QueueUrl: aws.String(workURL), ReceiptHandle: got.Messages[0].ReceiptHandle}); err != nil {
		t.Fatal(err)
	}
	expect("after deleting it", depth{Visible: 4, ok: true})

	if _, err := client.SendMessage(ctx, &sqs.SendMessageInput{QueueUrl: aws.String(fifoURL), MessageBody: aws.String("e"),
		MessageGroupId: aws.String("g"), MessageDeduplicationId: aws.String("d1")}); err != nil {
		t.Fatal(err)
	}
	if got := depthOf(scrapeFams(t, url), "events.fifo"); got != (depth{Visible: 1, ok: true}) {
		t.Errorf("FIFO queue after one send: %+v", got)
	}
}

func scrapeFams(t *testing.T, url string) map[string]*dto.MetricFamily {
	t.Helper()
	_, fams := get(t, url)
	return fams
}

// countUp counts the queues with sqs_queue_up 1 and 0.
func countUp(fams map[string]*dto.MetricFamily) (up, down int) {
	for _, m := range fams["sqs_queue_up"].GetMetric() {
		if m.GetGauge().GetValue() == 1 {
			up++
		} else {
			down++
		}
	}
	return up, down
}

func requests(t *testing.T, fams map[string]*dto.MetricFamily, op, outcome string) int {
	t.Helper()
	v, ok := sample(fams, "sqs_exporter_requests_total", "operation", op, "outcome", outcome)
	if !ok {
		t.Fatalf("no sqs_exporter_requests_total{operation=%q,outcome=%q}", op, outcome)
	}
	return int(v)
}

func TestEmulatorDiscoveryOverThousandQueues(t *testing.T) {
	_, client := startEmulator(t)
	ctx := context.Background()
	const n = 1050
	var g errgroup.Group
	g.SetLimit(32)
	for i := range n {
		g.Go(func() error {
			_, err := client.CreateQueue(ctx, &sqs.CreateQueueInput{QueueName: aws.String(fmt.Sprintf("bulk-%04d", i))})
			return err
		})
	}
	if err := g.Wait(); err != nil {
		t.Fatalf("create queues: %v", err)
	}
	createQueue(t, client, "other", nil)

	clk := testingclock.NewFakeClock(time.Now())
	e, err := New(client, testConfig(func(c *Config) {
		c.Prefixes = []string{"bulk-"}
		c.Concurrency = 50
		c.MinRefreshInterval = 10 * time.Second
		c.DiscoveryInterval = time.Minute
	}), clk)
	if err != nil {
		t.Fatal(err)
	}
	url := serve(t, e)

	fams := scrapeFams(t, url)
	if got, _ := sample(fams, "sqs_exporter_queues"); got != n {
		t.Fatalf("sqs_exporter_queues = %v, want %d", got, n)
	}
	if up, down := countUp(fams); up != n || down != 0 {
		t.Fatalf("%d up, %d down, want %d up", up, down, n)
	}
	if _, ok := sample(fams, "sqs_queue_up", "queue", "other"); ok {
		t.Error("a queue outside the prefix is exported")
	}
	if got := requests(t, fams, "ListQueues", "success"); got != 2 {
		t.Errorf("ListQueues calls = %d, want 2 pages for %d queues", got, n)
	}
	if got := requests(t, fams, "GetQueueAttributes", "success"); got != n {
		t.Errorf("GetQueueAttributes calls = %d, want %d", got, n)
	}

	// A queue deleted mid-run is down until the next discovery drops it.
	delURL := fmt.Sprintf("%s/bulk-0007", strings.TrimSuffix(queueURLPrefix(t, fams), "/"))
	if _, err := client.DeleteQueue(ctx, &sqs.DeleteQueueInput{QueueUrl: aws.String(delURL)}); err != nil {
		t.Fatalf("delete bulk-0007: %v", err)
	}
	clk.Step(10 * time.Second)
	fams = scrapeFams(t, url)
	if up, down := countUp(fams); up != n-1 || down != 1 {
		t.Errorf("after deleting bulk-0007: %d up, %d down, want %d and 1", up, down, n-1)
	}
	if v, ok := sample(fams, "sqs_queue_up", "queue", "bulk-0007"); !ok || v != 0 {
		t.Errorf("sqs_queue_up{bulk-0007} = %v, %v; want 0", v, ok)
	}
	if depthOf(fams, "bulk-0007").ok {
		t.Error("the deleted queue still has depth series")
	}
	if got := requests(t, fams, "GetQueueAttributes", "error"); got != 1 {
		t.Errorf("GetQueueAttributes errors = %d, want 1", got)
	}

	clk.Step(time.Minute)
	fams = scrapeFams(t, url)
	if got, _ := sample(fams, "sqs_exporter_queues"); got != n-1 {
		t.Errorf("after rediscovery: sqs_exporter_queues = %v, want %d", got, n-1)
	}
	for _, name := range []string{"sqs_queue_up", "sqs_queue_info", "sqs_queue_last_success_timestamp_seconds"} {
		for _, m := range fams[name].GetMetric() {
			for _, lp := range m.GetLabel() {
				if lp.GetName() == "queue" && lp.GetValue() == "bulk-0007" {
					t.Errorf("%s still has bulk-0007 after rediscovery", name)
				}
			}
		}
	}
	if got := requests(t, fams, "ListQueues", "success"); got != 4 {
		t.Errorf("ListQueues calls = %d, want 4 (two discoveries of 2 pages)", got)
	}
}

// queueURLPrefix is the part of the emulator's queue URLs before the name.
func queueURLPrefix(t *testing.T, fams map[string]*dto.MetricFamily) string {
	t.Helper()
	for _, m := range fams["sqs_queue_info"].GetMetric() {
		for _, lp := range m.GetLabel() {
			if lp.GetName() == "url" {
				return lp.GetValue()[:strings.LastIndex(lp.GetValue(), "/")+1]
			}
		}
	}
	t.Fatal("no sqs_queue_info series")
	return ""
}

func TestEmulatorConcurrentScrapersShareOneRefresh(t *testing.T) {
	_, client := startEmulator(t)
	const n = 25
	for i := range n {
		createQueue(t, client, fmt.Sprintf("shared-%02d", i), nil)
	}
	e, err := New(client, testConfig(func(c *Config) {
		c.Prefixes = []string{"shared-"}
		c.MinRefreshInterval = time.Minute
	}), clock.RealClock{})
	if err != nil {
		t.Fatal(err)
	}
	url := serve(t, e)

	// Two Prometheus servers scrape at the same moment, then one again.
	start := make(chan struct{})
	fams := make([]map[string]*dto.MetricFamily, 2)
	var wg sync.WaitGroup
	for i := range fams {
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-start
			fams[i] = scrapeFams(t, url)
		}()
	}
	close(start)
	wg.Wait()
	fams = append(fams, scrapeFams(t, url))

	for i, f := range fams {
		if got := requests(t, f, "GetQueueAttributes", "success"); got != n {
			t.Errorf("scrape %d: GetQueueAttributes calls so far = %d, want %d: one set for all scrapes", i, got, n)
		}
		if got := requests(t, f, "ListQueues", "success"); got != 1 {
			t.Errorf("scrape %d: ListQueues calls so far = %d, want 1", i, got)
		}
		if up, _ := countUp(f); up != n {
			t.Errorf("scrape %d: %d queues up, want %d", i, up, n)
		}
	}
	t0, _ := sample(fams[0], "sqs_exporter_refresh_timestamp_seconds")
	for i, f := range fams[1:] {
		if ts, _ := sample(f, "sqs_exporter_refresh_timestamp_seconds"); ts != t0 {
			t.Errorf("scrape %d saw refresh %v, scrape 0 saw %v: want the same refresh", i+1, ts, t0)
		}
	}
}
