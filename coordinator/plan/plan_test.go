package plan

import (
	"errors"
	"fmt"
	"math/rand/v2"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// scenario is the reference workload: two nodes of 2 CPU / 4 GiB, worker pods
// of 200m / 256Mi, 110 pods per node.
var (
	pool   = Resources{MilliCPU: 4000, MemoryBytes: 8 << 30, Pods: 220}
	worker = Resources{MilliCPU: 200, MemoryBytes: 256 << 20, Pods: 1}
)

func TestComputeScenario(t *testing.T) {
	tests := []struct {
		name                       string
		inspector, size            int32 // desired
		inspectorHolds             int32 // current replicas
		wantInspector, wantSizeCap int32
		wantSizeGrant              int32
		wantCapped                 bool
	}{
		{name: "quiet", inspector: 1, size: 1, wantInspector: 1, wantSizeCap: 16, wantSizeGrant: 1},
		{name: "size backlog fills the pool", inspector: 1, size: 40, wantInspector: 1, wantSizeCap: 16, wantSizeGrant: 16},
		{name: "inspection burst takes the room", inspector: 14, size: 16, wantInspector: 14, wantSizeCap: 6, wantSizeGrant: 6, wantCapped: true},
		{name: "inspection at its max", inspector: 99, size: 16, wantInspector: 16, wantSizeCap: 4, wantSizeGrant: 4, wantCapped: true},
		// The burst is drained but the Inspector HPA keeps its 14 pods until
		// its scale-down stabilization window ends: the room stays theirs.
		{name: "drained, inspector still holds its pods", inspector: 1, inspectorHolds: 14, size: 16, wantInspector: 14, wantSizeCap: 6, wantSizeGrant: 6, wantCapped: true},
		{name: "holding fewer than the metrics ask", inspector: 14, inspectorHolds: 5, size: 16, wantInspector: 14, wantSizeCap: 6, wantSizeGrant: 6, wantCapped: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p, err := Compute(pool, []Tier{
				{Name: "inspector", MinReplicas: 1, MaxReplicas: 16, Desired: tt.inspector, Current: tt.inspectorHolds, PerReplica: worker},
				{Name: "size", MinReplicas: 1, MaxReplicas: 16, Desired: tt.size, PerReplica: worker},
			})
			if err != nil {
				t.Fatal(err)
			}
			got := []int32{p.Tiers[0].Grant, p.Tiers[0].Cap, p.Tiers[1].Cap, p.Tiers[1].Grant}
			want := []int32{tt.wantInspector, 16, tt.wantSizeCap, tt.wantSizeGrant}
			if diff := cmp.Diff(want, got); diff != "" {
				t.Errorf("inspector grant, inspector cap, size cap, size grant (-want +got):\n%s", diff)
			}
			if p.Tiers[1].Capped != tt.wantCapped || p.Tiers[0].Capped {
				t.Errorf("capped = %v/%v, want false/%v", p.Tiers[0].Capped, p.Tiers[1].Capped, tt.wantCapped)
			}
		})
	}
}

func TestComputeMinimumsExceedPool(t *testing.T) {
	_, err := Compute(Resources{MilliCPU: 1000, MemoryBytes: Unlimited, Pods: Unlimited}, []Tier{
		{Name: "a", MinReplicas: 3, MaxReplicas: 5, PerReplica: worker},
		{Name: "b", MinReplicas: 3, MaxReplicas: 5, PerReplica: worker},
	})
	if !errors.Is(err, ErrMinimumsExceedPool) {
		t.Fatalf("Compute() error = %v, want ErrMinimumsExceedPool", err)
	}
}

func TestValidate(t *testing.T) {
	ok := Tier{Name: "a", MinReplicas: 1, MaxReplicas: 2}
	tests := []struct {
		name  string
		tiers []Tier
		want  bool // valid
	}{
		{"two tiers", []Tier{ok, {Name: "b", MaxReplicas: 1}}, true},
		{"one tier", []Tier{ok}, false},
		{"duplicate", []Tier{ok, ok}, false},
		{"negative min", []Tier{ok, {Name: "b", MinReplicas: -1, MaxReplicas: 1}}, false},
		{"negative current", []Tier{ok, {Name: "b", MaxReplicas: 1, Current: -1}}, false},
		{"max below min", []Tier{ok, {Name: "b", MinReplicas: 3, MaxReplicas: 1}}, false},
		{"negative requests", []Tier{ok, {Name: "b", MaxReplicas: 1, PerReplica: Resources{MilliCPU: -1}}}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if err := Validate(tt.tiers); (err == nil) != tt.want {
				t.Errorf("Validate() = %v, want valid %v", err, tt.want)
			}
		})
	}
}

// randomCase draws a pool and 2–5 tiers. Sizes are small so that pools are
// sometimes too small, sometimes ample; some dimensions are unlimited or
// unrequested, and minimums may be zero (HPAScaleToZero).
func randomCase(r *rand.Rand) (Resources, []Tier) {
	dim := func(limit int64) int64 {
		if r.IntN(8) == 0 {
			return Unlimited
		}
		return r.Int64N(limit)
	}
	capacity := Resources{MilliCPU: dim(8000), MemoryBytes: dim(16 << 30), Pods: dim(60)}
	tiers := make([]Tier, 2+r.IntN(4))
	for i := range tiers {
		lo := int32(r.IntN(4))
		hi := lo + int32(r.IntN(20))
		per := Resources{MilliCPU: r.Int64N(1000), MemoryBytes: r.Int64N(2 << 30), Pods: int64(r.IntN(2))}
		tiers[i] = Tier{Name: fmt.Sprintf("t%d", i), MinReplicas: lo, MaxReplicas: hi, Desired: int32(r.IntN(40)), Current: int32(r.IntN(25)), PerReplica: per}
	}
	return capacity, tiers
}

func need(tiers []Tier, n func(i int, t Tier) int32) Resources {
	var sum Resources
	for i, t := range tiers {
		sum = add(sum, scale(t.PerReplica, int64(n(i, t))))
	}
	return sum
}

// TestComputeProperties checks the planner's promises on many random pools
// and tiers (seeded, so a failure is reproducible from its iteration).
func TestComputeProperties(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	computed := 0
	for iter := range 20000 {
		capacity, tiers := randomCase(r)
		p, err := Compute(capacity, tiers)
		minsFit := fits(need(tiers, func(_ int, t Tier) int32 { return t.MinReplicas }), capacity)
		if !minsFit {
			if !errors.Is(err, ErrMinimumsExceedPool) {
				t.Fatalf("iteration %d: minimums do not fit %v but Compute() error = %v", iter, capacity, err)
			}
			continue
		}
		if err != nil {
			t.Fatalf("iteration %d: Compute(%v, %+v): %v", iter, capacity, tiers, err)
		}
		computed++
		describe := func() string {
			return fmt.Sprintf("iteration %d: pool %v tiers %+v plan %+v", iter, capacity, tiers, p.Tiers)
		}

		// Caps never below min nor above the user's max; the top tier is
		// never capped; grants stay within [min, demand] and under the cap.
		for i, tp := range p.Tiers {
			tr := tiers[i]
			if tp.Cap < tr.MinReplicas || tp.Cap > tr.MaxReplicas {
				t.Fatalf("%s: tier %d cap %d outside [%d, %d]", describe(), i, tp.Cap, tr.MinReplicas, tr.MaxReplicas)
			}
			if tp.Capped != (tp.Cap < tr.MaxReplicas) {
				t.Fatalf("%s: tier %d Capped=%v with cap %d, max %d", describe(), i, tp.Capped, tp.Cap, tr.MaxReplicas)
			}
			if tp.Grant < tr.MinReplicas || tp.Grant > tp.Demand || tp.Grant > tp.Cap {
				t.Fatalf("%s: tier %d grant %d outside [min %d, min(demand %d, cap %d)]", describe(), i, tp.Grant, tr.MinReplicas, tp.Demand, tp.Cap)
			}
		}
		if p.Tiers[0].Capped {
			t.Fatalf("%s: top tier capped", describe())
		}

		// Granted resources fit the pool whenever the minimums do.
		if !fits(p.Granted, capacity) {
			t.Fatalf("%s: granted %v exceeds the pool", describe(), p.Granted)
		}
		// A capped tier that grows to its cap never squeezes the tiers
		// above it nor the minimums below it.
		for i := 1; i < len(tiers); i++ {
			use := need(tiers, func(j int, t Tier) int32 {
				switch {
				case j < i:
					return p.Tiers[j].Grant
				case j == i:
					return p.Tiers[i].Cap
				default:
					return t.MinReplicas
				}
			})
			if !fits(use, capacity) {
				t.Fatalf("%s: tier %d at its cap %d overflows the pool: %v", describe(), i, p.Tiers[i].Cap, use)
			}
		}

		// When everything fits at the users' maximums, nobody is capped;
		// when the demands fit, everybody gets its demand.
		if fits(need(tiers, func(_ int, t Tier) int32 { return t.MaxReplicas }), capacity) {
			for i, tp := range p.Tiers {
				if tp.Capped {
					t.Fatalf("%s: everything fits but tier %d is capped", describe(), i)
				}
			}
		}
		if fits(need(tiers, func(i int, _ Tier) int32 { return p.Tiers[i].Demand }), capacity) {
			for i, tp := range p.Tiers {
				if tp.Grant != tp.Demand {
					t.Fatalf("%s: demands fit but tier %d granted %d of %d", describe(), i, tp.Grant, tp.Demand)
				}
			}
		}

		// Demand counts what a tier holds as well as what its metrics ask.
		for i, tp := range p.Tiers {
			if want := clamp(int64(max(tiers[i].Desired, tiers[i].Current)), tiers[i].MinReplicas, tiers[i].MaxReplicas); tp.Demand != want {
				t.Fatalf("%s: tier %d demand %d, want %d", describe(), i, tp.Demand, want)
			}
		}

		// More demand upstairs, from the metrics or from replicas held,
		// never raises a cap downstairs.
		up := r.IntN(len(tiers) - 1)
		more := append([]Tier(nil), tiers...)
		if r.IntN(2) == 0 {
			more[up].Desired += int32(1 + r.IntN(20))
		} else {
			more[up].Current += int32(1 + r.IntN(20))
		}
		q, err := Compute(capacity, more)
		if err != nil {
			t.Fatalf("%s: with more demand on tier %d: %v", describe(), up, err)
		}
		for i := up + 1; i < len(tiers); i++ {
			if q.Tiers[i].Cap > p.Tiers[i].Cap {
				t.Fatalf("%s: tier %d desired %d→%d, current %d→%d raised tier %d's cap %d→%d", describe(), up, tiers[up].Desired, more[up].Desired, tiers[up].Current, more[up].Current, i, p.Tiers[i].Cap, q.Tiers[i].Cap)
			}
		}
	}
	if computed < 5000 {
		t.Fatalf("only %d of 20000 random cases had minimums that fit; the generator needs adjusting", computed)
	}
}

// FuzzCompute feeds arbitrary tiers to the planner: it must either refuse
// them or return a plan that keeps its promises, never panic.
func FuzzCompute(f *testing.F) {
	f.Add(int64(4000), int64(8<<30), int64(220), int32(1), int32(16), int32(14), int64(200), int32(1), int32(16), int32(16), int64(200))
	f.Add(int64(0), int64(0), int64(0), int32(0), int32(0), int32(0), int64(0), int32(0), int32(0), int32(0), int64(0))
	f.Fuzz(func(t *testing.T, cpu, mem, pods int64, min0, max0, d0 int32, c0 int64, min1, max1, d1 int32, c1 int64) {
		capacity := Resources{MilliCPU: cpu, MemoryBytes: mem, Pods: pods}
		tiers := []Tier{
			{Name: "a", MinReplicas: min0, MaxReplicas: max0, Desired: d0, PerReplica: Resources{MilliCPU: c0 % (1 << 20), Pods: 1}},
			{Name: "b", MinReplicas: min1, MaxReplicas: max1, Desired: d1, PerReplica: Resources{MilliCPU: c1 % (1 << 20), Pods: 1}},
		}
		if capacity.MilliCPU < 0 || capacity.MemoryBytes < 0 || capacity.Pods < 0 {
			return // pools are never negative: the controller clamps at zero
		}
		p, err := Compute(capacity, tiers)
		if err != nil {
			return
		}
		for i, tp := range p.Tiers {
			if tp.Cap < tiers[i].MinReplicas || tp.Cap > tiers[i].MaxReplicas {
				t.Fatalf("tier %d cap %d outside [%d, %d]", i, tp.Cap, tiers[i].MinReplicas, tiers[i].MaxReplicas)
			}
		}
	})
}
