package demand

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	autoscalingv2 "k8s.io/api/autoscaling/v2"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"

	"github.com/queuescale/queuescale/coordinator/api/v1alpha1"
	"github.com/queuescale/queuescale/hpacalc"
)

// fakeMetrics answers metric{selector} from a table; absent keys fail.
type fakeMetrics map[string]int64

var _ MetricsSource = fakeMetrics(nil)

func (f fakeMetrics) ExternalMetricMilli(_ context.Context, _, name string, selector labels.Selector) (int64, error) {
	v, ok := f[name+"{"+selector.String()+"}"]
	if !ok {
		return 0, errors.New("the server is currently unable to handle the request")
	}
	return v, nil
}

func external(name, queue string, target autoscalingv2.MetricTarget) autoscalingv2.MetricSpec {
	return autoscalingv2.MetricSpec{Type: autoscalingv2.ExternalMetricSourceType, External: &autoscalingv2.ExternalMetricSource{
		Metric: autoscalingv2.MetricIdentifier{Name: name, Selector: &metav1.LabelSelector{MatchLabels: map[string]string{"queue": queue}}},
		Target: target,
	}}
}

func avg(v int64) autoscalingv2.MetricTarget {
	return autoscalingv2.MetricTarget{Type: autoscalingv2.AverageValueMetricType, AverageValue: resource.NewQuantity(v, resource.DecimalSI)}
}

func value(v int64) autoscalingv2.MetricTarget {
	return autoscalingv2.MetricTarget{Type: autoscalingv2.ValueMetricType, Value: resource.NewQuantity(v, resource.DecimalSI)}
}

func TestDesired(t *testing.T) {
	metrics := fakeMetrics{
		"sqs_backlog{queue=inspection}": 28_000,
		"sqs_backlog{queue=size}":       100_000,
		"sqs_backlog{queue=empty}":      0,
		"latency{queue=inspection}":     30_000,
	}
	tests := []struct {
		name    string
		metrics []autoscalingv2.MetricSpec
		target  Target
		status  int32
		want    Result
		wantMsg string
	}{
		{name: "average value", metrics: []autoscalingv2.MetricSpec{external("sqs_backlog", "inspection", avg(2))}, target: Target{Replicas: 1},
			want: Result{Replicas: 14, Source: v1alpha1.DemandSourceMetrics}},
		{name: "within tolerance keeps current", metrics: []autoscalingv2.MetricSpec{external("sqs_backlog", "inspection", avg(2))}, target: Target{Replicas: 15},
			want: Result{Replicas: 15, Source: v1alpha1.DemandSourceMetrics}},
		{name: "empty queue", metrics: []autoscalingv2.MetricSpec{external("sqs_backlog", "empty", avg(2))}, target: Target{Replicas: 4},
			want: Result{Replicas: 0, Source: v1alpha1.DemandSourceMetrics}},
		{name: "value target scales ready pods", metrics: []autoscalingv2.MetricSpec{external("latency", "inspection", value(10))}, target: Target{Replicas: 4, ReadyPods: 2},
			want: Result{Replicas: 6, Source: v1alpha1.DemandSourceMetrics}},
		{name: "max over metrics", metrics: []autoscalingv2.MetricSpec{external("sqs_backlog", "inspection", avg(2)), external("sqs_backlog", "size", avg(5))}, target: Target{Replicas: 1},
			want: Result{Replicas: 20, Source: v1alpha1.DemandSourceMetrics}},
		{name: "unreadable metric falls back to status", metrics: []autoscalingv2.MetricSpec{external("sqs_backlog", "gone", avg(2))}, target: Target{Replicas: 3}, status: 7,
			want: Result{Replicas: 7, Source: v1alpha1.DemandSourceStatus}, wantMsg: "unable to handle the request"},
		{name: "one unreadable of two falls back", metrics: []autoscalingv2.MetricSpec{external("sqs_backlog", "size", avg(5)), external("sqs_backlog", "gone", avg(2))}, target: Target{Replicas: 3}, status: 9,
			want: Result{Replicas: 9, Source: v1alpha1.DemandSourceStatus}, wantMsg: "spec.metrics[1]"},
		{name: "resource metric falls back", metrics: []autoscalingv2.MetricSpec{{Type: autoscalingv2.ResourceMetricSourceType}}, status: 2,
			want: Result{Replicas: 2, Source: v1alpha1.DemandSourceStatus}, wantMsg: "metric type Resource"},
		{name: "no metrics falls back", status: 3, want: Result{Replicas: 3, Source: v1alpha1.DemandSourceStatus}, wantMsg: "no metrics"},
	}
	e := &Estimator{Metrics: metrics, Tolerance: hpacalc.Default}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			hpa := &autoscalingv2.HorizontalPodAutoscaler{
				ObjectMeta: metav1.ObjectMeta{Namespace: "ns", Name: "h"},
				Spec:       autoscalingv2.HorizontalPodAutoscalerSpec{Metrics: tt.metrics},
				Status:     autoscalingv2.HorizontalPodAutoscalerStatus{DesiredReplicas: tt.status},
			}
			got := e.Desired(context.Background(), hpa, tt.target)
			if !strings.Contains(got.Message, tt.wantMsg) {
				t.Errorf("message %q, want it to contain %q", got.Message, tt.wantMsg)
			}
			got.Message = ""
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("Desired() (-want +got):\n%s", diff)
			}
		})
	}
}

func TestHPAToleranceWins(t *testing.T) {
	e := &Estimator{Metrics: fakeMetrics{"sqs_backlog{queue=q}": 24_000}, Tolerance: hpacalc.Default}
	hpa := &autoscalingv2.HorizontalPodAutoscaler{Spec: autoscalingv2.HorizontalPodAutoscalerSpec{
		Metrics:  []autoscalingv2.MetricSpec{external("sqs_backlog", "q", avg(2))},
		Behavior: &autoscalingv2.HorizontalPodAutoscalerBehavior{ScaleUp: &autoscalingv2.HPAScalingRules{Tolerance: resource.NewMilliQuantity(300, resource.DecimalSI)}},
	}}
	// 24 / (2 × 10) = 1.2: outside the default 10%, inside the HPA's own 30%.
	if got := e.Desired(context.Background(), hpa, Target{Replicas: 10}); got.Replicas != 10 {
		t.Errorf("Desired() = %+v, want 10 (within the HPA's scale-up tolerance)", got)
	}
}
