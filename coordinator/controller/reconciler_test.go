package controller

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	appsv1 "k8s.io/api/apps/v1"
	autoscalingv2 "k8s.io/api/autoscaling/v2"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/client/interceptor"
	"sigs.k8s.io/controller-runtime/pkg/reconcile"

	"github.com/queuescale/queuescale/coordinator/api/v1alpha1"
)

var hpaResource = schema.GroupResource{Group: "autoscaling", Resource: "horizontalpodautoscalers"}

func TestCapFollowsDemandAndRestoresUserMax(t *testing.T) {
	e := newEnv(t, interceptor.Funcs{})
	steps := []struct {
		name                 string
		inspector, size      int32
		want                 hpaMax
		wantCapped           string
		wantEvent            string // reason of the Event on the size HPA, if any
		wantInspectorCapping bool
	}{
		{name: "size backlog fills the pool", inspector: 1, size: 30, want: hpaMax{MaxReplicas: 16}, wantCapped: "none"},
		{name: "inspection burst caps size", inspector: 14, size: 30,
			want: hpaMax{MaxReplicas: 6, UserMax: "16", CappedMax: "6", CapBy: "workers"}, wantCapped: "size=6/16", wantEvent: "Capped"},
		{name: "bigger burst lowers the cap", inspector: 16, size: 30,
			want: hpaMax{MaxReplicas: 4, UserMax: "16", CappedMax: "4", CapBy: "workers"}, wantCapped: "size=4/16", wantEvent: "Capped"},
		{name: "same plan writes nothing", inspector: 16, size: 30,
			want: hpaMax{MaxReplicas: 4, UserMax: "16", CappedMax: "4", CapBy: "workers"}, wantCapped: "size=4/16"},
		{name: "drain releases", inspector: 1, size: 30, want: hpaMax{MaxReplicas: 16}, wantCapped: "none", wantEvent: "Released"},
	}
	for _, s := range steps {
		t.Run(s.name, func(t *testing.T) {
			e.t = t
			e.demand.set("inspector", s.inspector)
			e.demand.set("size", s.size)
			e.mustReconcile("workers")
			if diff := cmp.Diff(s.want, e.hpaMax("size")); diff != "" {
				t.Errorf("size HPA (-want +got):\n%s", diff)
			}
			if got := e.hpaMax("inspector"); got != (hpaMax{MaxReplicas: 16}) {
				t.Errorf("inspector HPA = %+v, want untouched at 16", got)
			}
			p := e.policy("workers")
			if p.Status.Capped != s.wantCapped {
				t.Errorf("status.capped = %q, want %q", p.Status.Capped, s.wantCapped)
			}
			if !meta.IsStatusConditionTrue(p.Status.Conditions, v1alpha1.ConditionReady) {
				t.Errorf("Ready condition = %+v, want True", meta.FindStatusCondition(p.Status.Conditions, v1alpha1.ConditionReady))
			}
			if capping := meta.IsStatusConditionTrue(p.Status.Conditions, v1alpha1.ConditionCapping); capping != (s.wantCapped != "none") {
				t.Errorf("Capping condition = %+v", meta.FindStatusCondition(p.Status.Conditions, v1alpha1.ConditionCapping))
			}
			if p.Status.ObservedGeneration != p.Generation {
				t.Errorf("observedGeneration = %d, want %d", p.Status.ObservedGeneration, p.Generation)
			}
			var reasons []string
			for _, ev := range e.recorder.take() {
				if ev.Kind == "HorizontalPodAutoscaler" && ev.Name == "size" {
					reasons = append(reasons, ev.Reason)
				}
			}
			var want []string
			if s.wantEvent != "" {
				want = []string{s.wantEvent}
			}
			if diff := cmp.Diff(want, reasons); diff != "" {
				t.Errorf("events on the size HPA (-want +got):\n%s", diff)
			}
			if v, _ := e.gauge("queuescale_coordinator_tier_cap_replicas", map[string]string{"tier": "size"}); int32(v) != s.want.MaxReplicas {
				t.Errorf("queuescale_coordinator_tier_cap_replicas{tier=size} = %v, want %d", v, s.want.MaxReplicas)
			}
		})
	}
	p := e.policy("workers")
	if !strings.Contains(p.Status.Pool.Summary, "cpu=4") || *p.Status.Pool.Pods != 220 || p.Status.Pool.Nodes != 2 {
		t.Errorf("status.pool = %+v, want 4 CPU, 220 pods, 2 nodes", p.Status.Pool)
	}
	if v, ok := e.gauge("queuescale_coordinator_pool_capacity", map[string]string{"resource": "cpu"}); !ok || v != 4 {
		t.Errorf("queuescale_coordinator_pool_capacity{resource=cpu} = %v, %v; want 4", v, ok)
	}
}

// After a burst the Inspector queue is empty but its HPA keeps 14 pods until
// the scale-down stabilization window ends: Size stays capped to what those
// pods leave, and is released once the Deployment shrinks.
func TestReplicasHeldCountAsDemand(t *testing.T) {
	e := newEnv(t, interceptor.Funcs{})
	e.demand.set("inspector", 1)
	e.demand.set("size", 30)
	setReplicas := func(name string, n int32) {
		t.Helper()
		d := &appsv1.Deployment{}
		if err := e.c.Get(context.Background(), client.ObjectKey{Namespace: ns, Name: name}, d); err != nil {
			t.Fatal(err)
		}
		d.Spec.Replicas = &n
		if err := e.c.Update(context.Background(), d); err != nil {
			t.Fatal(err)
		}
	}

	setReplicas("inspector", 14)
	e.mustReconcile("workers")
	if got := e.hpaMax("size").MaxReplicas; got != 6 {
		t.Errorf("size maxReplicas = %d while inspector holds 14 pods, want 6", got)
	}
	ts := e.policy("workers").Status.Tiers[0]
	if ts.Demand != 14 || ts.DemandSource != v1alpha1.DemandSourceHeld || !strings.Contains(ts.DemandMessage, "ask for 1 ") {
		t.Errorf("inspector status = demand %d, source %s, message %q; want 14 Held, the metrics asking for 1", ts.Demand, ts.DemandSource, ts.DemandMessage)
	}
	if c := meta.FindStatusCondition(e.policy("workers").Status.Conditions, v1alpha1.ConditionCapping); c == nil || !strings.Contains(c.Message, "inspector holds 14") {
		t.Errorf("Capping condition = %+v, want it to say inspector holds 14", c)
	}

	setReplicas("inspector", 1)
	e.mustReconcile("workers")
	if got := e.hpaMax("size"); got != (hpaMax{MaxReplicas: 16}) {
		t.Errorf("size HPA = %+v once inspector scaled down, want released to 16", got)
	}
	if ts := e.policy("workers").Status.Tiers[0]; ts.Demand != 1 || ts.DemandSource != v1alpha1.DemandSourceMetrics || ts.DemandMessage != "" {
		t.Errorf("inspector status = demand %d, source %s, message %q; want 1 from Metrics", ts.Demand, ts.DemandSource, ts.DemandMessage)
	}
}

func TestPoolCountsOtherPodsAndHealthyNodesOnly(t *testing.T) {
	other := &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{Namespace: "kube-system", Name: "daemon"},
		Spec:       func() corev1.PodSpec { s := podSpec("1", "1Gi"); s.NodeName = "node-a"; return s }(),
		Status:     corev1.PodStatus{Phase: corev1.PodRunning},
	}
	done := &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{Namespace: "kube-system", Name: "job"},
		Spec:       func() corev1.PodSpec { s := podSpec("1", "1Gi"); s.NodeName = "node-a"; return s }(),
		Status:     corev1.PodStatus{Phase: corev1.PodSucceeded},
	}
	tierPod := &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "size-1", Labels: map[string]string{"app": "size"}},
		Spec:       func() corev1.PodSpec { s := podSpec("200m", "256Mi"); s.NodeName = "node-b"; return s }(),
		Status:     corev1.PodStatus{Phase: corev1.PodRunning},
	}
	down := node("node-c", "8", "16Gi", false)
	cordoned := node("node-d", "8", "16Gi", true)
	cordoned.Spec.Unschedulable = true
	e := newEnv(t, interceptor.Funcs{}, other, done, tierPod, down, cordoned)
	e.demand.set("inspector", 14)
	e.demand.set("size", 30)
	e.mustReconcile("workers")
	// 4 CPU less the daemon's 1 CPU: 15 pods of 200m, 14 for inspector.
	if got := e.hpaMax("size").MaxReplicas; got != 1 {
		t.Errorf("size maxReplicas = %d, want 1", got)
	}
	pool := e.policy("workers").Status.Pool
	if pool.Nodes != 2 || pool.CPU.MilliValue() != 3000 || *pool.Pods != 219 {
		t.Errorf("status.pool = %+v, want 2 nodes, 3 CPU, 219 pods", pool)
	}
}

func TestUserChangeWhileCappedBecomesUserMax(t *testing.T) {
	e := newEnv(t, interceptor.Funcs{})
	e.demand.set("inspector", 14)
	e.demand.set("size", 30)
	e.mustReconcile("workers")
	h := e.hpa("size")
	h.Spec.MaxReplicas = 10 // the user edits maxReplicas while it is capped at 6
	if err := e.c.Update(context.Background(), h); err != nil {
		t.Fatal(err)
	}
	e.mustReconcile("workers")
	if diff := cmp.Diff(hpaMax{MaxReplicas: 6, UserMax: "10", CappedMax: "6", CapBy: "workers"}, e.hpaMax("size")); diff != "" {
		t.Errorf("after the user's edit (-want +got):\n%s", diff)
	}
	if got := e.policy("workers").Status.Tiers[1].UserMaxReplicas; got != 10 {
		t.Errorf("status userMaxReplicas = %d, want 10", got)
	}
	e.demand.set("inspector", 1)
	e.mustReconcile("workers")
	if diff := cmp.Diff(hpaMax{MaxReplicas: 10}, e.hpaMax("size")); diff != "" {
		t.Errorf("after release (-want +got):\n%s", diff)
	}
}

func TestRemovedTierAndDeletedPolicyRestoreUserMax(t *testing.T) {
	e := newEnv(t, interceptor.Funcs{}, deployment("report", 1), hpa("report", 1, 12))
	p := e.policy("workers")
	p.Spec.Tiers = append(p.Spec.Tiers, v1alpha1.Tier{HPA: "report"})
	if err := e.c.Update(context.Background(), p); err != nil {
		t.Fatal(err)
	}
	e.demand.set("inspector", 16)
	e.demand.set("size", 16)
	e.demand.set("report", 12)
	e.mustReconcile("workers")
	if got := []int32{e.hpaMax("size").MaxReplicas, e.hpaMax("report").MaxReplicas}; !cmp.Equal(got, []int32{3, 1}) {
		t.Fatalf("size, report maxReplicas = %v, want [3 1]", got)
	}

	// Remove size from the policy: its maximum comes back, report keeps its cap.
	p = e.policy("workers")
	p.Spec.Tiers = []v1alpha1.Tier{{HPA: "inspector"}, {HPA: "report"}}
	if err := e.c.Update(context.Background(), p); err != nil {
		t.Fatal(err)
	}
	e.mustReconcile("workers")
	if diff := cmp.Diff(hpaMax{MaxReplicas: 16}, e.hpaMax("size")); diff != "" {
		t.Errorf("removed tier (-want +got):\n%s", diff)
	}
	if got := e.hpaMax("report"); got.MaxReplicas != 4 || got.UserMax != "12" {
		t.Errorf("report HPA = %+v, want capped at 4 with user max 12", got)
	}

	// Delete the policy: the finalizer restores report exactly, then goes.
	if err := e.c.Delete(context.Background(), e.policy("workers")); err != nil {
		t.Fatal(err)
	}
	if _, err := e.reconcile("workers"); err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(hpaMax{MaxReplicas: 12}, e.hpaMax("report")); diff != "" {
		t.Errorf("deleted policy (-want +got):\n%s", diff)
	}
	var gone v1alpha1.PriorityPolicy
	if err := e.c.Get(context.Background(), client.ObjectKey{Namespace: ns, Name: "workers"}, &gone); !apierrors.IsNotFound(err) {
		t.Errorf("policy still present after its finalizer ran: %v", err)
	}
	if _, ok := e.gauge("queuescale_coordinator_tier_cap_replicas", map[string]string{"policy": "workers"}); ok {
		t.Error("metrics of the deleted policy are still exported")
	}
}

func TestConflictsAreRetried(t *testing.T) {
	conflicts := 0
	e := newEnv(t, interceptor.Funcs{
		Update: func(ctx context.Context, c client.WithWatch, obj client.Object, opts ...client.UpdateOption) error {
			if _, ok := obj.(*autoscalingv2.HorizontalPodAutoscaler); ok && conflicts < 2 {
				conflicts++
				// Someone else wrote the HPA in between: bump it for real.
				var cur autoscalingv2.HorizontalPodAutoscaler
				if err := c.Get(ctx, client.ObjectKeyFromObject(obj), &cur); err != nil {
					return err
				}
				cur.Labels = map[string]string{"touched": strings.Repeat("x", conflicts)}
				if err := c.Update(ctx, &cur); err != nil {
					return err
				}
				return c.Update(ctx, obj, opts...) // stale resourceVersion: a real conflict
			}
			return c.Update(ctx, obj, opts...)
		},
	})
	e.demand.set("inspector", 14)
	e.demand.set("size", 30)
	e.mustReconcile("workers")
	if conflicts != 2 {
		t.Fatalf("interceptor saw %d updates, want 2 conflicts", conflicts)
	}
	got := e.hpa("size")
	if got.Spec.MaxReplicas != 6 || got.Labels["touched"] != "xx" {
		t.Errorf("size HPA maxReplicas %d labels %v, want 6 and the other writer's label kept", got.Spec.MaxReplicas, got.Labels)
	}
}

func TestAPIErrorsWriteNothing(t *testing.T) {
	boom := errors.New("etcdserver: request timed out")
	tests := []struct {
		name  string
		funcs interceptor.Funcs
	}{
		{"pods cannot be listed", interceptor.Funcs{List: func(ctx context.Context, c client.WithWatch, l client.ObjectList, opts ...client.ListOption) error {
			if _, ok := l.(*corev1.PodList); ok {
				return boom
			}
			return c.List(ctx, l, opts...)
		}}},
		{"nodes cannot be listed", interceptor.Funcs{List: func(ctx context.Context, c client.WithWatch, l client.ObjectList, opts ...client.ListOption) error {
			if _, ok := l.(*corev1.NodeList); ok {
				return boom
			}
			return c.List(ctx, l, opts...)
		}}},
		{"an HPA cannot be read", interceptor.Funcs{Get: func(ctx context.Context, c client.WithWatch, key client.ObjectKey, obj client.Object, opts ...client.GetOption) error {
			if _, ok := obj.(*autoscalingv2.HorizontalPodAutoscaler); ok && key.Name == "inspector" {
				return apierrors.NewServiceUnavailable("apiserver is shutting down")
			}
			return c.Get(ctx, key, obj, opts...)
		}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := newEnv(t, tt.funcs)
			e.demand.set("inspector", 14)
			e.demand.set("size", 30)
			if _, err := e.reconcile("workers"); err == nil {
				t.Fatal("Reconcile() = nil error, want the API error (retried with backoff)")
			}
			if got := e.hpaMax("size"); got != (hpaMax{MaxReplicas: 16}) {
				t.Errorf("size HPA = %+v, want untouched", got)
			}
			if v, _ := e.gauge("queuescale_coordinator_reconciles_total", map[string]string{"outcome": "error"}); v != 1 {
				t.Errorf("reconciles_total{outcome=error} = %v, want 1", v)
			}
		})
	}
}

func TestWriteFailureIsReported(t *testing.T) {
	e := newEnv(t, interceptor.Funcs{Update: func(ctx context.Context, c client.WithWatch, obj client.Object, opts ...client.UpdateOption) error {
		if _, ok := obj.(*autoscalingv2.HorizontalPodAutoscaler); ok {
			return apierrors.NewForbidden(hpaResource, obj.GetName(), errors.New("RBAC: update denied"))
		}
		return c.Update(ctx, obj, opts...)
	}})
	e.demand.set("inspector", 14)
	e.demand.set("size", 30)
	if _, err := e.reconcile("workers"); err == nil || !apierrors.IsForbidden(errors.Unwrap(errors.Unwrap(err))) && !strings.Contains(err.Error(), "update denied") {
		t.Fatalf("Reconcile() error = %v, want the forbidden update", err)
	}
	ready := meta.FindStatusCondition(e.policy("workers").Status.Conditions, v1alpha1.ConditionReady)
	if ready == nil || ready.Status != metav1.ConditionFalse || ready.Reason != v1alpha1.ReasonWriteFailed || !strings.Contains(ready.Message, "update denied") {
		t.Errorf("Ready condition = %+v, want False/WriteFailed naming the error", ready)
	}
}

func TestPoliciesThatCannotApplyWriteNothing(t *testing.T) {
	tests := []struct {
		name       string
		extra      []client.Object
		edit       func(*v1alpha1.PriorityPolicy)
		wantReason string
		wantInMsg  string
	}{
		{name: "missing HPA", edit: func(p *v1alpha1.PriorityPolicy) { p.Spec.Tiers[0].HPA = "nope" },
			wantReason: v1alpha1.ReasonHPANotFound, wantInMsg: `HPA "nope" not found`},
		{name: "HPA in two policies", extra: []client.Object{policy("other", "size", "inspector")},
			wantReason: v1alpha1.ReasonHPAInTwoPolicies, wantInMsg: `HPA "inspector" is also a tier of PriorityPolicy other`},
		{name: "minimums exceed the pool", extra: []client.Object{deployment("big", 1), hpa("big", 30, 40)},
			edit:       func(p *v1alpha1.PriorityPolicy) { p.Spec.Tiers = append(p.Spec.Tiers, v1alpha1.Tier{HPA: "big"}) },
			wantReason: v1alpha1.ReasonMinimumsExceedPool, wantInMsg: "minimum replicas alone exceed the pool"},
		{name: "single tier stored without the CRD schema", edit: func(p *v1alpha1.PriorityPolicy) { p.Spec.Tiers = p.Spec.Tiers[:1] },
			wantReason: v1alpha1.ReasonInvalidTiers, wantInMsg: "spec.tiers: need 2"},
		{name: "unsupported scale target", extra: []client.Object{func() client.Object {
			h := hpa("rs", 1, 4)
			h.Spec.ScaleTargetRef = autoscalingv2.CrossVersionObjectReference{APIVersion: "apps/v1", Kind: "ReplicaSet", Name: "rs"}
			return h
		}()}, edit: func(p *v1alpha1.PriorityPolicy) { p.Spec.Tiers = append(p.Spec.Tiers, v1alpha1.Tier{HPA: "rs"}) },
			wantReason: v1alpha1.ReasonScaleTargetError, wantInMsg: "only apps/v1 Deployments and StatefulSets"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := newEnv(t, interceptor.Funcs{}, tt.extra...)
			if tt.edit != nil {
				p := e.policy("workers")
				tt.edit(p)
				if err := e.c.Update(context.Background(), p); err != nil {
					t.Fatal(err)
				}
			}
			e.demand.set("inspector", 16)
			e.demand.set("size", 30)
			e.mustReconcile("workers")
			e.mustReconcile("workers") // the second pass must not repeat the Event
			if got := e.hpaMax("size"); got != (hpaMax{MaxReplicas: 16}) {
				t.Errorf("size HPA = %+v, want untouched", got)
			}
			ready := meta.FindStatusCondition(e.policy("workers").Status.Conditions, v1alpha1.ConditionReady)
			if ready == nil || ready.Status != metav1.ConditionFalse || ready.Reason != tt.wantReason || !strings.Contains(ready.Message, tt.wantInMsg) {
				t.Errorf("Ready = %+v, want False/%s containing %q", ready, tt.wantReason, tt.wantInMsg)
			}
			var warnings []string
			for _, ev := range e.recorder.take() {
				if ev.Type == corev1.EventTypeWarning && ev.Kind == "PriorityPolicy" {
					warnings = append(warnings, ev.Reason)
				}
			}
			if diff := cmp.Diff([]string{tt.wantReason}, warnings); diff != "" {
				t.Errorf("warning events on the policy (-want +got):\n%s", diff)
			}
		})
	}
}

func TestDryRunWritesNoHPA(t *testing.T) {
	for _, tt := range []struct {
		name       string
		flag, spec bool
	}{{"flag", true, false}, {"spec", false, true}} {
		t.Run(tt.name, func(t *testing.T) {
			e := newEnv(t, interceptor.Funcs{})
			e.r.DryRun = tt.flag
			p := e.policy("workers")
			p.Spec.DryRun = tt.spec
			if err := e.c.Update(context.Background(), p); err != nil {
				t.Fatal(err)
			}
			e.demand.set("inspector", 14)
			e.demand.set("size", 30)
			e.mustReconcile("workers")
			if got := e.hpaMax("size"); got != (hpaMax{MaxReplicas: 16}) {
				t.Errorf("size HPA = %+v, want untouched", got)
			}
			st := e.policy("workers").Status
			if st.Capped != "size=6/16 (dry-run)" || st.Tiers[1].MaxReplicas != 6 || st.Tiers[1].Written {
				t.Errorf("status = capped %q, tier %+v; want the plan reported as not written", st.Capped, st.Tiers[1])
			}
			if r := meta.FindStatusCondition(st.Conditions, v1alpha1.ConditionReady); r == nil || r.Reason != v1alpha1.ReasonDryRun {
				t.Errorf("Ready = %+v, want reason DryRun", r)
			}
		})
	}
}

func TestSpecDryRunReleasesEarlierCaps(t *testing.T) {
	e := newEnv(t, interceptor.Funcs{})
	e.demand.set("inspector", 14)
	e.demand.set("size", 30)
	e.mustReconcile("workers")
	p := e.policy("workers")
	p.Spec.DryRun = true
	if err := e.c.Update(context.Background(), p); err != nil {
		t.Fatal(err)
	}
	e.mustReconcile("workers")
	if diff := cmp.Diff(hpaMax{MaxReplicas: 16}, e.hpaMax("size")); diff != "" {
		t.Errorf("size HPA after spec.dryRun (-want +got):\n%s", diff)
	}
}

func TestBudgetPool(t *testing.T) {
	e := newEnv(t, interceptor.Funcs{})
	p := e.policy("workers")
	cpu := resource.MustParse("2")
	p.Spec.Capacity = v1alpha1.Capacity{Budget: &v1alpha1.Budget{CPU: &cpu}}
	if err := e.c.Update(context.Background(), p); err != nil {
		t.Fatal(err)
	}
	e.demand.set("inspector", 7)
	e.demand.set("size", 30)
	e.mustReconcile("workers")
	if got := e.hpaMax("size").MaxReplicas; got != 3 {
		t.Errorf("size maxReplicas = %d, want 3 (2 CPU less 7×200m)", got)
	}
	if s := e.policy("workers").Status.Pool.Summary; s != "cpu=2 (budget)" {
		t.Errorf("pool summary = %q", s)
	}
}

func TestMapping(t *testing.T) {
	other := policy("elsewhere", "a", "b")
	other.Spec.Capacity.NodeSelector.MatchLabels = map[string]string{"queuescale.io/pool": "gpu"}
	capped := hpa("old", 1, 4)
	capped.Annotations = map[string]string{v1alpha1.AnnotationCappedBy: "workers"}
	e := newEnv(t, interceptor.Funcs{}, other, capped)
	ctx := context.Background()
	names := func(reqs []reconcile.Request) []string {
		var out []string
		for _, r := range reqs {
			out = append(out, r.Name)
		}
		return out
	}
	if got := names(e.r.PoliciesForHPA(ctx, e.hpa("size"))); !cmp.Equal(got, []string{"workers"}) {
		t.Errorf("PoliciesForHPA(size) = %v", got)
	}
	if got := names(e.r.PoliciesForHPA(ctx, e.hpa("old"))); !cmp.Equal(got, []string{"workers"}) {
		t.Errorf("PoliciesForHPA(old, capped by workers) = %v", got)
	}
	if got := names(e.r.PoliciesForNode(ctx, node("node-z", "1", "1Gi", true))); !cmp.Equal(got, []string{"workers"}) {
		t.Errorf("PoliciesForNode = %v", got)
	}
	pod := &corev1.Pod{Spec: corev1.PodSpec{NodeName: "node-a"}}
	if got := names(e.r.PoliciesForPod(ctx, pod)); !cmp.Equal(got, []string{"workers"}) {
		t.Errorf("PoliciesForPod = %v", got)
	}
}
