// Package timeline records what the demo observed once a second and turns it
// into the end-of-run summary and a plot.
package timeline

import (
	"slices"
	"sync"
	"time"
)

// Snapshot is everything the demo observed at one moment. A part that could
// not be read carries its error and no numbers: it is never shown as zero.
type Snapshot struct {
	// At is the time since the story started.
	At    time.Duration
	Phase string
	// Queues, HPAs and Tiers are in the order of the policy's tiers.
	Queues []Queue
	HPAs   []HPA
	Tiers  []Tier
	Policy Policy
}

// Queue is one queue's depth, read from SQS.
type Queue struct {
	Name              string
	Visible, InFlight int
	Err               string
}

// Backlog is visible plus in flight, the number the HPAs scale on.
func (q Queue) Backlog() int { return q.Visible + q.InFlight }

// HPA is one HorizontalPodAutoscaler's state.
type HPA struct {
	Name                       string
	Current, Desired, Min, Max int32
	// UserMax is the maxReplicas the user wrote (kept by the coordinator in
	// an annotation while it caps the HPA); equal to Max when not capped.
	UserMax int32
	Err     string
}

// Capped says whether the HPA's maxReplicas is below the user's.
func (h HPA) Capped() bool { return h.Err == "" && h.Max < h.UserMax }

// Tier is the pods of one worker Deployment.
type Tier struct {
	Deployment       string
	Running, Pending int
	// Workers is how many stand-in workers consume for its Running pods.
	Workers int
	Err     string
}

// Policy is the PriorityPolicy's status as the coordinator wrote it.
type Policy struct {
	Name string
	// Capped is the coordinator's own one-line account of which tiers it
	// caps and why; Pool summarises the capacity it shares.
	Capped, Pool string
	Tiers        []PolicyTier
	// Ready is the Ready condition's status, reason and message.
	Ready, Reason, Message string
	Err                    string
}

// PolicyTier is one tier of the policy's status.
type PolicyTier struct {
	HPA                                 string
	Demand, Grant, MaxReplicas, UserMax int32
	Capped                              bool
	// Held: the demand is the replicas the HPA still keeps, more than its
	// metrics ask for (demandSource Held).
	Held bool
}

// Recorder keeps snapshots; safe for concurrent use.
type Recorder struct {
	mu    sync.Mutex
	snaps []Snapshot
}

// Add records s.
func (r *Recorder) Add(s Snapshot) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.snaps = append(r.snaps, s)
}

// Snapshots returns what was recorded, oldest first.
func (r *Recorder) Snapshots() []Snapshot {
	r.mu.Lock()
	defer r.mu.Unlock()
	return slices.Clone(r.snaps)
}

// Last is the newest snapshot, and false if none was recorded.
func (r *Recorder) Last() (Snapshot, bool) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if len(r.snaps) == 0 {
		return Snapshot{}, false
	}
	return r.snaps[len(r.snaps)-1], true
}

// Summary is what the run showed.
type Summary struct {
	Duration time.Duration
	// PeakBacklog per queue name.
	Queues []QueuePeak
	Tiers  []TierUse
	// Caps lists each HPA that was capped: the lowest maxReplicas applied
	// against the user's, when first capped and when released.
	Caps []Cap
	// Unreadable counts snapshots with any part that could not be read.
	Unreadable int
}

// QueuePeak is a queue's largest backlog and when it happened.
type QueuePeak struct {
	Name  string
	Peak  int
	At    time.Duration
	Final int
}

// TierUse is the pods a tier used.
type TierUse struct {
	Deployment  string
	PeakRunning int
	// PodSeconds integrates Running pods over the run.
	PodSeconds  float64
	PeakPending int
}

// Cap records the coordinator capping one HPA.
type Cap struct {
	HPA                string
	LowestMax, UserMax int32
	// From is the first snapshot it was capped; Released the first one after
	// the last capped snapshot in which it was no longer capped (zero and
	// StillCapped when the run ended capped).
	From, Released time.Duration
	StillCapped    bool
}

// Summarize computes the summary of snaps.
func Summarize(snaps []Snapshot) Summary {
	var s Summary
	if len(snaps) == 0 {
		return s
	}
	s.Duration = snaps[len(snaps)-1].At
	queues := map[string]int{}
	tiers := map[string]int{}
	caps := map[string]int{}
	for i, snap := range snaps {
		dt := 0.0
		if i+1 < len(snaps) {
			dt = (snaps[i+1].At - snap.At).Seconds()
		}
		bad := snap.Policy.Err != ""
		for _, q := range snap.Queues {
			if q.Err != "" {
				bad = true
				continue
			}
			j, ok := queues[q.Name]
			if !ok {
				j = len(s.Queues)
				queues[q.Name] = j
				s.Queues = append(s.Queues, QueuePeak{Name: q.Name, Peak: -1})
			}
			if q.Backlog() > s.Queues[j].Peak {
				s.Queues[j].Peak, s.Queues[j].At = q.Backlog(), snap.At
			}
			s.Queues[j].Final = q.Backlog()
		}
		for _, t := range snap.Tiers {
			if t.Err != "" {
				bad = true
				continue
			}
			j, ok := tiers[t.Deployment]
			if !ok {
				j = len(s.Tiers)
				tiers[t.Deployment] = j
				s.Tiers = append(s.Tiers, TierUse{Deployment: t.Deployment})
			}
			u := &s.Tiers[j]
			u.PeakRunning = max(u.PeakRunning, t.Running)
			u.PeakPending = max(u.PeakPending, t.Pending)
			u.PodSeconds += float64(t.Running) * dt
		}
		for _, h := range snap.HPAs {
			if h.Err != "" {
				bad = true
				continue
			}
			j, ok := caps[h.Name]
			if h.Capped() {
				if !ok {
					j = len(s.Caps)
					caps[h.Name] = j
					s.Caps = append(s.Caps, Cap{HPA: h.Name, LowestMax: h.Max, UserMax: h.UserMax, From: snap.At})
				}
				c := &s.Caps[j]
				c.LowestMax = min(c.LowestMax, h.Max)
				c.StillCapped, c.Released = true, 0
			} else if ok && s.Caps[j].StillCapped {
				s.Caps[j].StillCapped, s.Caps[j].Released = false, snap.At
			}
		}
		if bad {
			s.Unreadable++
		}
	}
	return s
}
