// Package story is the demo's script: a steady trickle of inspections, a size
// queue filled up front so Size scales into the shared pool, a large burst of
// inspections once Size is busy, then the drain.
//
// Script is pure (no clock, no I/O): it is told how long the story has run and
// whether Size is busy, and answers which phase it is in and how many
// messages are due on each queue. Player sends them.
package story

import (
	"errors"
	"fmt"
	"math"
	"time"
)

// Phase of the story.
type Phase string

const (
	// Warmup: the trickle runs and Size scales up on the pre-filled size queue.
	Warmup Phase = "warm-up"
	// Burst: the inspection burst is being sent.
	Burst Phase = "burst"
	// Drain: the burst is sent; queues drain while the trickle goes on.
	Drain Phase = "drain"
	// Done: the story is over.
	Done Phase = "done"
)

// Config is the story's shape.
type Config struct {
	// Duration is the whole story, warm-up to the end of the drain.
	Duration time.Duration
	// MinWarmup and MaxWarmup bound the warm-up: the burst starts once Size
	// is busy and MinWarmup has passed, and at MaxWarmup at the latest.
	MinWarmup, MaxWarmup time.Duration
	// Trickle is the steady arrival rate of inspections, per second.
	Trickle float64
	// SizePrefill is how many jobs are put on the size queue at the start.
	SizePrefill int
	// Burst is how many inspections arrive in the burst, spread evenly over
	// BurstWindow.
	Burst       int
	BurstWindow time.Duration
}

// Validate joins every problem with the config.
func (c Config) Validate() error {
	var errs []error
	if c.Duration <= 0 {
		errs = append(errs, fmt.Errorf("duration must be positive, got %s", c.Duration))
	}
	if c.MinWarmup < 0 || c.MaxWarmup < c.MinWarmup {
		errs = append(errs, fmt.Errorf("warm-up must satisfy 0 <= min (%s) <= max (%s)", c.MinWarmup, c.MaxWarmup))
	}
	if c.MaxWarmup+c.BurstWindow > c.Duration {
		errs = append(errs, fmt.Errorf("duration %s is shorter than the longest warm-up (%s) plus the burst window (%s)", c.Duration, c.MaxWarmup, c.BurstWindow))
	}
	if c.Trickle < 0 || math.IsNaN(c.Trickle) || math.IsInf(c.Trickle, 0) {
		errs = append(errs, fmt.Errorf("trickle must be a rate >= 0 per second, got %v", c.Trickle))
	}
	if c.SizePrefill < 0 {
		errs = append(errs, fmt.Errorf("size prefill must be >= 0, got %d", c.SizePrefill))
	}
	if c.Burst < 0 {
		errs = append(errs, fmt.Errorf("burst must be >= 0 messages, got %d", c.Burst))
	}
	if c.BurstWindow <= 0 {
		errs = append(errs, fmt.Errorf("burst window must be positive, got %s", c.BurstWindow))
	}
	return errors.Join(errs...)
}

// Due is how many messages should have been sent to each queue so far.
type Due struct {
	Inspection, Size int
}

// Script tracks one playing of the story.
type Script struct {
	cfg Config
	// burstAt is when the burst started; negative until it has.
	burstAt time.Duration
}

// New returns a Script for a valid cfg.
func New(cfg Config) (*Script, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	return &Script{cfg: cfg, burstAt: -1}, nil
}

// Step advances the story to elapsed (time since it started); sizeBusy says
// whether Size has scaled into the pool. It returns the phase and the
// cumulative number of messages due on each queue.
func (s *Script) Step(elapsed time.Duration, sizeBusy bool) (Phase, Due) {
	c := s.cfg
	if s.burstAt < 0 && (elapsed >= c.MaxWarmup || (sizeBusy && elapsed >= c.MinWarmup)) {
		s.burstAt = elapsed
	}
	end := min(elapsed, c.Duration)
	due := Due{
		Size:       c.SizePrefill,
		Inspection: int(math.Floor(c.Trickle * end.Seconds())),
	}
	phase := Warmup
	if s.burstAt >= 0 {
		into := end - s.burstAt
		frac := min(1, float64(into)/float64(c.BurstWindow))
		due.Inspection += int(math.Floor(frac * float64(c.Burst)))
		phase = Burst
		if into >= c.BurstWindow {
			phase = Drain
		}
	}
	if elapsed >= c.Duration {
		phase = Done
	}
	return phase, due
}

// BurstAt is when the burst started, and false if it has not.
func (s *Script) BurstAt() (time.Duration, bool) { return s.burstAt, s.burstAt >= 0 }
