package controller

import (
	"context"
	"fmt"

	autoscalingv2 "k8s.io/api/autoscaling/v2"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/equality"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/builder"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/event"
	"sigs.k8s.io/controller-runtime/pkg/handler"
	"sigs.k8s.io/controller-runtime/pkg/predicate"
	"sigs.k8s.io/controller-runtime/pkg/reconcile"

	"github.com/queuescale/queuescale/coordinator/api/v1alpha1"
	"github.com/queuescale/queuescale/coordinator/capacity"
)

// IndexPodsByNode extracts spec.nodeName for PodNodeNameIndex.
func IndexPodsByNode(o client.Object) []string {
	if n := o.(*corev1.Pod).Spec.NodeName; n != "" {
		return []string{n}
	}
	return nil
}

// SetupWithManager registers the controller: policies, their HPAs, and the
// nodes and pods of their pools trigger a re-plan.
func (r *Reconciler) SetupWithManager(ctx context.Context, mgr ctrl.Manager) error {
	if err := mgr.GetFieldIndexer().IndexField(ctx, &corev1.Pod{}, PodNodeNameIndex, IndexPodsByNode); err != nil {
		return fmt.Errorf("index pods by node: %w", err)
	}
	policyChanged := predicate.Or(predicate.GenerationChangedPredicate{}, predicate.Funcs{
		UpdateFunc: func(e event.UpdateEvent) bool {
			return !e.ObjectNew.GetDeletionTimestamp().Equal(e.ObjectOld.GetDeletionTimestamp())
		},
	})
	return ctrl.NewControllerManagedBy(mgr).
		Named("prioritypolicy").
		For(&v1alpha1.PriorityPolicy{}, builder.WithPredicates(policyChanged)).
		Watches(&autoscalingv2.HorizontalPodAutoscaler{}, handler.EnqueueRequestsFromMapFunc(r.PoliciesForHPA), builder.WithPredicates(predicate.Funcs{UpdateFunc: hpaChanged})).
		Watches(&corev1.Node{}, handler.EnqueueRequestsFromMapFunc(r.PoliciesForNode), builder.WithPredicates(predicate.Funcs{UpdateFunc: nodeChanged})).
		Watches(&corev1.Pod{}, handler.EnqueueRequestsFromMapFunc(r.PoliciesForPod), builder.WithPredicates(predicate.Funcs{UpdateFunc: podChanged})).
		Complete(r)
}

// hpaChanged passes HPA updates that can change a plan: spec, the
// coordinator's annotations, or the replicas the HPA wants.
func hpaChanged(e event.UpdateEvent) bool {
	o, n := e.ObjectOld.(*autoscalingv2.HorizontalPodAutoscaler), e.ObjectNew.(*autoscalingv2.HorizontalPodAutoscaler)
	return !equality.Semantic.DeepEqual(o.Spec, n.Spec) || !equality.Semantic.DeepEqual(o.Annotations, n.Annotations) ||
		o.Status.DesiredReplicas != n.Status.DesiredReplicas || o.Status.CurrentReplicas != n.Status.CurrentReplicas
}

// nodeChanged ignores heartbeats: only labels, allocatable, cordoning and
// readiness matter to a pool.
func nodeChanged(e event.UpdateEvent) bool {
	o, n := e.ObjectOld.(*corev1.Node), e.ObjectNew.(*corev1.Node)
	return !equality.Semantic.DeepEqual(o.Labels, n.Labels) || !equality.Semantic.DeepEqual(o.Status.Allocatable, n.Status.Allocatable) ||
		o.Spec.Unschedulable != n.Spec.Unschedulable || capacity.Schedulable(o) != capacity.Schedulable(n)
}

// podChanged passes pod updates that move requests in or out of a pool.
func podChanged(e event.UpdateEvent) bool {
	o, n := e.ObjectOld.(*corev1.Pod), e.ObjectNew.(*corev1.Pod)
	return o.Spec.NodeName != n.Spec.NodeName || o.Status.Phase != n.Status.Phase || podReady(o) != podReady(n) ||
		!o.DeletionTimestamp.Equal(n.DeletionTimestamp)
}

// PoliciesForHPA maps an HPA to the policies naming it or holding its cap.
func (r *Reconciler) PoliciesForHPA(ctx context.Context, o client.Object) []reconcile.Request {
	var list v1alpha1.PriorityPolicyList
	if err := r.Client.List(ctx, &list, client.InNamespace(o.GetNamespace())); err != nil {
		ctrl.LoggerFrom(ctx).Error(err, "list PriorityPolicies for an HPA event; the periodic re-plan will catch up", "hpa", klogRef(o))
		return nil
	}
	by := o.GetAnnotations()[v1alpha1.AnnotationCappedBy]
	var reqs []reconcile.Request
	for _, p := range list.Items {
		match := p.Name == by
		for _, t := range p.Spec.Tiers {
			match = match || t.HPA == o.GetName()
		}
		if match {
			reqs = append(reqs, reconcile.Request{NamespacedName: client.ObjectKeyFromObject(&p)})
		}
	}
	return reqs
}

// PoliciesForNode maps a node to the policies whose pool selects it.
func (r *Reconciler) PoliciesForNode(ctx context.Context, o client.Object) []reconcile.Request {
	return r.policiesSelecting(ctx, labels.Set(o.GetLabels()))
}

// PoliciesForPod maps a pod bound to a node to the policies whose pool
// selects that node.
func (r *Reconciler) PoliciesForPod(ctx context.Context, o client.Object) []reconcile.Request {
	name := o.(*corev1.Pod).Spec.NodeName
	if name == "" {
		return nil
	}
	var node corev1.Node
	if err := r.Client.Get(ctx, client.ObjectKey{Name: name}, &node); err != nil {
		return nil // a node not yet in the cache brings its own event
	}
	return r.policiesSelecting(ctx, labels.Set(node.Labels))
}

func (r *Reconciler) policiesSelecting(ctx context.Context, nodeLabels labels.Set) []reconcile.Request {
	var list v1alpha1.PriorityPolicyList
	if err := r.Client.List(ctx, &list); err != nil {
		ctrl.LoggerFrom(ctx).Error(err, "list PriorityPolicies for a node or pod event; the periodic re-plan will catch up")
		return nil
	}
	var reqs []reconcile.Request
	for _, p := range list.Items {
		if p.Spec.Capacity.NodeSelector == nil {
			continue
		}
		s, err := metav1.LabelSelectorAsSelector(p.Spec.Capacity.NodeSelector)
		if err != nil || !s.Matches(nodeLabels) {
			continue
		}
		reqs = append(reqs, reconcile.Request{NamespacedName: client.ObjectKeyFromObject(&p)})
	}
	return reqs
}
