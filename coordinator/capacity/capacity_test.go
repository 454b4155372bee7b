package capacity

import (
	"testing"

	"github.com/google/go-cmp/cmp"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"

	"github.com/queuescale/queuescale/coordinator/api/v1alpha1"
	"github.com/queuescale/queuescale/coordinator/plan"
)

func container(cpu, mem string) corev1.Container {
	return corev1.Container{Resources: corev1.ResourceRequirements{Requests: corev1.ResourceList{
		corev1.ResourceCPU: resource.MustParse(cpu), corev1.ResourceMemory: resource.MustParse(mem),
	}}}
}

func sidecar(cpu, mem string) corev1.Container {
	c := container(cpu, mem)
	c.RestartPolicy = ptr.To(corev1.ContainerRestartPolicyAlways)
	return c
}

func TestPodRequests(t *testing.T) {
	tests := []struct {
		name string
		spec corev1.PodSpec
		want plan.Resources
	}{
		{"one container", corev1.PodSpec{Containers: []corev1.Container{container("200m", "256Mi")}},
			plan.Resources{MilliCPU: 200, MemoryBytes: 256 << 20, Pods: 1}},
		{"containers add up", corev1.PodSpec{Containers: []corev1.Container{container("200m", "256Mi"), container("50m", "64Mi")}},
			plan.Resources{MilliCPU: 250, MemoryBytes: 320 << 20, Pods: 1}},
		{"a bigger init container wins", corev1.PodSpec{InitContainers: []corev1.Container{container("1", "100Mi")}, Containers: []corev1.Container{container("200m", "256Mi")}},
			plan.Resources{MilliCPU: 1000, MemoryBytes: 256 << 20, Pods: 1}},
		{"sidecars run with the containers and the later init containers",
			corev1.PodSpec{InitContainers: []corev1.Container{sidecar("100m", "64Mi"), container("500m", "32Mi")}, Containers: []corev1.Container{container("200m", "256Mi")}},
			plan.Resources{MilliCPU: 600, MemoryBytes: 320 << 20, Pods: 1}},
		{"overhead", corev1.PodSpec{Containers: []corev1.Container{container("200m", "256Mi")}, Overhead: corev1.ResourceList{corev1.ResourceCPU: resource.MustParse("10m")}},
			plan.Resources{MilliCPU: 210, MemoryBytes: 256 << 20, Pods: 1}},
		{"no requests", corev1.PodSpec{Containers: []corev1.Container{{}}}, plan.Resources{Pods: 1}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if diff := cmp.Diff(tt.want, PodRequests(&tt.spec)); diff != "" {
				t.Errorf("PodRequests() (-want +got):\n%s", diff)
			}
		})
	}
}

func TestPool(t *testing.T) {
	mk := func(name string, ready, cordoned bool) *corev1.Node {
		st := corev1.ConditionTrue
		if !ready {
			st = corev1.ConditionFalse
		}
		return &corev1.Node{ObjectMeta: metav1.ObjectMeta{Name: name}, Spec: corev1.NodeSpec{Unschedulable: cordoned}, Status: corev1.NodeStatus{
			Allocatable: corev1.ResourceList{corev1.ResourceCPU: resource.MustParse("2"), corev1.ResourceMemory: resource.MustParse("4Gi"), corev1.ResourcePods: resource.MustParse("110")},
			Conditions:  []corev1.NodeCondition{{Type: corev1.NodeReady, Status: st}},
		}}
	}
	pod := func(name, phase string) *corev1.Pod {
		return &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: name}, Spec: corev1.PodSpec{Containers: []corev1.Container{container("500m", "1Gi")}}, Status: corev1.PodStatus{Phase: corev1.PodPhase(phase)}}
	}
	pods := map[string][]*corev1.Pod{
		"a": {pod("other", "Running"), pod("tier", "Running"), pod("done", "Succeeded"), pod("failed", "Failed"), pod("pending-bound", "Pending")},
		"b": {pod("other-b", "Running")},
		"c": {pod("on-unready", "Running")},
	}
	got, n := Pool([]*corev1.Node{mk("a", true, false), mk("b", true, false), mk("c", false, false), mk("d", true, true)},
		func(node string) []*corev1.Pod { return pods[node] },
		func(p *corev1.Pod) bool { return p.Name == "tier" })
	want := plan.Resources{MilliCPU: 4000 - 3*500, MemoryBytes: 8<<30 - 3<<30, Pods: 220 - 3}
	if diff := cmp.Diff(want, got); diff != "" || n != 2 {
		t.Errorf("Pool() = %v over %d nodes, want %v over 2 (-want +got):\n%s", got, n, want, diff)
	}
	over, _ := Pool([]*corev1.Node{mk("a", true, false)}, func(string) []*corev1.Pod {
		return []*corev1.Pod{pod("x", "Running"), pod("y", "Running"), pod("z", "Running"), pod("w", "Running"), pod("v", "Running")}
	}, func(*corev1.Pod) bool { return false })
	if over.MilliCPU != 0 {
		t.Errorf("an overcommitted node gives %dm, want 0", over.MilliCPU)
	}
}

func TestBudget(t *testing.T) {
	cpu, mem := resource.MustParse("3500m"), resource.MustParse("8Gi")
	if diff := cmp.Diff(plan.Resources{MilliCPU: 3500, MemoryBytes: plan.Unlimited, Pods: plan.Unlimited}, Budget(&v1alpha1.Budget{CPU: &cpu})); diff != "" {
		t.Errorf("cpu budget (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff(plan.Resources{MilliCPU: plan.Unlimited, MemoryBytes: 8 << 30, Pods: plan.Unlimited}, Budget(&v1alpha1.Budget{Memory: &mem})); diff != "" {
		t.Errorf("memory budget (-want +got):\n%s", diff)
	}
}
