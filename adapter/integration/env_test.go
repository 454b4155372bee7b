// Package integration runs the metrics adapter binary over HTTPS against a
// real Prometheus scraping the real SQS exporter, which reads the real SQS
// emulator. Everything listens on 127.0.0.1 and is stopped by the test.
package integration

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/json"
	"encoding/pem"
	"fmt"
	"io"
	"math/big"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	"k8s.io/metrics/pkg/apis/external_metrics/v1beta1"

	"github.com/queuescale/queuescale/adapter/rules"
	"github.com/queuescale/queuescale/internal/testenv"
	"github.com/queuescale/queuescale/internal/testenv/promserver"
	"github.com/queuescale/queuescale/internal/testenv/sqsemu"
)

// env is the running system under test.
type env struct {
	dir      string
	bins     map[string]string
	emu      *sqsemu.Emulator
	sqs      *sqs.Client
	exporter *testenv.Process
	expAddr  string
	queues   []string
	prom     *promserver.Server
	adapter  *testenv.Process
	base     string       // https://127.0.0.1:PORT
	client   *http.Client // authenticated (client certificate in system:masters)
	anon     *http.Client // trusts the server, presents no certificate
	pki      *pki
	// rulesFile is the adapter's --rules-file, the shipped defaults at start.
	rulesFile string
}

type envOptions struct {
	queues       []string
	maxSampleAge time.Duration
	cacheTTL     time.Duration
	// scrapeInterval of Prometheus (default 1s); it is also the scrape
	// timeout the exporter gets to read every queue.
	scrapeInterval time.Duration
}

func startEnv(t testing.TB, opts envOptions) *env {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
	defer cancel()
	dir := t.TempDir()
	e := &env{dir: dir, bins: map[string]string{}, queues: opts.queues}

	for _, pkg := range []string{"./cmd/sqs-exporter", "./cmd/metrics-adapter"} {
		bin, err := testenv.BuildCommand(ctx, pkg, filepath.Join(dir, "bin"))
		if err != nil {
			t.Fatalf("build %s: %v", pkg, err)
		}
		e.bins[filepath.Base(pkg)] = bin
	}

	emu, err := sqsemu.Start(ctx, filepath.Join(dir, "logs"))
	if err != nil {
		t.Fatalf("start the SQS emulator: %v (run `make deps`)", err)
	}
	t.Cleanup(emu.Stop)
	e.emu = emu
	e.sqs = sqs.New(sqs.Options{
		Region:       emu.Region,
		BaseEndpoint: aws.String(emu.Endpoint),
		Credentials:  credentials.NewStaticCredentialsProvider("test", "test", ""),
	})
	for _, q := range opts.queues {
		if _, err := e.sqs.CreateQueue(ctx, &sqs.CreateQueueInput{QueueName: aws.String(q)}); err != nil {
			t.Fatalf("create queue %s: %v", q, err)
		}
	}

	port, err := testenv.FreePort()
	if err != nil {
		t.Fatal(err)
	}
	e.expAddr = fmt.Sprintf("127.0.0.1:%d", port)
	e.startExporter(t)
	t.Cleanup(func() { e.exporter.Stop(5 * time.Second) })

	prom, err := promserver.Start(ctx, promserver.Options{
		Dir: filepath.Join(dir, "prometheus"), LogDir: filepath.Join(dir, "logs"),
		Targets:        []promserver.Target{{Job: "sqs-exporter", Addr: e.expAddr}},
		ScrapeInterval: opts.scrapeInterval,
	})
	if err != nil {
		t.Fatalf("start Prometheus: %v (run `make deps`)", err)
	}
	t.Cleanup(prom.Stop)
	e.prom = prom

	e.pki = newPKI(t, filepath.Join(dir, "pki"))
	e.startAdapter(t, opts)
	t.Cleanup(func() {
		e.adapter.Stop(5 * time.Second)
		if t.Failed() {
			for _, name := range []string{"metrics-adapter", "sqs-exporter", "prometheus"} {
				data, _ := os.ReadFile(filepath.Join(dir, "logs", name+".log"))
				if len(data) > 6000 {
					data = data[len(data)-6000:]
				}
				t.Logf("--- tail of %s.log ---\n%s", name, data)
			}
		}
	})
	return e
}

func (e *env) startExporter(t testing.TB) {
	args := []string{
		"--endpoint-url=" + e.emu.Endpoint, "--region=" + e.emu.Region,
		"--listen-address=" + e.expAddr, "--min-refresh-interval=200ms",
	}
	for _, q := range e.queues {
		args = append(args, "--queue="+q)
	}
	cmd := exec.Command(e.bins["sqs-exporter"], args...)
	cmd.Env = append(os.Environ(), "AWS_ACCESS_KEY_ID=test", "AWS_SECRET_ACCESS_KEY=test")
	p, err := testenv.StartProcess("sqs-exporter", filepath.Join(e.dir, "logs"), cmd)
	if err != nil {
		t.Fatal(err)
	}
	e.exporter = p
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	err = testenv.Poll(ctx, 100*time.Millisecond, "the exporter to serve /metrics", func(ctx context.Context) error {
		if exited, err := p.Exited(); exited {
			return fmt.Errorf("exporter exited: %v", err)
		}
		resp, err := http.Get("http://" + e.expAddr + "/metrics")
		if err != nil {
			return err
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			return fmt.Errorf("/metrics: %s", resp.Status)
		}
		return nil
	})
	if err != nil {
		t.Fatalf("%v; see %s", err, p.LogPath)
	}
}

// startAdapter runs the adapter as it runs in a cluster (TLS from files,
// delegated authentication and authorization) except that there is no
// kube-apiserver in this tier: clients authenticate with a certificate from
// --client-ca-file, the system:masters group is authorized by the library's
// always-allow-groups rule, and the kubeconfigs point at a closed port so
// that any request that needs a TokenReview or SubjectAccessReview fails.
func (e *env) startAdapter(t testing.TB, opts envOptions) {
	port, err := testenv.FreePort()
	if err != nil {
		t.Fatal(err)
	}
	dead, err := testenv.FreePort()
	if err != nil {
		t.Fatal(err)
	}
	e.rulesFile = filepath.Join(e.dir, "rules", "rules.yaml")
	writeFile(t, e.rulesFile, string(rules.DefaultYAML))
	kubeconfig := filepath.Join(e.dir, "no-apiserver.kubeconfig")
	writeFile(t, kubeconfig, fmt.Sprintf(`apiVersion: v1
kind: Config
clusters:
- name: none
  cluster: {server: "https://127.0.0.1:%d", certificate-authority: %q}
users:
- name: none
  user: {}
contexts:
- name: none
  context: {cluster: none, user: none}
current-context: none
`, dead, e.pki.caFile))
	args := []string{
		"--bind-address=127.0.0.1", "--secure-port=" + strconv.Itoa(port),
		"--tls-cert-file=" + e.pki.serverCert, "--tls-private-key-file=" + e.pki.serverKey,
		"--client-ca-file=" + e.pki.caFile, "--authentication-skip-lookup",
		"--authentication-kubeconfig=" + kubeconfig, "--authorization-kubeconfig=" + kubeconfig,
		"--lister-kubeconfig=" + kubeconfig,
		"--prometheus-url=" + e.prom.URL, "--rules-file=" + e.rulesFile,
		"--max-sample-age=" + opts.maxSampleAge.String(),
		"--cache-ttl=" + opts.cacheTTL.String(),
		"--query-timeout=2s",
		"--v=1",
	}
	p, err := testenv.StartProcess("metrics-adapter", filepath.Join(e.dir, "logs"), exec.Command(e.bins["metrics-adapter"], args...))
	if err != nil {
		t.Fatal(err)
	}
	e.adapter = p
	e.base = fmt.Sprintf("https://127.0.0.1:%d", port)
	e.client = e.pki.client(t, true)
	e.anon = e.pki.client(t, false)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	err = testenv.Poll(ctx, 100*time.Millisecond, "the adapter to be ready", func(ctx context.Context) error {
		if exited, err := p.Exited(); exited {
			return fmt.Errorf("adapter exited: %v", err)
		}
		code, body, err := e.get(ctx, e.anon, "/readyz")
		if err != nil {
			return err
		}
		if code != http.StatusOK {
			return fmt.Errorf("/readyz: %d %s", code, body)
		}
		return nil
	})
	if err != nil {
		t.Fatalf("%v; see %s", err, p.LogPath)
	}
}

func (e *env) get(ctx context.Context, c *http.Client, path string) (int, []byte, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, e.base+path, nil)
	if err != nil {
		return 0, nil, err
	}
	resp, err := c.Do(req)
	if err != nil {
		return 0, nil, err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	return resp.StatusCode, body, err
}

func metricPath(namespace, metric, selector string) string {
	p := "/apis/external.metrics.k8s.io/v1beta1/namespaces/" + namespace + "/" + metric
	if selector != "" {
		p += "?labelSelector=" + url.QueryEscape(selector)
	}
	return p
}

// value reads one external metric; a non-200 answer is an error with the
// status code.
func (e *env) value(ctx context.Context, metric, selector string) (float64, time.Time, error) {
	code, body, err := e.get(ctx, e.client, metricPath("default", metric, selector))
	if err != nil {
		return 0, time.Time{}, err
	}
	if code != http.StatusOK {
		return 0, time.Time{}, &statusError{code: code, body: string(body)}
	}
	var list v1beta1.ExternalMetricValueList
	if err := json.Unmarshal(body, &list); err != nil {
		return 0, time.Time{}, fmt.Errorf("decode %s: %w", body, err)
	}
	if len(list.Items) != 1 {
		return 0, time.Time{}, fmt.Errorf("want one item, got %s", body)
	}
	return list.Items[0].Value.AsApproximateFloat64(), list.Items[0].Timestamp.Time, nil
}

type statusError struct {
	code int
	body string
}

func (s *statusError) Error() string { return fmt.Sprintf("HTTP %d: %s", s.code, s.body) }

func writeFile(t testing.TB, path, content string) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
}

// pki is a throwaway CA with a serving certificate for 127.0.0.1 and a
// client certificate in the system:masters group.
type pki struct {
	caFile, serverCert, serverKey string
	caPool                        *x509.CertPool
	clientCert                    tls.Certificate
}

func newPKI(t testing.TB, dir string) *pki {
	t.Helper()
	caKey, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	now := time.Now()
	caTmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "queuescale-test-ca"},
		NotBefore: now.Add(-time.Hour), NotAfter: now.Add(24 * time.Hour),
		IsCA: true, BasicConstraintsValid: true, KeyUsage: x509.KeyUsageCertSign | x509.KeyUsageDigitalSignature,
	}
	caDER, err := x509.CreateCertificate(rand.Reader, caTmpl, caTmpl, &caKey.PublicKey, caKey)
	if err != nil {
		t.Fatal(err)
	}
	ca, _ := x509.ParseCertificate(caDER)
	issue := func(serial int64, subject pkix.Name, usage x509.ExtKeyUsage, ips []net.IP, dns []string) ([]byte, []byte) {
		key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
		if err != nil {
			t.Fatal(err)
		}
		tmpl := &x509.Certificate{
			SerialNumber: big.NewInt(serial), Subject: subject,
			NotBefore: now.Add(-time.Hour), NotAfter: now.Add(24 * time.Hour),
			KeyUsage: x509.KeyUsageDigitalSignature, ExtKeyUsage: []x509.ExtKeyUsage{usage},
			IPAddresses: ips, DNSNames: dns,
		}
		der, err := x509.CreateCertificate(rand.Reader, tmpl, ca, &key.PublicKey, caKey)
		if err != nil {
			t.Fatal(err)
		}
		keyDER, err := x509.MarshalECPrivateKey(key)
		if err != nil {
			t.Fatal(err)
		}
		return pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}),
			pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: keyDER})
	}
	p := &pki{
		caFile:     filepath.Join(dir, "ca.crt"),
		serverCert: filepath.Join(dir, "serving.crt"),
		serverKey:  filepath.Join(dir, "serving.key"),
		caPool:     x509.NewCertPool(),
	}
	p.caPool.AddCert(ca)
	writeFile(t, p.caFile, string(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: caDER})))
	sc, sk := issue(2, pkix.Name{CommonName: "metrics-adapter"}, x509.ExtKeyUsageServerAuth,
		[]net.IP{net.ParseIP("127.0.0.1")}, []string{"localhost"})
	writeFile(t, p.serverCert, string(sc))
	writeFile(t, p.serverKey, string(sk))
	cc, ck := issue(3, pkix.Name{CommonName: "integration-test", Organization: []string{"system:masters"}}, x509.ExtKeyUsageClientAuth, nil, nil)
	p.clientCert, err = tls.X509KeyPair(cc, ck)
	if err != nil {
		t.Fatal(err)
	}
	return p
}

func (p *pki) client(t testing.TB, withCert bool) *http.Client {
	cfg := &tls.Config{RootCAs: p.caPool, MinVersion: tls.VersionTLS12}
	if withCert {
		cfg.Certificates = []tls.Certificate{p.clientCert}
	}
	return &http.Client{
		Timeout:   30 * time.Second,
		Transport: &http.Transport{TLSClientConfig: cfg, MaxIdleConnsPerHost: 64},
	}
}
