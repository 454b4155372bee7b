// Package demand predicts how many replicas a HorizontalPodAutoscaler wants
// now, from its own External metric specs read through the external metrics
// API (the path the HPA controller itself uses, so any provider works) and
// the HPA controller's formula (package hpacalc).
package demand

import (
	"context"
	"errors"
	"fmt"
	"strings"

	autoscalingv2 "k8s.io/api/autoscaling/v2"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/metrics/pkg/client/external_metrics"

	"github.com/queuescale/queuescale/coordinator/api/v1alpha1"
	"github.com/queuescale/queuescale/hpacalc"
)

// MetricsSource reads one External metric: the sum of the values the
// external metrics API returns for name and selector in namespace, in
// milli-units (as the HPA controller adds them up). An empty answer is an
// error, never zero.
type MetricsSource interface {
	ExternalMetricMilli(ctx context.Context, namespace, name string, selector labels.Selector) (int64, error)
}

// APISource reads External metrics from the external.metrics.k8s.io API
// through the aggregator.
type APISource struct {
	Client external_metrics.ExternalMetricsClient
}

var _ MetricsSource = (*APISource)(nil)

// ExternalMetricMilli implements MetricsSource. The client library takes no
// context; bound the call with the rest.Config's Timeout.
func (s *APISource) ExternalMetricMilli(_ context.Context, namespace, name string, selector labels.Selector) (int64, error) {
	list, err := s.Client.NamespacedMetrics(namespace).List(name, selector)
	if err != nil {
		return 0, fmt.Errorf("read external metric %q{%s} in namespace %q: %w", name, selector, namespace, err)
	}
	if len(list.Items) == 0 {
		return 0, fmt.Errorf("read external metric %q{%s} in namespace %q: no metrics returned from the external metrics API", name, selector, namespace)
	}
	var sum int64
	for _, item := range list.Items {
		sum += item.Value.MilliValue()
	}
	return sum, nil
}

// Result is a predicted replica count and where it came from.
type Result struct {
	// Replicas is what the HPA would want before clamping to its
	// minReplicas and maxReplicas.
	Replicas int32
	// Source is v1alpha1.DemandSourceMetrics or v1alpha1.DemandSourceStatus.
	Source string
	// Message explains a Status fallback.
	Message string
}

// Target is what the estimator needs to know about the HPA's scale target.
type Target struct {
	// Replicas is the scale target's spec.replicas (the HPA's current
	// replica count).
	Replicas int32
	// ReadyPods counts the target's Running and Ready pods (used by Value
	// targets, as upstream does).
	ReadyPods int32
}

// Estimator predicts HPA demand.
type Estimator struct {
	Metrics MetricsSource
	// Tolerance is the HPA controller's tolerance (hpacalc.Default unless
	// the cluster's controller-manager is configured otherwise). An HPA's
	// own spec.behavior tolerances take precedence.
	Tolerance hpacalc.Tolerance
}

// Desired predicts what hpa wants now: the largest of its External metrics'
// replica counts. When a metric cannot be read or is not an External metric
// with a Value or AverageValue target, it falls back to the HPA's
// status.desiredReplicas and says why.
func (e *Estimator) Desired(ctx context.Context, hpa *autoscalingv2.HorizontalPodAutoscaler, target Target) Result {
	n, err := e.fromMetrics(ctx, hpa, target)
	if err == nil {
		return Result{Replicas: n, Source: v1alpha1.DemandSourceMetrics}
	}
	return Result{Replicas: hpa.Status.DesiredReplicas, Source: v1alpha1.DemandSourceStatus, Message: err.Error()}
}

func (e *Estimator) fromMetrics(ctx context.Context, hpa *autoscalingv2.HorizontalPodAutoscaler, target Target) (int32, error) {
	if len(hpa.Spec.Metrics) == 0 {
		return 0, errors.New("the HPA has no metrics the coordinator can compute (it scales on CPU by default)")
	}
	tol := e.tolerance(hpa)
	var (
		best int32
		errs []error
	)
	for i, m := range hpa.Spec.Metrics {
		n, err := e.metricReplicas(ctx, hpa.Namespace, m, target, tol)
		if err != nil {
			errs = append(errs, fmt.Errorf("spec.metrics[%d]: %w", i, err))
			continue
		}
		best = max(best, n)
	}
	if len(errs) > 0 {
		return 0, errors.Join(errs...)
	}
	return best, nil
}

func (e *Estimator) metricReplicas(ctx context.Context, namespace string, m autoscalingv2.MetricSpec, target Target, tol hpacalc.Tolerance) (int32, error) {
	if m.Type != autoscalingv2.ExternalMetricSourceType || m.External == nil {
		return 0, fmt.Errorf("metric type %s is not computed by the coordinator (only External)", m.Type)
	}
	selector := labels.Everything()
	if m.External.Metric.Selector != nil {
		s, err := metav1.LabelSelectorAsSelector(m.External.Metric.Selector)
		if err != nil {
			return 0, fmt.Errorf("selector of external metric %q: %w", m.External.Metric.Name, err)
		}
		selector = s
	}
	switch t := m.External.Target; {
	case t.Type == autoscalingv2.AverageValueMetricType && t.AverageValue != nil && t.AverageValue.MilliValue() > 0:
		usage, err := e.Metrics.ExternalMetricMilli(ctx, namespace, m.External.Metric.Name, selector)
		if err != nil {
			return 0, err
		}
		return hpacalc.AverageValueReplicas(target.Replicas, usage, t.AverageValue.MilliValue(), tol), nil
	case t.Type == autoscalingv2.ValueMetricType && t.Value != nil && t.Value.MilliValue() > 0:
		usage, err := e.Metrics.ExternalMetricMilli(ctx, namespace, m.External.Metric.Name, selector)
		if err != nil {
			return 0, err
		}
		return hpacalc.ValueReplicas(target.Replicas, target.ReadyPods, usage, t.Value.MilliValue(), tol), nil
	default:
		return 0, fmt.Errorf("external metric %q: target type %s without a positive value is not computed", m.External.Metric.Name, strings.ToLower(string(t.Type)))
	}
}

// tolerance applies the HPA's own spec.behavior tolerances
// (HPAConfigurableTolerance) over the controller-wide default.
func (e *Estimator) tolerance(hpa *autoscalingv2.HorizontalPodAutoscaler) hpacalc.Tolerance {
	tol := e.Tolerance
	if b := hpa.Spec.Behavior; b != nil {
		if b.ScaleUp != nil && b.ScaleUp.Tolerance != nil {
			tol.ScaleUp = b.ScaleUp.Tolerance.AsApproximateFloat64()
		}
		if b.ScaleDown != nil && b.ScaleDown.Tolerance != nil {
			tol.ScaleDown = b.ScaleDown.Tolerance.AsApproximateFloat64()
		}
	}
	return tol
}
