package exporter

import (
	"context"
	"fmt"
	"sort"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	"golang.org/x/sync/errgroup"
	"k8s.io/klog/v2"
)

// listQueuesPageSize is the largest page ListQueues serves. MaxResults must be
// set for SQS to return a NextToken at all: without it, it returns at most
// 1,000 queues and silently drops the rest.
const listQueuesPageSize = 1000

// discovery keeps the list of queues to read: the queues named on the command
// line (names resolved to URLs once with GetQueueUrl) and those whose names
// start with a prefix (ListQueues, at most once per interval). A failed
// ListQueues keeps the prefix's last known queues.
//
// Its methods are called by one refresh at a time.
type discovery struct {
	client      SQS
	explicit    []Queue
	prefixes    []string
	interval    time.Duration
	concurrency int

	mu         sync.Mutex
	done       bool      // a discovery ran at least once
	last       time.Time // when the last discovery started
	byPrefix   map[string][]Queue
	resolveErr map[string]error // explicit names not resolved yet, by name
}

func newDiscovery(client SQS, explicit []Queue, prefixes []string, interval time.Duration, concurrency int) *discovery {
	return &discovery{
		client:      client,
		explicit:    append([]Queue(nil), explicit...),
		prefixes:    append([]string(nil), prefixes...),
		interval:    interval,
		concurrency: concurrency,
		byPrefix:    make(map[string][]Queue),
		resolveErr:  make(map[string]error),
	}
}

// queues returns the queues to read, sorted by name, discovering first when
// the interval has passed since the last discovery (or none ran yet). A queue
// given by name whose URL is not known yet comes with URL "" and the
// resolution error.
func (d *discovery) queues(ctx context.Context, now time.Time) ([]Queue, map[string]error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	if !d.done || now.Sub(d.last) >= d.interval {
		d.discover(ctx)
		d.done = true
		d.last = now
	}
	byName := make(map[string]Queue)
	for _, qs := range d.byPrefix {
		for _, q := range qs {
			byName[q.Name] = q
		}
	}
	// Queues named on the command line win over discovered ones.
	for _, q := range d.explicit {
		if known, ok := byName[q.Name]; ok && q.URL == "" {
			q = known // not resolved, but discovered under a prefix
		}
		byName[q.Name] = q
	}
	out := make([]Queue, 0, len(byName))
	for _, q := range byName {
		out = append(out, q)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	errs := make(map[string]error, len(d.resolveErr))
	for name, err := range d.resolveErr {
		errs[name] = err
	}
	return out, errs
}

// discover resolves explicit names not resolved yet and lists every prefix.
func (d *discovery) discover(ctx context.Context) {
	var g errgroup.Group
	g.SetLimit(d.concurrency)
	var mu sync.Mutex // guards d.explicit[i] and d.resolveErr, d.byPrefix while the group runs
	for i := range d.explicit {
		if d.explicit[i].URL != "" {
			continue
		}
		name := d.explicit[i].Name
		g.Go(func() error {
			out, err := d.client.GetQueueUrl(ctx, &sqs.GetQueueUrlInput{QueueName: aws.String(name)})
			mu.Lock()
			defer mu.Unlock()
			if err != nil {
				err = fmt.Errorf("get URL of queue %q: %w", name, err)
				klog.ErrorS(err, "Resolving queue name failed; will retry at the next discovery", "queue", name, "code", errorCode(err))
				d.resolveErr[name] = err
				return nil
			}
			d.explicit[i].URL = aws.ToString(out.QueueUrl)
			delete(d.resolveErr, name)
			klog.V(2).InfoS("Resolved queue name", "queue", name, "url", d.explicit[i].URL)
			return nil
		})
	}
	for _, prefix := range d.prefixes {
		g.Go(func() error {
			qs, err := listQueues(ctx, d.client, prefix)
			mu.Lock()
			defer mu.Unlock()
			if err != nil {
				klog.ErrorS(err, "Discovering queues failed; keeping the last known queues for this prefix", "prefix", prefix, "code", errorCode(err), "queues", len(d.byPrefix[prefix]))
				return nil
			}
			if old := d.byPrefix[prefix]; len(old) != len(qs) {
				klog.InfoS("Discovered queues", "prefix", prefix, "queues", len(qs), "before", len(old))
			}
			d.byPrefix[prefix] = qs
			return nil
		})
	}
	_ = g.Wait() // the functions never return errors: failures are kept per queue or prefix
}

// listQueues lists every queue whose name starts with prefix, following
// NextToken through all pages.
func listQueues(ctx context.Context, client SQS, prefix string) ([]Queue, error) {
	var out []Queue
	pages := sqs.NewListQueuesPaginator(client, &sqs.ListQueuesInput{QueueNamePrefix: aws.String(prefix)},
		func(o *sqs.ListQueuesPaginatorOptions) {
			o.Limit = listQueuesPageSize
			o.StopOnDuplicateToken = true
		})
	for pages.HasMorePages() {
		page, err := pages.NextPage(ctx)
		if err != nil {
			return nil, fmt.Errorf("list queues with prefix %q (after %d queues): %w", prefix, len(out), err)
		}
		for _, u := range page.QueueUrls {
			name, err := queueNameFromURL(u)
			if err != nil {
				return nil, fmt.Errorf("list queues with prefix %q: SQS returned %w", prefix, err)
			}
			out = append(out, Queue{Name: name, URL: u})
		}
	}
	return out, nil
}
