// Package load stands in for the queue workers of the demo.
//
// The demo's pods run on KWOK fake nodes, which run no code at all. So that
// the queues still drain the way they would with real workers, this package
// starts one single-threaded worker for every Running pod of a worker
// Deployment: it receives one message, holds it for a job time drawn from the
// scenario's log-normal, sends a follow-up to the next queue (Inspector puts
// one job on the size queue) and deletes it. When a pod stops running
// (scaled down or preempted) its worker stops at once and abandons the message
// it holds, which becomes visible again when its visibility timeout ends —
// what SQS does when a real worker is killed.
package load

import (
	"context"
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	"k8s.io/klog/v2"
)

// SQS is the part of the SQS API a worker uses.
type SQS interface {
	ReceiveMessage(ctx context.Context, in *sqs.ReceiveMessageInput, optFns ...func(*sqs.Options)) (*sqs.ReceiveMessageOutput, error)
	DeleteMessage(ctx context.Context, in *sqs.DeleteMessageInput, optFns ...func(*sqs.Options)) (*sqs.DeleteMessageOutput, error)
	SendMessage(ctx context.Context, in *sqs.SendMessageInput, optFns ...func(*sqs.Options)) (*sqs.SendMessageOutput, error)
	ChangeMessageVisibility(ctx context.Context, in *sqs.ChangeMessageVisibilityInput, optFns ...func(*sqs.Options)) (*sqs.ChangeMessageVisibilityOutput, error)
}

var _ SQS = (*sqs.Client)(nil)

// Pods lists the pods of a worker Deployment that are Running and not being
// deleted.
type Pods interface {
	RunningPods(ctx context.Context, deployment string) ([]string, error)
}

// Tier is one worker Deployment and the queue its pods consume.
type Tier struct {
	// Deployment names the worker Deployment whose Running pods are mirrored.
	Deployment string
	// QueueURL is the queue the workers receive from.
	QueueURL string
	// NextQueueURL, when set, gets one message for every finished job.
	NextQueueURL string
	// JobTime is how long a worker holds a message.
	JobTime JobTime
	// VisibilityTimeout asked on every receive, and renewed every third of
	// it while the job runs (the usual heartbeat of SQS workers), so a long
	// job keeps its message and a stopped pod's message is back within this
	// time; default 30 s.
	VisibilityTimeout time.Duration
}

// Config configures a Pool.
type Config struct {
	Tiers []Tier
	// Resync is how often each tier's Running pods are listed; default 500 ms.
	Resync time.Duration
	// PollInterval is how long an idle worker waits after an empty receive
	// (short polling, once a second as in the scenario); default 1 s.
	PollInterval time.Duration
	// Seed makes job times reproducible.
	Seed uint64
}

// TierStats counts what a tier's workers did.
type TierStats struct {
	Deployment string
	// Workers is the number of workers running now (one per Running pod).
	Workers int
	// Receives counts ReceiveMessage calls; EmptyReceives those that got
	// nothing (idle polls, which SQS bills too).
	Receives, EmptyReceives int
	// Started, Finished and Abandoned count jobs.
	Started, Finished, Abandoned int
	// Errors counts failed SQS or pod-list calls; LastError is the latest.
	Errors    int
	LastError string
	// Waits holds, for every started job, how long its message waited from
	// being sent to being received.
	Waits []time.Duration
}

// MaxWait is the longest wait of a started job.
func (s TierStats) MaxWait() time.Duration {
	if len(s.Waits) == 0 {
		return 0
	}
	return slices.Max(s.Waits)
}

// WaitQuantile is the q quantile (0..1) of the waits, nearest rank.
func (s TierStats) WaitQuantile(q float64) time.Duration {
	if len(s.Waits) == 0 {
		return 0
	}
	w := slices.Clone(s.Waits)
	slices.Sort(w)
	i := int(math.Ceil(q*float64(len(w)))) - 1
	return w[max(0, min(i, len(w)-1))]
}

// Pool runs the stand-in workers of every tier.
type Pool struct {
	sqs  SQS
	pods Pods
	cfg  Config

	mu    sync.Mutex
	stats []TierStats
}

// New checks cfg and returns a Pool; Run starts it.
func New(client SQS, pods Pods, cfg Config) (*Pool, error) {
	if cfg.Resync <= 0 {
		cfg.Resync = 500 * time.Millisecond
	}
	if cfg.PollInterval <= 0 {
		cfg.PollInterval = time.Second
	}
	var errs []error
	if len(cfg.Tiers) == 0 {
		errs = append(errs, errors.New("no tiers"))
	}
	stats := make([]TierStats, len(cfg.Tiers))
	for i := range cfg.Tiers {
		t := &cfg.Tiers[i]
		if t.Deployment == "" {
			errs = append(errs, fmt.Errorf("tier %d: deployment is empty", i))
		}
		if t.QueueURL == "" {
			errs = append(errs, fmt.Errorf("tier %q: queue URL is empty", t.Deployment))
		}
		if err := t.JobTime.Validate(); err != nil {
			errs = append(errs, fmt.Errorf("tier %q: %w", t.Deployment, err))
		}
		if t.VisibilityTimeout <= 0 {
			t.VisibilityTimeout = 30 * time.Second
		}
		if t.VisibilityTimeout < time.Second {
			errs = append(errs, fmt.Errorf("tier %q: visibility timeout %s is under SQS's 1 s granularity", t.Deployment, t.VisibilityTimeout))
		}
		stats[i].Deployment = t.Deployment
	}
	if err := errors.Join(errs...); err != nil {
		return nil, fmt.Errorf("stand-in workers: %w", err)
	}
	return &Pool{sqs: client, pods: pods, cfg: cfg, stats: stats}, nil
}

// Stats returns a copy of every tier's counters, in tier order.
func (p *Pool) Stats() []TierStats {
	p.mu.Lock()
	defer p.mu.Unlock()
	out := make([]TierStats, len(p.stats))
	for i, s := range p.stats {
		s.Waits = slices.Clone(s.Waits)
		out[i] = s
	}
	return out
}

func (p *Pool) update(tier int, f func(*TierStats)) {
	p.mu.Lock()
	defer p.mu.Unlock()
	f(&p.stats[tier])
}

func (p *Pool) fail(tier int, err error) {
	p.update(tier, func(s *TierStats) { s.Errors++; s.LastError = err.Error() })
}

// Run mirrors Running pods into workers until ctx ends, then stops every
// worker (abandoning the messages they hold) and returns.
func (p *Pool) Run(ctx context.Context) {
	var wg sync.WaitGroup
	for i := range p.cfg.Tiers {
		wg.Go(func() { p.runTier(ctx, i) })
	}
	wg.Wait()
}

func (p *Pool) runTier(ctx context.Context, tier int) {
	t := p.cfg.Tiers[tier]
	workers := map[string]context.CancelFunc{}
	var wg sync.WaitGroup
	defer func() {
		for _, cancel := range workers {
			cancel()
		}
		wg.Wait()
	}()
	next := uint64(0)
	ticker := time.NewTicker(p.cfg.Resync)
	defer ticker.Stop()
	for {
		pods, err := p.pods.RunningPods(ctx, t.Deployment)
		if err != nil && ctx.Err() == nil {
			// Keep the current workers: an unreadable pod list is not zero pods.
			klog.ErrorS(err, "List running pods; keeping current workers", "deployment", t.Deployment)
			p.fail(tier, err)
		}
		if err == nil {
			running := map[string]bool{}
			for _, pod := range pods {
				running[pod] = true
				if _, ok := workers[pod]; ok {
					continue
				}
				wctx, cancel := context.WithCancel(ctx)
				workers[pod] = cancel
				next++
				rng := rand.New(rand.NewPCG(p.cfg.Seed, uint64(tier)<<32|next))
				wg.Go(func() { p.work(wctx, tier, pod, rng) })
				klog.V(2).InfoS("Stand-in worker started", "deployment", t.Deployment, "pod", pod)
			}
			for pod, cancel := range workers {
				if !running[pod] {
					cancel()
					delete(workers, pod)
					klog.V(2).InfoS("Stand-in worker stopped: pod no longer running", "deployment", t.Deployment, "pod", pod)
				}
			}
			p.update(tier, func(s *TierStats) { s.Workers = len(workers) })
		}
		select {
		case <-ctx.Done():
			return
		case <-ticker.C:
		}
	}
}

// work is one single-threaded worker for pod.
func (p *Pool) work(ctx context.Context, tier int, pod string, rng *rand.Rand) {
	t := p.cfg.Tiers[tier]
	visibility := int32(math.Ceil(t.VisibilityTimeout.Seconds()))
	pause := func(d time.Duration) bool {
		select {
		case <-ctx.Done():
			return false
		case <-time.After(d):
			return true
		}
	}
	for ctx.Err() == nil {
		out, err := p.sqs.ReceiveMessage(ctx, &sqs.ReceiveMessageInput{
			QueueUrl:            aws.String(t.QueueURL),
			MaxNumberOfMessages: 1,
			VisibilityTimeout:   visibility,
		})
		if ctx.Err() != nil {
			return
		}
		if err != nil {
			klog.ErrorS(err, "Receive message", "deployment", t.Deployment, "pod", pod)
			p.fail(tier, fmt.Errorf("receive from %s: %w", t.QueueURL, err))
			pause(p.cfg.PollInterval)
			continue
		}
		if len(out.Messages) == 0 {
			p.update(tier, func(s *TierStats) { s.Receives++; s.EmptyReceives++ })
			pause(p.cfg.PollInterval)
			continue
		}
		msg := out.Messages[0]
		received := time.Now()
		job, err := ParseJob(aws.ToString(msg.Body))
		p.update(tier, func(s *TierStats) {
			s.Receives++
			s.Started++
			if err == nil {
				s.Waits = append(s.Waits, received.Sub(job.Sent))
			}
		})
		if err != nil {
			klog.ErrorS(err, "Message without a sent time; its wait is not counted", "deployment", t.Deployment)
			p.fail(tier, err)
			job = Job{ID: aws.ToString(msg.MessageId)}
		}
		if !p.hold(ctx, tier, msg.ReceiptHandle, visibility, t.JobTime.Sample(rng)) {
			// The pod went away mid-job: the message stays in flight until its
			// visibility timeout ends, then another worker gets it.
			p.update(tier, func(s *TierStats) { s.Abandoned++ })
			return
		}
		if t.NextQueueURL != "" {
			body := Job{ID: job.ID, Sent: time.Now()}.Encode()
			if _, err := p.sqs.SendMessage(ctx, &sqs.SendMessageInput{QueueUrl: aws.String(t.NextQueueURL), MessageBody: aws.String(body)}); err != nil {
				if ctx.Err() != nil {
					p.update(tier, func(s *TierStats) { s.Abandoned++ })
					return
				}
				klog.ErrorS(err, "Send follow-up job; the message will be received again", "deployment", t.Deployment, "job", job.ID)
				p.fail(tier, fmt.Errorf("send to %s: %w", t.NextQueueURL, err))
				continue
			}
		}
		if _, err := p.sqs.DeleteMessage(ctx, &sqs.DeleteMessageInput{QueueUrl: aws.String(t.QueueURL), ReceiptHandle: msg.ReceiptHandle}); err != nil {
			if ctx.Err() != nil {
				p.update(tier, func(s *TierStats) { s.Abandoned++ })
				return
			}
			klog.ErrorS(err, "Delete message", "deployment", t.Deployment, "job", job.ID)
			p.fail(tier, fmt.Errorf("delete from %s: %w", t.QueueURL, err))
			continue
		}
		p.update(tier, func(s *TierStats) { s.Finished++ })
	}
}

// hold waits for the job's duration, renewing the message's visibility every
// third of the timeout. It returns false when ctx ended first (the pod
// stopped): the message is then left to reappear after its timeout.
func (p *Pool) hold(ctx context.Context, tier int, receipt *string, visibility int32, job time.Duration) bool {
	t := p.cfg.Tiers[tier]
	done := time.NewTimer(job)
	defer done.Stop()
	beat := time.NewTicker(t.VisibilityTimeout / 3)
	defer beat.Stop()
	for {
		select {
		case <-ctx.Done():
			return false
		case <-done.C:
			return true
		case <-beat.C:
			_, err := p.sqs.ChangeMessageVisibility(ctx, &sqs.ChangeMessageVisibilityInput{
				QueueUrl: aws.String(t.QueueURL), ReceiptHandle: receipt, VisibilityTimeout: visibility,
			})
			if err != nil && ctx.Err() == nil {
				klog.ErrorS(err, "Extend message visibility", "deployment", t.Deployment)
				p.fail(tier, fmt.Errorf("extend visibility on %s: %w", t.QueueURL, err))
			}
		}
	}
}
