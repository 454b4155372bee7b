// Package hpacalc is the HorizontalPodAutoscaler controller's replica
// arithmetic for External metrics, written to match upstream Kubernetes
// (pkg/controller/podautoscaler/replica_calculator.go, v1.37). The
// coordinator uses it to predict what an HPA will want; the simulator uses it
// to play the HPA controller. It is pure: no I/O, no clock.
package hpacalc

import "math"

// DefaultTolerance is the controller's default --horizontal-pod-autoscaler-tolerance.
const DefaultTolerance = 0.1

// Tolerance is the band around a usage ratio of 1.0 in which the controller
// keeps the current replica count.
type Tolerance struct {
	ScaleDown, ScaleUp float64
}

// Default is the upstream default tolerance in both directions.
var Default = Tolerance{ScaleDown: DefaultTolerance, ScaleUp: DefaultTolerance}

// within reports whether ratio is inside the band. NaN (0/0) is not.
func (t Tolerance) within(ratio float64) bool {
	return (1.0-t.ScaleDown) <= ratio && ratio <= (1.0+t.ScaleUp)
}

// AverageValueReplicas is the replica count for an External metric with an
// AverageValue target: the metric total divided by the per-pod target, unless
// the change is within tolerance of the current replicas. Values are in
// milli-units, as the controller reads them (Quantity.MilliValue).
func AverageValueReplicas(current int32, usageMilli, targetPerPodMilli int64, tol Tolerance) int32 {
	ratio := float64(usageMilli) / (float64(targetPerPodMilli) * float64(current))
	if tol.within(ratio) {
		return current
	}
	return int32(math.Ceil(float64(usageMilli) / float64(targetPerPodMilli)))
}

// ValueReplicas is the replica count for an External metric with a Value
// target. readyPods is the number of ready pods of the target (upstream
// multiplies the usage ratio by it); with zero current replicas the ratio
// alone is the answer.
func ValueReplicas(current, readyPods int32, usageMilli, targetMilli int64, tol Tolerance) int32 {
	ratio := float64(usageMilli) / float64(targetMilli)
	if current == 0 {
		return int32(math.Ceil(ratio))
	}
	if tol.within(ratio) {
		return current
	}
	return int32(math.Ceil(ratio * float64(readyPods)))
}
