package demo

import (
	"context"
	"fmt"
	"net/http"
	"os/exec"
	"path/filepath"
	"time"

	autoscalingv2 "k8s.io/api/autoscaling/v2"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/kubernetes"

	"github.com/queuescale/queuescale/demo/load"
	"github.com/queuescale/queuescale/demo/story"
	"github.com/queuescale/queuescale/internal/testenv"
	"github.com/queuescale/queuescale/internal/testenv/cluster"
	"github.com/queuescale/queuescale/internal/testenv/stack"
)

// system is everything the demo started.
type system struct {
	kubeconfig, kubectl string
	prometheusURL       string
	logDirs             []string
	queueURLs           map[string]string
	sqs                 interface {
		load.SQS
		story.Sender
		QueueReader
	}
	observer *observer
	stops    []func() // in start order
}

func (s *system) stop() {
	for i := len(s.stops) - 1; i >= 0; i-- {
		s.stops[i]()
	}
	s.stops = nil
}

// workerNodes are the scenario's shared nodes: 2 nodes of 2 CPU and 4 GiB,
// labelled as the example's PriorityPolicy selects them.
func workerNodes() []cluster.Node {
	var nodes []cluster.Node
	for i := 1; i <= 2; i++ {
		nodes = append(nodes, cluster.Node{
			Name:   fmt.Sprintf("worker-%d", i),
			Labels: map[string]string{"queuescale.io/pool": "workers"},
			CPU:    "2", Memory: "4Gi",
		})
	}
	return nodes
}

// startSystem brings everything up. On error it returns what it started, so
// the caller stops it.
func startSystem(ctx context.Context, cfg Config, progress progressWriter) (*system, error) {
	step := func(format string, args ...any) { fmt.Fprintf(progress, format+"\n", args...) }
	root, err := testenv.RepoRoot()
	if err != nil {
		return nil, err
	}
	step("control-plane binaries: building them if they are not cached yet (about 10 minutes on a fresh machine, seconds afterwards)")
	binDir, err := cluster.BinDir(ctx, progress)
	if err != nil {
		return nil, err
	}
	sys := &system{kubectl: filepath.Join(binDir, "kubectl"), logDirs: []string{filepath.Join(cfg.Dir, "logs")}}

	step("starting the local control plane (etcd, kube-apiserver, controller-manager, scheduler, KWOK) with 2 worker nodes of 2 CPU / 4 GiB")
	cl, err := cluster.Start(ctx, cluster.Options{
		Dir:           filepath.Join(cfg.Dir, "cluster"),
		Nodes:         workerNodes(),
		HPASyncPeriod: cfg.HPASyncPeriod,
		BinDir:        binDir,
		Progress:      progress,
	})
	if err != nil {
		return sys, err
	}
	sys.stops = append(sys.stops, cl.Stop)
	sys.kubeconfig = cl.Kubeconfig
	sys.logDirs = append(sys.logDirs, cl.LogDir)

	var queues []string
	for _, t := range Microbadger() {
		queues = append(queues, t.Queue)
	}
	st, err := stack.Start(ctx, stack.Options{
		Cluster:   cl,
		Dir:       filepath.Join(cfg.Dir, "stack"),
		Queues:    queues,
		RulesFile: cfg.RulesFile,
		Progress:  progress,
	})
	if err != nil {
		return sys, err
	}
	sys.stops = append(sys.stops, st.Stop)
	sys.logDirs = append(sys.logDirs, st.LogDir)
	sys.prometheusURL = st.Prometheus.URL
	sys.queueURLs = st.QueueURLs
	sys.sqs = st.SQSClient

	app, err := newApplier(cl.Config)
	if err != nil {
		return sys, err
	}
	step("installing the PriorityPolicy CRD from manifests/base/crd")
	if err := app.installCRDs(ctx, filepath.Join(root, "manifests", "base", "crd")); err != nil {
		return sys, err
	}

	stopCoordinator, err := startCoordinator(ctx, cl.Kubeconfig, filepath.Join(cfg.Dir, "bin"), sys.logDirs[0], step)
	if err != nil {
		return sys, err
	}
	sys.stops = append(sys.stops, stopCoordinator)

	example := filepath.Join(root, "manifests", "examples", "microbadger")
	step("applying the example workload (kustomize build manifests/examples/microbadger)")
	objs, err := renderKustomization(example)
	if err != nil {
		return sys, err
	}
	if err := app.apply(ctx, objs); err != nil {
		return sys, err
	}

	if cfg.ScaleDownWindow >= 0 {
		step("setting both HPAs' scale-down stabilization window to %s (Kubernetes' default, which the example keeps, is 5m: idle Inspector pods would outlast the story)", cfg.ScaleDownWindow)
		if err := setScaleDownWindow(ctx, cl.Client, cfg.ScaleDownWindow); err != nil {
			return sys, err
		}
	}

	dyn, err := dynamic.NewForConfig(cl.Config)
	if err != nil {
		return sys, err
	}
	sys.observer = &observer{
		sqs: st.SQSClient, kube: cl.Client, dyn: dyn,
		namespace: Namespace, policy: PolicyName,
		tiers: Microbadger(), queueURLs: st.QueueURLs,
	}
	step("waiting for both HPAs to read sqs_backlog through the adapter and for the coordinator's first plan")
	if err := waitReady(ctx, sys.observer); err != nil {
		return sys, err
	}
	step("ready")
	return sys, nil
}

// setScaleDownWindow patches the stabilization window of every tier's HPA.
func setScaleDownWindow(ctx context.Context, client kubernetes.Interface, window time.Duration) error {
	patch := fmt.Sprintf(`{"spec":{"behavior":{"scaleDown":{"stabilizationWindowSeconds":%d}}}}`, int(window.Seconds()))
	for _, t := range Microbadger() {
		if _, err := client.AutoscalingV2().HorizontalPodAutoscalers(Namespace).Patch(ctx, t.HPA, types.MergePatchType, []byte(patch), metav1.PatchOptions{FieldManager: fieldManager}); err != nil {
			return fmt.Errorf("set the scale-down window of HPA %s/%s: %w", Namespace, t.HPA, err)
		}
	}
	return nil
}

// startCoordinator builds and starts cmd/priority-coordinator against the
// cluster and waits until it is ready.
func startCoordinator(ctx context.Context, kubeconfig, binDir, logDir string, step func(string, ...any)) (func(), error) {
	step("building and starting priority-coordinator")
	bin, err := testenv.BuildCommand(ctx, "./cmd/priority-coordinator", binDir)
	if err != nil {
		return nil, err
	}
	ports := make([]int, 2)
	for i := range ports {
		if ports[i], err = testenv.FreePort(); err != nil {
			return nil, err
		}
	}
	health := fmt.Sprintf("127.0.0.1:%d", ports[1])
	cmd := exec.Command(bin,
		"--kubeconfig="+kubeconfig,
		"--resync-period=1s",
		fmt.Sprintf("--metrics-bind-address=127.0.0.1:%d", ports[0]),
		"--health-probe-bind-address="+health,
	)
	proc, err := testenv.StartProcess("priority-coordinator", logDir, cmd)
	if err != nil {
		return nil, err
	}
	stop := func() { proc.Stop(10 * time.Second) }
	waitCtx, cancel := context.WithTimeout(ctx, time.Minute)
	defer cancel()
	err = testenv.Poll(waitCtx, 200*time.Millisecond, "priority-coordinator to be ready", func(ctx context.Context) error {
		if exited, exitErr := proc.Exited(); exited {
			return fmt.Errorf("exited: %v (see %s)", exitErr, proc.LogPath)
		}
		req, _ := http.NewRequestWithContext(ctx, http.MethodGet, "http://"+health+"/readyz", nil)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			return err
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			return fmt.Errorf("/readyz: %s", resp.Status)
		}
		return nil
	})
	if err != nil {
		return stop, err
	}
	return stop, nil
}

// waitReady waits until every HPA reads its metric (ScalingActive) and the
// policy has a status for every tier.
func waitReady(ctx context.Context, o *observer) error {
	waitCtx, cancel := context.WithTimeout(ctx, 3*time.Minute)
	defer cancel()
	return testenv.Poll(waitCtx, 500*time.Millisecond, "the HPAs and the PriorityPolicy to be active", func(ctx context.Context) error {
		for _, t := range o.tiers {
			h, err := o.kube.AutoscalingV2().HorizontalPodAutoscalers(o.namespace).Get(ctx, t.HPA, metav1.GetOptions{})
			if err != nil {
				return err
			}
			if !hpaActive(h) {
				return fmt.Errorf("HPA %s cannot read its metric yet: %s", t.HPA, hpaCondition(h, autoscalingv2.ScalingActive))
			}
		}
		p := o.readPolicy(ctx)
		if p.Err != "" {
			return fmt.Errorf("%s", p.Err)
		}
		if len(p.Tiers) != len(o.tiers) {
			return fmt.Errorf("PriorityPolicy status has %d tiers, want %d (Ready=%s %s: %s)", len(p.Tiers), len(o.tiers), p.Ready, p.Reason, p.Message)
		}
		return nil
	})
}

func hpaActive(h *autoscalingv2.HorizontalPodAutoscaler) bool {
	for _, c := range h.Status.Conditions {
		if c.Type == autoscalingv2.ScalingActive {
			return c.Status == corev1.ConditionTrue
		}
	}
	return false
}

func hpaCondition(h *autoscalingv2.HorizontalPodAutoscaler, t autoscalingv2.HorizontalPodAutoscalerConditionType) string {
	for _, c := range h.Status.Conditions {
		if c.Type == t {
			return fmt.Sprintf("%s=%s %s: %s", c.Type, c.Status, c.Reason, c.Message)
		}
	}
	return fmt.Sprintf("no %s condition yet", t)
}
