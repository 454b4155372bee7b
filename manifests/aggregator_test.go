package manifests_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	authenticationv1 "k8s.io/api/authentication/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/rest"
	apiregistrationv1 "k8s.io/kube-aggregator/pkg/apis/apiregistration/v1"

	"github.com/queuescale/queuescale/internal/testenv"
	"github.com/queuescale/queuescale/internal/testenv/cluster"
)

// TestAggregatorTrustsStaticCA installs what docs/install.md installs without
// cert-manager (base + components/static-ca) on the local control plane and
// runs the real adapter with the shipped arguments, rules, ServiceAccount
// and RBAC, serving the certificate make-certs.sh made: the aggregator must
// report the APIService Available and route the external metrics API to it.
// Only what a pod network would provide is replaced: the adapter runs as a
// local process on a free port, reached through an ExternalName Service
// "localhost" (the aggregator verifies the certificate for the Service's
// name, metrics-adapter.queuescale.svc, either way), and the APIService's
// port is that port.
func TestAggregatorTrustsStaticCA(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 15*time.Minute)
	defer cancel()

	root := preparedTree(t)
	withCA := filepath.Join(filepath.Dir(root), "base-with-static-ca")
	if err := os.MkdirAll(withCA, 0o755); err != nil {
		t.Fatal(err)
	}
	kust := "apiVersion: kustomize.config.k8s.io/v1beta1\nkind: Kustomization\nresources:\n- ../manifests/base\ncomponents:\n- ../manifests/components/static-ca\n"
	if err := os.WriteFile(filepath.Join(withCA, "kustomization.yaml"), []byte(kust), 0o644); err != nil {
		t.Fatal(err)
	}
	b := runKustomize(t, newScheme(t), withCA)
	b.name = "base + components/static-ca"

	binDir := t.TempDir()
	adapterBin, err := testenv.BuildCommand(ctx, "./cmd/metrics-adapter", binDir)
	if err != nil {
		t.Fatalf("build metrics-adapter: %v", err)
	}
	port, err := testenv.FreePort()
	if err != nil {
		t.Fatal(err)
	}

	c := cluster.StartForTest(ctx, t, cluster.Options{})
	apply, _ := newApplier(ctx, t, c)
	var apiService object
	for _, o := range b.objects {
		switch o.u.GetKind() {
		case "Namespace", "ServiceAccount", "ClusterRole", "ClusterRoleBinding", "Role", "RoleBinding":
			if err := apply(o, false); err != nil {
				t.Fatalf("apply %s: %v", o, err)
			}
		case "APIService":
			apiService = o
		}
	}

	// A token of the adapter's ServiceAccount, as a pod would mount.
	tok, err := c.Client.CoreV1().ServiceAccounts("queuescale").CreateToken(ctx, "metrics-adapter", &authenticationv1.TokenRequest{
		Spec: authenticationv1.TokenRequestSpec{ExpirationSeconds: ptr(int64(3600))},
	}, metav1.CreateOptions{})
	if err != nil {
		t.Fatalf("token for queuescale/metrics-adapter: %v", err)
	}
	kubeconfig := filepath.Join(t.TempDir(), "metrics-adapter.kubeconfig")
	if err := cluster.WriteKubeconfig(kubeconfig, &rest.Config{Host: c.Server, BearerToken: tok.Status.Token, TLSClientConfig: rest.TLSClientConfig{CAData: c.CABundle()}}); err != nil {
		t.Fatal(err)
	}

	// The adapter with the Deployment's own arguments; files from the
	// build's ConfigMap and the script's certificate.
	d := b.find(t, "Deployment", "queuescale", "metrics-adapter").typed.(*appsv1.Deployment)
	caDir := filepath.Join(root, "components", "static-ca")
	var args []string
	for _, a := range mountedFiles(t, b, d, expandEnv(t, d, d.Spec.Template.Spec.Containers[0])) {
		flag, _, _ := strings.Cut(a, "=")
		switch flag {
		case "--tls-cert-file":
			a = flag + "=" + filepath.Join(caDir, "tls.crt")
		case "--tls-private-key-file":
			a = flag + "=" + filepath.Join(caDir, "tls.key")
		case "--secure-port":
			a = fmt.Sprintf("%s=%d", flag, port)
		case "--prometheus-url":
			a = flag + "=http://127.0.0.1:9" // discovery needs no Prometheus
		}
		args = append(args, a)
	}
	args = append(args, "--bind-address=127.0.0.1",
		"--authentication-kubeconfig="+kubeconfig, "--authorization-kubeconfig="+kubeconfig, "--lister-kubeconfig="+kubeconfig)
	proc, err := testenv.StartProcess("metrics-adapter", filepath.Join(t.TempDir(), "logs"), exec.Command(adapterBin, args...))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		proc.Stop(10 * time.Second)
		if t.Failed() {
			if log, err := os.ReadFile(proc.LogPath); err == nil {
				t.Logf("metrics-adapter log:\n%s", tailLines(string(log), 40))
			}
		}
	})

	svc := &corev1.Service{
		ObjectMeta: metav1.ObjectMeta{Name: "metrics-adapter", Namespace: "queuescale"},
		Spec: corev1.ServiceSpec{
			Type:         corev1.ServiceTypeExternalName,
			ExternalName: "localhost",
			Ports:        []corev1.ServicePort{{Name: "https", Port: int32(port)}},
		},
	}
	if _, err := c.Client.CoreV1().Services("queuescale").Create(ctx, svc, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	api := apiService.typed.(*apiregistrationv1.APIService).DeepCopy()
	api.Spec.Service.Port = ptr(int32(port))
	data, err := json.Marshal(api)
	if err != nil {
		t.Fatal(err)
	}
	apiService.json = data
	if err := apply(apiService, false); err != nil {
		t.Fatalf("apply %s: %v", apiService, err)
	}

	waitCtx, waitCancel := context.WithTimeout(ctx, 2*time.Minute)
	defer waitCancel()
	err = testenv.Poll(waitCtx, 500*time.Millisecond, "APIService v1beta1.external.metrics.k8s.io Available", func(ctx context.Context) error {
		if exited, err := proc.Exited(); exited {
			return fmt.Errorf("metrics-adapter exited: %v", err)
		}
		raw, err := c.Client.Discovery().RESTClient().Get().AbsPath("/apis/apiregistration.k8s.io/v1/apiservices/v1beta1.external.metrics.k8s.io").DoRaw(ctx)
		if err != nil {
			return err
		}
		got := &apiregistrationv1.APIService{}
		if err := json.Unmarshal(raw, got); err != nil {
			return err
		}
		for _, cond := range got.Status.Conditions {
			if cond.Type == apiregistrationv1.Available {
				if cond.Status == apiregistrationv1.ConditionTrue {
					return nil
				}
				return fmt.Errorf("Available=%s %s: %s", cond.Status, cond.Reason, cond.Message)
			}
		}
		return errors.New("no Available condition yet")
	})
	if err != nil {
		t.Fatal(err)
	}

	// kubectl get --raw /apis/external.metrics.k8s.io/v1beta1, through the
	// aggregator.
	raw, err := c.Client.Discovery().RESTClient().Get().AbsPath("/apis/external.metrics.k8s.io/v1beta1").DoRaw(ctx)
	if err != nil {
		t.Fatalf("GET /apis/external.metrics.k8s.io/v1beta1 through the aggregator: %v", err)
	}
	var list metav1.APIResourceList
	if err := json.Unmarshal(raw, &list); err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, r := range list.APIResources {
		names = append(names, r.Name)
	}
	if !slices.Contains(names, "sqs_backlog") {
		t.Errorf("external metrics through the aggregator %v lack sqs_backlog", names)
	}
}

func tailLines(s string, n int) string {
	lines := strings.Split(strings.TrimRight(s, "\n"), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}
