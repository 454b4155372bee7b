// Package stack brings the queuescale system up on a local cluster (see
// package cluster), wired as in production: the SQS emulator, the exporter
// reading it, Prometheus scraping the exporter, and the metrics adapter
// answering Prometheus-backed external metrics through the kube-apiserver's
// aggregator, registered by an APIService whose caBundle is the CA that
// signed the adapter's serving certificate.
//
// The adapter runs outside the cluster as a process on 127.0.0.1. The
// APIService points at a Service of type ExternalName "localhost" (the API
// rejects loopback Endpoints), so the aggregator dials 127.0.0.1 on the
// adapter's port and checks its certificate for
// "<service>.<namespace>.svc".
package stack

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	authenticationv1 "k8s.io/api/authentication/v1"
	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/rest"
	apiregistrationv1 "k8s.io/kube-aggregator/pkg/apis/apiregistration/v1"
	aggregator "k8s.io/kube-aggregator/pkg/client/clientset_generated/clientset"

	"github.com/queuescale/queuescale/internal/testenv"
	"github.com/queuescale/queuescale/internal/testenv/cluster"
	"github.com/queuescale/queuescale/internal/testenv/promserver"
	"github.com/queuescale/queuescale/internal/testenv/sqsemu"
)

// Names of the objects the stack creates, as in manifests/base.
const (
	DefaultNamespace = "queuescale"
	AdapterName      = "metrics-adapter"
	APIServiceName   = "v1beta1.external.metrics.k8s.io"
	// ExternalMetricsPath is the external metrics API's root.
	ExternalMetricsPath = "/apis/external.metrics.k8s.io/v1beta1"
)

// Options configure the stack.
type Options struct {
	// Cluster to run on; required. The stack does not stop it.
	Cluster *cluster.Cluster
	// Dir receives binaries, Prometheus' data, certificates and logs
	// (logs/); required.
	Dir string
	// Queues are created in the emulator and read by the exporter by name.
	Queues []string
	// RulesFile is the adapter's rules; default adapter/rules/default.yaml.
	RulesFile string
	// Namespace holds the adapter's ServiceAccount and Service; default
	// "queuescale".
	Namespace string
	// ScrapeInterval of Prometheus (the exporter refreshes at most twice as
	// often); default 1s.
	ScrapeInterval time.Duration
	// Extra flags for the exporter and the adapter (later flags win).
	ExporterArgs, AdapterArgs []string
	// Progress receives start-up steps; nil for none.
	Progress io.Writer
}

// Stack is the running system.
type Stack struct {
	Cluster *cluster.Cluster
	// LogDir holds sqs-emulator.log, sqs-exporter.log, prometheus.log and
	// metrics-adapter.log.
	LogDir string
	// SQS is the emulator; SQSClient a client of it; QueueURLs maps each
	// queue name in Options.Queues to its URL.
	SQS       *sqsemu.Emulator
	SQSClient *sqs.Client
	QueueURLs map[string]string
	// Exporter and Adapter can be stopped and started by tests.
	Exporter, Adapter *Component
	Prometheus        *promserver.Server
	// Namespace holds the adapter's ServiceAccount and Service.
	Namespace string
	// AdapterCA is the caBundle of the APIService.
	AdapterCA []byte

	opts     Options
	stopOnce sync.Once
	stops    []func() // in start order
}

// Start builds the exporter and adapter and brings everything up, waiting
// until the APIService is Available. On error what was started is stopped.
func Start(ctx context.Context, opts Options) (*Stack, error) {
	var errs []error
	if opts.Cluster == nil {
		errs = append(errs, errors.New("stack.Options.Cluster is required"))
	}
	if opts.Dir == "" {
		errs = append(errs, errors.New("stack.Options.Dir is required"))
	}
	if err := errors.Join(errs...); err != nil {
		return nil, err
	}
	if opts.Namespace == "" {
		opts.Namespace = DefaultNamespace
	}
	if opts.ScrapeInterval == 0 {
		opts.ScrapeInterval = time.Second
	}
	if opts.RulesFile == "" {
		root, err := testenv.RepoRoot()
		if err != nil {
			return nil, err
		}
		opts.RulesFile = filepath.Join(root, "adapter", "rules", "default.yaml")
	}
	s := &Stack{
		Cluster:   opts.Cluster,
		LogDir:    filepath.Join(opts.Dir, "logs"),
		Namespace: opts.Namespace,
		QueueURLs: map[string]string{},
		opts:      opts,
	}
	if err := s.start(ctx); err != nil {
		summary := s.LogSummary(25)
		s.Stop()
		return nil, fmt.Errorf("start the queuescale stack: %w\n%s", err, summary)
	}
	return s, nil
}

func (s *Stack) progressf(format string, args ...any) {
	if s.opts.Progress != nil {
		fmt.Fprintf(s.opts.Progress, ">> "+format+"\n", args...)
	}
}

func (s *Stack) start(ctx context.Context) error {
	binDir := filepath.Join(s.opts.Dir, "bin")
	s.progressf("building sqs-exporter and metrics-adapter")
	exporterBin, err := testenv.BuildCommand(ctx, "./cmd/sqs-exporter", binDir)
	if err != nil {
		return err
	}
	adapterBin, err := testenv.BuildCommand(ctx, "./cmd/metrics-adapter", binDir)
	if err != nil {
		return err
	}

	// The queue service.
	s.progressf("starting the SQS emulator")
	if s.SQS, err = sqsemu.Start(ctx, s.LogDir); err != nil {
		return err
	}
	s.stops = append(s.stops, s.SQS.Stop)
	s.SQSClient = sqs.New(sqs.Options{
		Region:       s.SQS.Region,
		BaseEndpoint: aws.String(s.SQS.Endpoint),
		Credentials:  credentials.NewStaticCredentialsProvider("test", "test", ""),
	})
	for _, q := range s.opts.Queues {
		out, err := s.SQSClient.CreateQueue(ctx, &sqs.CreateQueueInput{QueueName: aws.String(q)})
		if err != nil {
			return fmt.Errorf("create queue %q: %w", q, err)
		}
		s.QueueURLs[q] = aws.ToString(out.QueueUrl)
	}

	// The exporter.
	port, err := testenv.FreePort()
	if err != nil {
		return err
	}
	addr := fmt.Sprintf("127.0.0.1:%d", port)
	args := []string{
		"--listen-address=" + addr,
		"--region=" + s.SQS.Region,
		"--endpoint-url=" + s.SQS.Endpoint,
		// A little below the scrape interval, so every scrape sees a fresh
		// refresh.
		"--min-refresh-interval=" + (s.opts.ScrapeInterval / 2).String(),
		"--discovery-interval=" + s.opts.ScrapeInterval.String(),
	}
	for _, q := range s.opts.Queues {
		args = append(args, "--queue="+q)
	}
	s.Exporter = &Component{
		Name:   "sqs-exporter",
		Addr:   addr,
		Binary: exporterBin,
		Args:   append(args, s.opts.ExporterArgs...),
		Env: []string{
			"AWS_ACCESS_KEY_ID=test", "AWS_SECRET_ACCESS_KEY=test", "AWS_REGION=" + s.SQS.Region,
			"AWS_EC2_METADATA_DISABLED=true", "AWS_CONFIG_FILE=/dev/null", "AWS_SHARED_CREDENTIALS_FILE=/dev/null",
		},
		logDir: s.LogDir,
		ready:  httpOK(http.DefaultClient, "http://"+addr+"/metrics"),
	}
	s.progressf("starting sqs-exporter on %s", addr)
	if err := s.Exporter.Start(ctx); err != nil {
		return err
	}
	s.stops = append(s.stops, s.Exporter.Stop)

	// Prometheus.
	s.progressf("starting prometheus")
	s.Prometheus, err = promserver.Start(ctx, promserver.Options{
		Dir:            filepath.Join(s.opts.Dir, "prometheus"),
		LogDir:         s.LogDir,
		Targets:        []promserver.Target{{Job: "sqs-exporter", Addr: addr}},
		ScrapeInterval: s.opts.ScrapeInterval,
	})
	if err != nil {
		return err
	}
	s.stops = append(s.stops, s.Prometheus.Stop)

	// The adapter: identity, RBAC, certificate, process, APIService.
	s.progressf("starting metrics-adapter behind the APIService")
	kubeconfig, err := s.adapterIdentity(ctx)
	if err != nil {
		return err
	}
	certDir := filepath.Join(s.opts.Dir, "pki")
	serving, err := s.Cluster.ServingCert(certDir, AdapterName,
		fmt.Sprintf("%s.%s.svc", AdapterName, s.Namespace), "localhost", "127.0.0.1")
	if err != nil {
		return err
	}
	s.AdapterCA = s.Cluster.CABundle()
	if port, err = testenv.FreePort(); err != nil {
		return err
	}
	pool := x509.NewCertPool()
	pool.AppendCertsFromPEM(s.AdapterCA)
	probe := &http.Client{Timeout: 5 * time.Second, Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool}}}
	s.Adapter = &Component{
		Name:   AdapterName,
		Addr:   fmt.Sprintf("127.0.0.1:%d", port),
		Binary: adapterBin,
		Args: append([]string{
			"--prometheus-url=" + s.Prometheus.URL,
			"--rules-file=" + s.opts.RulesFile,
			"--bind-address=127.0.0.1",
			fmt.Sprintf("--secure-port=%d", port),
			"--tls-cert-file=" + serving.CertFile,
			"--tls-private-key-file=" + serving.KeyFile,
			"--authentication-kubeconfig=" + kubeconfig,
			"--authorization-kubeconfig=" + kubeconfig,
			"--lister-kubeconfig=" + kubeconfig,
		}, s.opts.AdapterArgs...),
		logDir: s.LogDir,
		ready:  httpOK(probe, fmt.Sprintf("https://127.0.0.1:%d/readyz", port)),
	}
	if err := s.Adapter.Start(ctx); err != nil {
		return err
	}
	s.stops = append(s.stops, s.Adapter.Stop)
	if err := s.register(ctx, port); err != nil {
		return err
	}
	s.stops = append(s.stops, s.unregister)
	return nil
}

// adapterIdentity creates the adapter's ServiceAccount with the RBAC of an
// aggregated API server (manifests/base/rbac-adapter.yaml), and writes a
// kubeconfig with a token for it.
func (s *Stack) adapterIdentity(ctx context.Context) (string, error) {
	client := s.Cluster.Client
	ns := s.Namespace
	if _, err := client.CoreV1().Namespaces().Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: ns}}, metav1.CreateOptions{}); err != nil && !apierrors.IsAlreadyExists(err) {
		return "", fmt.Errorf("create namespace %s: %w", ns, err)
	}
	sa := &corev1.ServiceAccount{ObjectMeta: metav1.ObjectMeta{Name: AdapterName, Namespace: ns}}
	if _, err := client.CoreV1().ServiceAccounts(ns).Create(ctx, sa, metav1.CreateOptions{}); err != nil && !apierrors.IsAlreadyExists(err) {
		return "", fmt.Errorf("create service account %s/%s: %w", ns, AdapterName, err)
	}
	subject := []rbacv1.Subject{{Kind: rbacv1.ServiceAccountKind, Name: AdapterName, Namespace: ns}}
	crb := &rbacv1.ClusterRoleBinding{
		ObjectMeta: metav1.ObjectMeta{Name: "queuescale:metrics-adapter:system:auth-delegator"},
		RoleRef:    rbacv1.RoleRef{APIGroup: rbacv1.GroupName, Kind: "ClusterRole", Name: "system:auth-delegator"},
		Subjects:   subject,
	}
	if _, err := client.RbacV1().ClusterRoleBindings().Create(ctx, crb, metav1.CreateOptions{}); err != nil && !apierrors.IsAlreadyExists(err) {
		return "", fmt.Errorf("bind system:auth-delegator: %w", err)
	}
	rb := &rbacv1.RoleBinding{
		ObjectMeta: metav1.ObjectMeta{Name: "queuescale:metrics-adapter:auth-reader", Namespace: "kube-system"},
		RoleRef:    rbacv1.RoleRef{APIGroup: rbacv1.GroupName, Kind: "Role", Name: "extension-apiserver-authentication-reader"},
		Subjects:   subject,
	}
	if _, err := client.RbacV1().RoleBindings("kube-system").Create(ctx, rb, metav1.CreateOptions{}); err != nil && !apierrors.IsAlreadyExists(err) {
		return "", fmt.Errorf("bind extension-apiserver-authentication-reader: %w", err)
	}
	expiry := int64((24 * time.Hour).Seconds())
	tok, err := client.CoreV1().ServiceAccounts(ns).CreateToken(ctx, AdapterName, &authenticationv1.TokenRequest{
		Spec: authenticationv1.TokenRequestSpec{ExpirationSeconds: &expiry},
	}, metav1.CreateOptions{})
	if err != nil {
		return "", fmt.Errorf("create a token for %s/%s: %w", ns, AdapterName, err)
	}
	cfg := &rest.Config{
		Host:            s.Cluster.Server,
		BearerToken:     tok.Status.Token,
		TLSClientConfig: rest.TLSClientConfig{CAData: s.Cluster.CABundle()},
	}
	path := filepath.Join(s.opts.Dir, "metrics-adapter.kubeconfig")
	if err := os.MkdirAll(s.opts.Dir, 0o700); err != nil {
		return "", err
	}
	return path, cluster.WriteKubeconfig(path, cfg)
}

// register creates the ExternalName Service and the APIService, and waits
// until the aggregator reports it Available.
func (s *Stack) register(ctx context.Context, port int) error {
	client := s.Cluster.Client
	svc := &corev1.Service{
		ObjectMeta: metav1.ObjectMeta{Name: AdapterName, Namespace: s.Namespace},
		Spec: corev1.ServiceSpec{
			Type:         corev1.ServiceTypeExternalName,
			ExternalName: "localhost",
			Ports:        []corev1.ServicePort{{Name: "https", Port: int32(port)}},
		},
	}
	if _, err := client.CoreV1().Services(s.Namespace).Create(ctx, svc, metav1.CreateOptions{}); err != nil && !apierrors.IsAlreadyExists(err) {
		return fmt.Errorf("create service %s/%s: %w", s.Namespace, AdapterName, err)
	}
	agg, err := aggregator.NewForConfig(s.Cluster.Config)
	if err != nil {
		return err
	}
	p := int32(port)
	apiService := &apiregistrationv1.APIService{
		ObjectMeta: metav1.ObjectMeta{Name: APIServiceName},
		Spec: apiregistrationv1.APIServiceSpec{
			Group:                "external.metrics.k8s.io",
			Version:              "v1beta1",
			GroupPriorityMinimum: 100,
			VersionPriority:      100,
			Service:              &apiregistrationv1.ServiceReference{Name: AdapterName, Namespace: s.Namespace, Port: &p},
			CABundle:             s.AdapterCA,
		},
	}
	if _, err := agg.ApiregistrationV1().APIServices().Create(ctx, apiService, metav1.CreateOptions{}); err != nil {
		return fmt.Errorf("create APIService %s: %w", APIServiceName, err)
	}
	waitCtx, cancel := context.WithTimeout(ctx, 2*time.Minute)
	defer cancel()
	return testenv.Poll(waitCtx, 200*time.Millisecond, "APIService "+APIServiceName+" to be Available", func(ctx context.Context) error {
		got, err := agg.ApiregistrationV1().APIServices().Get(ctx, APIServiceName, metav1.GetOptions{})
		if err != nil {
			return err
		}
		for _, c := range got.Status.Conditions {
			if c.Type == apiregistrationv1.Available {
				if c.Status == apiregistrationv1.ConditionTrue {
					return nil
				}
				return fmt.Errorf("condition Available=%s: %s: %s", c.Status, c.Reason, c.Message)
			}
		}
		return errors.New("no Available condition yet")
	})
}

// unregister removes the APIService, so a cluster that outlives the stack
// does not keep an unreachable API group in its discovery.
func (s *Stack) unregister() {
	agg, err := aggregator.NewForConfig(s.Cluster.Config)
	if err != nil {
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	_ = agg.ApiregistrationV1().APIServices().Delete(ctx, APIServiceName, metav1.DeleteOptions{})
}

// Stop stops everything the stack started, in reverse order; the cluster is
// left running. Safe to call more than once.
func (s *Stack) Stop() {
	s.stopOnce.Do(func() {
		for i := len(s.stops) - 1; i >= 0; i-- {
			s.stops[i]()
		}
	})
}

// SendMessages puts n messages on queue.
func (s *Stack) SendMessages(ctx context.Context, queue string, n int) error {
	url, ok := s.QueueURLs[queue]
	if !ok {
		return fmt.Errorf("queue %q is not one of the stack's queues %v", queue, s.opts.Queues)
	}
	for i := 0; i < n; i++ {
		_, err := s.SQSClient.SendMessage(ctx, &sqs.SendMessageInput{
			QueueUrl:    aws.String(url),
			MessageBody: aws.String(fmt.Sprintf("message %d", i)),
		})
		if err != nil {
			return fmt.Errorf("send message %d to %s: %w", i, queue, err)
		}
	}
	return nil
}

// PurgeQueue deletes every message of queue.
func (s *Stack) PurgeQueue(ctx context.Context, queue string) error {
	url, ok := s.QueueURLs[queue]
	if !ok {
		return fmt.Errorf("queue %q is not one of the stack's queues %v", queue, s.opts.Queues)
	}
	if _, err := s.SQSClient.PurgeQueue(ctx, &sqs.PurgeQueueInput{QueueUrl: aws.String(url)}); err != nil {
		return fmt.Errorf("purge %s: %w", queue, err)
	}
	return nil
}

// LogSummary names the log directories and shows the last lines of the
// stack's and the cluster's logs.
func (s *Stack) LogSummary(lines int) string {
	return s.ownLogSummary(lines) + s.Cluster.LogSummary(lines)
}

// ownLogSummary is LogSummary without the cluster's logs.
func (s *Stack) ownLogSummary(lines int) string {
	var b strings.Builder
	fmt.Fprintf(&b, "stack logs in %s\n", s.LogDir)
	if entries, err := os.ReadDir(s.LogDir); err == nil {
		for _, e := range entries {
			data, err := os.ReadFile(filepath.Join(s.LogDir, e.Name()))
			if err != nil {
				continue
			}
			fmt.Fprintf(&b, "--- last %d lines of %s ---\n%s\n", lines, e.Name(), lastLines(string(data), lines))
		}
	}
	return b.String()
}

// StartForTest starts a stack in a temporary directory (when opts.Dir is
// empty), stops it when the test ends and, if the test failed, logs where the
// stack's logs are and their last lines (cluster.StartForTest does the same
// for the cluster's).
func StartForTest(ctx context.Context, t cluster.TB, opts Options) *Stack {
	t.Helper()
	if opts.Dir == "" {
		opts.Dir = t.TempDir()
	}
	s, err := Start(ctx, opts)
	if err != nil {
		t.Fatalf("%v", err)
	}
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("%s", s.ownLogSummary(40))
		}
		s.Stop()
	})
	return s
}

func httpOK(client *http.Client, url string) func(context.Context) error {
	return func(ctx context.Context) error {
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
		if err != nil {
			return err
		}
		resp, err := client.Do(req)
		if err != nil {
			return err
		}
		defer resp.Body.Close()
		_, _ = io.Copy(io.Discard, resp.Body)
		if resp.StatusCode != http.StatusOK {
			return fmt.Errorf("GET %s: %s", url, resp.Status)
		}
		return nil
	}
}

func lastLines(s string, n int) string {
	lines := strings.Split(strings.TrimRight(s, "\n"), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}
