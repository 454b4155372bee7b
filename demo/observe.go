package demo

import (
	"context"
	"fmt"
	"strconv"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	sqstypes "github.com/aws/aws-sdk-go-v2/service/sqs/types"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/kubernetes"

	"github.com/queuescale/queuescale/coordinator/api/v1alpha1"
	"github.com/queuescale/queuescale/demo/load"
	"github.com/queuescale/queuescale/demo/timeline"
)

// QueueReader is the part of SQS the observer uses.
type QueueReader interface {
	GetQueueAttributes(ctx context.Context, in *sqs.GetQueueAttributesInput, optFns ...func(*sqs.Options)) (*sqs.GetQueueAttributesOutput, error)
}

var _ QueueReader = (*sqs.Client)(nil)

// observer reads everything the view shows.
type observer struct {
	sqs       QueueReader
	kube      kubernetes.Interface
	dyn       dynamic.Interface
	namespace string
	policy    string
	tiers     []TierSpec
	queueURLs map[string]string
}

var policyGVR = v1alpha1.GroupVersion.WithResource("prioritypolicies")

// observe takes one snapshot; each part that fails carries its error.
func (o *observer) observe(ctx context.Context) timeline.Snapshot {
	var s timeline.Snapshot
	for _, t := range o.tiers {
		s.Queues = append(s.Queues, o.queue(ctx, t.Queue))
	}
	for _, t := range o.tiers {
		s.HPAs = append(s.HPAs, o.hpa(ctx, t.HPA))
		s.Tiers = append(s.Tiers, o.pods(ctx, t.Deployment))
	}
	s.Policy = o.readPolicy(ctx)
	return s
}

func (o *observer) queue(ctx context.Context, name string) timeline.Queue {
	q := timeline.Queue{Name: name}
	out, err := o.sqs.GetQueueAttributes(ctx, &sqs.GetQueueAttributesInput{
		QueueUrl: aws.String(o.queueURLs[name]),
		AttributeNames: []sqstypes.QueueAttributeName{
			sqstypes.QueueAttributeNameApproximateNumberOfMessages,
			sqstypes.QueueAttributeNameApproximateNumberOfMessagesNotVisible,
		},
	})
	if err != nil {
		q.Err = fmt.Sprintf("get attributes of queue %s: %v", name, err)
		return q
	}
	v, err1 := strconv.Atoi(out.Attributes[string(sqstypes.QueueAttributeNameApproximateNumberOfMessages)])
	f, err2 := strconv.Atoi(out.Attributes[string(sqstypes.QueueAttributeNameApproximateNumberOfMessagesNotVisible)])
	if err1 != nil || err2 != nil {
		q.Err = fmt.Sprintf("queue %s: attributes are not numbers: %v", name, out.Attributes)
		return q
	}
	q.Visible, q.InFlight = v, f
	return q
}

func (o *observer) hpa(ctx context.Context, name string) timeline.HPA {
	h := timeline.HPA{Name: name}
	obj, err := o.kube.AutoscalingV2().HorizontalPodAutoscalers(o.namespace).Get(ctx, name, metav1.GetOptions{})
	if err != nil {
		h.Err = err.Error()
		return h
	}
	h.Current, h.Desired, h.Max = obj.Status.CurrentReplicas, obj.Status.DesiredReplicas, obj.Spec.MaxReplicas
	h.Min = 1
	if obj.Spec.MinReplicas != nil {
		h.Min = *obj.Spec.MinReplicas
	}
	h.UserMax = h.Max
	if v, ok := obj.Annotations[v1alpha1.AnnotationUserMaxReplicas]; ok {
		n, err := strconv.ParseInt(v, 10, 32)
		if err != nil {
			h.Err = fmt.Sprintf("annotation %s=%q is not a number", v1alpha1.AnnotationUserMaxReplicas, v)
			return h
		}
		h.UserMax = int32(n)
	}
	return h
}

// runningAndPending lists a Deployment's pods.
func (o *observer) listPods(ctx context.Context, deployment string) ([]corev1.Pod, error) {
	d, err := o.kube.AppsV1().Deployments(o.namespace).Get(ctx, deployment, metav1.GetOptions{})
	if err != nil {
		return nil, err
	}
	sel, err := metav1.LabelSelectorAsSelector(d.Spec.Selector)
	if err != nil {
		return nil, fmt.Errorf("deployment %s selector: %w", deployment, err)
	}
	list, err := o.kube.CoreV1().Pods(o.namespace).List(ctx, metav1.ListOptions{LabelSelector: sel.String()})
	if err != nil {
		return nil, fmt.Errorf("list pods of %s: %w", deployment, err)
	}
	return list.Items, nil
}

func running(p *corev1.Pod) bool {
	return p.Status.Phase == corev1.PodRunning && p.DeletionTimestamp == nil
}

func (o *observer) pods(ctx context.Context, deployment string) timeline.Tier {
	t := timeline.Tier{Deployment: deployment}
	pods, err := o.listPods(ctx, deployment)
	if err != nil {
		t.Err = err.Error()
		return t
	}
	for i := range pods {
		switch {
		case running(&pods[i]):
			t.Running++
		case pods[i].Status.Phase == corev1.PodPending && pods[i].DeletionTimestamp == nil:
			t.Pending++
		}
	}
	return t
}

// RunningPods implements load.Pods.
func (o *observer) RunningPods(ctx context.Context, deployment string) ([]string, error) {
	pods, err := o.listPods(ctx, deployment)
	if err != nil {
		return nil, err
	}
	var names []string
	for i := range pods {
		if running(&pods[i]) {
			names = append(names, pods[i].Name)
		}
	}
	return names, nil
}

var _ load.Pods = (*observer)(nil)

func (o *observer) readPolicy(ctx context.Context) timeline.Policy {
	p := timeline.Policy{Name: o.policy}
	u, err := o.dyn.Resource(policyGVR).Namespace(o.namespace).Get(ctx, o.policy, metav1.GetOptions{})
	if err != nil {
		if apierrors.IsNotFound(err) {
			p.Err = fmt.Sprintf("PriorityPolicy %s/%s not found", o.namespace, o.policy)
		} else {
			p.Err = err.Error()
		}
		return p
	}
	var pol v1alpha1.PriorityPolicy
	if err := runtime.DefaultUnstructuredConverter.FromUnstructured(u.Object, &pol); err != nil {
		p.Err = fmt.Sprintf("decode PriorityPolicy: %v", err)
		return p
	}
	st := pol.Status
	p.Capped = st.Capped
	if st.Pool != nil {
		p.Pool = st.Pool.Summary
	}
	for _, c := range st.Conditions {
		if c.Type == v1alpha1.ConditionReady {
			p.Ready, p.Reason, p.Message = string(c.Status), c.Reason, c.Message
		}
	}
	for _, t := range st.Tiers {
		p.Tiers = append(p.Tiers, timeline.PolicyTier{HPA: t.HPA, Demand: t.Demand, Grant: t.Grant, MaxReplicas: t.MaxReplicas, UserMax: t.UserMaxReplicas, Capped: t.Capped,
			Held: t.DemandSource == v1alpha1.DemandSourceHeld})
	}
	return p
}
