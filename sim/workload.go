package sim

import (
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"math"
	"math/rand/v2"
	"os"
	"slices"
	"strconv"
	"strings"
)

// Arrival is one message arriving from outside on a tier's queue.
type Arrival struct {
	Seconds float64
	Tier    int
}

// Day is the reference scenario's arrival pattern.
type Day struct {
	// Smooth daily curve: MinRate at NightHour, MaxRate twelve hours later.
	MinRate   float64 `json:"minRate"`
	MaxRate   float64 `json:"maxRate"`
	NightHour float64 `json:"nightHour"`
	// Bursts a day, each of BurstMin..BurstMax requests spread evenly over
	// BurstMinSeconds..BurstMaxSeconds, at seeded random times.
	Bursts          int     `json:"bursts"`
	BurstMin        int     `json:"burstMin"`
	BurstMax        int     `json:"burstMax"`
	BurstMinSeconds float64 `json:"burstMinSeconds"`
	BurstMaxSeconds float64 `json:"burstMaxSeconds"`
}

// DefaultDay is the reference scenario: 0.02/s at 04:00 to 0.15/s at 16:00,
// and six bursts of 100-400 requests within 2-5 minutes.
func DefaultDay() Day {
	return Day{MinRate: 0.02, MaxRate: 0.15, NightHour: 4, Bursts: 6, BurstMin: 100, BurstMax: 400, BurstMinSeconds: 120, BurstMaxSeconds: 300}
}

// Validate reports every problem, naming the field (under "day.").
func (d Day) Validate() error {
	var errs []error
	if !(d.MinRate >= 0) || !(d.MaxRate > 0) || d.MaxRate < d.MinRate || math.IsInf(d.MaxRate, 0) {
		errs = append(errs, fmt.Errorf("day.minRate %v, day.maxRate %v: want 0 <= minRate <= maxRate, maxRate > 0", d.MinRate, d.MaxRate))
	}
	if d.NightHour < 0 || d.NightHour >= 24 {
		errs = append(errs, fmt.Errorf("day.nightHour: %v must be in [0, 24)", d.NightHour))
	}
	if d.Bursts < 0 {
		errs = append(errs, fmt.Errorf("day.bursts: %d must not be negative", d.Bursts))
	}
	if d.BurstMin < 0 || d.BurstMax < d.BurstMin {
		errs = append(errs, fmt.Errorf("day.burstMin %d, day.burstMax %d: want 0 <= burstMin <= burstMax", d.BurstMin, d.BurstMax))
	}
	if !(d.BurstMinSeconds > 0) || d.BurstMaxSeconds < d.BurstMinSeconds {
		errs = append(errs, fmt.Errorf("day.burstMinSeconds %v, day.burstMaxSeconds %v: want 0 < burstMinSeconds <= burstMaxSeconds", d.BurstMinSeconds, d.BurstMaxSeconds))
	}
	return errors.Join(errs...)
}

// Rate is the smooth part's arrival rate (per second) at t seconds.
func (d Day) Rate(t float64) float64 {
	mid, amp := (d.MaxRate+d.MinRate)/2, (d.MaxRate-d.MinRate)/2
	return mid - amp*math.Cos(2*math.Pi*(t-d.NightHour*3600)/86400)
}

// Generate draws the day's arrivals on tier 0 over duration seconds: a
// non-homogeneous Poisson process by thinning, plus the bursts. Same seed,
// same arrivals.
func (d Day) Generate(seed uint64, duration float64) []Arrival {
	rng := rand.New(rand.NewPCG(seed, 0x61727269766c73)) // stream "arrivls"
	var out []Arrival
	for t := rng.ExpFloat64() / d.MaxRate; t < duration; t += rng.ExpFloat64() / d.MaxRate {
		if rng.Float64()*d.MaxRate < d.Rate(t) {
			out = append(out, Arrival{Seconds: t})
		}
	}
	for range d.Bursts {
		length := d.BurstMinSeconds + rng.Float64()*(d.BurstMaxSeconds-d.BurstMinSeconds)
		start := rng.Float64() * max(duration-length, 0)
		n := d.BurstMin + rng.IntN(d.BurstMax-d.BurstMin+1)
		for range n {
			if t := start + rng.Float64()*length; t < duration {
				out = append(out, Arrival{Seconds: t})
			}
		}
	}
	slices.SortStableFunc(out, func(a, b Arrival) int { return cmpFloat(a.Seconds, b.Seconds) })
	return out
}

func cmpFloat(a, b float64) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

// ReadTraceFile reads a trace CSV (header "time_seconds,queue", one row per
// arriving message, times in seconds from the start, non-decreasing) and maps
// queue names to tiers. Errors name the file, the line and the field.
func ReadTraceFile(path string, tiers []Tier, duration float64) ([]Arrival, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("open trace: %w", err)
	}
	defer f.Close()
	return ReadTrace(f, path, tiers, duration)
}

// ReadTrace is ReadTraceFile over a reader; name is used in errors.
func ReadTrace(r io.Reader, name string, tiers []Tier, duration float64) ([]Arrival, error) {
	queues := map[string]int{}
	for i, t := range tiers {
		queues[t.Queue] = i
	}
	cr := csv.NewReader(r)
	cr.FieldsPerRecord = 2
	cr.ReuseRecord = true
	header, err := cr.Read()
	if errors.Is(err, io.EOF) {
		return nil, fmt.Errorf("%s: empty file, want the header \"time_seconds,queue\"", name)
	}
	if err != nil {
		return nil, fmt.Errorf("%s: %w", name, err)
	}
	if strings.TrimPrefix(header[0], "\ufeff") != "time_seconds" || header[1] != "queue" {
		return nil, fmt.Errorf("%s:1: header is %q, want \"time_seconds,queue\"", name, strings.Join(header, ","))
	}
	var out []Arrival
	prev := 0.0
	for {
		rec, err := cr.Read()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return nil, fmt.Errorf("%s: %w", name, err)
		}
		line, _ := cr.FieldPos(0)
		t, err := strconv.ParseFloat(rec[0], 64)
		switch {
		case err != nil || math.IsNaN(t) || math.IsInf(t, 0):
			return nil, fmt.Errorf("%s:%d: field time_seconds: %q is not a number of seconds", name, line, rec[0])
		case t < 0:
			return nil, fmt.Errorf("%s:%d: field time_seconds: %v is negative", name, line, t)
		case t < prev:
			return nil, fmt.Errorf("%s:%d: field time_seconds: %v is before the previous row's %v (rows must be in time order)", name, line, t, prev)
		case t >= duration:
			return nil, fmt.Errorf("%s:%d: field time_seconds: %v is not before the end of the run (%v s)", name, line, t, duration)
		}
		tier, ok := queues[rec[1]]
		if !ok {
			known := make([]string, 0, len(tiers))
			for _, t := range tiers {
				known = append(known, t.Queue)
			}
			return nil, fmt.Errorf("%s:%d: field queue: unknown queue %q (known: %s)", name, line, rec[1], strings.Join(known, ", "))
		}
		prev = t
		out = append(out, Arrival{Seconds: t, Tier: tier})
	}
	return out, nil
}

// WriteTrace writes arrivals in the trace format.
func WriteTrace(w io.Writer, arrivals []Arrival, tiers []Tier) error {
	cw := csv.NewWriter(w)
	if err := cw.Write([]string{"time_seconds", "queue"}); err != nil {
		return err
	}
	for _, a := range arrivals {
		if err := cw.Write([]string{strconv.FormatFloat(a.Seconds, 'f', 3, 64), tiers[a.Tier].Queue}); err != nil {
			return err
		}
	}
	cw.Flush()
	return cw.Error()
}
