package hpacalc

import (
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

// The cases below are upstream's (pkg/controller/podautoscaler/horizontal_test.go,
// Kubernetes v1.37: TestConvertDesiredReplicasWithRules,
// TestCalculateScaleUpLimitWithScalingRules, TestScalingWithRules,
// TestNormalizeDesiredReplicas, TestNormalizeDesiredReplicasWithBehavior),
// restated against this package's functions with the same inputs and
// expected answers.

var now = time.Date(2026, 1, 1, 12, 0, 0, 0, time.UTC)

// rules mirrors upstream's generateScalingRules.
func rules(pods, podsPeriod, percent, percentPeriod, window int32) *ScalingRules {
	r := ScalingRules{StabilizationWindowSeconds: window, SelectPolicy: MaxChange}
	if pods != 0 {
		r.Policies = append(r.Policies, ScalingPolicy{Type: PodsPolicy, Value: pods, PeriodSeconds: podsPeriod})
	}
	if percent != 0 {
		r.Policies = append(r.Policies, ScalingPolicy{Type: PercentPolicy, Value: percent, PeriodSeconds: percentPeriod})
	}
	return &r
}

// uniform mirrors upstream's generateEventsUniformDistribution: events spread
// over the last periodSeconds, each in the middle of its segment.
func uniform(raw []int32, periodSeconds float64) []ScaleEvent {
	out := make([]ScaleEvent, len(raw))
	seg := periodSeconds / float64(len(raw))
	for i, c := range raw {
		// upstream builds the duration from a float number of nanoseconds
		// and then multiplies by a second, truncating to whole seconds.
		ago := time.Duration(periodSeconds-seg*float64(i+1)+seg/2) * time.Second
		out[i] = ScaleEvent{Change: c, At: now.Add(-ago)}
	}
	return out
}

func TestConvertWithRules(t *testing.T) {
	tests := []struct {
		name                       string
		current, desired, min, max int32
		want                       int32
		limit                      Limit
	}{
		{"prenormalized desired replicas within range", 5, 7, 3, 8, 7, DesiredWithinRange},
		{"prenormalized desired replicas < minReplicas", 3, 1, 2, 8, 2, TooFewReplicas},
		{"prenormalized desired zeroed replicas within range", 1, 0, 0, 10, 0, DesiredWithinRange},
		{"maxReplicas is the limit because maxReplicas < scaleUpLimit", 20, 1000, 1, 10, 10, TooManyReplicas},
		{"scaleUpLimit is the limit because scaleUpLimit < maxReplicas", 3, 1000, 1, 2000, 6, ScaleUpLimited},
		{"one replica may grow to four", 1, 9, 1, 16, 4, ScaleUpLimited},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, limit := ConvertWithRules(tc.current, tc.desired, tc.min, tc.max)
			if got != tc.want || limit != tc.limit {
				t.Errorf("ConvertWithRules(%d, %d, %d, %d) = %d, %s; want %d, %s", tc.current, tc.desired, tc.min, tc.max, got, limit, tc.want, tc.limit)
			}
		})
	}
}

func TestMinChangeLimits(t *testing.T) {
	r := ScalingRules{StabilizationWindowSeconds: 300, SelectPolicy: MinChange, Policies: []ScalingPolicy{
		{Type: PodsPolicy, Value: 2, PeriodSeconds: 60},
		{Type: PercentPolicy, Value: 50, PeriodSeconds: 60},
	}}
	if got := ScaleUpLimit(now, 1, nil, nil, r); got != 2 {
		t.Errorf("ScaleUpLimit = %d, want 2", got)
	}
	if got := ScaleDownLimit(now, 5, nil, nil, r); got != 3 {
		t.Errorf("ScaleDownLimit = %d, want 3", got)
	}
	r.SelectPolicy = Disabled
	if got := ScaleUpLimit(now, 7, nil, nil, r); got != 7 {
		t.Errorf("disabled ScaleUpLimit = %d, want 7", got)
	}
}

func TestConvertWithBehaviorRate(t *testing.T) {
	tests := []struct {
		name                   string
		up, down               []ScaleEvent
		min, max               int32
		upRules, downRules     *ScalingRules
		current, desired, want int32
		limit                  Limit
	}{
		{name: "prenormalized desired replicas within range", current: 5, desired: 7, min: 3, max: 8, want: 7, limit: DesiredWithinRange},
		{name: "prenormalized desired replicas < minReplicas", current: 3, desired: 1, min: 2, max: 8, want: 2, limit: TooFewReplicas},
		{name: "prenormalized desired replicas within range when minReplicas is 0", current: 1, desired: 0, min: 0, max: 10, want: 0, limit: DesiredWithinRange},
		{name: "maxReplicas is the limit because maxReplicas < scaleUpLimit", current: 20, desired: 1000, min: 1, max: 10, want: 10, limit: TooManyReplicas},
		{name: "desired replica count is more than the maximum replica count", current: 100, desired: 1000, min: 100, max: 150, want: 150, limit: TooManyReplicas},
		{name: "scaleUpLimit is the limit with user policies", current: 3, desired: 1000, min: 1, max: 2000, upRules: rules(0, 0, 1, 60, 0), want: 4, limit: ScaleUpLimited},
		{name: "scaleUp with default behavior", current: 10, desired: 50, min: 1, max: 1000, want: 20, limit: ScaleUpLimited},
		{name: "scaleUp with pods policy larger than percent policy", upRules: rules(100, 60, 100, 60, 0), current: 10, desired: 500, min: 1, max: 1000, want: 110, limit: ScaleUpLimited},
		{name: "scaleUp with percent policy larger than pods policy", upRules: rules(2, 60, 100, 60, 0), current: 10, desired: 500, min: 1, max: 1000, want: 20, limit: ScaleUpLimited},
		{name: "scaleUp with spec MaxReplicas limitation with large pod policy", upRules: rules(100, 60, 0, 0, 0), current: 10, desired: 50, min: 1, max: 1000, want: 50, limit: DesiredWithinRange},
		{name: "scaleUp with pod policy limitation", upRules: rules(30, 60, 0, 0, 0), current: 10, desired: 50, min: 1, max: 1000, want: 40, limit: ScaleUpLimited},
		{name: "scaleUp with percent policy limitation", upRules: rules(0, 0, 200, 60, 0), current: 10, desired: 50, min: 1, max: 1000, want: 30, limit: ScaleUpLimited},
		{name: "scaleDown with percent policy larger than pod policy", downRules: rules(20, 60, 1, 60, 300), current: 100, desired: 2, min: 1, max: 1000, want: 80, limit: ScaleDownLimited},
		{name: "scaleDown with pod policy larger than percent policy", downRules: rules(2, 60, 1, 60, 300), current: 100, desired: 2, min: 1, max: 1000, want: 98, limit: ScaleDownLimited},
		{name: "scaleDown with spec MinReplicas limitation with large pod policy", downRules: rules(100, 60, 0, 0, 300), current: 10, desired: 0, min: 1, max: 1000, want: 1, limit: TooFewReplicas},
		{name: "scaleDown with spec MinReplicas limitation with large percent policy", downRules: rules(0, 0, 100, 60, 300), current: 10, desired: 2, min: 5, max: 1000, want: 5, limit: TooFewReplicas},
		{name: "scaleDown with pod policy limitation", downRules: rules(5, 60, 0, 0, 300), current: 10, desired: 2, min: 1, max: 1000, want: 5, limit: ScaleDownLimited},
		{name: "scaleDown with percent policy limitation", downRules: rules(0, 0, 50, 60, 300), current: 10, desired: 5, min: 1, max: 1000, want: 5, limit: DesiredWithinRange},
		{name: "scaleUp with spec MaxReplicas limitation with large pod policy and events", up: uniform([]int32{1, 5, 9}, 120), upRules: rules(300, 60, 0, 0, 0), current: 100, desired: 500, min: 1, max: 200, want: 200, limit: TooManyReplicas},
		{name: "scaleUp with spec MaxReplicas limitation with large percent policy and events", up: uniform([]int32{1, 5, 9}, 120), upRules: rules(0, 0, 10000, 60, 0), current: 100, desired: 500, min: 1, max: 200, want: 200, limit: TooManyReplicas},
		{name: "scaleUp with currentReplicas limitation with a lot of recent scale up events", up: uniform([]int32{1, 5, 9}, 120), upRules: rules(5, 120, 0, 0, 0), current: 100, desired: 500, min: 1, max: 1000, want: 100, limit: ScaleUpLimited},
		{name: "scaleUp with pod policy and previous scale up events", up: uniform([]int32{1, 5, 9}, 120), upRules: rules(150, 120, 0, 0, 0), current: 100, desired: 500, min: 1, max: 1000, want: 235, limit: ScaleUpLimited},
		{name: "scaleUp with percent policy and previous scale up events", up: uniform([]int32{1, 5, 9}, 120), upRules: rules(0, 0, 200, 120, 0), current: 100, desired: 500, min: 1, max: 1000, want: 255, limit: ScaleUpLimited},
		{name: "scaleUp with percent policy and previous scale up and down events", up: uniform([]int32{4}, 120), down: uniform([]int32{2}, 120), upRules: rules(0, 0, 300, 300, 0), current: 6, desired: 24, min: 1, max: 1000, want: 16, limit: ScaleUpLimited},
		{name: "scaleDown with default policy and previous events", down: uniform([]int32{1, 5, 9}, 120), current: 10, desired: 5, min: 1, max: 1000, want: 5, limit: DesiredWithinRange},
		{name: "scaleDown with spec MinReplicas=nil limitation with large pod policy and previous events", down: uniform([]int32{1, 5, 9}, 120), downRules: rules(115, 120, 0, 0, 300), current: 100, desired: 0, min: 1, max: 1000, want: 1, limit: TooFewReplicas},
		{name: "scaleDown with spec MinReplicas limitation with large pod policy and previous events", down: uniform([]int32{1, 5, 9}, 120), downRules: rules(130, 120, 0, 0, 300), current: 100, desired: 0, min: 5, max: 1000, want: 5, limit: TooFewReplicas},
		{name: "scaleDown with spec MinReplicas limitation with large percent policy and previous events", down: uniform([]int32{1, 5, 9}, 120), downRules: rules(0, 0, 100, 120, 300), current: 100, desired: 2, min: 5, max: 1000, want: 5, limit: TooFewReplicas},
		{name: "scaleDown with pod policy limitation and previous events", down: uniform([]int32{1, 5, 9}, 120), downRules: rules(5, 120, 0, 0, 300), current: 100, desired: 2, min: 1, max: 1000, want: 100, limit: ScaleDownLimited},
		{name: "scaleDown with percent policy limitation and previous events", down: uniform([]int32{2, 4, 6}, 120), downRules: rules(0, 0, 50, 120, 300), current: 100, desired: 0, min: 1, max: 1000, want: 56, limit: ScaleDownLimited},
		{name: "scaleDown with percent policy and previous scale up and down events", up: uniform([]int32{2}, 120), down: uniform([]int32{4}, 120), downRules: rules(0, 0, 50, 180, 0), current: 10, desired: 1, min: 1, max: 1000, want: 6, limit: ScaleDownLimited},
		{name: "scaleDown with previous events preventing further scale down", down: uniform([]int32{10, 10, 10}, 120), downRules: rules(0, 0, 10, 120, 300), current: 100, desired: 0, min: 1, max: 1000, want: 100, limit: ScaleDownLimited},
		{name: "scaleDown with previous events still allowing more scale down", down: uniform([]int32{10, 10, 10}, 120), downRules: rules(0, 0, 1000, 120, 300), current: 10, desired: 5, min: 1, max: 1000, want: 5, limit: DesiredWithinRange},
		{name: "check 'outdated' flag for events for one behavior for up", up: uniform([]int32{8, 12, 9, 11}, 120), upRules: rules(1000, 60, 0, 0, 0), current: 100, desired: 200, min: 1, max: 1000, want: 200, limit: DesiredWithinRange},
		{name: "check that events were not marked 'outdated' for two different policies in the behavior for up", up: uniform([]int32{8, 12, 9, 11}, 120), upRules: rules(1000, 120, 100, 60, 0), current: 100, desired: 200, min: 1, max: 1000, want: 200, limit: DesiredWithinRange},
		{name: "check 'outdated' flag for events for one behavior for down", down: uniform([]int32{8, 12, 9, 11}, 120), downRules: rules(1000, 60, 0, 0, 300), current: 100, desired: 5, min: 1, max: 1000, want: 5, limit: DesiredWithinRange},
		{name: "check that events were marked 'outdated' for two different policies in the behavior for down", down: uniform([]int32{8, 12, 9, 11}, 120), downRules: rules(1000, 30, 100, 60, 300), current: 100, desired: 5, min: 1, max: 1000, want: 5, limit: DesiredWithinRange},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			b := DefaultBehavior()
			if tc.upRules != nil {
				b.ScaleUp = *tc.upRules
			}
			if tc.downRules != nil {
				b.ScaleDown = *tc.downRules
			}
			got, limit := ConvertWithBehaviorRate(now, tc.current, tc.desired, tc.min, tc.max, tc.up, tc.down, b)
			if got != tc.want || limit != tc.limit {
				t.Errorf("got %d, %s; want %d, %s", got, limit, tc.want, tc.limit)
			}
		})
	}
}

func TestLegacyStabilize(t *testing.T) {
	rec := func(n int32, ago time.Duration) Recommendation { return Recommendation{Replicas: n, At: now.Add(-ago)} }
	tests := []struct {
		name    string
		recs    []Recommendation
		desired int32
		want    int32
	}{
		{"empty log", nil, 5, 5},
		{"stabilize", []Recommendation{rec(4, 2*time.Minute), rec(5, time.Minute)}, 3, 5},
		{"no stabilize", []Recommendation{rec(1, 2*time.Minute), rec(2, time.Minute)}, 3, 3},
		{"no stabilize - old recommendations", []Recommendation{rec(10, 10*time.Minute), rec(9, 9*time.Minute)}, 3, 3},
		{"stabilize - old recommendations", []Recommendation{rec(10, 10*time.Minute), rec(4, time.Minute), rec(5, 2*time.Minute), rec(9, 9*time.Minute)}, 3, 5},
		{"a sample exactly one window old still counts", []Recommendation{rec(7, 5*time.Minute)}, 3, 7},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := LegacyStabilize(now, DefaultDownscaleStabilization, tc.recs, tc.desired); got != tc.want {
				t.Errorf("LegacyStabilize = %d, want %d", got, tc.want)
			}
		})
	}
}

func TestStabilizeWithBehavior(t *testing.T) {
	rec := func(n int32, ago time.Duration) Recommendation { return Recommendation{Replicas: n, At: now.Add(-ago)} }
	tests := []struct {
		name                 string
		recs                 []Recommendation
		current, desired     int32
		upWindow, downWindow int32
		want                 int32
	}{
		{name: "empty recommendations for scaling down", current: 100, desired: 5, want: 5},
		{name: "simple scale down stabilization", recs: []Recommendation{rec(4, 2*time.Minute), rec(5, time.Minute)}, current: 100, desired: 3, downWindow: 180, want: 5},
		{name: "simple scale up stabilization", recs: []Recommendation{rec(4, 2*time.Minute), rec(5, time.Minute)}, current: 1, desired: 7, upWindow: 300, want: 4},
		{name: "no scale down stabilization", recs: []Recommendation{rec(1, 2*time.Minute), rec(2, time.Minute)}, current: 100, desired: 3, upWindow: 300, want: 3},
		{name: "no scale up stabilization", recs: []Recommendation{rec(4, 2*time.Minute), rec(5, time.Minute)}, current: 1, desired: 3, downWindow: 300, want: 3},
		{name: "no scale down stabilization, old recommendations", recs: []Recommendation{rec(10, 10*time.Minute), rec(9, 9*time.Minute)}, current: 100, desired: 3, want: 3},
		{name: "no scale up stabilization, old recommendations", recs: []Recommendation{rec(10, 10*time.Minute), rec(9, 9*time.Minute)}, current: 1, desired: 100, want: 100},
		{name: "scale down stabilization, one obsolete recommendation", recs: []Recommendation{rec(10, 10*time.Minute), rec(4, time.Minute), rec(5, 2*time.Minute), rec(9, 9*time.Minute)}, current: 100, desired: 3, downWindow: 180, want: 5},
		{name: "scale up stabilization, one obsolete recommendation", recs: []Recommendation{rec(10, 100*time.Minute), rec(6, time.Minute), rec(5, 2*time.Minute), rec(9, 3*time.Minute)}, current: 1, desired: 100, upWindow: 300, want: 5},
		{name: "do not scale up when prenormalized rec goes down", recs: []Recommendation{rec(2, 100*time.Minute), rec(3, 3*time.Minute)}, current: 2, desired: 1, upWindow: 300, downWindow: 300, want: 2},
		{name: "do not scale down when prenormalized rec goes up", recs: []Recommendation{rec(2, 100*time.Minute), rec(1, 3*time.Minute)}, current: 2, desired: 3, upWindow: 300, downWindow: 300, want: 2},
		{name: "a sample exactly one window old no longer counts", recs: []Recommendation{rec(7, 5*time.Minute)}, current: 7, desired: 3, downWindow: 300, want: 3},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			b := Behavior{
				ScaleUp:   ScalingRules{StabilizationWindowSeconds: tc.upWindow},
				ScaleDown: ScalingRules{StabilizationWindowSeconds: tc.downWindow},
			}
			if got := StabilizeWithBehavior(now, tc.current, tc.desired, tc.recs, b); got != tc.want {
				t.Errorf("StabilizeWithBehavior = %d, want %d", got, tc.want)
			}
		})
	}
}

// step is one reconcile of an Autoscaler: at offset seconds, with current
// replicas and a metric total, the expected desired replicas.
type step struct {
	at      int
	current int32
	usage   int64 // whole units
	want    int32
}

func TestAutoscalerReconcile(t *testing.T) {
	def := DefaultBehavior()
	spec := func(min, max int32, b *Behavior) Spec {
		return Spec{MinReplicas: min, MaxReplicas: max, TargetAverageValueMilli: 2000, Tolerance: Default, Behavior: b, DownscaleStabilization: DefaultDownscaleStabilization}
	}
	tests := []struct {
		name  string
		spec  Spec
		steps []step
	}{
		{
			name: "without behavior: 1 -> 4 -> 8 -> 10 under a backlog of 20",
			spec: spec(1, 16, nil),
			steps: []step{
				{0, 1, 20, 4}, {15, 4, 20, 8}, {30, 8, 20, 10}, {45, 10, 20, 10},
			},
		},
		{
			name: "default behavior: the larger of +100% and +4 pods per 15 s",
			spec: spec(1, 16, &def),
			steps: []step{
				{0, 1, 20, 5}, {15, 5, 20, 10}, {30, 10, 40, 16}, {45, 16, 40, 16},
			},
		},
		{
			name:  "within tolerance keeps the count",
			spec:  spec(1, 16, &def),
			steps: []step{{0, 10, 21, 10}, {15, 10, 19, 10}},
		},
		{
			name: "scale-down waits for the stabilization window",
			spec: spec(1, 16, &def),
			steps: []step{
				{0, 8, 16, 8}, {15, 8, 2, 8}, {150, 8, 2, 8}, {299, 8, 2, 8}, {300, 8, 2, 1},
			},
		},
		{
			name: "without behavior the window sample still counts at exactly 300 s",
			spec: spec(1, 16, nil),
			steps: []step{
				{0, 8, 16, 8}, {15, 8, 2, 8}, {300, 8, 2, 8}, {301, 8, 2, 1},
			},
		},
		{
			name: "above maxReplicas goes straight to max, no stabilization",
			spec: spec(1, 4, &def),
			steps: []step{
				{0, 10, 20, 4},
			},
		},
		{
			name:  "below minReplicas goes to min",
			spec:  spec(3, 16, &def),
			steps: []step{{0, 1, 0, 3}},
		},
		{
			name:  "scale to zero and back with minReplicas 0",
			spec:  spec(0, 16, &def),
			steps: []step{{0, 1, 0, 1}, {301, 1, 0, 0}, {316, 0, 3, 2}},
		},
		{
			name:  "zero replicas not scaled by the HPA stay disabled",
			spec:  spec(0, 16, &def),
			steps: []step{{0, 0, 30, 0}},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var a Autoscaler
			var got, want []int32
			for _, s := range tc.steps {
				d := a.Reconcile(now.Add(time.Duration(s.at)*time.Second), tc.spec, s.current, s.usage*1000)
				got = append(got, d.Desired)
				want = append(want, s.want)
				if d.Rescale != (d.Desired != s.current) {
					t.Errorf("at %ds: Rescale %v with desired %d, current %d", s.at, d.Rescale, d.Desired, s.current)
				}
			}
			if diff := cmp.Diff(want, got); diff != "" {
				t.Errorf("desired replicas per step (-want +got):\n%s", diff)
			}
		})
	}
}

func TestSpecValidate(t *testing.T) {
	good := Spec{MinReplicas: 0, MaxReplicas: 3, TargetAverageValueMilli: 1000}
	tests := []struct {
		name   string
		mutate func(*Spec)
		want   string
	}{
		{"valid with minReplicas 0", func(*Spec) {}, ""},
		{"negative min", func(s *Spec) { s.MinReplicas = -1 }, "minReplicas -1 is negative"},
		{"zero max", func(s *Spec) { s.MaxReplicas = 0 }, "maxReplicas 0 must be at least 1"},
		{"max below min", func(s *Spec) { s.MinReplicas = 4 }, "maxReplicas 3 is below minReplicas 4"},
		{"zero target", func(s *Spec) { s.TargetAverageValueMilli = 0 }, "target average value 0m must be positive"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			s := good
			tc.mutate(&s)
			err := s.Validate()
			if (err == nil) != (tc.want == "") || (err != nil && err.Error() != tc.want) {
				t.Errorf("Validate() = %v, want %q", err, tc.want)
			}
		})
	}
}
