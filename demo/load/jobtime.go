package load

import (
	"fmt"
	"math"
	"math/rand/v2"
	"time"
)

// z95 is the standard normal quantile at 0.95.
const z95 = 1.6448536269514722

// JobTime is a log-normal job duration given by its median and 95th
// percentile, as the scenario states them (Inspector: median 2 s, p95 6 s;
// Size: median 45 s, p95 120 s).
type JobTime struct {
	Median time.Duration
	P95    time.Duration
}

// Validate reports a distribution that cannot be sampled.
func (j JobTime) Validate() error {
	if j.Median <= 0 {
		return fmt.Errorf("median job time must be positive, got %s", j.Median)
	}
	if j.P95 < j.Median {
		return fmt.Errorf("p95 job time (%s) must be at least the median (%s)", j.P95, j.Median)
	}
	return nil
}

// Max is the longest job Sample returns: four times the p95. Clamping keeps a
// rare draw from outliving the message's visibility timeout.
func (j JobTime) Max() time.Duration { return 4 * j.P95 }

// Sample draws one job duration using r. The result is exp(mu + sigma*Z) with
// mu = ln(median) and sigma = ln(p95/median)/z95, clamped to Max.
func (j JobTime) Sample(r *rand.Rand) time.Duration {
	mu := math.Log(float64(j.Median))
	sigma := math.Log(float64(j.P95)/float64(j.Median)) / z95
	d := time.Duration(math.Exp(mu + sigma*r.NormFloat64()))
	return min(d, j.Max())
}

// Scaled returns the distribution with both quantiles multiplied by s, so a
// demo can play the scenario faster than real time.
func (j JobTime) Scaled(s float64) JobTime {
	return JobTime{Median: time.Duration(float64(j.Median) * s), P95: time.Duration(float64(j.P95) * s)}
}
