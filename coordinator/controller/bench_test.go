package controller

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/types"
	clientgoscheme "k8s.io/client-go/kubernetes/scheme"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/client/fake"

	"github.com/queuescale/queuescale/coordinator/api/v1alpha1"
	"github.com/queuescale/queuescale/coordinator/demand"
)

// indexedReads serves Node and Pod lists the way the manager's informer
// cache does — from memory, pods through the spec.nodeName index, each
// object deep-copied unless the caller passes UnsafeDisableDeepCopy — and
// everything else from the fake client. (The fake
// client evaluates field selectors by scanning and converting every object,
// which would measure the fake rather than the controller.)
type indexedReads struct {
	client.Client
	nodes     []corev1.Node
	podByNode map[string][]corev1.Pod
	podByNS   map[string][]corev1.Pod
}

func (c *indexedReads) List(ctx context.Context, list client.ObjectList, opts ...client.ListOption) error {
	o := &client.ListOptions{}
	o.ApplyOptions(opts)
	dup := func(o corev1.Pod) corev1.Pod { return *o.DeepCopy() }
	dupNode := func(n corev1.Node) corev1.Node { return *n.DeepCopy() }
	if o.UnsafeDisableDeepCopy != nil && *o.UnsafeDisableDeepCopy {
		dup = func(o corev1.Pod) corev1.Pod { return o }
		dupNode = func(n corev1.Node) corev1.Node { return n }
	}
	switch l := list.(type) {
	case *corev1.NodeList:
		l.Items = nil
		for i := range c.nodes {
			if o.LabelSelector == nil || o.LabelSelector.Matches(labels.Set(c.nodes[i].Labels)) {
				l.Items = append(l.Items, dupNode(c.nodes[i]))
			}
		}
		return nil
	case *corev1.PodList:
		var from []corev1.Pod
		if o.FieldSelector != nil {
			node, ok := o.FieldSelector.RequiresExactMatch(PodNodeNameIndex)
			if !ok {
				return fmt.Errorf("unexpected field selector %s", o.FieldSelector)
			}
			from = c.podByNode[node]
		} else {
			from = c.podByNS[o.Namespace]
		}
		l.Items = nil
		for i := range from {
			if o.LabelSelector == nil || o.LabelSelector.Matches(labels.Set(from[i].Labels)) {
				l.Items = append(l.Items, dup(from[i]))
			}
		}
		return nil
	}
	return c.Client.List(ctx, list, opts...)
}

// BenchmarkReconcile100PoliciesOver500Nodes measures one re-plan of 100
// policies (each two tiers in its own namespace) whose pools all select the
// same 500 nodes, each running 4 pods that are not tiers, plus the tiers'
// own pods. One op is a reconcile of every policy, as one resync period
// does, in the steady state (caps already written). Reads come from memory
// as from the informer cache; the external metrics reads are faked, so add
// one metrics API round trip per tier metric for a real cluster.
func BenchmarkReconcile100PoliciesOver500Nodes(b *testing.B) {
	const policies, nodes, podsPerNode = 100, 500, 4
	scheme := runtime.NewScheme()
	if err := clientgoscheme.AddToScheme(scheme); err != nil {
		b.Fatal(err)
	}
	if err := v1alpha1.AddToScheme(scheme); err != nil {
		b.Fatal(err)
	}
	var objs []client.Object
	for i := range nodes {
		n := node(fmt.Sprintf("node-%03d", i), "16", "64Gi", true)
		objs = append(objs, n)
		for j := range podsPerNode {
			spec := podSpec("100m", "128Mi")
			spec.NodeName = n.Name
			objs = append(objs, &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Namespace: "other", Name: fmt.Sprintf("p-%03d-%d", i, j)}, Spec: spec, Status: corev1.PodStatus{Phase: corev1.PodRunning}})
		}
	}
	for i := range policies {
		space := fmt.Sprintf("team-%03d", i)
		for _, name := range []string{"inspector", "size"} {
			d, h := deployment(name, 3), hpa(name, 1, 16)
			d.Namespace, h.Namespace = space, space
			objs = append(objs, d, h)
			for j := range 3 {
				spec := podSpec("200m", "256Mi")
				spec.NodeName = fmt.Sprintf("node-%03d", (i*7+j)%nodes)
				objs = append(objs, &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Namespace: space, Name: fmt.Sprintf("%s-%d", name, j), Labels: map[string]string{"app": name}}, Spec: spec, Status: corev1.PodStatus{Phase: corev1.PodRunning}})
			}
		}
		p := policy("workers", "inspector", "size")
		p.Namespace = space
		p.Finalizers = []string{v1alpha1.Finalizer}
		objs = append(objs, p)
	}
	var rest []client.Object
	c := &indexedReads{podByNode: map[string][]corev1.Pod{}, podByNS: map[string][]corev1.Pod{}}
	for _, o := range objs {
		switch o := o.(type) {
		case *corev1.Node:
			c.nodes = append(c.nodes, *o)
		case *corev1.Pod:
			c.podByNode[o.Spec.NodeName] = append(c.podByNode[o.Spec.NodeName], *o)
			c.podByNS[o.Namespace] = append(c.podByNS[o.Namespace], *o)
		default:
			rest = append(rest, o)
		}
	}
	c.Client = fake.NewClientBuilder().WithScheme(scheme).WithObjects(rest...).
		WithStatusSubresource(&v1alpha1.PriorityPolicy{}).Build()
	m, err := NewMetrics(prometheus.NewRegistry())
	if err != nil {
		b.Fatal(err)
	}
	d := &fakeDemand{desired: map[string]demand.Result{}}
	d.set("inspector", 14)
	d.set("size", 30)
	r := &Reconciler{Client: c, APIReader: c, Demand: d, Recorder: &fakeRecorder{}, Metrics: m, ResyncPeriod: 5 * time.Second}
	ctx := ctrl.LoggerInto(context.Background(), ctrl.Log)
	reconcileAll := func() {
		for i := range policies {
			if _, err := r.Reconcile(ctx, ctrl.Request{NamespacedName: types.NamespacedName{Namespace: fmt.Sprintf("team-%03d", i), Name: "workers"}}); err != nil {
				b.Fatal(err)
			}
		}
	}
	reconcileAll() // first pass writes the caps and statuses; measure the steady state
	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		reconcileAll()
	}
	b.ReportMetric(float64(b.Elapsed().Milliseconds())/float64(b.N)/policies, "ms/policy")
}
