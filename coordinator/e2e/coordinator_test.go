package e2e

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	autoscalingv2 "k8s.io/api/autoscaling/v2"
	corev1 "k8s.io/api/core/v1"
	schedulingv1 "k8s.io/api/scheduling/v1"
	apiextensionsv1 "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/serializer"
	"k8s.io/client-go/kubernetes"
	clientgoscheme "k8s.io/client-go/kubernetes/scheme"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/clientcmd"
	clientcmdapi "k8s.io/client-go/tools/clientcmd/api"
	"k8s.io/metrics/pkg/apis/external_metrics/v1beta1"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/queuescale/queuescale/coordinator/api/v1alpha1"
	"github.com/queuescale/queuescale/internal/testenv"
	"github.com/queuescale/queuescale/internal/testenv/cluster"
	"github.com/queuescale/queuescale/internal/testenv/stack"
)

const (
	ns           = "microbadger"
	coordinatorS = "system:serviceaccount:queuescale:priority-coordinator"
	userMax      = 16
	// inspectionBurst messages at 2 per Inspector pod make the Inspector
	// HPA want 14 pods; Size (5 per pod) then has 20-14 = 6 pods of room.
	inspectionBurst = 28
	sizeBacklog     = 100
)

// world is the running system and the test's clients.
type world struct {
	t       *testing.T
	c       *cluster.Cluster
	s       *stack.Stack
	cl      client.Client
	kc      kubernetes.Interface
	bin     string
	kubecfg string
	logDir  string
	procs   []*testenv.Process // coordinator replicas started, in order
	starts  int
}

// TestCoordinatorEndToEnd plays the reference scenario: two nodes whose CPU
// fits 20 worker pods of 200m, Inspector (higher PriorityClass) and Size
// with HPAs on sqs_backlog through exporter → Prometheus → adapter, and a
// PriorityPolicy over them.
func TestCoordinatorEndToEnd(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 25*time.Minute)
	defer cancel()
	w := setUp(ctx, t)

	// The user's own maximum, to be found again exactly at the end.
	original := w.hpa(ctx, "size").Spec.MaxReplicas

	t.Log("phase 1: the size queue fills; Size scales into the pool, uncapped")
	must(t, w.s.SendMessages(ctx, "size", sizeBacklog))
	w.waitFor(ctx, 4*time.Minute, "Size at 16 Running pods, uncapped", func(ctx context.Context) error {
		if err := w.running(ctx, "size", userMax); err != nil {
			return err
		}
		return w.maxReplicas(ctx, "size", userMax, false)
	})

	t.Log("phase 2: an inspection burst; Size is capped and Inspector gets the room")
	t.Logf("MEASURE %s", w.burst(ctx, 6))
	w.waitFor(ctx, 2*time.Minute, "Size scaled down to its cap", func(ctx context.Context) error { return w.running(ctx, "size", 6) })
	w.checkPolicyStatus(ctx, "size=6/16")

	t.Log("phase 3: the inspection queue drains; Size's cap returns to the user's maximum")
	must(t, w.s.PurgeQueue(ctx, "inspection"))
	w.waitFor(ctx, 3*time.Minute, "Size released to its own maximum", func(ctx context.Context) error {
		return w.maxReplicas(ctx, "size", original, false)
	})
	w.waitFor(ctx, 4*time.Minute, "Size back at 16 Running pods", func(ctx context.Context) error { return w.running(ctx, "size", userMax) })

	t.Log("phase 4: a burst; the leading coordinator is killed (SIGKILL) as it starts and run again; the standby takes over")
	must(t, w.s.SendMessages(ctx, "inspection", inspectionBurst))
	killed := w.killLeader(ctx)
	w.startCoordinator(ctx)
	w.waitFor(ctx, 2*time.Minute, "inspection backlog visible in the external metrics API", func(ctx context.Context) error {
		return w.backlogAtLeast(ctx, "inspection", inspectionBurst)
	})
	if next := w.leader(ctx); next == killed {
		t.Fatalf("the killed replica %s still leads", killed.Name)
	}
	w.waitFor(ctx, 3*time.Minute, "Size capped at 6 by the restarted coordinator", func(ctx context.Context) error {
		return w.maxReplicas(ctx, "size", 6, true)
	})
	w.waitForInspectors(ctx)
	w.waitFor(ctx, 2*time.Minute, "Size scaled down to its cap", func(ctx context.Context) error { return w.running(ctx, "size", 6) })
	if h := w.hpa(ctx, "size"); h.Annotations[v1alpha1.AnnotationUserMaxReplicas] != strconv.Itoa(int(original)) {
		t.Fatalf("the user's maxReplicas annotation is %q, want %d", h.Annotations[v1alpha1.AnnotationUserMaxReplicas], original)
	}
	t.Log("phase 4b: killed again while Size is capped, restarted; the drain still gives the user's maximum back exactly")
	w.killLeader(ctx)
	w.startCoordinator(ctx)
	must(t, w.s.PurgeQueue(ctx, "inspection"))
	w.waitFor(ctx, 3*time.Minute, "Size released to its own maximum", func(ctx context.Context) error {
		return w.maxReplicas(ctx, "size", original, false)
	})

	t.Log("phase 5: the policy is deleted while Size is capped; the user's maxReplicas comes back exactly")
	must(t, w.s.SendMessages(ctx, "inspection", inspectionBurst))
	w.waitFor(ctx, 3*time.Minute, "Size capped at 6", func(ctx context.Context) error { return w.maxReplicas(ctx, "size", 6, true) })
	must(t, w.cl.Delete(ctx, &v1alpha1.PriorityPolicy{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "workers"}}))
	w.waitFor(ctx, 2*time.Minute, "the policy gone", func(ctx context.Context) error {
		err := w.cl.Get(ctx, client.ObjectKey{Namespace: ns, Name: "workers"}, &v1alpha1.PriorityPolicy{})
		if apierrors.IsNotFound(err) {
			return nil
		}
		return fmt.Errorf("still there (err %v)", err)
	})
	h := w.hpa(ctx, "size")
	if h.Spec.MaxReplicas != original || carries(h) {
		t.Fatalf("after deleting the policy Size has maxReplicas %d and annotations %v; want %d and none of the coordinator's", h.Spec.MaxReplicas, h.Annotations, original)
	}
	var live []string
	for _, p := range w.procs {
		if exited, _ := p.Exited(); !exited {
			live = append(live, p.Name)
		}
	}
	if len(live) != 2 {
		t.Fatalf("live coordinator replicas %v, want the two not killed by the test", live)
	}
}

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

func carries(h *autoscalingv2.HorizontalPodAutoscaler) bool {
	for _, k := range []string{v1alpha1.AnnotationUserMaxReplicas, v1alpha1.AnnotationCappedMaxReplicas, v1alpha1.AnnotationCappedBy} {
		if _, ok := h.Annotations[k]; ok {
			return true
		}
	}
	return false
}

func setUp(ctx context.Context, t *testing.T) *world {
	t.Helper()
	pool := map[string]string{"queuescale.io/pool": "workers"}
	c := cluster.StartForTest(ctx, t, cluster.Options{
		Nodes: []cluster.Node{
			{Name: "worker-a", CPU: "2", Memory: "4Gi", Labels: pool},
			{Name: "worker-b", CPU: "2", Memory: "4Gi", Labels: pool},
		},
		Progress: os.Stderr,
		// See schedulerFlush: a shorter flush of the scheduler's
		// unschedulable pool bounds an upstream bug's delay.
		SchedulerFlags: []string{"--pod-max-in-unschedulable-pods-duration=" + schedulerUnschedulableMax.String()},
	})
	rules, err := filepath.Abs(filepath.Join("testdata", "rules.yaml"))
	must(t, err)
	s := stack.StartForTest(ctx, t, stack.Options{Cluster: c, Queues: []string{"inspection", "size"}, RulesFile: rules, Progress: os.Stderr})

	scheme := runtime.NewScheme()
	must(t, clientgoscheme.AddToScheme(scheme))
	must(t, apiextensionsv1.AddToScheme(scheme))
	must(t, v1alpha1.AddToScheme(scheme))
	// The test polls several things every 100 ms to time them; client-side
	// rate limiting would delay its observations, not the system's.
	cfg := rest.CopyConfig(c.Config)
	cfg.QPS, cfg.Burst = 1000, 1000
	cl, err := client.New(cfg, client.Options{Scheme: scheme})
	must(t, err)
	kc, err := kubernetes.NewForConfig(cfg)
	must(t, err)
	w := &world{t: t, c: c, s: s, cl: cl, kc: kc, logDir: filepath.Join(t.TempDir(), "logs")}

	root, err := testenv.RepoRoot()
	must(t, err)
	// The CRD and the coordinator's RBAC exactly as shipped.
	w.apply(ctx, scheme, filepath.Join(root, "manifests", "base", "crd", "queuescale.io_prioritypolicies.yaml"))
	w.waitFor(ctx, time.Minute, "the PriorityPolicy CRD Established", func(ctx context.Context) error {
		var crd apiextensionsv1.CustomResourceDefinition
		if err := cl.Get(ctx, client.ObjectKey{Name: "prioritypolicies.queuescale.io"}, &crd); err != nil {
			return err
		}
		for _, cond := range crd.Status.Conditions {
			if cond.Type == apiextensionsv1.Established && cond.Status == apiextensionsv1.ConditionTrue {
				return nil
			}
		}
		return errors.New("not Established yet")
	})
	w.checkSchemaRefuses(ctx)
	w.apply(ctx, scheme, filepath.Join(root, "manifests", "base", "rbac-coordinator.yaml"))
	w.kubecfg = w.coordinatorKubeconfig()

	w.create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: ns}})
	w.waitFor(ctx, time.Minute, "the default ServiceAccount of "+ns, func(ctx context.Context) error {
		return cl.Get(ctx, client.ObjectKey{Namespace: ns, Name: "default"}, &corev1.ServiceAccount{})
	})
	w.create(ctx, &schedulingv1.PriorityClass{ObjectMeta: metav1.ObjectMeta{Name: "inspector"}, Value: 1000, Description: "urgent queue workers"})
	w.create(ctx, &schedulingv1.PriorityClass{ObjectMeta: metav1.ObjectMeta{Name: "size"}, Value: 100, Description: "queue workers that can wait"})
	for _, wl := range []struct {
		name, queue string
		perPod      int64
	}{{"inspector", "inspection", 2}, {"size", "size", 5}} {
		w.create(ctx, worker(wl.name))
		w.create(ctx, queueHPA(wl.name, wl.queue, wl.perPod))
	}

	w.bin, err = testenv.BuildCommand(ctx, "./cmd/priority-coordinator", filepath.Join(t.TempDir(), "bin"))
	must(t, err)
	// Two replicas, as the manifests run: one leads, one stands by.
	w.startCoordinator(ctx)
	w.startCoordinator(ctx)
	t.Cleanup(func() {
		for _, p := range w.procs {
			p.Stop(10 * time.Second)
		}
		if t.Failed() {
			for _, p := range w.procs {
				t.Logf("--- last lines of %s ---\n%s", p.LogPath, tailFile(p.LogPath, 40))
			}
			t.Logf("%s", s.LogSummary(30))
		}
	})

	w.create(ctx, &v1alpha1.PriorityPolicy{
		ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "workers"},
		Spec: v1alpha1.PriorityPolicySpec{
			Tiers:    []v1alpha1.Tier{{HPA: "inspector"}, {HPA: "size"}},
			Capacity: v1alpha1.Capacity{NodeSelector: &metav1.LabelSelector{MatchLabels: pool}},
		},
	})
	w.waitFor(ctx, 2*time.Minute, "the policy Ready", func(ctx context.Context) error {
		p := w.policy(ctx)
		if !meta.IsStatusConditionTrue(p.Status.Conditions, v1alpha1.ConditionReady) {
			return fmt.Errorf("conditions %+v", p.Status.Conditions)
		}
		return nil
	})
	w.t.Logf("coordinator replica %s leads", w.leader(ctx).Name)
	return w
}

// checkSchemaRefuses creates policies the CRD's schema must refuse, on the
// real API server (OpenAPI and CEL rules, list-map keys).
func (w *world) checkSchemaRefuses(ctx context.Context) {
	w.t.Helper()
	budget := v1alpha1.Capacity{Budget: &v1alpha1.Budget{CPU: ptr.To(resource.MustParse("4"))}}
	tests := []struct {
		name string
		spec v1alpha1.PriorityPolicySpec
		want string
	}{
		{"one tier", v1alpha1.PriorityPolicySpec{Tiers: []v1alpha1.Tier{{HPA: "a"}}, Capacity: budget}, "spec.tiers"},
		{"same HPA twice", v1alpha1.PriorityPolicySpec{Tiers: []v1alpha1.Tier{{HPA: "a"}, {HPA: "a"}}, Capacity: budget}, "Duplicate value"},
		{"both kinds of pool", v1alpha1.PriorityPolicySpec{Tiers: []v1alpha1.Tier{{HPA: "a"}, {HPA: "b"}},
			Capacity: v1alpha1.Capacity{Budget: budget.Budget, NodeSelector: &metav1.LabelSelector{}}}, "set exactly one of capacity.nodeSelector and capacity.budget"},
		{"no pool", v1alpha1.PriorityPolicySpec{Tiers: []v1alpha1.Tier{{HPA: "a"}, {HPA: "b"}}}, "set exactly one of capacity.nodeSelector and capacity.budget"},
		{"empty budget", v1alpha1.PriorityPolicySpec{Tiers: []v1alpha1.Tier{{HPA: "a"}, {HPA: "b"}}, Capacity: v1alpha1.Capacity{Budget: &v1alpha1.Budget{}}}, "a budget names cpu, memory or both"},
		{"bad HPA name", v1alpha1.PriorityPolicySpec{Tiers: []v1alpha1.Tier{{HPA: "A_B"}, {HPA: "b"}}, Capacity: budget}, "spec.tiers[0].hpa"},
	}
	for _, tt := range tests {
		p := &v1alpha1.PriorityPolicy{ObjectMeta: metav1.ObjectMeta{Namespace: "default", Name: "refused"}, Spec: tt.spec}
		err := w.cl.Create(ctx, p)
		if !apierrors.IsInvalid(err) || !strings.Contains(err.Error(), tt.want) {
			w.t.Fatalf("creating a policy with %s: error %v, want Invalid mentioning %q", tt.name, err, tt.want)
		}
	}
}

// worker is a queue worker Deployment of 200m / 256Mi pods in a
// PriorityClass of its name.
func worker(name string) *appsv1.Deployment {
	labels := map[string]string{"app": name}
	return &appsv1.Deployment{
		ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name},
		Spec: appsv1.DeploymentSpec{
			Replicas: ptr.To(int32(1)),
			Selector: &metav1.LabelSelector{MatchLabels: labels},
			Template: corev1.PodTemplateSpec{
				ObjectMeta: metav1.ObjectMeta{Labels: labels},
				Spec: corev1.PodSpec{
					PriorityClassName:             name,
					TerminationGracePeriodSeconds: ptr.To(int64(0)),
					Containers: []corev1.Container{{
						Name: "worker", Image: "registry.example/" + name + ":1",
						Resources: corev1.ResourceRequirements{Requests: corev1.ResourceList{
							corev1.ResourceCPU: resource.MustParse("200m"), corev1.ResourceMemory: resource.MustParse("256Mi"),
						}},
					}},
				},
			},
		},
	}
}

// queueHPA scales a worker on sqs_backlog{queue} with perPod messages per
// pod, min 1, max 16, and no scale-down stabilization so the test does not
// wait five minutes.
func queueHPA(name, queue string, perPod int64) *autoscalingv2.HorizontalPodAutoscaler {
	return &autoscalingv2.HorizontalPodAutoscaler{
		ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name},
		Spec: autoscalingv2.HorizontalPodAutoscalerSpec{
			ScaleTargetRef: autoscalingv2.CrossVersionObjectReference{APIVersion: "apps/v1", Kind: "Deployment", Name: name},
			MinReplicas:    ptr.To(int32(1)),
			MaxReplicas:    userMax,
			Metrics: []autoscalingv2.MetricSpec{{Type: autoscalingv2.ExternalMetricSourceType, External: &autoscalingv2.ExternalMetricSource{
				Metric: autoscalingv2.MetricIdentifier{Name: "sqs_backlog", Selector: &metav1.LabelSelector{MatchLabels: map[string]string{"queue": queue}}},
				Target: autoscalingv2.MetricTarget{Type: autoscalingv2.AverageValueMetricType, AverageValue: resource.NewQuantity(perPod, resource.DecimalSI)},
			}}},
			Behavior: &autoscalingv2.HorizontalPodAutoscalerBehavior{
				ScaleUp: &autoscalingv2.HPAScalingRules{
					StabilizationWindowSeconds: ptr.To(int32(0)),
					Policies:                   []autoscalingv2.HPAScalingPolicy{{Type: autoscalingv2.PodsScalingPolicy, Value: 20, PeriodSeconds: 1}},
				},
				ScaleDown: &autoscalingv2.HPAScalingRules{
					StabilizationWindowSeconds: ptr.To(int32(0)),
					Policies:                   []autoscalingv2.HPAScalingPolicy{{Type: autoscalingv2.PodsScalingPolicy, Value: 20, PeriodSeconds: 1}},
				},
			},
		},
	}
}

// burstTimes are when the test first saw each step of a burst.
type burstTimes struct {
	// first: any inspection backlog in the external metrics API; full: the
	// whole burst there (the messages are sent one by one, so a scrape may
	// see part of it).
	first, full time.Time
	// capped: Size's maxReplicas at its cap; running: every Inspector pod
	// the HPA wants Running.
	capped, running time.Time
	// sent, sendDone: the burst's first message went out, and its last.
	sent, sendDone time.Time
}

func (b burstTimes) String() string {
	since := func(t time.Time) time.Duration { return t.Sub(b.first).Round(100 * time.Millisecond) }
	return fmt.Sprintf("from the first inspection backlog in the external metrics API: whole burst visible +%s, Size cap written +%s, all wanted Inspector pods Running +%s (burst sent %s–%s, first visible %s)",
		since(b.full), since(b.capped), since(b.running), b.sent.UTC().Format("15:04:05.000"), b.sendDone.UTC().Format("15:04:05.000"), b.first.UTC().Format("15:04:05.000"))
}

// burst sends the inspection burst and returns when each step was first
// seen; the steps are watched concurrently from before the send, every
// 100 ms.
func (w *world) burst(ctx context.Context, wantCap int32) burstTimes {
	w.t.Helper()
	ctx, cancel := context.WithTimeout(ctx, schedulerFlush+2*time.Minute)
	defer cancel()
	watch := func(check func(context.Context) error) <-chan time.Time {
		ch := make(chan time.Time, 1)
		go func() {
			if testenv.Poll(ctx, 100*time.Millisecond, "", check) == nil {
				ch <- time.Now()
			}
			close(ch)
		}()
		return ch
	}
	firstC := watch(func(ctx context.Context) error { return w.backlogAtLeast(ctx, "inspection", 1) })
	fullC := watch(func(ctx context.Context) error { return w.backlogAtLeast(ctx, "inspection", inspectionBurst) })
	cappedC := watch(func(ctx context.Context) error { return w.maxReplicas(ctx, "size", wantCap, true) })
	runningC := watch(func(ctx context.Context) error { return w.running(ctx, "inspector", 14) })
	sent := time.Now()
	must(w.t, w.s.SendMessages(ctx, "inspection", inspectionBurst))
	b := burstTimes{sent: sent, sendDone: time.Now()}
	for _, x := range []struct {
		what string
		ch   <-chan time.Time
		at   *time.Time
	}{
		{"an inspection backlog in the external metrics API", firstC, &b.first},
		{"the whole burst in the external metrics API", fullC, &b.full},
		{"Size capped", cappedC, &b.capped},
		{"every wanted Inspector pod Running", runningC, &b.running},
	} {
		t, ok := <-x.ch
		if !ok {
			w.t.Fatalf("timed out waiting for %s", x.what)
		}
		*x.at = t
	}
	if b.full.Before(b.first) { // the two watchers poll independently
		b.first = b.full
	}
	return b
}

// With SchedulerAsyncPreemption (on by default) a redundant second
// preemption can leave an Inspector pod Pending beside free room until
// kube-scheduler flushes its unschedulable pool (kubernetes/kubernetes#141694;
// the ReplicaSet deletes Size's Pending pods first when the cap lands, so no
// pod deletion on a node requeues it sooner). By default a pod waits there up
// to 5 minutes, which hit about one run in three and made the test take six
// minutes instead of one; the test's scheduler lets pods wait at most
// schedulerUnschedulableMax, and checks for leftovers every 30 s, so the bug
// costs at most schedulerFlush. The coordinator is not involved either way.
const (
	schedulerUnschedulableMax = 20 * time.Second
	schedulerFlush            = schedulerUnschedulableMax + 30*time.Second
)

// waitForInspectors waits for every Inspector pod the HPA wants to be
// Running, allowing for the scheduler's flush, and says when that was needed.
func (w *world) waitForInspectors(ctx context.Context) {
	w.t.Helper()
	start := time.Now()
	w.waitFor(ctx, schedulerFlush+time.Minute, "every wanted Inspector pod Running", func(ctx context.Context) error { return w.running(ctx, "inspector", 14) })
	if d := time.Since(start); d > 15*time.Second {
		w.t.Logf("every wanted Inspector pod Running took %s: the scheduler left a preemptor Pending until its unschedulable-pool flush (kubernetes/kubernetes#141694)", d.Round(time.Second))
	}
}

// backlogAtLeast reads sqs_backlog{queue} the way the HPA does.
func (w *world) backlogAtLeast(ctx context.Context, queue string, n int64) error {
	path := stack.ExternalMetricsPath + "/namespaces/" + ns + "/sqs_backlog"
	raw, err := w.kc.CoreV1().RESTClient().Get().AbsPath(path).Param("labelSelector", "queue="+queue).DoRaw(ctx)
	if err != nil {
		return fmt.Errorf("GET %s: %w: %s", path, err, raw)
	}
	var list v1beta1.ExternalMetricValueList
	if err := json.Unmarshal(raw, &list); err != nil {
		return err
	}
	if len(list.Items) == 0 || list.Items[0].Value.Value() < n {
		return fmt.Errorf("sqs_backlog{queue=%s}: %s", queue, raw)
	}
	return nil
}

// running checks that the HPA wants want pods of name and that exactly that
// many are Running (none Pending).
func (w *world) running(ctx context.Context, name string, want int32) error {
	h := w.hpa(ctx, name)
	if h.Status.DesiredReplicas != want {
		return fmt.Errorf("HPA %s desires %d replicas, want %d", name, h.Status.DesiredReplicas, want)
	}
	var pods corev1.PodList
	if err := w.cl.List(ctx, &pods, client.InNamespace(ns), client.MatchingLabels{"app": name}); err != nil {
		return err
	}
	phases := map[corev1.PodPhase]int32{}
	for _, p := range pods.Items {
		if p.DeletionTimestamp == nil {
			phases[p.Status.Phase]++
		}
	}
	if phases[corev1.PodRunning] != want || phases[corev1.PodPending] != 0 {
		return fmt.Errorf("%s pods by phase %v, want %d Running and none Pending", name, phases, want)
	}
	return nil
}

// maxReplicas checks an HPA's maxReplicas and whether it carries a cap.
func (w *world) maxReplicas(ctx context.Context, name string, want int32, capped bool) error {
	h := w.hpa(ctx, name)
	if h.Spec.MaxReplicas != want || carries(h) != capped {
		return fmt.Errorf("HPA %s maxReplicas %d annotations %v; want %d, capped %v", name, h.Spec.MaxReplicas, h.Annotations, want, capped)
	}
	return nil
}

func (w *world) checkPolicyStatus(ctx context.Context, wantCapped string) {
	w.t.Helper()
	p := w.policy(ctx)
	if p.Status.Capped != wantCapped || len(p.Status.Tiers) != 2 || p.Status.Tiers[0].DemandSource != v1alpha1.DemandSourceMetrics || p.Status.Tiers[0].Demand != 14 {
		w.t.Fatalf("policy status %+v; want capped %q and Inspector demand 14 from metrics", p.Status, wantCapped)
	}
	if p.Status.Pool == nil || p.Status.Pool.CPU == nil || p.Status.Pool.CPU.MilliValue() != 4000 {
		w.t.Fatalf("policy pool %+v, want 4 CPU", p.Status.Pool)
	}
	w.t.Logf("kubectl get prioritypolicies would show: tiers %q, capped %q, pool %q", p.Status.TierSummary, p.Status.Capped, p.Status.Pool.Summary)
}

func (w *world) hpa(ctx context.Context, name string) *autoscalingv2.HorizontalPodAutoscaler {
	w.t.Helper()
	var h autoscalingv2.HorizontalPodAutoscaler
	must(w.t, w.cl.Get(ctx, client.ObjectKey{Namespace: ns, Name: name}, &h))
	return &h
}

func (w *world) policy(ctx context.Context) *v1alpha1.PriorityPolicy {
	w.t.Helper()
	var p v1alpha1.PriorityPolicy
	must(w.t, w.cl.Get(ctx, client.ObjectKey{Namespace: ns, Name: "workers"}, &p))
	return &p
}

func (w *world) waitFor(ctx context.Context, timeout time.Duration, what string, check func(context.Context) error) {
	w.t.Helper()
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	if err := testenv.Poll(ctx, 250*time.Millisecond, what, check); err != nil {
		w.t.Fatal(err)
	}
}

func (w *world) create(ctx context.Context, obj client.Object) {
	w.t.Helper()
	if err := w.cl.Create(ctx, obj); err != nil {
		w.t.Fatalf("create %T %s: %v", obj, obj.GetName(), err)
	}
}

// apply creates every object of a multi-document YAML file.
func (w *world) apply(ctx context.Context, scheme *runtime.Scheme, path string) {
	w.t.Helper()
	data, err := os.ReadFile(path)
	must(w.t, err)
	decoder := serializer.NewCodecFactory(scheme, serializer.EnableStrict).UniversalDeserializer()
	for i, doc := range bytes.Split(data, []byte("\n---")) {
		if len(bytes.TrimSpace(bytes.TrimPrefix(bytes.TrimSpace(doc), []byte("---")))) == 0 {
			continue
		}
		obj, _, err := decoder.Decode(doc, nil, nil)
		if err != nil {
			w.t.Fatalf("%s: document %d: %v", path, i, err)
		}
		w.create(ctx, obj.(client.Object))
	}
}

// coordinatorKubeconfig writes a kubeconfig that authenticates as the
// coordinator's ServiceAccount (a client certificate with its user name), so
// it runs with exactly the shipped RBAC.
func (w *world) coordinatorKubeconfig() string {
	w.t.Helper()
	cfg, err := w.c.UserConfig(coordinatorS, "system:serviceaccounts", "system:serviceaccounts:queuescale", "system:authenticated")
	must(w.t, err)
	path := filepath.Join(w.t.TempDir(), "priority-coordinator.kubeconfig")
	must(w.t, writeKubeconfig(cfg, path))
	return path
}

func writeKubeconfig(cfg *rest.Config, path string) error {
	kc := clientcmdapi.NewConfig()
	kc.Clusters["local"] = &clientcmdapi.Cluster{Server: cfg.Host, CertificateAuthorityData: cfg.CAData}
	kc.AuthInfos["coordinator"] = &clientcmdapi.AuthInfo{ClientCertificateData: cfg.CertData, ClientKeyData: cfg.KeyData}
	kc.Contexts["local"] = &clientcmdapi.Context{Cluster: "local", AuthInfo: "coordinator"}
	kc.CurrentContext = "local"
	return clientcmd.WriteToFile(*kc, path)
}

// startCoordinator runs the built binary with leader election, as the
// manifests do, and a short resync so the test is quick.
func (w *world) startCoordinator(ctx context.Context) {
	w.t.Helper()
	metricsPort, err := testenv.FreePort()
	must(w.t, err)
	probePort, err := testenv.FreePort()
	must(w.t, err)
	w.starts++
	cmd := exec.CommandContext(ctx, w.bin,
		"--kubeconfig="+w.kubecfg,
		"--resync-period=1s",
		"--leader-elect",
		"--leader-election-namespace=queuescale",
		fmt.Sprintf("--metrics-bind-address=127.0.0.1:%d", metricsPort),
		fmt.Sprintf("--health-probe-bind-address=127.0.0.1:%d", probePort),
	)
	p, err := testenv.StartProcess("priority-coordinator-"+strconv.Itoa(w.starts), w.logDir, cmd)
	must(w.t, err)
	w.procs = append(w.procs, p)
}

// leader waits until exactly one live replica says it holds the Lease, and
// returns it.
func (w *world) leader(ctx context.Context) *testenv.Process {
	w.t.Helper()
	var found *testenv.Process
	w.waitFor(ctx, 2*time.Minute, "one leading coordinator replica", func(context.Context) error {
		var leaders []string
		found = nil
		for _, p := range w.procs {
			if exited, _ := p.Exited(); exited {
				continue
			}
			data, err := os.ReadFile(p.LogPath)
			if err != nil {
				return err
			}
			if bytes.Contains(data, []byte("Successfully acquired lease")) {
				leaders = append(leaders, p.Name)
				found = p
			}
		}
		if len(leaders) != 1 {
			return fmt.Errorf("live replicas holding the lease: %v", leaders)
		}
		return nil
	})
	return found
}

// killLeader SIGKILLs the leading replica, as a crash or a lost node would.
func (w *world) killLeader(ctx context.Context) *testenv.Process {
	w.t.Helper()
	p := w.leader(ctx)
	p.Kill()
	w.t.Logf("killed the leading coordinator %s (pid %d); Size's maxReplicas was %d", p.Name, p.Pid(), w.hpa(ctx, "size").Spec.MaxReplicas)
	return p
}

func tailFile(path string, n int) string {
	data, err := os.ReadFile(path)
	if err != nil {
		return err.Error()
	}
	lines := bytes.Split(bytes.TrimRight(data, "\n"), []byte("\n"))
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return string(bytes.Join(lines, []byte("\n")))
}
