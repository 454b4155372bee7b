package load

import (
	"context"
	"math/rand/v2"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	"github.com/aws/aws-sdk-go-v2/service/sqs/types"
	"github.com/google/go-cmp/cmp"

	"github.com/queuescale/queuescale/internal/testenv"
	"github.com/queuescale/queuescale/internal/testenv/sqsemu"
)

func TestJobTimeQuantiles(t *testing.T) {
	for _, jt := range []JobTime{
		{Median: 2 * time.Second, P95: 6 * time.Second},
		{Median: 45 * time.Second, P95: 120 * time.Second},
		{Median: 500 * time.Millisecond, P95: 1500 * time.Millisecond},
	} {
		t.Run(jt.Median.String(), func(t *testing.T) {
			r := rand.New(rand.NewPCG(1, 2))
			s := TierStats{}
			for range 20000 {
				d := jt.Sample(r)
				if d <= 0 || d > jt.Max() {
					t.Fatalf("sample %s outside (0, %s]", d, jt.Max())
				}
				s.Waits = append(s.Waits, d)
			}
			// Within 5% of the asked quantiles.
			for _, q := range []struct {
				q    float64
				want time.Duration
			}{{0.5, jt.Median}, {0.95, jt.P95}} {
				got := s.WaitQuantile(q.q)
				if diff := float64(got-q.want) / float64(q.want); diff < -0.05 || diff > 0.05 {
					t.Errorf("quantile %.2f = %s, want about %s", q.q, got, q.want)
				}
			}
		})
	}
}

func TestJobTimeValidateAndScale(t *testing.T) {
	tests := []struct {
		name    string
		jt      JobTime
		wantErr bool
	}{
		{"scenario inspector", JobTime{2 * time.Second, 6 * time.Second}, false},
		{"zero median", JobTime{0, time.Second}, true},
		{"p95 below median", JobTime{2 * time.Second, time.Second}, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if err := tt.jt.Validate(); (err != nil) != tt.wantErr {
				t.Errorf("Validate() = %v, want error %v", err, tt.wantErr)
			}
		})
	}
	got := JobTime{2 * time.Second, 6 * time.Second}.Scaled(0.25)
	if diff := cmp.Diff(JobTime{500 * time.Millisecond, 1500 * time.Millisecond}, got); diff != "" {
		t.Errorf("Scaled (-want +got):\n%s", diff)
	}
}

func TestJobRoundTrip(t *testing.T) {
	j := Job{ID: "b-7", Sent: time.Date(2026, 1, 2, 3, 4, 5, 6, time.UTC)}
	got, err := ParseJob(j.Encode())
	if err != nil {
		t.Fatal(err)
	}
	if !got.Sent.Equal(j.Sent) || got.ID != j.ID {
		t.Errorf("round trip = %+v, want %+v", got, j)
	}
	for _, bad := range []string{"", "nope", `{"id":"x"}`} {
		if _, err := ParseJob(bad); err == nil {
			t.Errorf("ParseJob(%q) succeeded", bad)
		}
	}
}

// fakePods is a hand-written Pods whose Running pods the test sets.
type fakePods struct {
	mu   sync.Mutex
	pods map[string][]string
}

func (f *fakePods) set(deployment string, n int) {
	f.mu.Lock()
	defer f.mu.Unlock()
	var names []string
	for i := range n {
		names = append(names, deployment+"-"+strconv.Itoa(i))
	}
	f.pods[deployment] = names
}

func (f *fakePods) RunningPods(_ context.Context, deployment string) ([]string, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	return slices.Clone(f.pods[deployment]), nil
}

var _ Pods = (*fakePods)(nil)

type queues struct {
	client *sqs.Client
	urls   map[string]string
}

func startQueues(t *testing.T, ctx context.Context, names ...string) queues {
	t.Helper()
	emu, err := sqsemu.Start(ctx, t.TempDir())
	if err != nil {
		t.Fatalf("start the SQS emulator (run `make deps` if npm packages are missing): %v", err)
	}
	t.Cleanup(emu.Stop)
	client := sqs.New(sqs.Options{
		Region:       emu.Region,
		BaseEndpoint: aws.String(emu.Endpoint),
		Credentials:  credentials.NewStaticCredentialsProvider("test", "test", ""),
	})
	q := queues{client: client, urls: map[string]string{}}
	for _, name := range names {
		out, err := client.CreateQueue(ctx, &sqs.CreateQueueInput{QueueName: aws.String(name)})
		if err != nil {
			t.Fatal(err)
		}
		q.urls[name] = aws.ToString(out.QueueUrl)
	}
	return q
}

// depth returns visible and in-flight counts.
func (q queues) depth(ctx context.Context, name string) (visible, inFlight int, err error) {
	out, err := q.client.GetQueueAttributes(ctx, &sqs.GetQueueAttributesInput{
		QueueUrl:       aws.String(q.urls[name]),
		AttributeNames: []types.QueueAttributeName{types.QueueAttributeNameApproximateNumberOfMessages, types.QueueAttributeNameApproximateNumberOfMessagesNotVisible},
	})
	if err != nil {
		return 0, 0, err
	}
	visible, _ = strconv.Atoi(out.Attributes[string(types.QueueAttributeNameApproximateNumberOfMessages)])
	inFlight, _ = strconv.Atoi(out.Attributes[string(types.QueueAttributeNameApproximateNumberOfMessagesNotVisible)])
	return visible, inFlight, nil
}

func (q queues) send(t *testing.T, ctx context.Context, name string, n int) {
	t.Helper()
	for i := range n {
		body := Job{ID: name + "-" + strconv.Itoa(i), Sent: time.Now()}.Encode()
		if _, err := q.client.SendMessage(ctx, &sqs.SendMessageInput{QueueUrl: aws.String(q.urls[name]), MessageBody: aws.String(body)}); err != nil {
			t.Fatal(err)
		}
	}
}

func waitDepth(t *testing.T, ctx context.Context, q queues, name string, visible, inFlight int) {
	t.Helper()
	err := testenv.Poll(ctx, 100*time.Millisecond, name+" depth", func(ctx context.Context) error {
		v, f, err := q.depth(ctx, name)
		if err != nil {
			return err
		}
		if v != visible || f != inFlight {
			return &depthErr{v, f}
		}
		return nil
	})
	if err != nil {
		t.Fatalf("want %s visible=%d in flight=%d: %v", name, visible, inFlight, err)
	}
}

type depthErr struct{ v, f int }

func (e *depthErr) Error() string {
	return "visible=" + strconv.Itoa(e.v) + " in flight=" + strconv.Itoa(e.f)
}

// TestPoolDrainsQueuesAndFansOut runs the workers against the real emulator:
// inspections are consumed by as many workers as Running pods, each finished
// inspection puts one job on the size queue, and size jobs are consumed too.
func TestPoolDrainsQueuesAndFansOut(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	q := startQueues(t, ctx, "inspection", "size")
	pods := &fakePods{pods: map[string][]string{}}
	pods.set("inspector", 4)
	pool, err := New(q.client, pods, Config{
		Tiers: []Tier{
			{Deployment: "inspector", QueueURL: q.urls["inspection"], NextQueueURL: q.urls["size"], JobTime: JobTime{50 * time.Millisecond, 150 * time.Millisecond}},
			{Deployment: "size", QueueURL: q.urls["size"], JobTime: JobTime{50 * time.Millisecond, 100 * time.Millisecond}},
		},
		Resync:       50 * time.Millisecond,
		PollInterval: 100 * time.Millisecond,
		Seed:         1,
	})
	if err != nil {
		t.Fatal(err)
	}
	runCtx, stop := context.WithCancel(ctx)
	done := make(chan struct{})
	go func() { pool.Run(runCtx); close(done) }()
	defer func() { stop(); <-done }()

	q.send(t, ctx, "inspection", 30)
	// No Size pod runs: the size queue fills with one job per inspection.
	waitDepth(t, ctx, q, "inspection", 0, 0)
	waitDepth(t, ctx, q, "size", 30, 0)
	pods.set("size", 2)
	waitDepth(t, ctx, q, "size", 0, 0)
	stop()
	<-done

	stats := pool.Stats()
	if got := stats[0]; got.Started != 30 || got.Finished != 30 || len(got.Waits) != 30 || got.Errors != 0 {
		t.Errorf("inspector stats: started %d finished %d waits %d errors %d (%s), want 30/30/30/0", got.Started, got.Finished, len(got.Waits), got.Errors, got.LastError)
	}
	if got := stats[1]; got.Finished != 30 || got.Errors != 0 {
		t.Errorf("size stats: finished %d errors %d (%s), want 30/0", got.Finished, got.Errors, got.LastError)
	}
	if stats[0].EmptyReceives == 0 {
		t.Error("idle inspector workers made no empty receives")
	}
}

// TestPoolAbandonsMessageWhenPodStops checks the visibility semantics: a job
// longer than the visibility timeout keeps its message (heartbeat), and a pod
// that stops mid-job leaves its message in flight until the visibility
// timeout, then it is visible again.
func TestPoolAbandonsMessageWhenPodStops(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	q := startQueues(t, ctx, "size")
	pods := &fakePods{pods: map[string][]string{}}
	pods.set("size", 1)
	pool, err := New(q.client, pods, Config{
		Tiers: []Tier{{
			Deployment: "size", QueueURL: q.urls["size"],
			JobTime:           JobTime{time.Hour, time.Hour},
			VisibilityTimeout: 2 * time.Second,
		}},
		Resync:       50 * time.Millisecond,
		PollInterval: 100 * time.Millisecond,
	})
	if err != nil {
		t.Fatal(err)
	}
	runCtx, stop := context.WithCancel(ctx)
	done := make(chan struct{})
	go func() { pool.Run(runCtx); close(done) }()
	defer func() { stop(); <-done }()

	q.send(t, ctx, "size", 1)
	waitDepth(t, ctx, q, "size", 0, 1)
	// The job outlives the 2 s visibility timeout; the worker's heartbeat
	// keeps the message in flight.
	time.Sleep(5 * time.Second)
	waitDepth(t, ctx, q, "size", 0, 1)
	if s := pool.Stats()[0]; s.Started != 1 || s.Errors != 0 {
		t.Fatalf("after 5 s: started %d (want 1: no redelivery), errors %d (%s)", s.Started, s.Errors, s.LastError)
	}
	pods.set("size", 0)
	if err := testenv.Poll(ctx, 50*time.Millisecond, "the worker to abandon its job", func(context.Context) error {
		if s := pool.Stats()[0]; s.Abandoned != 1 || s.Workers != 0 {
			return &depthErr{s.Abandoned, s.Workers}
		}
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	waitDepth(t, ctx, q, "size", 1, 0)
}

func TestNewRejectsBadConfig(t *testing.T) {
	_, err := New(nil, nil, Config{Tiers: []Tier{{JobTime: JobTime{}}}})
	if err == nil {
		t.Fatal("New accepted a tier with no deployment, queue or job time")
	}
	for _, want := range []string{"deployment is empty", "queue URL is empty", "median job time"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q does not mention %q", err, want)
		}
	}
}
