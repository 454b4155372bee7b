// Package capacity measures what a PriorityPolicy's tiers may share: the
// allocatable resources of a pool of nodes less what other pods request, or
// a fixed budget. It is pure: callers pass the objects in.
package capacity

import (
	corev1 "k8s.io/api/core/v1"

	"github.com/queuescale/queuescale/coordinator/api/v1alpha1"
	"github.com/queuescale/queuescale/coordinator/plan"
)

// PodRequests is what the scheduler reserves for one pod of spec: for CPU
// and memory, the larger of the regular containers plus restartable init
// containers (sidecars) and the peak of any init container (with the
// sidecars started before it), plus the pod overhead; and one pod.
func PodRequests(spec *corev1.PodSpec) plan.Resources {
	var r plan.Resources
	for _, name := range []corev1.ResourceName{corev1.ResourceCPU, corev1.ResourceMemory} {
		get := func(rl corev1.ResourceList) int64 {
			q, ok := rl[name]
			if !ok {
				return 0
			}
			if name == corev1.ResourceCPU {
				return q.MilliValue()
			}
			return q.Value()
		}
		var containers, sidecars, initPeak int64
		for _, c := range spec.Containers {
			containers += get(c.Resources.Requests)
		}
		for _, c := range spec.InitContainers {
			req := get(c.Resources.Requests)
			if c.RestartPolicy != nil && *c.RestartPolicy == corev1.ContainerRestartPolicyAlways {
				sidecars += req
				initPeak = max(initPeak, sidecars)
				continue
			}
			initPeak = max(initPeak, sidecars+req)
		}
		total := max(containers+sidecars, initPeak) + get(spec.Overhead)
		if name == corev1.ResourceCPU {
			r.MilliCPU = total
		} else {
			r.MemoryBytes = total
		}
	}
	r.Pods = 1
	return r
}

// Schedulable reports whether node takes new pods: Ready and not cordoned.
func Schedulable(node *corev1.Node) bool {
	if node.Spec.Unschedulable {
		return false
	}
	for _, c := range node.Status.Conditions {
		if c.Type == corev1.NodeReady {
			return c.Status == corev1.ConditionTrue
		}
	}
	return false
}

// Terminated reports a pod that no longer holds its requests.
func Terminated(pod *corev1.Pod) bool {
	return pod.Status.Phase == corev1.PodSucceeded || pod.Status.Phase == corev1.PodFailed
}

// Pool sums the allocatable cpu, memory and pods of the schedulable nodes
// and subtracts the requests of the non-terminated pods bound to them that
// are not tier pods (isTier reports those). It returns the pool and the
// number of nodes counted. Dimensions never go below zero.
func Pool(nodes []*corev1.Node, podsOnNode func(node string) []*corev1.Pod, isTier func(*corev1.Pod) bool) (plan.Resources, int32) {
	var (
		r     plan.Resources
		count int32
	)
	for _, n := range nodes {
		if !Schedulable(n) {
			continue
		}
		count++
		a := n.Status.Allocatable
		r.MilliCPU += a.Cpu().MilliValue()
		r.MemoryBytes += a.Memory().Value()
		r.Pods += a.Pods().Value()
		for _, p := range podsOnNode(n.Name) {
			if Terminated(p) || isTier(p) {
				continue
			}
			req := PodRequests(&p.Spec)
			r.MilliCPU -= req.MilliCPU
			r.MemoryBytes -= req.MemoryBytes
			r.Pods -= req.Pods
		}
	}
	r.MilliCPU, r.MemoryBytes, r.Pods = max(r.MilliCPU, 0), max(r.MemoryBytes, 0), max(r.Pods, 0)
	return r, count
}

// Budget is a fixed pool: the dimensions it names, the rest unlimited.
func Budget(b *v1alpha1.Budget) plan.Resources {
	r := plan.Resources{MilliCPU: plan.Unlimited, MemoryBytes: plan.Unlimited, Pods: plan.Unlimited}
	if b.CPU != nil {
		r.MilliCPU = b.CPU.MilliValue()
	}
	if b.Memory != nil {
		r.MemoryBytes = b.Memory.Value()
	}
	return r
}
