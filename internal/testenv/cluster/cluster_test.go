package cluster_test

import (
	"context"
	"fmt"
	"os"
	"strings"
	"testing"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/tools/clientcmd"

	"github.com/queuescale/queuescale/internal/testenv"
	"github.com/queuescale/queuescale/internal/testenv/cluster"
)

// TestClusterSchedulesOnFakeNodes starts a control plane with two 1-CPU
// nodes and checks what a user of it relies on: the written kubeconfig
// works, the scheduler places pods by allocatable CPU (two 400m pods per
// node, the fifth Pending), KWOK makes placed pods Running and Ready, and
// RBAC denies a user with no bindings.
func TestClusterSchedulesOnFakeNodes(t *testing.T) {
	// Long enough for a first run that builds the cluster binaries.
	ctx, cancel := context.WithTimeout(context.Background(), 40*time.Minute)
	defer cancel()
	c := cluster.StartForTest(ctx, t, cluster.Options{
		Nodes: []cluster.Node{
			{Name: "worker-a", CPU: "1", Memory: "2Gi", Labels: map[string]string{"pool": "workers"}},
			{Name: "worker-b", CPU: "1", Memory: "2Gi", Labels: map[string]string{"pool": "workers"}},
		},
		Progress: os.Stderr,
	})

	// The kubeconfig on disk is a working admin identity.
	cfg, err := clientcmd.BuildConfigFromFlags("", c.Kubeconfig)
	if err != nil {
		t.Fatalf("load %s: %v", c.Kubeconfig, err)
	}
	client, err := kubernetes.NewForConfig(cfg)
	if err != nil {
		t.Fatal(err)
	}
	version, err := client.Discovery().ServerVersion()
	if err != nil {
		t.Fatalf("server version through %s: %v", c.Kubeconfig, err)
	}
	if version.GitVersion != "v1.37.2" {
		t.Errorf("server version = %q, want v1.37.2", version.GitVersion)
	}

	labels := map[string]string{"app": "sleeper"}
	deploy := &appsv1.Deployment{
		ObjectMeta: metav1.ObjectMeta{Name: "sleeper", Namespace: "default"},
		Spec: appsv1.DeploymentSpec{
			Replicas: ptr(int32(5)),
			Selector: &metav1.LabelSelector{MatchLabels: labels},
			Template: corev1.PodTemplateSpec{
				ObjectMeta: metav1.ObjectMeta{Labels: labels},
				Spec: corev1.PodSpec{
					NodeSelector: map[string]string{"pool": "workers"},
					Containers: []corev1.Container{{
						Name:  "sleeper",
						Image: "registry.example/sleeper:1",
						Resources: corev1.ResourceRequirements{Requests: corev1.ResourceList{
							corev1.ResourceCPU: resource.MustParse("400m"),
						}},
					}},
				},
			},
		},
	}
	if _, err := client.AppsV1().Deployments("default").Create(ctx, deploy, metav1.CreateOptions{}); err != nil {
		t.Fatalf("create deployment: %v", err)
	}
	waitCtx, waitCancel := context.WithTimeout(ctx, 2*time.Minute)
	defer waitCancel()
	err = testenv.Poll(waitCtx, 500*time.Millisecond, "4 pods Ready and 1 Pending for lack of CPU", func(ctx context.Context) error {
		pods, err := client.CoreV1().Pods("default").List(ctx, metav1.ListOptions{LabelSelector: "app=sleeper"})
		if err != nil {
			return err
		}
		perNode := map[string]int{}
		ready, pending := 0, 0
		for _, p := range pods.Items {
			switch {
			case isReady(&p):
				ready++
				perNode[p.Spec.NodeName]++
			case p.Spec.NodeName == "" && unschedulableForCPU(&p):
				pending++
			}
		}
		if ready != 4 || pending != 1 || perNode["worker-a"] != 2 || perNode["worker-b"] != 2 {
			return fmt.Errorf("%d pods: %d ready (per node %v), %d pending for CPU", len(pods.Items), ready, perNode, pending)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}

	// A user without bindings is authenticated but denied.
	aliceCfg, err := c.UserConfig("alice", "developers")
	if err != nil {
		t.Fatal(err)
	}
	alice, err := kubernetes.NewForConfig(aliceCfg)
	if err != nil {
		t.Fatal(err)
	}
	_, err = alice.CoreV1().Pods("default").List(ctx, metav1.ListOptions{})
	if !apierrors.IsForbidden(err) {
		t.Fatalf("alice lists pods: err = %v, want Forbidden", err)
	}
}

func isReady(p *corev1.Pod) bool {
	for _, c := range p.Status.Conditions {
		if c.Type == corev1.PodReady && c.Status == corev1.ConditionTrue {
			return p.Status.Phase == corev1.PodRunning
		}
	}
	return false
}

func unschedulableForCPU(p *corev1.Pod) bool {
	for _, c := range p.Status.Conditions {
		if c.Type == corev1.PodScheduled && c.Status == corev1.ConditionFalse {
			return strings.Contains(c.Message, "Insufficient cpu")
		}
	}
	return false
}

func ptr[T any](v T) *T { return &v }

// TestTwoClustersSideBySide checks that two clusters started at once do not
// share anything: each has its own ports, PKI and etcd.
func TestTwoClustersSideBySide(t *testing.T) {
	// Long enough for a first run that builds the cluster binaries.
	ctx, cancel := context.WithTimeout(context.Background(), 40*time.Minute)
	defer cancel()
	clusters := make([]*cluster.Cluster, 2)
	t.Run("start", func(t *testing.T) {
		for i := range clusters {
			t.Run(fmt.Sprint(i), func(t *testing.T) {
				t.Parallel()
				c, err := cluster.Start(ctx, cluster.Options{Dir: t.TempDir()})
				if err != nil {
					t.Fatal(err)
				}
				clusters[i] = c
			})
		}
	})
	for _, c := range clusters {
		if c != nil {
			t.Cleanup(c.Stop)
		}
	}
	if t.Failed() {
		t.FailNow()
	}
	if clusters[0].Server == clusters[1].Server {
		t.Fatalf("both clusters serve on %s", clusters[0].Server)
	}
	ns := &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: "only-in-first"}}
	if _, err := clusters[0].Client.CoreV1().Namespaces().Create(ctx, ns, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	if _, err := clusters[1].Client.CoreV1().Namespaces().Get(ctx, ns.Name, metav1.GetOptions{}); !apierrors.IsNotFound(err) {
		t.Errorf("second cluster sees the first one's namespace: err = %v", err)
	}
	// Each cluster's credentials are worthless on the other.
	cross := *clusters[0].Config
	cross.Host = clusters[1].Server
	client, err := kubernetes.NewForConfig(&cross)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := client.CoreV1().Namespaces().List(ctx, metav1.ListOptions{}); err == nil {
		t.Error("the first cluster's admin credentials work on the second cluster")
	}
}
