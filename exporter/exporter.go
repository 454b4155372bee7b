// Package exporter reads the depth of Amazon SQS queues and exposes it as
// Prometheus metrics.
//
// Each refresh makes one GetQueueAttributes call per queue, asking only for
// the three message counts, with bounded concurrency. Scrapes that arrive
// within the minimum refresh interval reuse the last result, and scrapes that
// arrive while a refresh runs wait for it, so the number of SQS calls does not
// grow with the number of Prometheus servers scraping. A queue that cannot be
// read is reported as down, with no depth series, and never as empty.
package exporter

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"strconv"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	"github.com/aws/aws-sdk-go-v2/service/sqs/types"
	"golang.org/x/sync/errgroup"
	"golang.org/x/sync/singleflight"
	"k8s.io/klog/v2"
	"k8s.io/utils/clock"
)

// Config says which queues to read and how often.
type Config struct {
	// Queues named explicitly; a Queue without URL is resolved by name.
	Queues []Queue
	// Prefixes to discover queues by with ListQueues.
	Prefixes []string
	// DiscoveryInterval is the least time between two discoveries.
	DiscoveryInterval time.Duration
	// MinRefreshInterval is how long the result of a refresh is reused.
	MinRefreshInterval time.Duration
	// Concurrency bounds the SQS calls in flight during a refresh.
	Concurrency int
	// RefreshTimeout bounds a refresh; the scrape timeout can only shorten it.
	RefreshTimeout time.Duration
	// ScrapeTimeoutOffset is taken off the scrape timeout Prometheus sends,
	// to leave time to write the response.
	ScrapeTimeoutOffset time.Duration
}

// ErrNoQueues is the Validate error for a Config without queues and prefixes.
var ErrNoQueues = errors.New("no queues: give at least one --queue or --queue-prefix")

// Validate reports every problem of c, joined.
func (c Config) Validate() error {
	var errs []error
	if len(c.Queues) == 0 && len(c.Prefixes) == 0 {
		errs = append(errs, ErrNoQueues)
	}
	for _, q := range c.Queues {
		if q.Name == "" {
			errs = append(errs, fmt.Errorf("queue %+v has no name", q))
		}
	}
	for _, p := range c.Prefixes {
		if err := ValidatePrefix(p); err != nil {
			errs = append(errs, err)
		}
	}
	positive := func(flag string, d time.Duration) {
		if d <= 0 {
			errs = append(errs, fmt.Errorf("--%s must be positive, got %s", flag, d))
		}
	}
	positive("discovery-interval", c.DiscoveryInterval)
	positive("min-refresh-interval", c.MinRefreshInterval)
	positive("refresh-timeout", c.RefreshTimeout)
	if c.ScrapeTimeoutOffset < 0 {
		errs = append(errs, fmt.Errorf("--scrape-timeout-offset must not be negative, got %s", c.ScrapeTimeoutOffset))
	}
	if c.Concurrency < 1 {
		errs = append(errs, fmt.Errorf("--concurrency must be at least 1, got %d", c.Concurrency))
	}
	return errors.Join(errs...)
}

// The attributes one refresh asks for, and nothing else.
var depthAttributes = []types.QueueAttributeName{
	types.QueueAttributeNameApproximateNumberOfMessages,
	types.QueueAttributeNameApproximateNumberOfMessagesNotVisible,
	types.QueueAttributeNameApproximateNumberOfMessagesDelayed,
}

// QueueState is what one refresh learned about one queue.
type QueueState struct {
	Queue
	// Err is why the queue could not be read; the counts are then unset.
	Err error
	// Visible, InFlight and Delayed are ApproximateNumberOfMessages,
	// ApproximateNumberOfMessagesNotVisible and
	// ApproximateNumberOfMessagesDelayed.
	Visible, InFlight, Delayed float64
	// LastSuccess is when the queue was last read (zero: never).
	LastSuccess time.Time
}

// Snapshot is the result of one refresh.
type Snapshot struct {
	// Start is when the refresh began.
	Start time.Time
	// Duration is how long it took.
	Duration time.Duration
	// Queues are sorted by name.
	Queues []QueueState
}

// Exporter refreshes queue depths on demand and exposes them.
type Exporter struct {
	cfg      Config
	client   SQS
	clock    clock.PassiveClock
	requests *requestCounts
	disc     *discovery
	group    singleflight.Group
	descs    descs

	mu          sync.Mutex
	last        *Snapshot
	lastSuccess map[string]time.Time // by queue name
}

// New returns an Exporter that reads through client. clk is the source of
// time for the refresh interval and timestamps (clock.RealClock{} outside
// tests).
func New(client SQS, cfg Config, clk clock.PassiveClock) (*Exporter, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	counts := &requestCounts{}
	counting := countingSQS{next: client, counts: counts}
	return &Exporter{
		cfg:         cfg,
		client:      counting,
		clock:       clk,
		requests:    counts,
		disc:        newDiscovery(counting, cfg.Queues, cfg.Prefixes, cfg.DiscoveryInterval, cfg.Concurrency),
		descs:       newDescs(cfg.MinRefreshInterval),
		lastSuccess: make(map[string]time.Time),
	}, nil
}

// Snapshot returns the last refresh's result when it started less than the
// minimum refresh interval ago, and otherwise refreshes. Callers that arrive
// while a refresh runs wait for it and share its result. The refresh ends by
// ctx's deadline (or the refresh timeout, whichever comes first); queues not
// read by then are reported as failed. Cancelling ctx does not cancel a
// refresh other callers may be waiting for.
func (e *Exporter) Snapshot(ctx context.Context) *Snapshot {
	if s := e.fresh(); s != nil {
		return s
	}
	v, _, _ := e.group.Do("refresh", func() (any, error) {
		if s := e.fresh(); s != nil { // a refresh finished since the check above
			return s, nil
		}
		// Keep ctx's deadline but not its cancellation: other scrapes may be
		// waiting for this refresh.
		rctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), e.cfg.RefreshTimeout)
		defer cancel()
		if d, ok := ctx.Deadline(); ok {
			var cancelDeadline context.CancelFunc
			rctx, cancelDeadline = context.WithDeadline(rctx, d)
			defer cancelDeadline()
		}
		return e.refresh(rctx), nil
	})
	return v.(*Snapshot)
}

// fresh returns the last snapshot if it is recent enough to reuse.
func (e *Exporter) fresh() *Snapshot {
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.last != nil && e.clock.Since(e.last.Start) < e.cfg.MinRefreshInterval {
		return e.last
	}
	return nil
}

// refresh reads every queue once.
func (e *Exporter) refresh(ctx context.Context) *Snapshot {
	start := e.clock.Now()
	queues, resolveErrs := e.disc.queues(ctx, start)
	states := make([]QueueState, len(queues))
	var g errgroup.Group
	g.SetLimit(e.cfg.Concurrency)
	for i, q := range queues {
		states[i].Queue = q
		if q.URL == "" {
			states[i].Err = resolveErrs[q.Name]
			if states[i].Err == nil {
				states[i].Err = fmt.Errorf("queue %q: URL not known yet", q.Name)
			}
			continue
		}
		g.Go(func() error {
			states[i].Visible, states[i].InFlight, states[i].Delayed, states[i].Err = e.readQueue(ctx, q)
			if err := states[i].Err; err != nil {
				klog.ErrorS(err, "Reading queue depth failed; reporting the queue as down", "queue", q.Name, "url", q.URL, "code", errorCode(err))
			}
			return nil
		})
	}
	_ = g.Wait() // the functions never return errors: failures are kept per queue
	end := e.clock.Now()

	e.mu.Lock()
	defer e.mu.Unlock()
	seen := make(map[string]bool, len(states))
	for i := range states {
		name := states[i].Name
		seen[name] = true
		if states[i].Err == nil {
			e.lastSuccess[name] = end
		}
		states[i].LastSuccess = e.lastSuccess[name]
	}
	for name := range e.lastSuccess {
		if !seen[name] { // no longer listed: forget it
			delete(e.lastSuccess, name)
		}
	}
	sort.Slice(states, func(i, j int) bool { return states[i].Name < states[j].Name })
	s := &Snapshot{Start: start, Duration: end.Sub(start), Queues: states}
	e.last = s
	failed := 0
	for _, q := range states {
		if q.Err != nil {
			failed++
		}
	}
	if failed > 0 {
		klog.InfoS("Refreshed queue depths; some queues could not be read", "queues", len(states), "failed", failed, "duration", s.Duration)
	} else {
		klog.V(2).InfoS("Refreshed queue depths", "queues", len(states), "duration", s.Duration)
	}
	return s
}

// readQueue makes the one GetQueueAttributes call a refresh makes per queue.
func (e *Exporter) readQueue(ctx context.Context, q Queue) (visible, inFlight, delayed float64, err error) {
	out, err := e.client.GetQueueAttributes(ctx, &sqs.GetQueueAttributesInput{
		QueueUrl:       aws.String(q.URL),
		AttributeNames: depthAttributes,
	})
	if err != nil {
		return 0, 0, 0, fmt.Errorf("get attributes of queue %q: %w", q.Name, err)
	}
	values := make([]float64, len(depthAttributes))
	for i, name := range depthAttributes {
		raw, ok := out.Attributes[string(name)]
		if !ok {
			return 0, 0, 0, fmt.Errorf("get attributes of queue %q: the response has no %s", q.Name, name)
		}
		v, err := strconv.ParseFloat(raw, 64)
		if err != nil || v < 0 {
			return 0, 0, 0, fmt.Errorf("get attributes of queue %q: %s is %q, not a count", q.Name, name, raw)
		}
		values[i] = v
	}
	return values[0], values[1], values[2], nil
}
