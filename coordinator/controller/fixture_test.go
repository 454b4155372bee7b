package controller

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	appsv1 "k8s.io/api/apps/v1"
	autoscalingv2 "k8s.io/api/autoscaling/v2"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/types"
	clientgoscheme "k8s.io/client-go/kubernetes/scheme"
	"k8s.io/client-go/tools/events"
	"k8s.io/utils/ptr"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/client/fake"
	"sigs.k8s.io/controller-runtime/pkg/client/interceptor"

	"github.com/queuescale/queuescale/coordinator/api/v1alpha1"
	"github.com/queuescale/queuescale/coordinator/demand"
)

const ns = "microbadger"

// fakeDemand answers each HPA's demand from a table.
type fakeDemand struct {
	mu      sync.Mutex
	desired map[string]demand.Result
}

var _ DemandEstimator = (*fakeDemand)(nil)

func (f *fakeDemand) Desired(_ context.Context, hpa *autoscalingv2.HorizontalPodAutoscaler, _ demand.Target) demand.Result {
	f.mu.Lock()
	defer f.mu.Unlock()
	if r, ok := f.desired[hpa.Name]; ok {
		return r
	}
	return demand.Result{Replicas: hpa.Status.DesiredReplicas, Source: v1alpha1.DemandSourceStatus, Message: "not in the test's table"}
}

func (f *fakeDemand) set(hpa string, n int32) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.desired[hpa] = demand.Result{Replicas: n, Source: v1alpha1.DemandSourceMetrics}
}

// recordedEvent is one Event the reconciler emitted.
type recordedEvent struct {
	Kind, Name, Type, Reason, Note string
}

// fakeRecorder keeps Events for assertions.
type fakeRecorder struct {
	mu     sync.Mutex
	events []recordedEvent
}

var _ events.EventRecorder = (*fakeRecorder)(nil)

func (f *fakeRecorder) Eventf(regarding, _ runtime.Object, eventtype, reason, _, note string, args ...interface{}) {
	f.mu.Lock()
	defer f.mu.Unlock()
	o := regarding.(client.Object)
	kind := fmt.Sprintf("%T", regarding)
	kind = kind[strings.LastIndex(kind, ".")+1:]
	f.events = append(f.events, recordedEvent{Kind: kind, Name: o.GetName(), Type: eventtype, Reason: reason, Note: fmt.Sprintf(note, args...)})
}

func (f *fakeRecorder) take() []recordedEvent {
	f.mu.Lock()
	defer f.mu.Unlock()
	out := f.events
	f.events = nil
	return out
}

func node(name string, cpu, mem string, ready bool) *corev1.Node {
	st := corev1.ConditionTrue
	if !ready {
		st = corev1.ConditionFalse
	}
	return &corev1.Node{
		ObjectMeta: metav1.ObjectMeta{Name: name, Labels: map[string]string{"queuescale.io/pool": "workers"}},
		Status: corev1.NodeStatus{
			Allocatable: corev1.ResourceList{corev1.ResourceCPU: resource.MustParse(cpu), corev1.ResourceMemory: resource.MustParse(mem), corev1.ResourcePods: resource.MustParse("110")},
			Conditions:  []corev1.NodeCondition{{Type: corev1.NodeReady, Status: st}},
		},
	}
}

func podSpec(cpu, mem string) corev1.PodSpec {
	return corev1.PodSpec{Containers: []corev1.Container{{
		Name: "worker", Image: "worker",
		Resources: corev1.ResourceRequirements{Requests: corev1.ResourceList{corev1.ResourceCPU: resource.MustParse(cpu), corev1.ResourceMemory: resource.MustParse(mem)}},
	}}}
}

func deployment(name string, replicas int32) *appsv1.Deployment {
	labels := map[string]string{"app": name}
	return &appsv1.Deployment{
		ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name},
		Spec: appsv1.DeploymentSpec{
			Replicas: ptr.To(replicas),
			Selector: &metav1.LabelSelector{MatchLabels: labels},
			Template: corev1.PodTemplateSpec{ObjectMeta: metav1.ObjectMeta{Labels: labels}, Spec: podSpec("200m", "256Mi")},
		},
	}
}

func hpa(name string, minR, maxR int32) *autoscalingv2.HorizontalPodAutoscaler {
	return &autoscalingv2.HorizontalPodAutoscaler{
		ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name},
		Spec: autoscalingv2.HorizontalPodAutoscalerSpec{
			ScaleTargetRef: autoscalingv2.CrossVersionObjectReference{APIVersion: "apps/v1", Kind: "Deployment", Name: name},
			MinReplicas:    ptr.To(minR),
			MaxReplicas:    maxR,
			Metrics: []autoscalingv2.MetricSpec{{Type: autoscalingv2.ExternalMetricSourceType, External: &autoscalingv2.ExternalMetricSource{
				Metric: autoscalingv2.MetricIdentifier{Name: "sqs_backlog", Selector: &metav1.LabelSelector{MatchLabels: map[string]string{"queue": name}}},
				Target: autoscalingv2.MetricTarget{Type: autoscalingv2.AverageValueMetricType, AverageValue: resource.NewQuantity(2, resource.DecimalSI)},
			}}},
		},
	}
}

func policy(name string, tiers ...string) *v1alpha1.PriorityPolicy {
	p := &v1alpha1.PriorityPolicy{
		ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name, Generation: 1},
		Spec: v1alpha1.PriorityPolicySpec{Capacity: v1alpha1.Capacity{NodeSelector: &metav1.LabelSelector{
			MatchLabels: map[string]string{"queuescale.io/pool": "workers"},
		}}},
	}
	for _, t := range tiers {
		p.Spec.Tiers = append(p.Spec.Tiers, v1alpha1.Tier{HPA: t})
	}
	return p
}

// env is a reconciler over a fake API holding the reference scenario:
// two nodes of 2 CPU / 4 GiB, Inspector and Size Deployments of 200m /
// 256Mi pods with HPAs min 1 max 16, and a policy "workers" over them.
type env struct {
	t        *testing.T
	c        client.WithWatch
	r        *Reconciler
	demand   *fakeDemand
	recorder *fakeRecorder
	reg      *prometheus.Registry
}

func newEnv(t *testing.T, funcs interceptor.Funcs, extra ...client.Object) *env {
	t.Helper()
	scheme := runtime.NewScheme()
	if err := clientgoscheme.AddToScheme(scheme); err != nil {
		t.Fatal(err)
	}
	if err := v1alpha1.AddToScheme(scheme); err != nil {
		t.Fatal(err)
	}
	objs := []client.Object{
		node("node-a", "2", "4Gi", true), node("node-b", "2", "4Gi", true),
		deployment("inspector", 1), deployment("size", 1),
		hpa("inspector", 1, 16), hpa("size", 1, 16),
		policy("workers", "inspector", "size"),
	}
	objs = append(objs, extra...)
	c := fake.NewClientBuilder().WithScheme(scheme).WithObjects(objs...).
		WithStatusSubresource(&v1alpha1.PriorityPolicy{}).
		WithIndex(&corev1.Pod{}, PodNodeNameIndex, IndexPodsByNode).
		WithInterceptorFuncs(funcs).Build()
	reg := prometheus.NewRegistry()
	m, err := NewMetrics(reg)
	if err != nil {
		t.Fatal(err)
	}
	e := &env{t: t, c: c, demand: &fakeDemand{desired: map[string]demand.Result{}}, recorder: &fakeRecorder{}, reg: reg}
	e.r = &Reconciler{Client: c, APIReader: c, Demand: e.demand, Recorder: e.recorder, Metrics: m, ResyncPeriod: 5 * time.Second}
	return e
}

func (e *env) reconcile(name string) (ctrl.Result, error) {
	e.t.Helper()
	ctx := ctrl.LoggerInto(context.Background(), ctrl.Log)
	return e.r.Reconcile(ctx, ctrl.Request{NamespacedName: types.NamespacedName{Namespace: ns, Name: name}})
}

func (e *env) mustReconcile(name string) {
	e.t.Helper()
	res, err := e.reconcile(name)
	if err != nil {
		e.t.Fatalf("Reconcile(%s): %v", name, err)
	}
	if res.RequeueAfter != 5*time.Second {
		e.t.Fatalf("Reconcile(%s) = %+v, want a re-plan after the resync period", name, res)
	}
}

func (e *env) hpa(name string) *autoscalingv2.HorizontalPodAutoscaler {
	e.t.Helper()
	var h autoscalingv2.HorizontalPodAutoscaler
	if err := e.c.Get(context.Background(), types.NamespacedName{Namespace: ns, Name: name}, &h); err != nil {
		e.t.Fatal(err)
	}
	return &h
}

func (e *env) policy(name string) *v1alpha1.PriorityPolicy {
	e.t.Helper()
	var p v1alpha1.PriorityPolicy
	if err := e.c.Get(context.Background(), types.NamespacedName{Namespace: ns, Name: name}, &p); err != nil {
		e.t.Fatal(err)
	}
	return &p
}

// hpaMax is an HPA's maxReplicas and the coordinator's annotations on it.
type hpaMax struct {
	MaxReplicas               int32
	UserMax, CappedMax, CapBy string
}

func (e *env) hpaMax(name string) hpaMax {
	h := e.hpa(name)
	return hpaMax{h.Spec.MaxReplicas, h.Annotations[v1alpha1.AnnotationUserMaxReplicas], h.Annotations[v1alpha1.AnnotationCappedMaxReplicas], h.Annotations[v1alpha1.AnnotationCappedBy]}
}

// gauge reads one series from the registry.
func (e *env) gauge(name string, labels map[string]string) (float64, bool) {
	e.t.Helper()
	mfs, err := e.reg.Gather()
	if err != nil {
		e.t.Fatal(err)
	}
	for _, mf := range mfs {
		if mf.GetName() != name {
			continue
		}
	metric:
		for _, m := range mf.GetMetric() {
			for _, lp := range m.GetLabel() {
				if v, ok := labels[lp.GetName()]; ok && v != lp.GetValue() {
					continue metric
				}
			}
			if m.GetGauge() != nil {
				return m.GetGauge().GetValue(), true
			}
			return m.GetCounter().GetValue(), true
		}
	}
	return 0, false
}
