package sim

import (
	"container/heap"
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"time"

	"github.com/queuescale/queuescale/coordinator/plan"
	"github.com/queuescale/queuescale/hpacalc"
)

type podState uint8

const (
	pending     podState = iota // not scheduled: no node had room
	starting                    // on a node, not consuming yet
	running                     // consuming (idle or busy)
	terminating                 // deleted while busy, finishing its job
	gone
)

type pod struct {
	tier      int
	state     podState
	node      int
	created   float64
	msg       int32 // message in flight, -1 if idle
	idleSince float64
	gen       uint32 // bumped when the pod leaves a state, to drop stale events
}

type message struct {
	tier      int
	chain     int32 // index of the external arrival this job descends from
	created   float64
	started   float64
	completed int8
}

type eventKind uint8

const (
	evJobDone eventKind = iota
	evReady
	evGraceEnd
	evCoordinator
	evPriorityScaler
	evHPASync
	evSample
	evScrape
)

type event struct {
	t    float64
	seq  uint64
	kind eventKind
	pod  int32
	gen  uint32
}

type eventHeap []event

func (h eventHeap) Len() int { return len(h) }
func (h eventHeap) Less(i, j int) bool {
	if h[i].t != h[j].t {
		return h[i].t < h[j].t
	}
	return h[i].seq < h[j].seq
}
func (h eventHeap) Swap(i, j int) { h[i], h[j] = h[j], h[i] }
func (h *eventHeap) Push(x any)   { *h = append(*h, x.(event)) }
func (h *eventHeap) Pop() any {
	old := *h
	e := old[len(old)-1]
	*h = old[:len(old)-1]
	return e
}

// queue is a FIFO of message ids; returned messages go back to the front.
type queue struct {
	ids  []int32
	head int
}

func (q *queue) len() int { return len(q.ids) - q.head }
func (q *queue) push(id int32) {
	q.ids = append(q.ids, id)
}
func (q *queue) pushFront(id int32) {
	if q.head > 0 {
		q.head--
		q.ids[q.head] = id
		return
	}
	q.ids = append([]int32{id}, q.ids...)
}
func (q *queue) pop() int32 {
	id := q.ids[q.head]
	q.head++
	if q.head > 1024 && q.head*2 > len(q.ids) {
		q.ids = append(q.ids[:0], q.ids[q.head:]...)
		q.head = 0
	}
	return id
}

type node struct {
	freeCPU, freeMem int64
}

type tierState struct {
	cfg       Tier
	replicas  int32 // the Deployment's spec.replicas
	maxCap    int32 // maxReplicas in effect (the coordinator's cap)
	hpa       hpacalc.Autoscaler
	queue     queue
	idle      []int32 // idle running pods
	inFlight  int
	pods      []int32 // pods not gone
	bound     int     // pods on a node (starting, running, terminating)
	pendingN  int
	priority  int32
	actions   int
	capWrites int
}

type engine struct {
	cfg      Config
	policy   Policy
	arrivals []Arrival
	jobTimes [][]float64 // per arrival, per tier from its own
	now      float64
	last     float64
	events   eventHeap
	seq      uint64
	nodes    []node
	pods     []pod
	msgs     []message
	tiers    []*tierState
	res      *Result
	epoch    time.Time
	scraped  []int64 // per tier, the metric as of the last scrape
}

// Run simulates one policy over the arrivals and returns its result.
func Run(cfg Config, policy Policy, arrivals []Arrival) (*Result, error) {
	if err := cfg.Validate(); err != nil {
		return nil, fmt.Errorf("invalid configuration: %w", err)
	}
	if _, err := ParsePolicy(string(policy)); err != nil {
		return nil, err
	}
	for i, a := range arrivals {
		if a.Tier < 0 || a.Tier >= len(cfg.Tiers) {
			return nil, fmt.Errorf("arrival %d: tier %d does not exist", i, a.Tier)
		}
		if i > 0 && a.Seconds < arrivals[i-1].Seconds {
			return nil, fmt.Errorf("arrival %d: time %v before the previous one", i, a.Seconds)
		}
	}
	e := &engine{cfg: cfg, policy: policy, arrivals: arrivals, epoch: time.Unix(0, 0).UTC()}
	e.res = &Result{Policy: policy, Tiers: len(cfg.Tiers), PendingPodSecondsByTier: make([]float64, len(cfg.Tiers))}
	e.drawJobTimes()
	for range cfg.Nodes {
		e.nodes = append(e.nodes, node{freeCPU: cfg.NodeMilliCPU, freeMem: cfg.NodeMemoryBytes})
	}
	usesPriority := policy != Static && policy != HPA
	for _, t := range cfg.Tiers {
		ts := &tierState{cfg: t, maxCap: t.MaxReplicas}
		if usesPriority {
			ts.priority = t.Priority
		}
		switch policy {
		case Static:
			ts.replicas = t.StaticReplicas
		default:
			// Autoscaled tiers start at their minimum (at least one pod, as
			// an HPA does not scale a Deployment it finds at zero).
			ts.replicas = max(t.MinReplicas, 1)
		}
		e.tiers = append(e.tiers, ts)
	}
	e.res.Series.Tiers = make([]TierSeries, len(cfg.Tiers))
	// Start warm: the initial pods are running at t=0.
	for i := range e.tiers {
		e.reconcileTier(i)
	}
	for i := range e.pods {
		p := &e.pods[i]
		if p.state == starting {
			p.state = running
			p.gen++
			e.becomeIdle(int32(i))
		}
	}
	switch policy {
	case HPA, HPAPriority:
		e.schedule(cfg.HPASyncSeconds, evHPASync, -1, 0)
	case Coordinator, CoordinatorMetricOnly:
		e.schedule(cfg.CoordinatorPeriodSeconds, evCoordinator, -1, 0)
		e.schedule(cfg.HPASyncSeconds, evHPASync, -1, 0)
	case PriorityScaler:
		e.schedule(cfg.PriorityScalerPeriodSeconds, evPriorityScaler, -1, 0)
	}
	e.sample()
	e.schedule(cfg.SamplePeriodSeconds, evSample, -1, 0)
	if cfg.MetricScrapeSeconds > 0 {
		e.scrape()
		e.schedule(cfg.MetricScrapeSeconds, evScrape, -1, 0)
	}
	e.loop()
	e.finish()
	return e.res, nil
}

// drawJobTimes gives every external arrival its job times on its own tier
// and every tier after it, from a stream independent of the policy, so all
// policies see the same work.
func (e *engine) drawJobTimes() {
	rng := rand.New(rand.NewPCG(e.cfg.Seed, 0x6a6f6274696d6573)) // "jobtimes"
	e.jobTimes = make([][]float64, len(e.arrivals))
	for i, a := range e.arrivals {
		ts := make([]float64, len(e.cfg.Tiers)-a.Tier)
		for k := range ts {
			t := e.cfg.Tiers[a.Tier+k]
			ts[k] = t.JobMedianSeconds * math.Exp(sigma(t.JobMedianSeconds, t.JobP95Seconds)*rng.NormFloat64())
		}
		e.jobTimes[i] = ts
	}
}

func (e *engine) schedule(at float64, kind eventKind, p int32, gen uint32) {
	e.seq++
	heap.Push(&e.events, event{t: at, seq: e.seq, kind: kind, pod: p, gen: gen})
}

func (e *engine) loop() {
	next := 0
	end := e.cfg.DurationSeconds
	for {
		tEv, tArr := math.Inf(1), math.Inf(1)
		if len(e.events) > 0 {
			tEv = e.events[0].t
		}
		if next < len(e.arrivals) {
			tArr = e.arrivals[next].Seconds
		}
		t := min(tEv, tArr)
		if t >= end {
			break
		}
		e.advance(t)
		if tEv <= tArr {
			e.handle(heap.Pop(&e.events).(event))
			continue
		}
		a := e.arrivals[next]
		e.res.Arrivals++
		e.newMessage(a.Tier, int32(next))
		next++
	}
	e.advance(end)
}

// advance integrates pod-seconds and pending pod-seconds up to t.
func (e *engine) advance(t float64) {
	dt := t - e.last
	if dt > 0 {
		for i, ts := range e.tiers {
			e.res.PodSeconds += dt * float64(ts.bound)
			e.res.PendingPodSeconds += dt * float64(ts.pendingN)
			e.res.PendingPodSecondsByTier[i] += dt * float64(ts.pendingN)
		}
	}
	e.last, e.now = t, t
}

func (e *engine) handle(ev event) {
	switch ev.kind {
	case evJobDone:
		p := &e.pods[ev.pod]
		if p.gen != ev.gen {
			return
		}
		e.jobDone(ev.pod)
	case evReady:
		p := &e.pods[ev.pod]
		if p.gen != ev.gen || p.state != starting {
			return
		}
		p.state = running
		p.gen++
		e.becomeIdle(ev.pod)
	case evGraceEnd:
		p := &e.pods[ev.pod]
		if p.gen != ev.gen || p.state != terminating {
			return
		}
		e.kill(ev.pod)
		e.placePending()
	case evHPASync:
		e.hpaSync()
		e.schedule(e.now+e.cfg.HPASyncSeconds, evHPASync, -1, 0)
	case evCoordinator:
		e.coordinate()
		e.schedule(e.now+e.cfg.CoordinatorPeriodSeconds, evCoordinator, -1, 0)
	case evPriorityScaler:
		e.priorityScale()
		e.schedule(e.now+e.cfg.PriorityScalerPeriodSeconds, evPriorityScaler, -1, 0)
	case evSample:
		e.sample()
		e.schedule(e.now+e.cfg.SamplePeriodSeconds, evSample, -1, 0)
	case evScrape:
		e.scrape()
		e.schedule(e.now+e.cfg.MetricScrapeSeconds, evScrape, -1, 0)
	}
}

// newMessage puts a job on tier's queue or hands it to an idle worker.
func (e *engine) newMessage(tier int, chain int32) {
	id := int32(len(e.msgs))
	e.msgs = append(e.msgs, message{tier: tier, chain: chain, created: e.now, started: -1})
	if tier > e.arrivals[chain].Tier {
		e.res.FanOut++
	}
	e.offer(tier, id)
}

func (e *engine) offer(tier int, id int32) {
	ts := e.tiers[tier]
	if n := len(ts.idle); n > 0 {
		p := ts.idle[n-1]
		ts.idle = ts.idle[:n-1]
		e.startJob(p, id)
		return
	}
	ts.queue.push(id)
}

func (e *engine) jobTime(id int32) float64 {
	m := e.msgs[id]
	return e.jobTimes[m.chain][m.tier-e.arrivals[m.chain].Tier]
}

// startJob gives message id to idle pod p, closing its idle interval: the
// ReceiveMessage calls it made while idle were empty, the last one returns
// the message.
func (e *engine) startJob(p int32, id int32) {
	pd := &e.pods[p]
	e.countPolls(pd.idleSince, e.now, true)
	pd.msg = id
	e.tiers[pd.tier].inFlight++
	e.msgs[id].started = e.now
	e.schedule(e.now+e.jobTime(id), evJobDone, p, pd.gen)
}

// countPolls adds the calls of an idle interval [from, to). received is
// whether it ended with a message (else the pod stopped).
func (e *engine) countPolls(from, to float64, received bool) {
	idle := max(to-from, 0)
	shortEmpty := int64(math.Ceil(idle/e.cfg.ShortPollIntervalSeconds - 1e-9))
	var longEmpty int64
	if received {
		longEmpty = int64(math.Floor(idle/e.cfg.LongPollWaitSeconds + 1e-9))
	} else {
		longEmpty = int64(math.Ceil(idle/e.cfg.LongPollWaitSeconds - 1e-9))
	}
	e.res.Short.Empty += shortEmpty
	e.res.Short.Total += shortEmpty
	e.res.Long.Empty += longEmpty
	e.res.Long.Total += longEmpty
	if received {
		e.res.Short.Total++
		e.res.Long.Total++
	}
}

func (e *engine) jobDone(p int32) {
	pd := &e.pods[p]
	ts := e.tiers[pd.tier]
	id := pd.msg
	m := &e.msgs[id]
	m.completed++
	e.res.Completed++
	if pd.tier == 0 {
		e.res.inspectorWaits = append(e.res.inspectorWaits, m.started-m.created)
	} else {
		e.res.lowerLags = append(e.res.lowerLags, e.now-m.created)
	}
	pd.msg = -1
	ts.inFlight--
	if pd.tier+1 < len(e.tiers) {
		e.newMessage(pd.tier+1, m.chain)
	}
	if pd.state == terminating {
		e.kill(p)
		e.placePending()
		return
	}
	e.becomeIdle(p)
}

// becomeIdle takes the next message if there is one, else waits.
func (e *engine) becomeIdle(p int32) {
	pd := &e.pods[p]
	pd.idleSince = e.now
	ts := e.tiers[pd.tier]
	if ts.queue.len() > 0 {
		e.startJob(p, ts.queue.pop())
		return
	}
	ts.idle = append(ts.idle, p)
}

// kill removes pod p at once; a message in flight goes back to the queue
// unprocessed.
func (e *engine) kill(p int32) {
	pd := &e.pods[p]
	ts := e.tiers[pd.tier]
	switch pd.state {
	case pending:
		ts.pendingN--
	case running, terminating:
		if pd.msg >= 0 {
			ts.queue.pushFront(pd.msg)
			e.msgs[pd.msg].started = -1
			pd.msg = -1
			ts.inFlight--
			e.res.Requeued++
		} else if pd.state == running {
			if i := slices.Index(ts.idle, p); i >= 0 {
				ts.idle = slices.Delete(ts.idle, i, i+1)
			}
			e.countPolls(pd.idleSince, e.now, false)
		}
	}
	if pd.state != pending {
		e.release(pd)
	}
	pd.state = gone
	pd.gen++
	if i := slices.Index(ts.pods, p); i >= 0 {
		ts.pods = slices.Delete(ts.pods, i, i+1)
	}
	// A requeued message may have an idle worker waiting elsewhere in the
	// tier.
	for ts.queue.len() > 0 && len(ts.idle) > 0 {
		q := ts.idle[len(ts.idle)-1]
		ts.idle = ts.idle[:len(ts.idle)-1]
		e.startJob(q, ts.queue.pop())
	}
}

func (e *engine) release(pd *pod) {
	ts := e.tiers[pd.tier]
	n := &e.nodes[pd.node]
	n.freeCPU += ts.cfg.MilliCPU
	n.freeMem += ts.cfg.MemoryBytes
	ts.bound--
}

// setReplicas is a write to the Deployment's spec.replicas.
func (e *engine) setReplicas(tier int, n int32) {
	ts := e.tiers[tier]
	if n == ts.replicas {
		return
	}
	ts.replicas = n
	ts.actions++
	e.reconcileTier(tier)
}

// reconcileTier is the ReplicaSet controller: create or delete pods until
// the tier has replicas pods that are not terminating. Pods to delete are
// chosen as the ReplicaSet does: unscheduled first, then not ready, then the
// newest.
func (e *engine) reconcileTier(tier int) {
	ts := e.tiers[tier]
	var active []int32
	for _, p := range ts.pods {
		if e.pods[p].state != terminating {
			active = append(active, p)
		}
	}
	for n := int32(len(active)); n < ts.replicas; n++ {
		id := int32(len(e.pods))
		e.pods = append(e.pods, pod{tier: tier, state: pending, created: e.now, msg: -1})
		ts.pods = append(ts.pods, id)
		ts.pendingN++
		e.res.PodsCreated++
	}
	if excess := len(active) - int(ts.replicas); excess > 0 {
		slices.SortStableFunc(active, func(a, b int32) int {
			pa, pb := &e.pods[a], &e.pods[b]
			if pa.state != pb.state {
				return int(pa.state) - int(pb.state) // pending < starting < running
			}
			return cmpFloat(pb.created, pa.created) // newest first
		})
		for _, p := range active[:excess] {
			e.deletePod(p)
		}
	}
	e.placePending()
}

// deletePod starts a pod's graceful termination: idle or not yet consuming
// pods stop at once; a busy worker finishes its job within the grace period.
func (e *engine) deletePod(p int32) {
	pd := &e.pods[p]
	if pd.state == running && pd.msg >= 0 && e.cfg.TerminationGraceSeconds > 0 {
		pd.state = terminating
		e.schedule(e.now+e.cfg.TerminationGraceSeconds, evGraceEnd, p, pd.gen)
		return
	}
	e.kill(p)
}

// placePending is the scheduler: pending pods in priority order (then
// oldest first) go to the node with the most free CPU that fits them; a pod
// that fits nowhere may preempt lower-priority pods.
func (e *engine) placePending() {
	var pend []int32
	for _, ts := range e.tiers {
		for _, p := range ts.pods {
			if e.pods[p].state == pending {
				pend = append(pend, p)
			}
		}
	}
	if len(pend) == 0 {
		return
	}
	slices.SortStableFunc(pend, func(a, b int32) int {
		pa, pb := e.tiers[e.pods[a].tier].priority, e.tiers[e.pods[b].tier].priority
		if pa != pb {
			return int(pb - pa)
		}
		return cmpFloat(e.pods[a].created, e.pods[b].created)
	})
	for _, p := range pend {
		if e.pods[p].state != pending { // evicted pods are gone, not pending
			continue
		}
		ts := e.tiers[e.pods[p].tier]
		best := -1
		for i, n := range e.nodes {
			if n.freeCPU >= ts.cfg.MilliCPU && n.freeMem >= ts.cfg.MemoryBytes && (best < 0 || n.freeCPU > e.nodes[best].freeCPU) {
				best = i
			}
		}
		if best < 0 {
			best = e.preempt(p)
		}
		if best >= 0 {
			e.bind(p, best)
		}
	}
}

// preempt frees room for pending pod p by evicting pods of lower priority
// on the node where the fewest victims suffice (lowest priority, newest
// first). Eviction is immediate; a victim's message goes back to the queue
// and its ReplicaSet makes a new (pending) pod.
func (e *engine) preempt(p int32) int {
	ts := e.tiers[e.pods[p].tier]
	bestNode, bestVictims := -1, []int32(nil)
	for ni, n := range e.nodes {
		var cands []int32
		for _, other := range e.tiers {
			if other.priority >= ts.priority {
				continue
			}
			for _, q := range other.pods {
				if st := e.pods[q].state; st != pending && st != gone && e.pods[q].node == ni {
					cands = append(cands, q)
				}
			}
		}
		slices.SortStableFunc(cands, func(a, b int32) int {
			pa, pb := e.tiers[e.pods[a].tier].priority, e.tiers[e.pods[b].tier].priority
			if pa != pb {
				return int(pa - pb)
			}
			return cmpFloat(e.pods[b].created, e.pods[a].created)
		})
		cpu, mem := n.freeCPU, n.freeMem
		var victims []int32
		for _, q := range cands {
			if cpu >= ts.cfg.MilliCPU && mem >= ts.cfg.MemoryBytes {
				break
			}
			victims = append(victims, q)
			qt := e.tiers[e.pods[q].tier].cfg
			cpu += qt.MilliCPU
			mem += qt.MemoryBytes
		}
		if cpu >= ts.cfg.MilliCPU && mem >= ts.cfg.MemoryBytes && (bestNode < 0 || len(victims) < len(bestVictims)) {
			bestNode, bestVictims = ni, victims
		}
	}
	if bestNode < 0 {
		return -1
	}
	touched := map[int]bool{}
	for _, q := range bestVictims {
		touched[e.pods[q].tier] = true
		e.kill(q)
		e.res.Evictions++
	}
	// The victims' ReplicaSets replace them; the new pods wait in Pending.
	for tier := range e.tiers {
		if touched[tier] {
			e.recreate(tier)
		}
	}
	return bestNode
}

// recreate adds pending pods until the tier has its replicas, without
// running the scheduler (the caller is the scheduler).
func (e *engine) recreate(tier int) {
	ts := e.tiers[tier]
	active := 0
	for _, p := range ts.pods {
		if e.pods[p].state != terminating {
			active++
		}
	}
	for ; active < int(ts.replicas); active++ {
		id := int32(len(e.pods))
		e.pods = append(e.pods, pod{tier: tier, state: pending, created: e.now, msg: -1})
		ts.pods = append(ts.pods, id)
		ts.pendingN++
		e.res.PodsCreated++
	}
}

func (e *engine) bind(p int32, ni int) {
	pd := &e.pods[p]
	ts := e.tiers[pd.tier]
	n := &e.nodes[ni]
	n.freeCPU -= ts.cfg.MilliCPU
	n.freeMem -= ts.cfg.MemoryBytes
	if n.freeCPU < 0 || n.freeMem < 0 {
		panic(fmt.Sprintf("sim: node %d overcommitted: %+v", ni, *n))
	}
	pd.node = ni
	pd.state = starting
	pd.gen++
	ts.pendingN--
	ts.bound++
	e.schedule(e.now+e.cfg.StartDelaySeconds, evReady, p, pd.gen)
	e.trackPeak()
}

func (e *engine) trackPeak() {
	var cpu, mem int64
	for _, n := range e.nodes {
		cpu += e.cfg.NodeMilliCPU - n.freeCPU
		mem += e.cfg.NodeMemoryBytes - n.freeMem
	}
	e.res.PeakMilliCPU = max(e.res.PeakMilliCPU, cpu)
	e.res.PeakMemoryBytes = max(e.res.PeakMemoryBytes, mem)
}

// usageMilli is the External metric the HPAs read: visible + in flight,
// live or as of the last scrape.
func (e *engine) usageMilli(tier int) int64 {
	if e.scraped != nil {
		return e.scraped[tier]
	}
	return e.liveUsageMilli(tier)
}

func (e *engine) liveUsageMilli(tier int) int64 {
	ts := e.tiers[tier]
	return int64(ts.queue.len()+ts.inFlight) * 1000
}

func (e *engine) scrape() {
	if e.scraped == nil {
		e.scraped = make([]int64, len(e.tiers))
	}
	for i := range e.tiers {
		e.scraped[i] = e.liveUsageMilli(i)
	}
}

func (e *engine) hpaSpec(tier int) hpacalc.Spec {
	ts := e.tiers[tier]
	b := hpacalc.DefaultBehavior()
	b.ScaleDown.StabilizationWindowSeconds = e.cfg.DownscaleStabilizationSeconds
	return hpacalc.Spec{
		MinReplicas:             ts.cfg.MinReplicas,
		MaxReplicas:             ts.maxCap,
		TargetAverageValueMilli: int64(math.Round(ts.cfg.TargetPerPod * 1000)),
		Tolerance:               hpacalc.Tolerance{ScaleDown: e.cfg.HPATolerance, ScaleUp: e.cfg.HPATolerance},
		Behavior:                &b,
	}
}

func (e *engine) hpaSync() {
	at := e.epoch.Add(time.Duration(e.now * float64(time.Second)))
	for i, ts := range e.tiers {
		d := ts.hpa.Reconcile(at, e.hpaSpec(i), ts.replicas, e.usageMilli(i))
		if d.Rescale {
			e.setReplicas(i, d.Desired)
		}
	}
}

// coordinate is one coordinator pass: each tier's Desired is what its HPA
// would want from the current metric and, as the controller does, its
// Current is the Deployment's spec.replicas (left zero under
// CoordinatorMetricOnly); the planner's caps become the lower tiers'
// maxReplicas.
func (e *engine) coordinate() {
	capacity := plan.Resources{
		MilliCPU:    int64(e.cfg.Nodes) * e.cfg.NodeMilliCPU,
		MemoryBytes: int64(e.cfg.Nodes) * e.cfg.NodeMemoryBytes,
		Pods:        plan.Unlimited,
	}
	tiers := make([]plan.Tier, len(e.tiers))
	for i, ts := range e.tiers {
		spec := e.hpaSpec(i)
		var current int32
		if e.policy != CoordinatorMetricOnly {
			current = ts.replicas
		}
		tiers[i] = plan.Tier{
			Name:        ts.cfg.Name,
			MinReplicas: ts.cfg.MinReplicas,
			MaxReplicas: ts.cfg.MaxReplicas,
			Desired:     hpacalc.AverageValueReplicas(ts.replicas, e.usageMilli(i), spec.TargetAverageValueMilli, spec.Tolerance),
			Current:     current,
			PerReplica:  plan.Resources{MilliCPU: ts.cfg.MilliCPU, MemoryBytes: ts.cfg.MemoryBytes, Pods: 1},
		}
	}
	p, err := plan.Compute(capacity, tiers)
	if err != nil {
		// Minimums do not fit: the coordinator writes nothing.
		e.res.CoordinatorErrors++
		return
	}
	for i, tp := range p.Tiers {
		if i == 0 {
			continue
		}
		if ts := e.tiers[i]; ts.maxCap != tp.Cap {
			ts.maxCap = tp.Cap
			ts.capWrites++
		}
	}
}

// priorityScale is one period of the original priority scaler, as read in
// docs/simulation.md: a budget of containers shared by the tiers in strict
// priority order; each tier moves at most one step per period: up when its
// backlog per container is above target, down when below DeadBand x target.
// A tier that wants to grow when the budget is spent takes a container from
// the lowest tier above its minimum.
func (e *engine) priorityScale() {
	var total int32
	for _, ts := range e.tiers {
		total += ts.replicas
	}
	want := make([]int32, len(e.tiers))
	for i, ts := range e.tiers {
		backlog := float64(e.usageMilli(i)) / 1000
		perPod := backlog / float64(max(ts.replicas, 1))
		switch {
		case ts.replicas == 0 && backlog > 0, ts.replicas > 0 && perPod > ts.cfg.TargetPerPod:
			want[i] = 1
		case perPod < e.cfg.PriorityScalerDeadBand*ts.cfg.TargetPerPod:
			want[i] = -1
		}
	}
	for i, ts := range e.tiers {
		if want[i] < 0 && ts.replicas > ts.cfg.MinReplicas {
			e.setReplicas(i, ts.replicas-1)
			total--
		}
	}
	for i, ts := range e.tiers {
		if want[i] <= 0 || ts.replicas >= ts.cfg.MaxReplicas {
			continue
		}
		if total < e.cfg.PriorityScalerBudget {
			e.setReplicas(i, ts.replicas+1)
			total++
			continue
		}
		for j := len(e.tiers) - 1; j > i; j-- {
			if lower := e.tiers[j]; lower.replicas > lower.cfg.MinReplicas {
				e.setReplicas(j, lower.replicas-1)
				e.setReplicas(i, ts.replicas+1)
				break
			}
		}
	}
}

func (e *engine) sample() {
	s := &e.res.Series
	s.Seconds = append(s.Seconds, e.now)
	for i, ts := range e.tiers {
		up := 0
		for _, p := range ts.pods {
			if st := e.pods[p].state; st == running || st == terminating {
				up++
			}
		}
		t := &s.Tiers[i]
		t.Visible = append(t.Visible, float64(ts.queue.len()))
		t.InFlight = append(t.InFlight, float64(ts.inFlight))
		t.Replicas = append(t.Replicas, float64(ts.replicas))
		t.Running = append(t.Running, float64(up))
		t.Pending = append(t.Pending, float64(ts.pendingN))
		t.MaxReplicas = append(t.MaxReplicas, float64(ts.maxCap))
	}
}

// finish closes idle intervals and fills the summary.
func (e *engine) finish() {
	for _, ts := range e.tiers {
		for _, p := range ts.idle {
			e.countPolls(e.pods[p].idleSince, e.now, false)
		}
		e.res.LeftQueued += ts.queue.len()
		e.res.LeftInFlight += ts.inFlight
		e.res.ScalingActions += ts.actions
		e.res.CapWrites += ts.capWrites
	}
	e.res.Messages = make([]MessageRecord, len(e.msgs))
	for i, m := range e.msgs {
		e.res.Messages[i] = MessageRecord{Tier: m.tier, Created: m.created, Completions: int(m.completed)}
	}
	for _, ts := range e.tiers {
		for _, p := range ts.pods {
			if e.pods[p].msg >= 0 {
				e.res.Messages[e.pods[p].msg].InFlightAtEnd = true
			}
		}
		for _, id := range ts.queue.ids[ts.queue.head:] {
			e.res.Messages[id].QueuedAtEnd = true
		}
	}
	e.res.summarize(e.cfg)
}
