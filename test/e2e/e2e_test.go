package e2e

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	"github.com/google/go-cmp/cmp"
	appsv1 "k8s.io/api/apps/v1"
	autoscalingv2 "k8s.io/api/autoscaling/v2"
	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
	"k8s.io/metrics/pkg/apis/external_metrics/v1beta1"
	"sigs.k8s.io/yaml"

	"github.com/queuescale/queuescale/adapter/rules"
	"github.com/queuescale/queuescale/hpacalc"
	"github.com/queuescale/queuescale/internal/testenv"
	"github.com/queuescale/queuescale/internal/testenv/cluster"
	"github.com/queuescale/queuescale/internal/testenv/stack"
)

const (
	// hpaSync is the HPA controller's sync period in these tests.
	hpaSync = time.Second
	// waitLong bounds every wait for the system to react. Generous: the
	// machine may be slow and busy; the tests never assert durations.
	waitLong = 3 * time.Minute
	// The metric HPAs use, and its per-pod target in these tests.
	backlogMetric = "sqs_backlog"
)

// The queues, one per test, so tests do not see each other's messages.
var queues = []string{"read", "rbac", "inspection", "prometheus-down", "adapter-down", "exporter-down"}

// grantedNamespaces may read the backlog metric; every test namespace but
// e2e-not-granted.
var grantedNamespaces = []string{"e2e-read", "e2e-rbac", "e2e-hpa", "e2e-prometheus-down", "e2e-adapter-down", "e2e-exporter-down"}

// writeRules writes the shipped default rules with the backlog metric
// granted to grantedNamespaces only, so the tests run the real queries and
// can check that other namespaces get nothing.
func writeRules(t *testing.T) string {
	t.Helper()
	root, err := testenv.RepoRoot()
	if err != nil {
		t.Fatal(err)
	}
	defaults := filepath.Join(root, "adapter", "rules", "default.yaml")
	data, err := os.ReadFile(defaults)
	if err != nil {
		t.Fatal(err)
	}
	var file map[string]any
	if err := yaml.Unmarshal(data, &file); err != nil {
		t.Fatalf("parse %s: %v", defaults, err)
	}
	list, _ := file["rules"].([]any)
	found := false
	for _, r := range list {
		if rule, ok := r.(map[string]any); ok && rule["name"] == backlogMetric {
			rule["namespaces"] = grantedNamespaces
			found = true
		}
	}
	if !found {
		t.Fatalf("%s has no rule named %s", defaults, backlogMetric)
	}
	out, err := yaml.Marshal(file)
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "rules.yaml")
	if err := os.WriteFile(path, out, 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

// TestEndToEnd runs every end-to-end check on one cluster and one stack. The
// checks that only read run in parallel, each in its own namespace with its
// own queue; the fault checks, which stop shared processes, run one at a
// time afterwards.
func TestEndToEnd(t *testing.T) {
	// Long enough for a first run that builds the cluster binaries.
	ctx, cancel := context.WithTimeout(context.Background(), 40*time.Minute)
	defer cancel()
	start := time.Now()
	rulesFile := writeRules(t)
	c := cluster.StartForTest(ctx, t, cluster.Options{
		// The reference scenario's shared pool: 2 nodes of 2 CPU and 4 GiB.
		Nodes: []cluster.Node{
			{Name: "pool-a", CPU: "2", Memory: "4Gi", Labels: map[string]string{"queuescale.io/pool": "workers"}},
			{Name: "pool-b", CPU: "2", Memory: "4Gi", Labels: map[string]string{"queuescale.io/pool": "workers"}},
		},
		HPASyncPeriod: hpaSync,
		Progress:      os.Stderr,
	})
	s := stack.StartForTest(ctx, t, stack.Options{
		Cluster:   c,
		Queues:    queues,
		RulesFile: rulesFile,
		Progress:  os.Stderr,
	})
	t.Logf("cluster and stack up in %s", time.Since(start).Round(100*time.Millisecond))
	e := &env{c: c, s: s, rulesFile: rulesFile}

	t.Run("reads", func(t *testing.T) {
		t.Run("QueueDepthThroughAggregator", func(t *testing.T) { t.Parallel(); e.testQueueDepth(ctx, t) })
		t.Run("MetricListNamesRules", func(t *testing.T) { t.Parallel(); e.testMetricList(ctx, t) })
		t.Run("UserWithoutRBACIsDenied", func(t *testing.T) { t.Parallel(); e.testRBAC(ctx, t) })
		t.Run("UngrantedNamespaceGetsNoData", func(t *testing.T) { t.Parallel(); e.testUngrantedNamespace(ctx, t) })
		t.Run("HPAScalesUpAndDown", func(t *testing.T) { t.Parallel(); e.testHPAScales(ctx, t) })
	})
	t.Run("faults", func(t *testing.T) {
		t.Run("PrometheusDown", func(t *testing.T) {
			e.testFault(ctx, t, "e2e-prometheus-down", "prometheus-down",
				func() { s.Prometheus.Stop() },
				func(ctx context.Context) error { return s.Prometheus.Start(ctx) })
		})
		t.Run("AdapterDown", func(t *testing.T) {
			e.testFault(ctx, t, "e2e-adapter-down", "adapter-down",
				func() { s.Adapter.Stop() },
				func(ctx context.Context) error { return s.Adapter.Start(ctx) })
		})
		// With the exporter gone its series go stale in Prometheus: the
		// adapter must answer "no data" (an error), never an empty queue.
		t.Run("ExporterDown", func(t *testing.T) {
			e.testFault(ctx, t, "e2e-exporter-down", "exporter-down",
				func() { s.Exporter.Stop() },
				func(ctx context.Context) error { return s.Exporter.Start(ctx) })
		})
	})
}

type env struct {
	c         *cluster.Cluster
	s         *stack.Stack
	rulesFile string
}

// metricError is a failed external metrics request.
type metricError struct {
	err  error
	body []byte
}

func (e *metricError) Error() string { return fmt.Sprintf("%v: %s", e.err, e.body) }
func (e *metricError) Unwrap() error { return e.err }

// getMetric reads an external metric through the kube-apiserver as the
// identity of cfg, the way the HPA controller does.
func getMetric(ctx context.Context, cfg *rest.Config, ns, metric, selector string) (*v1beta1.ExternalMetricValueList, error) {
	client, err := kubernetes.NewForConfig(cfg)
	if err != nil {
		return nil, err
	}
	req := client.CoreV1().RESTClient().Get().AbsPath(stack.ExternalMetricsPath, "namespaces", ns, metric)
	if selector != "" {
		req = req.Param("labelSelector", selector)
	}
	raw, err := req.DoRaw(ctx)
	if err != nil {
		return nil, &metricError{err: err, body: raw}
	}
	var list v1beta1.ExternalMetricValueList
	if err := json.Unmarshal(raw, &list); err != nil {
		return nil, fmt.Errorf("decode %s: %w", raw, err)
	}
	return &list, nil
}

// waitMetric polls metric until it has one item of value want.
func (e *env) waitMetric(ctx context.Context, t *testing.T, cfg *rest.Config, ns, metric, selector string, want int64) *v1beta1.ExternalMetricValue {
	t.Helper()
	var got *v1beta1.ExternalMetricValue
	waitCtx, cancel := context.WithTimeout(ctx, waitLong)
	defer cancel()
	err := testenv.Poll(waitCtx, 500*time.Millisecond, fmt.Sprintf("%s{%s} = %d in namespace %s", metric, selector, want, ns), func(ctx context.Context) error {
		list, err := getMetric(ctx, cfg, ns, metric, selector)
		if err != nil {
			return err
		}
		if len(list.Items) != 1 {
			return fmt.Errorf("%d items, want 1: %+v", len(list.Items), list.Items)
		}
		if v := list.Items[0].Value.Value(); v != want {
			return fmt.Errorf("value %d, want %d", v, want)
		}
		got = &list.Items[0]
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return got
}

func (e *env) namespace(ctx context.Context, t *testing.T, name string) {
	t.Helper()
	_, err := e.c.Client.CoreV1().Namespaces().Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: name}}, metav1.CreateOptions{})
	if err != nil {
		t.Fatalf("create namespace %s: %v", name, err)
	}
}

// testQueueDepth: the backlog an HPA reads is the queue's visible plus
// in-flight messages, with the sample's timestamp.
func (e *env) testQueueDepth(ctx context.Context, t *testing.T) {
	const ns, queue = "e2e-read", "read"
	e.namespace(ctx, t, ns)
	if err := e.s.SendMessages(ctx, queue, 7); err != nil {
		t.Fatal(err)
	}
	// Two messages in flight: received, not yet deleted.
	_, err := e.s.SQSClient.ReceiveMessage(ctx, &sqs.ReceiveMessageInput{
		QueueUrl:            aws.String(e.s.QueueURLs[queue]),
		MaxNumberOfMessages: 2,
		VisibilityTimeout:   600,
	})
	if err != nil {
		t.Fatal(err)
	}
	selector := "queue=" + queue
	e.waitMetric(ctx, t, e.c.Config, ns, "sqs_messages_visible", selector, 5)
	e.waitMetric(ctx, t, e.c.Config, ns, "sqs_messages_in_flight", selector, 2)
	got := e.waitMetric(ctx, t, e.c.Config, ns, backlogMetric, selector, 7)
	if got.MetricName != backlogMetric {
		t.Errorf("metricName = %q, want %q", got.MetricName, backlogMetric)
	}
	if got.Timestamp.IsZero() || got.Timestamp.After(time.Now().Add(time.Minute)) {
		t.Errorf("timestamp = %v, want the sample's time", got.Timestamp)
	}
	// A selector that matches no queue is an error, never a zero.
	list, err := getMetric(ctx, e.c.Config, ns, backlogMetric, "queue=no-such-queue")
	if err == nil {
		t.Errorf("backlog of a queue that does not exist = %+v, want an error", list)
	}
}

// testMetricList: discovery of external.metrics.k8s.io names exactly the
// rules' metrics.
func (e *env) testMetricList(ctx context.Context, t *testing.T) {
	set, err := rules.LoadFile(e.rulesFile)
	if err != nil {
		t.Fatal(err)
	}
	want := slices.Sorted(slices.Values(set.Names()))
	res, err := e.c.Client.Discovery().ServerResourcesForGroupVersion("external.metrics.k8s.io/v1beta1")
	if err != nil {
		t.Fatalf("discovery of external.metrics.k8s.io/v1beta1: %v", err)
	}
	var got []string
	for _, r := range res.APIResources {
		got = append(got, r.Name)
	}
	slices.Sort(got)
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("external metrics listed (-rules +served):\n%s", diff)
	}
}

// testRBAC: a user the cluster knows but RBAC does not allow is denied by
// the kube-apiserver; once bound to a role that allows external metrics in
// the namespace, the same request succeeds, so the denial was RBAC's.
func (e *env) testRBAC(ctx context.Context, t *testing.T) {
	const ns, queue = "e2e-rbac", "rbac"
	e.namespace(ctx, t, ns)
	if err := e.s.SendMessages(ctx, queue, 3); err != nil {
		t.Fatal(err)
	}
	e.waitMetric(ctx, t, e.c.Config, ns, backlogMetric, "queue="+queue, 3)

	alice, err := e.c.UserConfig("alice", "developers")
	if err != nil {
		t.Fatal(err)
	}
	_, err = getMetric(ctx, alice, ns, backlogMetric, "queue="+queue)
	if !apierrors.IsForbidden(err) {
		t.Fatalf("alice reads %s without RBAC: err = %v, want 403 Forbidden", backlogMetric, err)
	}

	role := &rbacv1.Role{
		ObjectMeta: metav1.ObjectMeta{Name: "external-metrics-reader", Namespace: ns},
		Rules: []rbacv1.PolicyRule{{
			APIGroups: []string{"external.metrics.k8s.io"},
			Resources: []string{"*"},
			Verbs:     []string{"get", "list"},
		}},
	}
	if _, err := e.c.Client.RbacV1().Roles(ns).Create(ctx, role, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	binding := &rbacv1.RoleBinding{
		ObjectMeta: metav1.ObjectMeta{Name: "alice-reads-external-metrics", Namespace: ns},
		RoleRef:    rbacv1.RoleRef{APIGroup: rbacv1.GroupName, Kind: "Role", Name: role.Name},
		Subjects:   []rbacv1.Subject{{APIGroup: rbacv1.GroupName, Kind: rbacv1.UserKind, Name: "alice"}},
	}
	if _, err := e.c.Client.RbacV1().RoleBindings(ns).Create(ctx, binding, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	e.waitMetric(ctx, t, alice, ns, backlogMetric, "queue="+queue, 3)

	// The binding is namespaced: elsewhere alice is still denied.
	_, err = getMetric(ctx, alice, "e2e-read", backlogMetric, "queue="+queue)
	if !apierrors.IsForbidden(err) {
		t.Errorf("alice reads %s in e2e-read: err = %v, want 403 Forbidden", backlogMetric, err)
	}
}

// testUngrantedNamespace: the rules grant sqs_backlog to the tests'
// namespaces only; from another namespace the metric does not exist, while
// a metric granted everywhere is served there.
func (e *env) testUngrantedNamespace(ctx context.Context, t *testing.T) {
	const ns, queue = "e2e-not-granted", "read"
	e.namespace(ctx, t, ns)
	// The queue has messages (the read test sends some; wait for any value
	// of a metric that is granted everywhere, so the adapter has data).
	waitCtx, cancel := context.WithTimeout(ctx, waitLong)
	defer cancel()
	err := testenv.Poll(waitCtx, 500*time.Millisecond, "sqs_messages_visible to be served in "+ns, func(ctx context.Context) error {
		_, err := getMetric(ctx, e.c.Config, ns, "sqs_messages_visible", "queue="+queue)
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	list, err := getMetric(ctx, e.c.Config, ns, backlogMetric, "queue="+queue)
	if !apierrors.IsNotFound(err) {
		t.Fatalf("%s from ungranted namespace %s: list %+v, err %v; want 404 NotFound", backlogMetric, ns, list, err)
	}
	var me *metricError
	if errors.As(err, &me) && strings.Contains(string(me.body), `"value"`) {
		t.Errorf("denied answer carries a value: %s", me.body)
	}
}

// workload creates a Deployment of 200m CPU / 256Mi pods (the scenario's
// worker) with one replica, and an autoscaling/v2 HPA on the backlog of
// queue with target AverageValue perPod, min 1, max 10, and behavior fast
// enough for a test (no scale-up stabilization; 5 s scale-down
// stabilization).
func (e *env) workload(ctx context.Context, t *testing.T, ns, name, queue string, perPod int64) {
	t.Helper()
	labels := map[string]string{"app": name}
	deploy := &appsv1.Deployment{
		ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: ns},
		Spec: appsv1.DeploymentSpec{
			Replicas: ptr(int32(1)),
			Selector: &metav1.LabelSelector{MatchLabels: labels},
			Template: corev1.PodTemplateSpec{
				ObjectMeta: metav1.ObjectMeta{Labels: labels},
				Spec: corev1.PodSpec{
					NodeSelector: map[string]string{"queuescale.io/pool": "workers"},
					Containers: []corev1.Container{{
						Name:  "worker",
						Image: "registry.example/" + name + ":1",
						Resources: corev1.ResourceRequirements{Requests: corev1.ResourceList{
							corev1.ResourceCPU:    resource.MustParse("200m"),
							corev1.ResourceMemory: resource.MustParse("256Mi"),
						}},
					}},
				},
			},
		},
	}
	if _, err := e.c.Client.AppsV1().Deployments(ns).Create(ctx, deploy, metav1.CreateOptions{}); err != nil {
		t.Fatalf("create deployment %s/%s: %v", ns, name, err)
	}
	hpa := &autoscalingv2.HorizontalPodAutoscaler{
		ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: ns},
		Spec: autoscalingv2.HorizontalPodAutoscalerSpec{
			ScaleTargetRef: autoscalingv2.CrossVersionObjectReference{APIVersion: "apps/v1", Kind: "Deployment", Name: name},
			MinReplicas:    ptr(int32(1)),
			MaxReplicas:    10,
			Metrics: []autoscalingv2.MetricSpec{{
				Type: autoscalingv2.ExternalMetricSourceType,
				External: &autoscalingv2.ExternalMetricSource{
					Metric: autoscalingv2.MetricIdentifier{
						Name:     backlogMetric,
						Selector: &metav1.LabelSelector{MatchLabels: map[string]string{"queue": queue}},
					},
					Target: autoscalingv2.MetricTarget{
						Type:         autoscalingv2.AverageValueMetricType,
						AverageValue: resource.NewQuantity(perPod, resource.DecimalSI),
					},
				},
			}},
			Behavior: &autoscalingv2.HorizontalPodAutoscalerBehavior{
				ScaleUp: &autoscalingv2.HPAScalingRules{
					StabilizationWindowSeconds: ptr(int32(0)),
					Policies:                   []autoscalingv2.HPAScalingPolicy{{Type: autoscalingv2.PodsScalingPolicy, Value: 10, PeriodSeconds: 1}},
				},
				ScaleDown: &autoscalingv2.HPAScalingRules{
					StabilizationWindowSeconds: ptr(int32(5)),
					Policies:                   []autoscalingv2.HPAScalingPolicy{{Type: autoscalingv2.PercentScalingPolicy, Value: 100, PeriodSeconds: 1}},
				},
			},
		},
	}
	if _, err := e.c.Client.AutoscalingV2().HorizontalPodAutoscalers(ns).Create(ctx, hpa, metav1.CreateOptions{}); err != nil {
		t.Fatalf("create HPA %s/%s: %v", ns, name, err)
	}
}

// waitScaled waits until the HPA wants replicas and the Deployment has that
// many Ready pods, and returns how long the HPA took to want them.
func (e *env) waitScaled(ctx context.Context, t *testing.T, ns, name string, replicas int32) time.Duration {
	t.Helper()
	start := time.Now()
	var decided time.Duration
	waitCtx, cancel := context.WithTimeout(ctx, waitLong)
	defer cancel()
	err := testenv.Poll(waitCtx, 200*time.Millisecond, fmt.Sprintf("HPA %s/%s to want %d replicas and get them Ready", ns, name, replicas), func(ctx context.Context) error {
		hpa, err := e.c.Client.AutoscalingV2().HorizontalPodAutoscalers(ns).Get(ctx, name, metav1.GetOptions{})
		if err != nil {
			return err
		}
		if hpa.Status.DesiredReplicas != replicas {
			return fmt.Errorf("desiredReplicas %d; conditions %s", hpa.Status.DesiredReplicas, conditions(hpa))
		}
		if decided == 0 {
			decided = time.Since(start)
		}
		d, err := e.c.Client.AppsV1().Deployments(ns).Get(ctx, name, metav1.GetOptions{})
		if err != nil {
			return err
		}
		if *d.Spec.Replicas != replicas || d.Status.ReadyReplicas != replicas || d.Status.Replicas != replicas {
			return fmt.Errorf("deployment spec %d, status %d, ready %d", *d.Spec.Replicas, d.Status.Replicas, d.Status.ReadyReplicas)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return decided
}

// testHPAScales: a standard HPA scales a Deployment on the queue's backlog
// and back down once the queue is drained.
func (e *env) testHPAScales(ctx context.Context, t *testing.T) {
	const ns, name, queue = "e2e-hpa", "inspector", "inspection"
	e.namespace(ctx, t, ns)
	e.workload(ctx, t, ns, name, queue, 2)
	e.waitScaled(ctx, t, ns, name, 1) // the HPA reads an empty queue: minReplicas

	// 10 messages at 2 per pod: ceil(10/2) = 5 replicas. The expected count
	// comes from hpacalc, the formula the coordinator and the simulator use,
	// so this also checks it against the real HPA controller.
	if err := e.s.SendMessages(ctx, queue, 10); err != nil {
		t.Fatal(err)
	}
	want := hpacalc.AverageValueReplicas(1, 10_000, 2_000, hpacalc.Default)
	took := e.waitScaled(ctx, t, ns, name, want)
	t.Logf("MEASURE messages sent -> HPA desiredReplicas=%d: %s", want, took.Round(100*time.Millisecond))

	if err := e.s.PurgeQueue(ctx, queue); err != nil {
		t.Fatal(err)
	}
	took = e.waitScaled(ctx, t, ns, name, 1)
	t.Logf("MEASURE queue drained -> HPA desiredReplicas=1 (5 s stabilization window): %s", took.Round(100*time.Millisecond))
}

// testFault: with stop() breaking the metric path, the HPA keeps its
// replicas and says why in its ScalingActive condition; after restart()
// scaling resumes.
func (e *env) testFault(ctx context.Context, t *testing.T, ns, queue string, stop func(), restart func(context.Context) error) {
	const name = "worker"
	e.namespace(ctx, t, ns)
	e.workload(ctx, t, ns, name, queue, 5)
	// 10 messages at 5 per pod: 2 replicas.
	if err := e.s.SendMessages(ctx, queue, 10); err != nil {
		t.Fatal(err)
	}
	e.waitScaled(ctx, t, ns, name, hpacalc.AverageValueReplicas(1, 10_000, 5_000, hpacalc.Default))

	var once sync.Once
	restarted := false
	ensureRunning := func() {
		once.Do(func() {
			if err := restart(ctx); err != nil {
				t.Errorf("restart: %v", err)
			}
			restarted = true
		})
	}
	stop()
	t.Cleanup(ensureRunning) // later tests need the system whole, even if this one fails

	// More work arrives while the metric cannot be read: 30 messages would
	// need 6 replicas, but the HPA cannot know and must hold 2.
	if err := e.s.SendMessages(ctx, queue, 20); err != nil {
		t.Fatal(err)
	}
	waitCtx, cancel := context.WithTimeout(ctx, waitLong)
	defer cancel()
	var failed *autoscalingv2.HorizontalPodAutoscalerCondition
	err := testenv.Poll(waitCtx, 500*time.Millisecond, "HPA condition ScalingActive=False/FailedGetExternalMetric", func(ctx context.Context) error {
		hpa, err := e.c.Client.AutoscalingV2().HorizontalPodAutoscalers(ns).Get(ctx, name, metav1.GetOptions{})
		if err != nil {
			return err
		}
		for i, c := range hpa.Status.Conditions {
			if c.Type == autoscalingv2.ScalingActive && c.Status == corev1.ConditionFalse && c.Reason == "FailedGetExternalMetric" {
				failed = &hpa.Status.Conditions[i]
				return nil
			}
		}
		return fmt.Errorf("conditions %s", conditions(hpa))
	})
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(failed.Message, backlogMetric) {
		t.Errorf("ScalingActive message %q does not name the metric %s", failed.Message, backlogMetric)
	}
	t.Logf("while down: ScalingActive=False %s: %s", failed.Reason, failed.Message)
	// Several HPA syncs with the metric unreadable: the replicas hold.
	e.holdReplicas(ctx, t, ns, name, 2, 5*hpaSync)

	ensureRunning()
	if !restarted {
		t.FailNow()
	}
	want := hpacalc.AverageValueReplicas(2, 30_000, 5_000, hpacalc.Default) // 6
	took := e.waitScaled(ctx, t, ns, name, want)
	t.Logf("MEASURE restart -> HPA desiredReplicas=%d: %s", want, took.Round(100*time.Millisecond))
}

// holdReplicas checks, for about d, that the Deployment keeps replicas.
func (e *env) holdReplicas(ctx context.Context, t *testing.T, ns, name string, replicas int32, d time.Duration) {
	t.Helper()
	deadline := time.Now().Add(d)
	for time.Now().Before(deadline) {
		dep, err := e.c.Client.AppsV1().Deployments(ns).Get(ctx, name, metav1.GetOptions{})
		if err != nil {
			t.Fatal(err)
		}
		if *dep.Spec.Replicas != replicas {
			t.Fatalf("deployment %s/%s scaled to %d while its metric was unreadable, want it held at %d", ns, name, *dep.Spec.Replicas, replicas)
		}
		time.Sleep(200 * time.Millisecond)
	}
}

func conditions(hpa *autoscalingv2.HorizontalPodAutoscaler) string {
	var parts []string
	for _, c := range hpa.Status.Conditions {
		parts = append(parts, fmt.Sprintf("%s=%s/%s (%s)", c.Type, c.Status, c.Reason, c.Message))
	}
	return strings.Join(parts, "; ")
}

func ptr[T any](v T) *T { return &v }
