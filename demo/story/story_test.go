package story

import (
	"context"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	"github.com/aws/aws-sdk-go-v2/service/sqs/types"
	"github.com/google/go-cmp/cmp"

	"github.com/queuescale/queuescale/demo/load"
	"github.com/queuescale/queuescale/internal/testenv/sqsemu"
)

var base = Config{
	Duration:    100 * time.Second,
	MinWarmup:   10 * time.Second,
	MaxWarmup:   30 * time.Second,
	Trickle:     0.5,
	SizePrefill: 40,
	Burst:       100,
	BurstWindow: 10 * time.Second,
}

func TestScriptSteps(t *testing.T) {
	type step struct {
		at       time.Duration
		sizeBusy bool
		phase    Phase
		due      Due
	}
	tests := []struct {
		name  string
		steps []step
	}{
		{
			name: "burst waits for size to be busy, then for min warm-up",
			steps: []step{
				{0, false, Warmup, Due{Inspection: 0, Size: 40}},
				{5 * time.Second, true, Warmup, Due{Inspection: 2, Size: 40}},
				{12 * time.Second, true, Burst, Due{Inspection: 6, Size: 40}},
				{17 * time.Second, false, Burst, Due{Inspection: 8 + 50, Size: 40}},
				{22 * time.Second, false, Drain, Due{Inspection: 11 + 100, Size: 40}},
				{99 * time.Second, false, Drain, Due{Inspection: 49 + 100, Size: 40}},
				{100 * time.Second, false, Done, Due{Inspection: 50 + 100, Size: 40}},
				{130 * time.Second, false, Done, Due{Inspection: 50 + 100, Size: 40}},
			},
		},
		{
			name: "burst starts at max warm-up when size never gets busy",
			steps: []step{
				{29 * time.Second, false, Warmup, Due{Inspection: 14, Size: 40}},
				{30 * time.Second, false, Burst, Due{Inspection: 15, Size: 40}},
				{35 * time.Second, false, Burst, Due{Inspection: 17 + 50, Size: 40}},
				{40 * time.Second, false, Drain, Due{Inspection: 20 + 100, Size: 40}},
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s, err := New(base)
			if err != nil {
				t.Fatal(err)
			}
			for _, st := range tt.steps {
				phase, due := s.Step(st.at, st.sizeBusy)
				if phase != st.phase {
					t.Errorf("at %s: phase %q, want %q", st.at, phase, st.phase)
				}
				if diff := cmp.Diff(st.due, due); diff != "" {
					t.Errorf("at %s: due (-want +got):\n%s", st.at, diff)
				}
			}
		})
	}
}

func TestConfigValidate(t *testing.T) {
	tests := []struct {
		name   string
		change func(*Config)
		want   string
	}{
		{"zero duration", func(c *Config) { c.Duration = 0 }, "duration must be positive"},
		{"warm-up inverted", func(c *Config) { c.MinWarmup = time.Minute; c.MaxWarmup = time.Second }, "warm-up must satisfy"},
		{"too short for warm-up and burst", func(c *Config) { c.Duration = 35 * time.Second }, "shorter than the longest warm-up"},
		{"negative trickle", func(c *Config) { c.Trickle = -1 }, "trickle must be"},
		{"negative burst", func(c *Config) { c.Burst = -1 }, "burst must be"},
		{"negative prefill", func(c *Config) { c.SizePrefill = -1 }, "size prefill"},
		{"zero burst window", func(c *Config) { c.BurstWindow = 0 }, "burst window must be positive"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := base
			tt.change(&c)
			err := c.Validate()
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("Validate() = %v, want an error containing %q", err, tt.want)
			}
		})
	}
	if err := base.Validate(); err != nil {
		t.Errorf("valid config rejected: %v", err)
	}
}

// TestPlayerSendsTheStory plays a short story into the real emulator and
// checks every message arrived, readable by the workers.
func TestPlayerSendsTheStory(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	emu, err := sqsemu.Start(ctx, t.TempDir())
	if err != nil {
		t.Fatalf("start the SQS emulator (run `make deps`): %v", err)
	}
	t.Cleanup(emu.Stop)
	client := sqs.New(sqs.Options{Region: emu.Region, BaseEndpoint: aws.String(emu.Endpoint), Credentials: credentials.NewStaticCredentialsProvider("test", "test", "")})
	urls := map[string]string{}
	for _, name := range []string{"inspection", "size"} {
		out, err := client.CreateQueue(ctx, &sqs.CreateQueueInput{QueueName: aws.String(name)})
		if err != nil {
			t.Fatal(err)
		}
		urls[name] = aws.ToString(out.QueueUrl)
	}
	script, err := New(Config{Duration: 3 * time.Second, MaxWarmup: time.Second, Trickle: 2, SizePrefill: 23, Burst: 37, BurstWindow: time.Second})
	if err != nil {
		t.Fatal(err)
	}
	p := &Player{Script: script, Sender: client, InspectionURL: urls["inspection"], SizeURL: urls["size"]}
	if err := p.Run(ctx); err != nil {
		t.Fatal(err)
	}
	phase, sent := p.State()
	if diff := cmp.Diff(Due{Inspection: 6 + 37, Size: 23}, sent); diff != "" || phase != Done {
		t.Errorf("phase %q, sent (-want +got):\n%s", phase, diff)
	}
	for name, want := range map[string]int{"inspection": 43, "size": 23} {
		out, err := client.GetQueueAttributes(ctx, &sqs.GetQueueAttributesInput{QueueUrl: aws.String(urls[name]), AttributeNames: []types.QueueAttributeName{types.QueueAttributeNameApproximateNumberOfMessages}})
		if err != nil {
			t.Fatal(err)
		}
		if got := out.Attributes[string(types.QueueAttributeNameApproximateNumberOfMessages)]; got != strconv.Itoa(want) {
			t.Errorf("%s queue holds %s messages, want %d", name, got, want)
		}
	}
	msgs, err := client.ReceiveMessage(ctx, &sqs.ReceiveMessageInput{QueueUrl: aws.String(urls["inspection"]), MaxNumberOfMessages: 1})
	if err != nil || len(msgs.Messages) != 1 {
		t.Fatalf("receive: %v %v", msgs, err)
	}
	if _, err := load.ParseJob(aws.ToString(msgs.Messages[0].Body)); err != nil {
		t.Errorf("workers cannot read the story's messages: %v", err)
	}
}
