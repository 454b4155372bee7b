// Package controller is the PriorityPolicy controller: it measures each
// policy's pool and its tiers' demand, plans with package plan, and writes
// the lower tiers' HPA maxReplicas (and nothing else).
package controller

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"strings"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	autoscalingv2 "k8s.io/api/autoscaling/v2"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/equality"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/tools/events"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/controller/controllerutil"

	"github.com/queuescale/queuescale/coordinator/api/v1alpha1"
	"github.com/queuescale/queuescale/coordinator/capacity"
	"github.com/queuescale/queuescale/coordinator/demand"
	"github.com/queuescale/queuescale/coordinator/plan"
	"github.com/queuescale/queuescale/coordinator/validation"
)

// DemandEstimator predicts what an HPA wants now.
type DemandEstimator interface {
	Desired(ctx context.Context, hpa *autoscalingv2.HorizontalPodAutoscaler, target demand.Target) demand.Result
}

var _ DemandEstimator = (*demand.Estimator)(nil)

// PodNodeNameIndex is the field index of Pods by spec.nodeName that
// SetupWithManager registers (tests register it on the fake client).
const PodNodeNameIndex = "spec.nodeName"

// Reconciler reconciles PriorityPolicies.
type Reconciler struct {
	// Client reads from the cache and writes.
	Client client.Client
	// APIReader reads HPAs straight from the API server before writing them.
	APIReader client.Reader
	Demand    DemandEstimator
	Recorder  events.EventRecorder
	Metrics   *Metrics
	// DryRun writes no HPA for any policy (spec.dryRun does it for one).
	DryRun bool
	// ResyncPeriod re-plans each policy this often, since metrics change
	// without Kubernetes events.
	ResyncPeriod time.Duration
}

// tier is one tier as measured for planning.
type tier struct {
	hpa      *autoscalingv2.HorizontalPodAutoscaler
	min      int32
	userMax  int32
	per      plan.Resources
	selector labels.Selector // the scale target's pods
	target   demand.Target
	demand   demand.Result
}

// problem is why a policy cannot be applied now; nothing is written.
type problem struct {
	reason, message string
}

func (p *problem) Error() string { return p.reason + ": " + p.message }

// Reconcile plans one PriorityPolicy and applies its caps.
func (r *Reconciler) Reconcile(ctx context.Context, req ctrl.Request) (ctrl.Result, error) {
	start := time.Now()
	outcome, requeue, err := r.reconcile(ctx, req)
	r.Metrics.reconcileDuration.Observe(time.Since(start).Seconds())
	r.Metrics.reconciles.WithLabelValues(outcome).Inc()
	if err != nil {
		return ctrl.Result{}, err
	}
	if !requeue {
		return ctrl.Result{}, nil
	}
	return ctrl.Result{RequeueAfter: r.ResyncPeriod}, nil
}

func (r *Reconciler) reconcile(ctx context.Context, req ctrl.Request) (outcome string, requeue bool, err error) {
	log := ctrl.LoggerFrom(ctx)
	var pol v1alpha1.PriorityPolicy
	if err := r.Client.Get(ctx, req.NamespacedName, &pol); err != nil {
		if apierrors.IsNotFound(err) {
			r.Metrics.forget(req.Namespace, req.Name)
			return outcomeSuccess, false, nil
		}
		return outcomeError, false, fmt.Errorf("get PriorityPolicy %s: %w", req.NamespacedName, err)
	}
	if !pol.DeletionTimestamp.IsZero() {
		if err := r.finalize(ctx, &pol); err != nil {
			return outcomeError, false, err
		}
		return outcomeSuccess, false, nil
	}
	if !controllerutil.ContainsFinalizer(&pol, v1alpha1.Finalizer) {
		patch := client.MergeFromWithOptions(pol.DeepCopy(), client.MergeFromWithOptimisticLock{})
		controllerutil.AddFinalizer(&pol, v1alpha1.Finalizer)
		if err := r.Client.Patch(ctx, &pol, patch); err != nil {
			return outcomeError, false, fmt.Errorf("add finalizer to PriorityPolicy %s: %w", req.NamespacedName, err)
		}
		log.V(1).Info("added finalizer", "finalizer", v1alpha1.Finalizer)
	}

	orig := pol.DeepCopy()
	status, applyErr := r.apply(ctx, &pol)
	var prob *problem
	switch {
	case errors.As(applyErr, &prob):
		outcome = outcomeInvalid
		setCondition(&status, pol.Generation, v1alpha1.ConditionReady, metav1.ConditionFalse, prob.reason, prob.message)
		if ready := meta.FindStatusCondition(orig.Status.Conditions, v1alpha1.ConditionReady); ready == nil || ready.Reason != prob.reason || ready.Message != prob.message {
			r.Recorder.Eventf(&pol, nil, corev1.EventTypeWarning, prob.reason, "Plan", "%s; no HPA written", prob.message)
		}
		log.Info("policy cannot be applied; no HPA written", "reason", prob.reason, "message", prob.message)
	case applyErr != nil:
		outcome = outcomeError
		setCondition(&status, pol.Generation, v1alpha1.ConditionReady, metav1.ConditionFalse, v1alpha1.ReasonWriteFailed, applyErr.Error())
	default:
		outcome = outcomeSuccess
	}
	if err := r.writeStatus(ctx, orig, &pol, status); err != nil {
		return outcomeError, false, errors.Join(applyErr, err)
	}
	if outcome == outcomeError {
		return outcome, false, applyErr
	}
	return outcome, true, nil
}

// apply measures, plans and writes the caps. A *problem error means the
// policy cannot be applied; other errors are API failures.
func (r *Reconciler) apply(ctx context.Context, pol *v1alpha1.PriorityPolicy) (v1alpha1.PriorityPolicyStatus, error) {
	log := ctrl.LoggerFrom(ctx)
	status := v1alpha1.PriorityPolicyStatus{
		ObservedGeneration: pol.Generation,
		Conditions:         append([]metav1.Condition(nil), pol.Status.Conditions...),
		Pool:               pol.Status.Pool,
		Tiers:              pol.Status.Tiers,
		TierSummary:        pol.Status.TierSummary,
		Capped:             pol.Status.Capped,
	}
	dryRun := r.DryRun || pol.Spec.DryRun

	if err := validation.Spec(&pol.Spec); err != nil {
		return status, &problem{v1alpha1.ReasonInvalidTiers, err.Error()}
	}
	// HPAs this policy capped that are no longer among its lower tiers (a
	// tier removed or reordered, or spec.dryRun turned on) get their
	// maximum back first, whatever else is wrong.
	if err := r.releaseStale(ctx, pol); err != nil {
		return status, err
	}

	tiers, err := r.loadTiers(ctx, pol)
	if err != nil {
		return status, err
	}
	pool, nodes, err := r.pool(ctx, pol, tiers)
	if err != nil {
		return status, err
	}
	status.Pool = poolStatus(pool, nodes)
	r.Metrics.forget(pol.Namespace, pol.Name)
	setPoolMetrics(r.Metrics, pol, pool)

	input := make([]plan.Tier, len(tiers))
	for i, t := range tiers {
		t.demand = r.Demand.Desired(ctx, t.hpa, t.target)
		// Current: replicas the HPA still holds (during its scale-down
		// stabilization) are room no lower tier can use yet; the planner
		// takes the larger of the two, and the status says when that was
		// the held replicas.
		input[i] = plan.Tier{Name: t.hpa.Name, MinReplicas: t.min, MaxReplicas: t.userMax, Desired: t.demand.Replicas, Current: t.target.Replicas, PerReplica: t.per}
		if t.demand.Source == v1alpha1.DemandSourceMetrics && t.target.Replicas > t.demand.Replicas {
			t.demand.Source = v1alpha1.DemandSourceHeld
			t.demand.Message = fmt.Sprintf("the metrics ask for %d replicas; the scale target keeps %d until the HPA scales down", t.demand.Replicas, t.target.Replicas)
		}
		tiers[i] = t
	}
	p, err := plan.Compute(pool, input)
	if errors.Is(err, plan.ErrMinimumsExceedPool) {
		r.Metrics.minimumsFit.WithLabelValues(pol.Namespace, pol.Name).Set(0)
		return status, &problem{v1alpha1.ReasonMinimumsExceedPool, err.Error()}
	}
	if err != nil {
		return status, &problem{v1alpha1.ReasonInvalidTiers, err.Error()}
	}
	r.Metrics.minimumsFit.WithLabelValues(pol.Namespace, pol.Name).Set(1)

	status.Tiers = make([]v1alpha1.TierStatus, len(tiers))
	var (
		writeErrs []error
		capped    []string
		summary   []string
		reasons   []string
	)
	for i, t := range tiers {
		tp := p.Tiers[i]
		// An HPA's maxReplicas is at least 1, even over a tier with
		// minReplicas 0 that the pool has no room for.
		tp.Cap = max(tp.Cap, 1)
		tp.Capped = tp.Cap < t.userMax
		why := capReason(pool, tiers[:i], p.Tiers[:i])
		written := t.hpa.Spec.MaxReplicas == tp.Cap
		if !dryRun && i > 0 {
			key := client.ObjectKeyFromObject(t.hpa)
			var ch hpaChange
			var err error
			if tp.Capped {
				ch, err = r.updateHPA(ctx, key, func(h *autoscalingv2.HorizontalPodAutoscaler) bool { return setCap(h, tp.Cap, pol.Name) })
			} else {
				ch, err = r.updateHPA(ctx, key, release)
			}
			if err != nil {
				writeErrs = append(writeErrs, fmt.Errorf("set maxReplicas of HPA %s to %d: %w", key, tp.Cap, err))
			} else {
				written = ch.newMax == tp.Cap
				r.reportChange(ctx, pol, ch, tp.Capped, why)
			}
		}
		if !dryRun && i == 0 && carriesCap(t.hpa) {
			// The top tier is never capped; it may carry a cap from when it was lower.
			key := client.ObjectKeyFromObject(t.hpa)
			ch, err := r.updateHPA(ctx, key, release)
			if err != nil {
				writeErrs = append(writeErrs, fmt.Errorf("restore maxReplicas of HPA %s: %w", key, err))
			} else {
				written = ch.newMax == tp.Cap
				r.reportChange(ctx, pol, ch, false, "it is the policy's top tier")
			}
		}
		ts := v1alpha1.TierStatus{
			HPA: t.hpa.Name, MinReplicas: t.min, UserMaxReplicas: t.userMax,
			Demand: tp.Demand, DemandSource: t.demand.Source, DemandMessage: t.demand.Message,
			Grant: tp.Grant, MaxReplicas: tp.Cap, Capped: tp.Capped, Written: written,
			PerReplicaCPU:    resource.NewMilliQuantity(t.per.MilliCPU, resource.DecimalSI),
			PerReplicaMemory: resource.NewQuantity(t.per.MemoryBytes, resource.BinarySI),
		}
		status.Tiers[i] = ts
		summary = append(summary, fmt.Sprintf("%s %d/%d", ts.HPA, ts.Demand, ts.Grant))
		if tp.Capped {
			capped = append(capped, fmt.Sprintf("%s=%d/%d", ts.HPA, tp.Cap, t.userMax))
			reasons = append(reasons, fmt.Sprintf("%s capped to %d of %d: %s", ts.HPA, tp.Cap, t.userMax, why))
		}
		if ts.DemandSource == v1alpha1.DemandSourceStatus {
			log.V(1).Info("demand from HPA status", "hpa", ts.HPA, "why", ts.DemandMessage)
		}
		setTierMetrics(r.Metrics, pol, ts)
	}
	status.TierSummary = strings.Join(summary, ", ")
	status.Capped = "none"
	if len(capped) > 0 {
		status.Capped = strings.Join(capped, ",")
	}
	if dryRun && len(capped) > 0 {
		status.Capped += " (dry-run)"
	}
	if len(capped) > 0 {
		setCondition(&status, pol.Generation, v1alpha1.ConditionCapping, metav1.ConditionTrue, v1alpha1.ReasonTierCapped, strings.Join(reasons, "; "))
	} else {
		setCondition(&status, pol.Generation, v1alpha1.ConditionCapping, metav1.ConditionFalse, v1alpha1.ReasonNothingCapped, "every tier fits under its own maxReplicas")
	}
	if err := errors.Join(writeErrs...); err != nil {
		return status, err
	}
	if dryRun {
		setCondition(&status, pol.Generation, v1alpha1.ConditionReady, metav1.ConditionTrue, v1alpha1.ReasonDryRun, "planned; dry-run writes no HPA")
	} else {
		setCondition(&status, pol.Generation, v1alpha1.ConditionReady, metav1.ConditionTrue, v1alpha1.ReasonPlanned, "planned and applied")
	}
	log.V(1).Info("planned", "pool", pool.String(), "tiers", status.TierSummary, "capped", status.Capped, "dryRun", dryRun)
	return status, nil
}

// capReason says, for a lower tier, what the tiers above it want of the pool.
func capReason(pool plan.Resources, above []tier, planned []plan.TierPlan) string {
	if len(above) == 0 {
		return "top tier"
	}
	var parts []string
	var want plan.Resources
	for i, t := range above {
		d := int64(planned[i].Demand)
		want.MilliCPU += t.per.MilliCPU * d
		want.MemoryBytes += t.per.MemoryBytes * d
		want.Pods += t.per.Pods * d
		verb := "wants"
		if t.demand.Source == v1alpha1.DemandSourceHeld {
			verb = "holds"
		}
		parts = append(parts, fmt.Sprintf("%s %s %d", t.hpa.Name, verb, d))
	}
	return fmt.Sprintf("%s (%s) of pool %s", strings.Join(parts, ", "), want, pool)
}

// reportChange logs and records an Event on the HPA for a write.
func (r *Reconciler) reportChange(ctx context.Context, pol *v1alpha1.PriorityPolicy, ch hpaChange, capped bool, why string) {
	if !ch.changed {
		return
	}
	log := ctrl.LoggerFrom(ctx)
	if capped {
		log.Info("capped HPA", "hpa", klogRef(ch.hpa), "maxReplicas", ch.newMax, "previousMaxReplicas", ch.oldMax, "userMaxReplicas", ch.userMaxAfterWriting, "why", why)
		r.Recorder.Eventf(ch.hpa, pol, corev1.EventTypeNormal, "Capped", "CapMaxReplicas",
			"PriorityPolicy %s set maxReplicas %d→%d (user's maxReplicas %d): %s", pol.Name, ch.oldMax, ch.newMax, ch.userMaxAfterWriting, why)
		return
	}
	log.Info("released HPA", "hpa", klogRef(ch.hpa), "maxReplicas", ch.newMax, "previousMaxReplicas", ch.oldMax, "why", why)
	r.Recorder.Eventf(ch.hpa, pol, corev1.EventTypeNormal, "Released", "RestoreMaxReplicas",
		"PriorityPolicy %s restored the user's maxReplicas %d→%d: %s", pol.Name, ch.oldMax, ch.newMax, why)
}

func klogRef(o client.Object) string { return o.GetNamespace() + "/" + o.GetName() }

// releaseStale restores HPAs capped by pol that are no longer its lower
// tiers. Under --dry-run nothing is written.
func (r *Reconciler) releaseStale(ctx context.Context, pol *v1alpha1.PriorityPolicy) error {
	if r.DryRun {
		return nil
	}
	lower := map[string]bool{}
	if !pol.Spec.DryRun {
		for _, t := range pol.Spec.Tiers[1:] {
			lower[t.HPA] = true
		}
	}
	held, err := r.cappedBy(ctx, pol)
	if err != nil {
		return err
	}
	for _, h := range held {
		if lower[h.Name] {
			continue
		}
		why := "the HPA is no longer a lower tier of the policy"
		if pol.Spec.DryRun {
			why = "the policy is in dry-run"
		}
		ch, err := r.updateHPA(ctx, client.ObjectKeyFromObject(h), release)
		if err != nil && !apierrors.IsNotFound(err) {
			return fmt.Errorf("restore maxReplicas of HPA %s: %w", klogRef(h), err)
		}
		r.reportChange(ctx, pol, ch, false, why)
	}
	return nil
}

// cappedBy lists the HPAs in pol's namespace that carry pol's cap.
func (r *Reconciler) cappedBy(ctx context.Context, pol *v1alpha1.PriorityPolicy) ([]*autoscalingv2.HorizontalPodAutoscaler, error) {
	var list autoscalingv2.HorizontalPodAutoscalerList
	if err := r.Client.List(ctx, &list, client.InNamespace(pol.Namespace)); err != nil {
		return nil, fmt.Errorf("list HPAs in namespace %s: %w", pol.Namespace, err)
	}
	var out []*autoscalingv2.HorizontalPodAutoscaler
	for i := range list.Items {
		if list.Items[i].Annotations[v1alpha1.AnnotationCappedBy] == pol.Name {
			out = append(out, &list.Items[i])
		}
	}
	return out, nil
}

// finalize restores every HPA the policy capped, then lets it go.
func (r *Reconciler) finalize(ctx context.Context, pol *v1alpha1.PriorityPolicy) error {
	if !controllerutil.ContainsFinalizer(pol, v1alpha1.Finalizer) {
		return nil
	}
	if !r.DryRun {
		held, err := r.cappedBy(ctx, pol)
		if err != nil {
			return err
		}
		for _, h := range held {
			ch, err := r.updateHPA(ctx, client.ObjectKeyFromObject(h), release)
			if err != nil && !apierrors.IsNotFound(err) {
				return fmt.Errorf("restore maxReplicas of HPA %s before deleting PriorityPolicy %s: %w", klogRef(h), pol.Name, err)
			}
			r.reportChange(ctx, pol, ch, false, "the policy is being deleted")
		}
	}
	patch := client.MergeFromWithOptions(pol.DeepCopy(), client.MergeFromWithOptimisticLock{})
	controllerutil.RemoveFinalizer(pol, v1alpha1.Finalizer)
	if err := r.Client.Patch(ctx, pol, patch); err != nil && !apierrors.IsNotFound(err) {
		return fmt.Errorf("remove finalizer from PriorityPolicy %s: %w", klogRef(pol), err)
	}
	r.Metrics.forget(pol.Namespace, pol.Name)
	ctrl.LoggerFrom(ctx).Info("policy deleted; user maxReplicas restored")
	return nil
}

// loadTiers reads each tier's HPA and scale target. Problems only the
// cluster can tell (missing HPA or target, an HPA in two policies) come back
// as a *problem naming all of them.
func (r *Reconciler) loadTiers(ctx context.Context, pol *v1alpha1.PriorityPolicy) ([]tier, error) {
	var others v1alpha1.PriorityPolicyList
	if err := r.Client.List(ctx, &others, client.InNamespace(pol.Namespace)); err != nil {
		return nil, fmt.Errorf("list PriorityPolicies in namespace %s: %w", pol.Namespace, err)
	}
	claimed := map[string][]string{}
	for _, o := range others.Items {
		if o.Name == pol.Name || !o.DeletionTimestamp.IsZero() {
			continue
		}
		for _, t := range o.Spec.Tiers {
			claimed[t.HPA] = append(claimed[t.HPA], o.Name)
		}
	}

	var (
		tiers                  []tier
		missing, shared, other []string
	)
	for _, spec := range pol.Spec.Tiers {
		if names := claimed[spec.HPA]; len(names) > 0 {
			sort.Strings(names)
			shared = append(shared, fmt.Sprintf("HPA %q is also a tier of PriorityPolicy %s", spec.HPA, strings.Join(names, ", ")))
		}
		var hpa autoscalingv2.HorizontalPodAutoscaler
		if err := r.Client.Get(ctx, types.NamespacedName{Namespace: pol.Namespace, Name: spec.HPA}, &hpa); err != nil {
			if apierrors.IsNotFound(err) {
				missing = append(missing, fmt.Sprintf("HPA %q not found in namespace %s", spec.HPA, pol.Namespace))
				continue
			}
			return nil, fmt.Errorf("get HPA %s/%s: %w", pol.Namespace, spec.HPA, err)
		}
		t, err := r.loadTarget(ctx, &hpa)
		var prob *problem
		if errors.As(err, &prob) {
			other = append(other, prob.message)
			continue
		}
		if err != nil {
			return nil, err
		}
		tiers = append(tiers, t)
	}
	switch {
	case len(missing) > 0:
		return nil, &problem{v1alpha1.ReasonHPANotFound, strings.Join(append(missing, shared...), "; ")}
	case len(shared) > 0:
		return nil, &problem{v1alpha1.ReasonHPAInTwoPolicies, strings.Join(shared, "; ")}
	case len(other) > 0:
		return nil, &problem{v1alpha1.ReasonScaleTargetError, strings.Join(other, "; ")}
	}
	return tiers, nil
}

// loadTarget reads an HPA's scale target: per-replica requests, pod
// selector, current replicas and ready pods.
func (r *Reconciler) loadTarget(ctx context.Context, hpa *autoscalingv2.HorizontalPodAutoscaler) (tier, error) {
	ref := hpa.Spec.ScaleTargetRef
	key := types.NamespacedName{Namespace: hpa.Namespace, Name: ref.Name}
	var (
		template *corev1.PodTemplateSpec
		sel      *metav1.LabelSelector
		replicas *int32
	)
	group := ref.APIVersion
	if i := strings.Index(group, "/"); i >= 0 {
		group = group[:i]
	}
	switch {
	case group == "apps" && ref.Kind == "Deployment":
		var d appsv1.Deployment
		if err := r.Client.Get(ctx, key, &d); err != nil {
			return tier{}, targetErr(hpa, err)
		}
		template, sel, replicas = &d.Spec.Template, d.Spec.Selector, d.Spec.Replicas
	case group == "apps" && ref.Kind == "StatefulSet":
		var s appsv1.StatefulSet
		if err := r.Client.Get(ctx, key, &s); err != nil {
			return tier{}, targetErr(hpa, err)
		}
		template, sel, replicas = &s.Spec.Template, s.Spec.Selector, s.Spec.Replicas
	default:
		return tier{}, &problem{v1alpha1.ReasonScaleTargetError, fmt.Sprintf("HPA %q scales %s %s/%s; only apps/v1 Deployments and StatefulSets are supported", hpa.Name, ref.APIVersion, ref.Kind, ref.Name)}
	}
	selector, err := metav1.LabelSelectorAsSelector(sel)
	if err != nil || selector.Empty() {
		return tier{}, &problem{v1alpha1.ReasonScaleTargetError, fmt.Sprintf("HPA %q: %s %s has no usable pod selector", hpa.Name, ref.Kind, ref.Name)}
	}
	current := int32(1)
	if replicas != nil {
		current = *replicas
	}
	var pods corev1.PodList
	if err := r.Client.List(ctx, &pods, client.InNamespace(hpa.Namespace), client.MatchingLabelsSelector{Selector: selector}, client.UnsafeDisableDeepCopy); err != nil {
		return tier{}, fmt.Errorf("list pods of %s %s/%s: %w", ref.Kind, hpa.Namespace, ref.Name, err)
	}
	var ready int32
	for i := range pods.Items {
		if podReady(&pods.Items[i]) {
			ready++
		}
	}
	return tier{
		hpa:      hpa,
		min:      MinReplicas(hpa),
		userMax:  UserMaxReplicas(hpa),
		per:      capacity.PodRequests(&template.Spec),
		selector: selector,
		target:   demand.Target{Replicas: current, ReadyPods: ready},
	}, nil
}

func targetErr(hpa *autoscalingv2.HorizontalPodAutoscaler, err error) error {
	ref := hpa.Spec.ScaleTargetRef
	if apierrors.IsNotFound(err) {
		return &problem{v1alpha1.ReasonScaleTargetError, fmt.Sprintf("HPA %q: scale target %s %s not found", hpa.Name, ref.Kind, ref.Name)}
	}
	return fmt.Errorf("get scale target %s %s/%s of HPA %s: %w", ref.Kind, hpa.Namespace, ref.Name, hpa.Name, err)
}

func podReady(p *corev1.Pod) bool {
	if p.Status.Phase != corev1.PodRunning || !p.DeletionTimestamp.IsZero() {
		return false
	}
	for _, c := range p.Status.Conditions {
		if c.Type == corev1.PodReady {
			return c.Status == corev1.ConditionTrue
		}
	}
	return false
}

// pool measures the policy's capacity.
func (r *Reconciler) pool(ctx context.Context, pol *v1alpha1.PriorityPolicy, tiers []tier) (plan.Resources, int32, error) {
	if b := pol.Spec.Capacity.Budget; b != nil {
		return capacity.Budget(b), 0, nil
	}
	selector, err := metav1.LabelSelectorAsSelector(pol.Spec.Capacity.NodeSelector)
	if err != nil {
		return plan.Resources{}, 0, &problem{v1alpha1.ReasonInvalidTiers, fmt.Sprintf("spec.capacity.nodeSelector: %v", err)}
	}
	var nodes corev1.NodeList
	// Nodes and pods are only read: skip the cache's deep copies, the bulk
	// of a reconcile's cost over hundreds of nodes.
	if err := r.Client.List(ctx, &nodes, client.MatchingLabelsSelector{Selector: selector}, client.UnsafeDisableDeepCopy); err != nil {
		return plan.Resources{}, 0, fmt.Errorf("list nodes matching %s: %w", selector, err)
	}
	ptrs := make([]*corev1.Node, len(nodes.Items))
	for i := range nodes.Items {
		ptrs[i] = &nodes.Items[i]
	}
	var listErr error
	podsOn := func(node string) []*corev1.Pod {
		var pods corev1.PodList
		if err := r.Client.List(ctx, &pods, client.MatchingFields{PodNodeNameIndex: node}, client.UnsafeDisableDeepCopy); err != nil {
			listErr = errors.Join(listErr, fmt.Errorf("list pods on node %s: %w", node, err))
			return nil
		}
		out := make([]*corev1.Pod, len(pods.Items))
		for i := range pods.Items {
			out[i] = &pods.Items[i]
		}
		return out
	}
	isTier := func(p *corev1.Pod) bool {
		if p.Namespace != pol.Namespace {
			return false
		}
		set := labels.Set(p.Labels)
		for _, t := range tiers {
			if t.selector.Matches(set) {
				return true
			}
		}
		return false
	}
	res, count := capacity.Pool(ptrs, podsOn, isTier)
	if listErr != nil {
		// A pool we could not measure is an error, never an empty pool.
		return plan.Resources{}, 0, listErr
	}
	return res, count, nil
}

func poolStatus(p plan.Resources, nodes int32) *v1alpha1.PoolStatus {
	s := &v1alpha1.PoolStatus{Nodes: nodes}
	var parts []string
	if p.MilliCPU != plan.Unlimited {
		s.CPU = resource.NewMilliQuantity(p.MilliCPU, resource.DecimalSI)
		parts = append(parts, "cpu="+s.CPU.String())
	}
	if p.MemoryBytes != plan.Unlimited {
		s.Memory = resource.NewQuantity(p.MemoryBytes, resource.BinarySI)
		parts = append(parts, "memory="+s.Memory.String())
	}
	if p.Pods != plan.Unlimited {
		pods := p.Pods
		s.Pods = &pods
		parts = append(parts, fmt.Sprintf("pods=%d", pods))
	}
	if nodes > 0 {
		parts = append(parts, fmt.Sprintf("(%d nodes)", nodes))
	} else if pods := p.Pods; pods == plan.Unlimited {
		parts = append(parts, "(budget)")
	}
	s.Summary = strings.Join(parts, " ")
	return s
}

func setPoolMetrics(m *Metrics, pol *v1alpha1.PriorityPolicy, p plan.Resources) {
	if p.MilliCPU != plan.Unlimited {
		m.poolCapacity.WithLabelValues(pol.Namespace, pol.Name, "cpu").Set(float64(p.MilliCPU) / 1000)
	}
	if p.MemoryBytes != plan.Unlimited {
		m.poolCapacity.WithLabelValues(pol.Namespace, pol.Name, "memory").Set(float64(p.MemoryBytes))
	}
	if p.Pods != plan.Unlimited {
		m.poolCapacity.WithLabelValues(pol.Namespace, pol.Name, "pods").Set(float64(p.Pods))
	}
}

func setTierMetrics(m *Metrics, pol *v1alpha1.PriorityPolicy, ts v1alpha1.TierStatus) {
	l := []string{pol.Namespace, pol.Name, ts.HPA}
	m.tierDemand.WithLabelValues(l...).Set(float64(ts.Demand))
	m.tierGrant.WithLabelValues(l...).Set(float64(ts.Grant))
	m.tierCap.WithLabelValues(l...).Set(float64(ts.MaxReplicas))
	m.tierUserMax.WithLabelValues(l...).Set(float64(ts.UserMaxReplicas))
	capped := 0.0
	if ts.Capped {
		capped = 1
	}
	m.tierCapped.WithLabelValues(l...).Set(capped)
}

func setCondition(s *v1alpha1.PriorityPolicyStatus, generation int64, typ string, st metav1.ConditionStatus, reason, msg string) {
	meta.SetStatusCondition(&s.Conditions, metav1.Condition{Type: typ, Status: st, Reason: reason, Message: msg, ObservedGeneration: generation})
}

// writeStatus patches the status when it changed.
func (r *Reconciler) writeStatus(ctx context.Context, orig, pol *v1alpha1.PriorityPolicy, status v1alpha1.PriorityPolicyStatus) error {
	if equality.Semantic.DeepEqual(orig.Status, status) {
		return nil
	}
	pol.Status = status
	if err := r.Client.Status().Patch(ctx, pol, client.MergeFrom(orig)); err != nil {
		if apierrors.IsNotFound(err) {
			return nil
		}
		return fmt.Errorf("update status of PriorityPolicy %s: %w", klogRef(pol), err)
	}
	return nil
}
