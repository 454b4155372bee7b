package exporter

import (
	"context"
	"fmt"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	"github.com/aws/aws-sdk-go-v2/service/sqs/types"
	"github.com/aws/smithy-go"
)

const fakeURLBase = "https://sqs.eu-west-1.amazonaws.com/123456789012/"

// fakeSQS is an in-memory SQS for unit tests: queues by URL, errors to
// inject, and a record of the calls made.
type fakeSQS struct {
	mu sync.Mutex
	// queues by URL.
	queues map[string]*fakeQueue
	// listErr, when set, fails every ListQueues.
	listErr error
	// release, when set, makes GetQueueAttributes wait until it is closed.
	release chan struct{}

	calls       map[string]int
	attrNames   [][]types.QueueAttributeName
	inFlight    int
	maxInFlight int
	deadlines   []time.Duration // time left before the deadline, per GetQueueAttributes
}

type fakeQueue struct {
	name  string
	attrs map[string]string
	err   error // returned by GetQueueAttributes
}

var _ SQS = (*fakeSQS)(nil)

func newFakeSQS() *fakeSQS {
	return &fakeSQS{queues: make(map[string]*fakeQueue), calls: make(map[string]int)}
}

// add creates a queue holding visible, in-flight and delayed messages.
func (f *fakeSQS) add(name string, visible, inFlight, delayed int) *fakeQueue {
	f.mu.Lock()
	defer f.mu.Unlock()
	q := &fakeQueue{name: name, attrs: map[string]string{
		"ApproximateNumberOfMessages":           fmt.Sprint(visible),
		"ApproximateNumberOfMessagesNotVisible": fmt.Sprint(inFlight),
		"ApproximateNumberOfMessagesDelayed":    fmt.Sprint(delayed),
	}}
	f.queues[fakeURLBase+name] = q
	return q
}

func (f *fakeSQS) remove(name string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	delete(f.queues, fakeURLBase+name)
}

func (f *fakeSQS) setErr(name string, err error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.queues[fakeURLBase+name].err = err
}

func (f *fakeSQS) callCount(op string) int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.calls[op]
}

func apiError(code string) error {
	return &smithy.GenericAPIError{Code: code, Message: code + " (injected by the test)"}
}

func (f *fakeSQS) GetQueueAttributes(ctx context.Context, in *sqs.GetQueueAttributesInput, _ ...func(*sqs.Options)) (*sqs.GetQueueAttributesOutput, error) {
	f.mu.Lock()
	f.calls["GetQueueAttributes"]++
	f.attrNames = append(f.attrNames, in.AttributeNames)
	if d, ok := ctx.Deadline(); ok {
		f.deadlines = append(f.deadlines, time.Until(d))
	}
	f.inFlight++
	f.maxInFlight = max(f.maxInFlight, f.inFlight)
	release := f.release
	f.mu.Unlock()
	defer func() {
		f.mu.Lock()
		f.inFlight--
		f.mu.Unlock()
	}()
	if release != nil {
		select {
		case <-release:
		case <-ctx.Done():
			return nil, ctx.Err()
		}
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	q, ok := f.queues[aws.ToString(in.QueueUrl)]
	if !ok {
		return nil, &types.QueueDoesNotExist{Message: aws.String("The specified queue does not exist.")}
	}
	if q.err != nil {
		return nil, q.err
	}
	attrs := make(map[string]string)
	for _, n := range in.AttributeNames {
		if v, ok := q.attrs[string(n)]; ok {
			attrs[string(n)] = v
		}
	}
	return &sqs.GetQueueAttributesOutput{Attributes: attrs}, nil
}

func (f *fakeSQS) GetQueueUrl(_ context.Context, in *sqs.GetQueueUrlInput, _ ...func(*sqs.Options)) (*sqs.GetQueueUrlOutput, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.calls["GetQueueUrl"]++
	u := fakeURLBase + aws.ToString(in.QueueName)
	if _, ok := f.queues[u]; !ok {
		return nil, &types.QueueDoesNotExist{Message: aws.String("The specified queue does not exist.")}
	}
	return &sqs.GetQueueUrlOutput{QueueUrl: aws.String(u)}, nil
}

// ListQueues pages like SQS: at most MaxResults (or 1,000) URLs, a NextToken
// only when MaxResults is set and more queues match.
func (f *fakeSQS) ListQueues(_ context.Context, in *sqs.ListQueuesInput, _ ...func(*sqs.Options)) (*sqs.ListQueuesOutput, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.calls["ListQueues"]++
	if f.listErr != nil {
		return nil, f.listErr
	}
	var urls []string
	for u, q := range f.queues {
		if strings.HasPrefix(q.name, aws.ToString(in.QueueNamePrefix)) && u > aws.ToString(in.NextToken) {
			urls = append(urls, u)
		}
	}
	sort.Strings(urls)
	limit := 1000
	if in.MaxResults != nil {
		limit = int(*in.MaxResults)
	}
	out := &sqs.ListQueuesOutput{QueueUrls: urls[:min(limit, len(urls))]}
	if in.MaxResults != nil && len(urls) > limit {
		out.NextToken = aws.String(urls[limit-1])
	}
	return out, nil
}
