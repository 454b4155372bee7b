// Package cluster starts a real, local Kubernetes control plane for the
// end-to-end tests and the demo: etcd, kube-apiserver (RBAC, the aggregation
// layer), kube-controller-manager (with the HPA controller), kube-scheduler
// and KWOK, which plays the kubelet of fake nodes that have real allocatable
// capacity. Everything listens on 127.0.0.1 on free ports, so several
// clusters can run side by side; each process logs to its own file in
// Cluster.LogDir.
//
// The binaries come from hack/cluster-bins.sh, which builds them from their
// Go modules once and caches them by version.
package cluster

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"

	"github.com/queuescale/queuescale/internal/testenv"
)

// FakeNodeLabel marks the nodes KWOK manages (value "fake"). Start adds it to
// every node in Options.Nodes; KWOK leaves nodes without it alone.
const FakeNodeLabel = "kwok.x-k8s.io/node"

// Node is a fake node KWOK keeps Ready. Its allocatable capacity is real to
// the scheduler: pods that do not fit stay Pending.
type Node struct {
	Name   string
	Labels map[string]string
	// CPU and Memory are allocatable quantities such as "2" and "4Gi".
	CPU, Memory string
	// Pods is the allocatable pod count; default "110".
	Pods string
}

// Options configure a cluster.
type Options struct {
	// Dir receives the PKI (pki/), kubeconfigs, etcd's data (etcd/) and the
	// logs (logs/). Required; a test passes t.TempDir().
	Dir string
	// Nodes are created once the control plane is up, and waited for Ready.
	Nodes []Node
	// HPASyncPeriod is the HPA controller's sync period; default 2s (real
	// clusters use 15s).
	HPASyncPeriod time.Duration
	// Extra flags appended to the kube-apiserver, kube-controller-manager
	// and kube-scheduler command lines (later flags win).
	APIServerFlags, ControllerManagerFlags, SchedulerFlags []string
	// BinDir holds the binaries; default: what hack/cluster-bins.sh prints
	// (building them first if needed).
	BinDir string
	// Progress receives the binary build's progress and start-up steps;
	// nil for none.
	Progress io.Writer
	// Timeout bounds the start-up after the binaries are there; default 3m.
	Timeout time.Duration
}

// Cluster is a running control plane.
type Cluster struct {
	// Dir is Options.Dir; LogDir holds one <process>.log per process.
	Dir, LogDir string
	// Server is the kube-apiserver's URL, https://127.0.0.1:PORT.
	Server string
	// Kubeconfig is the path of an admin (system:masters) kubeconfig.
	Kubeconfig string
	// Config is the admin client configuration; Client a clientset on it.
	Config *rest.Config
	Client kubernetes.Interface
	// PKI holds the CAs; use it to issue serving certificates (ServingCert)
	// or client certificates for other identities (UserConfig).
	PKI *PKI

	binDir string
	opts   Options

	mu       sync.Mutex
	procs    []*testenv.Process // in start order
	stopOnce sync.Once
}

// Start brings up a cluster and waits until it is usable: kube-apiserver
// ready, the nodes Ready, the default service account created. On error
// everything started is stopped and the error names the log directory.
func Start(ctx context.Context, opts Options) (*Cluster, error) {
	if opts.Dir == "" {
		return nil, errors.New("cluster.Options.Dir is required")
	}
	if opts.HPASyncPeriod == 0 {
		opts.HPASyncPeriod = 2 * time.Second
	}
	if opts.Timeout == 0 {
		opts.Timeout = 3 * time.Minute
	}
	if err := validateNodes(opts.Nodes); err != nil {
		return nil, err
	}
	binDir := opts.BinDir
	if binDir == "" {
		var err error
		if binDir, err = BinDir(ctx, opts.Progress); err != nil {
			return nil, err
		}
	}
	ctx, cancel := context.WithTimeout(ctx, opts.Timeout)
	defer cancel()
	logDir := filepath.Join(opts.Dir, "logs")
	for attempt := 1; ; attempt++ {
		c := &Cluster{Dir: opts.Dir, LogDir: logDir, binDir: binDir, opts: opts}
		err := c.start(ctx)
		if err == nil {
			return c, nil
		}
		summary := c.LogSummary(25)
		c.Stop()
		// A free port can be taken by another process before ours binds it
		// (parallel test packages start clusters at the same time). Start
		// again on new ports, keeping the failed attempt's logs.
		if attempt < maxAttempts && ctx.Err() == nil && portTaken(logDir) {
			kept := fmt.Sprintf("%s-attempt-%d", logDir, attempt)
			c.progressf("a port was taken; starting again (logs of the failed attempt in %s)", kept)
			if os.Rename(logDir, kept) == nil && os.RemoveAll(filepath.Join(opts.Dir, "etcd")) == nil {
				continue
			}
		}
		return nil, fmt.Errorf("start the local cluster: %w\n%s", err, summary)
	}
}

// maxAttempts bounds the restarts after a port clash.
const maxAttempts = 3

// portTaken reports whether a log in logDir says a listen address was in use.
func portTaken(logDir string) bool {
	entries, err := os.ReadDir(logDir)
	if err != nil {
		return false
	}
	for _, e := range entries {
		data, err := os.ReadFile(filepath.Join(logDir, e.Name()))
		if err == nil && strings.Contains(string(data), "address already in use") {
			return true
		}
	}
	return false
}

func (c *Cluster) progressf(format string, args ...any) {
	if c.opts.Progress != nil {
		fmt.Fprintf(c.opts.Progress, ">> "+format+"\n", args...)
	}
}

func (c *Cluster) start(ctx context.Context) error {
	for _, d := range []string{c.LogDir, filepath.Join(c.Dir, "etcd")} {
		if err := os.MkdirAll(d, 0o700); err != nil {
			return err
		}
	}
	pki, err := NewPKI(filepath.Join(c.Dir, "pki"))
	if err != nil {
		return fmt.Errorf("generate the PKI: %w", err)
	}
	c.PKI = pki

	ports, err := freePorts(6)
	if err != nil {
		return err
	}
	etcdPort, etcdPeerPort, apiPort, cmPort, schedPort, kwokPort := ports[0], ports[1], ports[2], ports[3], ports[4], ports[5]
	c.Server = fmt.Sprintf("https://127.0.0.1:%d", apiPort)

	apiServing, err := pki.ServingCert(pki.Dir, "kube-apiserver", "127.0.0.1", "localhost",
		"kubernetes", "kubernetes.default", "kubernetes.default.svc", "kubernetes.default.svc.cluster.local", "10.0.0.1")
	if err != nil {
		return err
	}
	localServing, err := pki.ServingCert(pki.Dir, "local-serving", "127.0.0.1", "localhost")
	if err != nil {
		return err
	}
	admin, err := pki.ClientCert("admin", "queuescale-admin", "system:masters")
	if err != nil {
		return err
	}
	c.Config = restConfig(c.Server, pki.CA.CertPEM, admin)
	c.Kubeconfig = filepath.Join(c.Dir, "admin.kubeconfig")
	if err := WriteKubeconfig(c.Kubeconfig, c.Config); err != nil {
		return err
	}
	if c.Client, err = kubernetes.NewForConfig(c.Config); err != nil {
		return err
	}
	cmKubeconfig, err := c.identityKubeconfig("kube-controller-manager", "system:kube-controller-manager")
	if err != nil {
		return err
	}
	schedKubeconfig, err := c.identityKubeconfig("kube-scheduler", "system:kube-scheduler")
	if err != nil {
		return err
	}
	// KWOK plays the kubelet of every fake node, so it updates any node and
	// pod status: the Node authorizer's per-node identities do not fit it.
	kwokKubeconfig, err := c.identityKubeconfig("kwok", "kwok", "system:masters")
	if err != nil {
		return err
	}

	// etcd
	etcdURL := fmt.Sprintf("http://127.0.0.1:%d", etcdPort)
	peerURL := fmt.Sprintf("http://127.0.0.1:%d", etcdPeerPort)
	c.progressf("starting etcd on %s", etcdURL)
	if err := c.run(binEtcd,
		"--name=default",
		"--data-dir="+filepath.Join(c.Dir, "etcd"),
		"--listen-client-urls="+etcdURL,
		"--advertise-client-urls="+etcdURL,
		"--listen-peer-urls="+peerURL,
		"--initial-advertise-peer-urls="+peerURL,
		"--initial-cluster=default="+peerURL,
		"--unsafe-no-fsync", // test data; fsync only slows the run down
		"--log-level=warn",
	); err != nil {
		return err
	}
	if err := c.waitHTTP(ctx, "etcd", etcdURL+"/health", nil); err != nil {
		return err
	}

	// kube-apiserver
	c.progressf("starting kube-apiserver on %s", c.Server)
	apiArgs := []string{
		"--etcd-servers=" + etcdURL,
		"--bind-address=127.0.0.1",
		"--advertise-address=127.0.0.1",
		fmt.Sprintf("--secure-port=%d", apiPort),
		"--tls-cert-file=" + apiServing.CertFile,
		"--tls-private-key-file=" + apiServing.KeyFile,
		"--client-ca-file=" + pki.CA.CertFile,
		"--service-account-key-file=" + pki.ServiceAccountPubFile,
		"--service-account-signing-key-file=" + pki.ServiceAccountKeyFile,
		"--service-account-issuer=https://kubernetes.default.svc.cluster.local",
		"--service-cluster-ip-range=10.0.0.0/24",
		"--authorization-mode=Node,RBAC",
		// The aggregation layer: the aggregator proxies to extension API
		// servers with this client certificate and these headers.
		"--requestheader-client-ca-file=" + pki.FrontProxyCA.CertFile,
		"--requestheader-allowed-names=" + FrontProxyClientName,
		"--requestheader-username-headers=X-Remote-User",
		"--requestheader-group-headers=X-Remote-Group",
		"--requestheader-extra-headers-prefix=X-Remote-Extra-",
		"--proxy-client-cert-file=" + pki.FrontProxyClient.CertFile,
		"--proxy-client-key-file=" + pki.FrontProxyClient.KeyFile,
		// No node lifecycle controller runs, so nothing would lift the
		// not-ready taint this plugin puts on new nodes.
		"--disable-admission-plugins=TaintNodesByCondition",
		// The kubernetes Service's endpoint would be 127.0.0.1, which
		// Endpoints reject; nothing in the tests needs it.
		"--endpoint-reconciler-type=none",
		"--profiling=false",
		"--v=1",
	}
	if err := c.run(binAPIServer, append(apiArgs, c.opts.APIServerFlags...)...); err != nil {
		return err
	}
	if err := c.waitAPIServer(ctx); err != nil {
		return err
	}

	// kube-controller-manager
	c.progressf("starting kube-controller-manager and kube-scheduler")
	cmArgs := []string{
		"--kubeconfig=" + cmKubeconfig,
		"--authentication-kubeconfig=" + cmKubeconfig,
		"--authorization-kubeconfig=" + cmKubeconfig,
		"--bind-address=127.0.0.1",
		fmt.Sprintf("--secure-port=%d", cmPort),
		"--tls-cert-file=" + localServing.CertFile,
		"--tls-private-key-file=" + localServing.KeyFile,
		"--controllers=deployment,replicaset,horizontalpodautoscaling,garbagecollector,namespace,serviceaccount,serviceaccount-token",
		// Each controller runs as its own service account, bound by the
		// default bootstrap policy, as in a real cluster: the HPA controller
		// reads external metrics as system:controller:horizontal-pod-autoscaler.
		"--use-service-account-credentials=true",
		"--service-account-private-key-file=" + pki.ServiceAccountKeyFile,
		"--root-ca-file=" + pki.CA.CertFile,
		"--horizontal-pod-autoscaler-sync-period=" + c.opts.HPASyncPeriod.String(),
		"--leader-elect=false",
		"--profiling=false",
		"--v=2",
	}
	if err := c.run(binControllerManager, append(cmArgs, c.opts.ControllerManagerFlags...)...); err != nil {
		return err
	}

	// kube-scheduler
	schedArgs := []string{
		"--kubeconfig=" + schedKubeconfig,
		"--authentication-kubeconfig=" + schedKubeconfig,
		"--authorization-kubeconfig=" + schedKubeconfig,
		"--bind-address=127.0.0.1",
		fmt.Sprintf("--secure-port=%d", schedPort),
		"--tls-cert-file=" + localServing.CertFile,
		"--tls-private-key-file=" + localServing.KeyFile,
		"--leader-elect=false",
		"--profiling=false",
		"--v=1",
	}
	if err := c.run(binScheduler, append(schedArgs, c.opts.SchedulerFlags...)...); err != nil {
		return err
	}

	// KWOK
	stages, err := c.kwokStages()
	if err != nil {
		return err
	}
	c.progressf("starting kwok")
	if err := c.run(binKWOK,
		"--kubeconfig="+kwokKubeconfig,
		"--config="+strings.Join(stages, ","),
		"--manage-all-nodes=false",
		"--manage-nodes-with-label-selector="+FakeNodeLabel+"=fake",
		fmt.Sprintf("--server-address=127.0.0.1:%d", kwokPort),
		"--node-ip=127.0.0.1",
	); err != nil {
		return err
	}

	caPool := x509.NewCertPool()
	caPool.AddCert(pki.CA.Cert)
	probe := &http.Client{Timeout: 5 * time.Second, Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: caPool}}}
	if err := c.waitHTTP(ctx, binControllerManager, fmt.Sprintf("https://127.0.0.1:%d/healthz", cmPort), probe); err != nil {
		return err
	}
	if err := c.waitHTTP(ctx, binScheduler, fmt.Sprintf("https://127.0.0.1:%d/healthz", schedPort), probe); err != nil {
		return err
	}
	if err := c.AddNodes(ctx, c.opts.Nodes...); err != nil {
		return err
	}
	c.progressf("waiting for the default service account")
	return c.poll(ctx, "the default service account in namespace default", func(ctx context.Context) error {
		_, err := c.Client.CoreV1().ServiceAccounts("default").Get(ctx, "default", metav1.GetOptions{})
		return err
	})
}

// identityKubeconfig writes <name>.kubeconfig with a client certificate for
// user in groups, and returns its path.
func (c *Cluster) identityKubeconfig(name, user string, groups ...string) (string, error) {
	pair, err := c.PKI.ClientCert(name, user, groups...)
	if err != nil {
		return "", err
	}
	path := filepath.Join(c.Dir, name+".kubeconfig")
	return path, WriteKubeconfig(path, restConfig(c.Server, c.PKI.CA.CertPEM, pair))
}

// kwokStages lists the stage files KWOK runs: nodes become Ready and keep a
// heartbeat; pods become Ready, complete and are deleted.
func (c *Cluster) kwokStages() ([]string, error) {
	var paths []string
	for _, name := range []string{"node-initialize", "node-heartbeat", "pod-ready", "pod-complete", "pod-delete"} {
		p := filepath.Join(c.binDir, kwokStagesDir, name+".yaml")
		if _, err := os.Stat(p); err != nil {
			return nil, fmt.Errorf("kwok stage %s: %w (rerun hack/cluster-bins.sh)", name, err)
		}
		paths = append(paths, p)
	}
	return paths, nil
}

// run starts binary from the cache directory with args, logging to
// LogDir/<binary>.log.
func (c *Cluster) run(binary string, args ...string) error {
	cmd := exec.Command(filepath.Join(c.binDir, binary), args...)
	cmd.Dir = c.Dir
	proc, err := testenv.StartProcess(binary, c.LogDir, cmd)
	if err != nil {
		return err
	}
	c.mu.Lock()
	c.procs = append(c.procs, proc)
	c.mu.Unlock()
	return nil
}

// exited returns an error naming any process that has ended.
func (c *Cluster) exited() error {
	c.mu.Lock()
	defer c.mu.Unlock()
	for _, p := range c.procs {
		if done, err := p.Exited(); done {
			return fmt.Errorf("%s exited (%v); see %s", p.Name, err, p.LogPath)
		}
	}
	return nil
}

// errProcessExited stops a poll at once.
var errProcessExited = errors.New("a control plane process exited")

// poll waits for check, failing fast when a process dies.
func (c *Cluster) poll(ctx context.Context, what string, check func(context.Context) error) error {
	var died error
	err := testenv.Poll(ctx, 200*time.Millisecond, what, func(ctx context.Context) error {
		if err := c.exited(); err != nil {
			died = err
			return nil
		}
		return check(ctx)
	})
	if died != nil {
		return fmt.Errorf("%w while waiting for %s: %v", errProcessExited, what, died)
	}
	return err
}

func (c *Cluster) waitHTTP(ctx context.Context, what, url string, client *http.Client) error {
	if client == nil {
		client = &http.Client{Timeout: 5 * time.Second}
	}
	return c.poll(ctx, what+" to be healthy at "+url, func(ctx context.Context) error {
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
		if err != nil {
			return err
		}
		resp, err := client.Do(req)
		if err != nil {
			return err
		}
		defer resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			body, _ := io.ReadAll(io.LimitReader(resp.Body, 2048))
			return fmt.Errorf("%s: %s", resp.Status, body)
		}
		return nil
	})
}

func (c *Cluster) waitAPIServer(ctx context.Context) error {
	return c.poll(ctx, "kube-apiserver /readyz", func(ctx context.Context) error {
		body, err := c.Client.Discovery().RESTClient().Get().AbsPath("/readyz").Do(ctx).Raw()
		if err != nil {
			return fmt.Errorf("%w: %s", err, body)
		}
		return nil
	})
}

// AddNodes creates fake nodes and waits until KWOK reports them Ready.
func (c *Cluster) AddNodes(ctx context.Context, nodes ...Node) error {
	if err := validateNodes(nodes); err != nil {
		return err
	}
	for _, n := range nodes {
		if _, err := c.Client.CoreV1().Nodes().Create(ctx, fakeNode(n), metav1.CreateOptions{}); err != nil {
			return fmt.Errorf("create node %s: %w", n.Name, err)
		}
	}
	for _, n := range nodes {
		c.progressf("waiting for node %s to be Ready", n.Name)
		err := c.poll(ctx, "node "+n.Name+" to be Ready", func(ctx context.Context) error {
			node, err := c.Client.CoreV1().Nodes().Get(ctx, n.Name, metav1.GetOptions{})
			if err != nil {
				return err
			}
			for _, cond := range node.Status.Conditions {
				if cond.Type == corev1.NodeReady && cond.Status == corev1.ConditionTrue {
					return nil
				}
			}
			return fmt.Errorf("node %s has no Ready=True condition yet", n.Name)
		})
		if err != nil {
			return err
		}
	}
	return nil
}

func validateNodes(nodes []Node) error {
	var errs []error
	seen := map[string]bool{}
	for i, n := range nodes {
		if n.Name == "" {
			errs = append(errs, fmt.Errorf("node %d: name is empty", i))
		}
		if seen[n.Name] {
			errs = append(errs, fmt.Errorf("node %q: name used twice", n.Name))
		}
		seen[n.Name] = true
		for field, q := range map[string]string{"cpu": n.CPU, "memory": n.Memory, "pods": n.Pods} {
			if q == "" && field == "pods" {
				continue
			}
			if _, err := resource.ParseQuantity(q); err != nil {
				errs = append(errs, fmt.Errorf("node %q: %s %q: %w", n.Name, field, q, err))
			}
		}
	}
	return errors.Join(errs...)
}

func fakeNode(n Node) *corev1.Node {
	labels := map[string]string{
		"kubernetes.io/hostname": n.Name,
		"kubernetes.io/os":       "linux",
		"kubernetes.io/arch":     "amd64",
		"type":                   "kwok",
	}
	for k, v := range n.Labels {
		labels[k] = v
	}
	labels[FakeNodeLabel] = "fake"
	pods := n.Pods
	if pods == "" {
		pods = "110"
	}
	capacity := corev1.ResourceList{
		corev1.ResourceCPU:    resource.MustParse(n.CPU),
		corev1.ResourceMemory: resource.MustParse(n.Memory),
		corev1.ResourcePods:   resource.MustParse(pods),
	}
	return &corev1.Node{
		ObjectMeta: metav1.ObjectMeta{
			Name:        n.Name,
			Labels:      labels,
			Annotations: map[string]string{"node.alpha.kubernetes.io/ttl": "0", FakeNodeLabel: "fake"},
		},
		Status: corev1.NodeStatus{Capacity: capacity, Allocatable: capacity.DeepCopy()},
	}
}

// UserConfig returns a client configuration that authenticates as user in
// groups with a client certificate from the cluster CA. It has no rights
// until RBAC grants some, which is how tests check denials.
func (c *Cluster) UserConfig(user string, groups ...string) (*rest.Config, error) {
	file := "user-" + strings.NewReplacer(":", "_", "/", "_").Replace(user)
	pair, err := c.PKI.ClientCert(file, user, groups...)
	if err != nil {
		return nil, err
	}
	return restConfig(c.Server, c.PKI.CA.CertPEM, pair), nil
}

// ServingCert issues a serving certificate signed by the cluster CA for
// hosts (DNS names or IPs; for an extension API server behind an APIService:
// "<service>.<namespace>.svc"), written to dir/<name>.crt and .key. The CA
// to trust, for example as an APIService's caBundle, is c.CABundle().
func (c *Cluster) ServingCert(dir, name string, hosts ...string) (*KeyPair, error) {
	return c.PKI.ServingCert(dir, name, hosts...)
}

// CABundle is the PEM of the CA that signs the cluster's serving and client
// certificates.
func (c *Cluster) CABundle() []byte { return c.PKI.CA.CertPEM }

// Process returns a running control plane process by binary name
// ("kube-controller-manager", ...), to stop it in a test; nil if unknown.
func (c *Cluster) Process(name string) *testenv.Process {
	c.mu.Lock()
	defer c.mu.Unlock()
	for _, p := range c.procs {
		if p.Name == name {
			return p
		}
	}
	return nil
}

// Stop stops the processes one by one in reverse start order. It is safe to
// call more than once.
func (c *Cluster) Stop() {
	c.stopOnce.Do(func() {
		c.mu.Lock()
		procs := c.procs
		c.mu.Unlock()
		for i := len(procs) - 1; i >= 0; i-- {
			procs[i].Stop(15 * time.Second)
		}
	})
}

// LogSummary names the log directory and shows the last lines of each
// process's log, for a failing test to print.
func (c *Cluster) LogSummary(lines int) string {
	var b strings.Builder
	fmt.Fprintf(&b, "cluster logs in %s\n", c.LogDir)
	entries, err := os.ReadDir(c.LogDir)
	if err != nil {
		return b.String()
	}
	var names []string
	for _, e := range entries {
		if strings.HasSuffix(e.Name(), ".log") {
			names = append(names, e.Name())
		}
	}
	sort.Strings(names)
	for _, name := range names {
		data, err := os.ReadFile(filepath.Join(c.LogDir, name))
		if err != nil {
			continue
		}
		fmt.Fprintf(&b, "--- last %d lines of %s ---\n%s\n", lines, name, tail(string(data), lines))
	}
	return b.String()
}

// TB is the part of testing.TB that StartForTest uses.
type TB interface {
	Helper()
	Cleanup(func())
	Failed() bool
	Logf(format string, args ...any)
	Fatalf(format string, args ...any)
	TempDir() string
}

// StartForTest starts a cluster in a temporary directory (when opts.Dir is
// empty), stops it when the test ends and, if the test failed, logs where the
// process logs are and their last lines.
func StartForTest(ctx context.Context, t TB, opts Options) *Cluster {
	t.Helper()
	if opts.Dir == "" {
		opts.Dir = t.TempDir()
	}
	c, err := Start(ctx, opts)
	if err != nil {
		t.Fatalf("%v", err)
	}
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("%s", c.LogSummary(40))
		}
		c.Stop()
	})
	return c
}

func freePorts(n int) ([]int, error) {
	seen := map[int]bool{}
	var ports []int
	for len(ports) < n {
		p, err := testenv.FreePort()
		if err != nil {
			return nil, err
		}
		if !seen[p] {
			seen[p] = true
			ports = append(ports, p)
		}
	}
	return ports, nil
}
