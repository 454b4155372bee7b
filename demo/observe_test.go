package demo

import (
	"context"
	"errors"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	"github.com/google/go-cmp/cmp"
	appsv1 "k8s.io/api/apps/v1"
	autoscalingv2 "k8s.io/api/autoscaling/v2"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	dynamicfake "k8s.io/client-go/dynamic/fake"
	"k8s.io/client-go/kubernetes/fake"

	"github.com/queuescale/queuescale/coordinator/api/v1alpha1"
	"github.com/queuescale/queuescale/demo/timeline"
)

// fakeQueues answers GetQueueAttributes from a map, or fails for a queue
// URL listed in fail.
type fakeQueues struct {
	attrs map[string]map[string]string
	fail  map[string]error
}

func (f *fakeQueues) GetQueueAttributes(_ context.Context, in *sqs.GetQueueAttributesInput, _ ...func(*sqs.Options)) (*sqs.GetQueueAttributesOutput, error) {
	url := aws.ToString(in.QueueUrl)
	if err := f.fail[url]; err != nil {
		return nil, err
	}
	return &sqs.GetQueueAttributesOutput{Attributes: f.attrs[url]}, nil
}

var _ QueueReader = (*fakeQueues)(nil)

func pod(name, app string, phase corev1.PodPhase, deleting bool) *corev1.Pod {
	p := &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: Namespace, Labels: map[string]string{"app": app}},
		Status:     corev1.PodStatus{Phase: phase},
	}
	if deleting {
		now := metav1.Now()
		p.DeletionTimestamp = &now
	}
	return p
}

func deployment(name string) *appsv1.Deployment {
	return &appsv1.Deployment{
		ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: Namespace},
		Spec:       appsv1.DeploymentSpec{Selector: &metav1.LabelSelector{MatchLabels: map[string]string{"app": name}}},
	}
}

func hpa(name string, current, desired, maxReplicas int32, annotations map[string]string) *autoscalingv2.HorizontalPodAutoscaler {
	one := int32(1)
	return &autoscalingv2.HorizontalPodAutoscaler{
		ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: Namespace, Annotations: annotations},
		Spec:       autoscalingv2.HorizontalPodAutoscalerSpec{MinReplicas: &one, MaxReplicas: maxReplicas},
		Status:     autoscalingv2.HorizontalPodAutoscalerStatus{CurrentReplicas: current, DesiredReplicas: desired},
	}
}

func TestObserve(t *testing.T) {
	kube := fake.NewClientset(
		deployment("inspector"), deployment("size"),
		hpa("inspector", 5, 10, 16, nil),
		hpa("size", 15, 4, 4, map[string]string{v1alpha1.AnnotationUserMaxReplicas: "16"}),
		pod("i-1", "inspector", corev1.PodRunning, false),
		pod("i-2", "inspector", corev1.PodPending, false),
		pod("s-1", "size", corev1.PodRunning, false),
		pod("s-2", "size", corev1.PodRunning, true), // being preempted
		pod("s-3", "size", corev1.PodRunning, false),
	)
	policy := &v1alpha1.PriorityPolicy{
		TypeMeta:   metav1.TypeMeta{APIVersion: v1alpha1.GroupVersion.String(), Kind: "PriorityPolicy"},
		ObjectMeta: metav1.ObjectMeta{Name: PolicyName, Namespace: Namespace},
		Status: v1alpha1.PriorityPolicyStatus{
			Capped: "size=4/16",
			Pool:   &v1alpha1.PoolStatus{Summary: "cpu=4 (2 nodes)"},
			Tiers: []v1alpha1.TierStatus{
				{HPA: "inspector", Demand: 16, DemandSource: v1alpha1.DemandSourceHeld, Grant: 16, MaxReplicas: 16, UserMaxReplicas: 16},
				{HPA: "size", Demand: 16, DemandSource: v1alpha1.DemandSourceMetrics, Grant: 4, MaxReplicas: 4, UserMaxReplicas: 16, Capped: true},
			},
			Conditions: []metav1.Condition{{Type: v1alpha1.ConditionReady, Status: metav1.ConditionTrue, Reason: v1alpha1.ReasonPlanned}},
		},
	}
	u, err := runtime.DefaultUnstructuredConverter.ToUnstructured(policy)
	if err != nil {
		t.Fatal(err)
	}
	scheme := runtime.NewScheme()
	if err := v1alpha1.AddToScheme(scheme); err != nil {
		t.Fatal(err)
	}
	dyn := dynamicfake.NewSimpleDynamicClientWithCustomListKinds(scheme, map[schema.GroupVersionResource]string{policyGVR: "PriorityPolicyList"})
	if _, err := dyn.Resource(policyGVR).Namespace(Namespace).Create(context.Background(), &unstructured.Unstructured{Object: u}, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	o := &observer{
		sqs: &fakeQueues{
			attrs: map[string]map[string]string{"u-size": {"ApproximateNumberOfMessages": "133", "ApproximateNumberOfMessagesNotVisible": "16"}},
			fail:  map[string]error{"u-inspection": errors.New("AccessDenied")},
		},
		kube: kube, dyn: dyn, namespace: Namespace, policy: PolicyName,
		tiers:     Microbadger(),
		queueURLs: map[string]string{"inspection": "u-inspection", "size": "u-size"},
	}
	got := o.observe(context.Background())
	want := timeline.Snapshot{
		Queues: []timeline.Queue{
			{Name: "inspection", Err: "get attributes of queue inspection: AccessDenied"},
			{Name: "size", Visible: 133, InFlight: 16},
		},
		HPAs: []timeline.HPA{
			{Name: "inspector", Current: 5, Desired: 10, Min: 1, Max: 16, UserMax: 16},
			{Name: "size", Current: 15, Desired: 4, Min: 1, Max: 4, UserMax: 16},
		},
		Tiers: []timeline.Tier{
			{Deployment: "inspector", Running: 1, Pending: 1},
			{Deployment: "size", Running: 2},
		},
		Policy: timeline.Policy{
			Name: PolicyName, Capped: "size=4/16", Pool: "cpu=4 (2 nodes)", Ready: "True", Reason: "Planned",
			Tiers: []timeline.PolicyTier{
				{HPA: "inspector", Demand: 16, Grant: 16, MaxReplicas: 16, UserMax: 16, Held: true},
				{HPA: "size", Demand: 16, Grant: 4, MaxReplicas: 4, UserMax: 16, Capped: true},
			},
		},
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("observe (-want +got):\n%s", diff)
	}
	names, err := o.RunningPods(context.Background(), "size")
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff([]string{"s-1", "s-3"}, names); diff != "" {
		t.Errorf("RunningPods(size) (-want +got):\n%s", diff)
	}
}

func TestObserveReportsWhatIsMissing(t *testing.T) {
	scheme := runtime.NewScheme()
	o := &observer{
		sqs:       &fakeQueues{attrs: map[string]map[string]string{"u": {"ApproximateNumberOfMessages": "x", "ApproximateNumberOfMessagesNotVisible": "1"}}},
		kube:      fake.NewClientset(hpa("inspector", 1, 1, 16, map[string]string{v1alpha1.AnnotationUserMaxReplicas: "lots"})),
		dyn:       dynamicfake.NewSimpleDynamicClientWithCustomListKinds(scheme, map[schema.GroupVersionResource]string{policyGVR: "PriorityPolicyList"}),
		namespace: Namespace, policy: PolicyName,
		tiers:     Microbadger()[:1],
		queueURLs: map[string]string{"inspection": "u"},
	}
	got := o.observe(context.Background())
	for what, err := range map[string]string{
		"queue":  got.Queues[0].Err,
		"hpa":    got.HPAs[0].Err,
		"pods":   got.Tiers[0].Err,
		"policy": got.Policy.Err,
	} {
		if err == "" {
			t.Errorf("%s: no error reported in %+v", what, got)
		}
	}
	if got.Queues[0].Visible != 0 || got.Queues[0].InFlight != 0 {
		t.Errorf("an unreadable queue carries numbers: %+v", got.Queues[0])
	}
}
