package story

import (
	"context"
	"fmt"
	"strconv"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	"github.com/aws/aws-sdk-go-v2/service/sqs/types"

	"github.com/queuescale/queuescale/demo/load"
)

// Sender is the part of SQS the player uses.
type Sender interface {
	SendMessageBatch(ctx context.Context, in *sqs.SendMessageBatchInput, optFns ...func(*sqs.Options)) (*sqs.SendMessageBatchOutput, error)
}

var _ Sender = (*sqs.Client)(nil)

// Player plays a Script in real time, sending its messages.
type Player struct {
	Script        *Script
	Sender        Sender
	InspectionURL string
	SizeURL       string
	// SizeBusy reports whether Size has scaled into the pool (the burst waits
	// for it, up to the longest warm-up).
	SizeBusy func() bool
	// Tick is how often the script is stepped; default 100 ms.
	Tick time.Duration

	mu    sync.Mutex
	phase Phase
	sent  Due
}

// State is the current phase and how many messages were sent.
func (p *Player) State() (Phase, Due) {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.phase, p.sent
}

// Run plays the story until it is done or ctx ends. A failed send is retried
// at the next tick; it returns an error only when ctx ends with messages
// still owed after a failure, so a caller knows the story was not played.
func (p *Player) Run(ctx context.Context) error {
	tick := p.Tick
	if tick <= 0 {
		tick = 100 * time.Millisecond
	}
	start := time.Now()
	ticker := time.NewTicker(tick)
	defer ticker.Stop()
	var lastErr error
	for {
		phase, due := p.Script.Step(time.Since(start), p.SizeBusy != nil && p.SizeBusy())
		p.mu.Lock()
		p.phase = phase
		sent := p.sent
		p.mu.Unlock()
		n, err := p.send(ctx, p.SizeURL, "size", sent.Size, due.Size-sent.Size)
		p.addSent(0, n)
		if err == nil {
			n, err = p.send(ctx, p.InspectionURL, "inspection", sent.Inspection, due.Inspection-sent.Inspection)
			p.addSent(n, 0)
		}
		if err != nil {
			lastErr = err
		}
		if phase == Done && err == nil {
			return nil
		}
		select {
		case <-ctx.Done():
			if lastErr != nil {
				return fmt.Errorf("story stopped with a failed send: %w", lastErr)
			}
			return nil
		case <-ticker.C:
		}
	}
}

func (p *Player) addSent(inspection, size int) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.sent.Inspection += inspection
	p.sent.Size += size
}

// send sends n jobs in batches of ten and returns how many went out.
func (p *Player) send(ctx context.Context, url, prefix string, from, n int) (int, error) {
	sent := 0
	for sent < n {
		batch := min(10, n-sent)
		entries := make([]types.SendMessageBatchRequestEntry, batch)
		now := time.Now()
		for i := range entries {
			id := strconv.Itoa(from + sent + i)
			entries[i] = types.SendMessageBatchRequestEntry{
				Id:          aws.String(id),
				MessageBody: aws.String(load.Job{ID: prefix + "-" + id, Sent: now}.Encode()),
			}
		}
		out, err := p.Sender.SendMessageBatch(ctx, &sqs.SendMessageBatchInput{QueueUrl: aws.String(url), Entries: entries})
		if err != nil {
			return sent, fmt.Errorf("send %d jobs to %s: %w", batch, url, err)
		}
		if len(out.Failed) > 0 {
			// The successful ones are out; the rest are sent again next tick.
			f := out.Failed[0]
			return sent + len(out.Successful), fmt.Errorf("send to %s: %d of %d failed, first %s: %s", url, len(out.Failed), batch, aws.ToString(f.Code), aws.ToString(f.Message))
		}
		sent += batch
	}
	return sent, nil
}
