package manifests_test

import (
	"bufio"
	"bytes"
	"crypto/tls"
	"crypto/x509"
	"encoding/pem"
	"os"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	appsv1 "k8s.io/api/apps/v1"
	autoscalingv2 "k8s.io/api/autoscaling/v2"
	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	schedulingv1 "k8s.io/api/scheduling/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	apiregistrationv1 "k8s.io/kube-aggregator/pkg/apis/apiregistration/v1"

	"github.com/queuescale/queuescale/adapter/rules"
	"github.com/queuescale/queuescale/coordinator/api/v1alpha1"
)

// access is one request a ServiceAccount might make.
type access struct {
	verb, group, resource, namespace string // namespace "" = cluster-wide
}

// allowed evaluates the RBAC objects of a build (not Kubernetes' own
// bootstrap roles) for a ServiceAccount, the way the RBAC authorizer does:
// ClusterRoleBindings grant everywhere, RoleBindings only in their
// namespace; "*" matches anything.
func allowed(b build, saNamespace, saName string, a access) bool {
	bound := func(subjects []rbacv1.Subject) bool {
		for _, s := range subjects {
			if s.Kind == "ServiceAccount" && s.Namespace == saNamespace && s.Name == saName {
				return true
			}
		}
		return false
	}
	rulesOf := func(kind, namespace, name string) []rbacv1.PolicyRule {
		for _, o := range b.ofKind(kind) {
			if o.u.GetName() != name || o.u.GetNamespace() != namespace {
				continue
			}
			if kind == "ClusterRole" {
				return o.typed.(*rbacv1.ClusterRole).Rules
			}
			return o.typed.(*rbacv1.Role).Rules
		}
		return nil
	}
	match := func(list []string, v string) bool { return slices.Contains(list, "*") || slices.Contains(list, v) }
	grants := func(rs []rbacv1.PolicyRule) bool {
		for _, r := range rs {
			if match(r.Verbs, a.verb) && match(r.APIGroups, a.group) && match(r.Resources, a.resource) && len(r.ResourceNames) == 0 {
				return true
			}
		}
		return false
	}
	for _, o := range b.ofKind("ClusterRoleBinding") {
		crb := o.typed.(*rbacv1.ClusterRoleBinding)
		if bound(crb.Subjects) && grants(rulesOf("ClusterRole", "", crb.RoleRef.Name)) {
			return true
		}
	}
	for _, o := range b.ofKind("RoleBinding") {
		rb := o.typed.(*rbacv1.RoleBinding)
		if !bound(rb.Subjects) || a.namespace != rb.Namespace {
			continue
		}
		ns := rb.Namespace
		if rb.RoleRef.Kind == "ClusterRole" {
			ns = ""
		}
		if grants(rulesOf(rb.RoleRef.Kind, ns, rb.RoleRef.Name)) {
			return true
		}
	}
	return false
}

// rbacExpectations is what each ServiceAccount of queuescale may and may not
// do, checked against our RBAC objects by TestRBACLeastPrivilege and against
// a real kube-apiserver's authorizer by TestServerSideDryRun.
var rbacExpectations = []struct {
	sa     string
	access access
	want   bool
}{
	// The coordinator: what it needs ...
	{"priority-coordinator", access{"watch", "queuescale.io", "prioritypolicies", "microbadger"}, true},
	{"priority-coordinator", access{"update", "queuescale.io", "prioritypolicies/status", "microbadger"}, true},
	{"priority-coordinator", access{"update", "queuescale.io", "prioritypolicies/finalizers", "microbadger"}, true},
	{"priority-coordinator", access{"update", "autoscaling", "horizontalpodautoscalers", "microbadger"}, true},
	{"priority-coordinator", access{"get", "apps", "deployments", "microbadger"}, true},
	{"priority-coordinator", access{"get", "apps", "statefulsets", "microbadger"}, true},
	{"priority-coordinator", access{"list", "", "nodes", ""}, true},
	{"priority-coordinator", access{"watch", "", "pods", ""}, true},
	{"priority-coordinator", access{"get", "external.metrics.k8s.io", "sqs_backlog", "microbadger"}, true},
	{"priority-coordinator", access{"create", "", "events", "microbadger"}, true},
	{"priority-coordinator", access{"update", "coordination.k8s.io", "leases", "queuescale"}, true},
	// ... and nothing more.
	{"priority-coordinator", access{"update", "coordination.k8s.io", "leases", "kube-system"}, false},
	{"priority-coordinator", access{"patch", "queuescale.io", "prioritypolicies", "microbadger"}, true},
	{"priority-coordinator", access{"update", "queuescale.io", "prioritypolicies", "microbadger"}, false},
	{"priority-coordinator", access{"delete", "queuescale.io", "prioritypolicies", "microbadger"}, false},
	{"priority-coordinator", access{"patch", "autoscaling", "horizontalpodautoscalers", "microbadger"}, false},
	{"priority-coordinator", access{"create", "autoscaling", "horizontalpodautoscalers", "microbadger"}, false},
	{"priority-coordinator", access{"delete", "autoscaling", "horizontalpodautoscalers", "microbadger"}, false},
	{"priority-coordinator", access{"update", "apps", "deployments", "microbadger"}, false},
	{"priority-coordinator", access{"patch", "apps", "deployments", "microbadger"}, false},
	{"priority-coordinator", access{"update", "apps", "deployments/scale", "microbadger"}, false},
	{"priority-coordinator", access{"delete", "", "pods", "microbadger"}, false},
	{"priority-coordinator", access{"create", "", "pods/eviction", "microbadger"}, false},
	{"priority-coordinator", access{"get", "", "secrets", "microbadger"}, false},
	{"priority-coordinator", access{"update", "", "nodes", ""}, false},
	// The adapter relies on Kubernetes' system roles only.
	{"metrics-adapter", access{"get", "", "secrets", "queuescale"}, false},
	{"metrics-adapter", access{"list", "", "namespaces", ""}, false},
	{"metrics-adapter", access{"list", "", "pods", ""}, false},
	// The exporter has no Kubernetes permissions at all.
	{"sqs-exporter", access{"get", "", "configmaps", "queuescale"}, false},
	{"sqs-exporter", access{"list", "", "secrets", "queuescale"}, false},
}

func TestRBACLeastPrivilege(t *testing.T) {
	b := buildAll(t)["base"]
	for _, tc := range rbacExpectations {
		if got := allowed(b, "queuescale", tc.sa, tc.access); got != tc.want {
			t.Errorf("%s may %s %s (group %q, namespace %q): %v, want %v", tc.sa, tc.access.verb, tc.access.resource, tc.access.group, tc.access.namespace, got, tc.want)
		}
	}
	// The adapter's delegated authn/authz bindings.
	crb := b.find(t, "ClusterRoleBinding", "", "queuescale:metrics-adapter:system:auth-delegator").typed.(*rbacv1.ClusterRoleBinding)
	if crb.RoleRef.Name != "system:auth-delegator" {
		t.Errorf("auth-delegator binding refers to %q", crb.RoleRef.Name)
	}
	rb := b.find(t, "RoleBinding", "kube-system", "queuescale:metrics-adapter:auth-reader").typed.(*rbacv1.RoleBinding)
	if rb.RoleRef.Kind != "Role" || rb.RoleRef.Name != "extension-apiserver-authentication-reader" {
		t.Errorf("auth-reader binding refers to %s %q", rb.RoleRef.Kind, rb.RoleRef.Name)
	}
	// The exporter does not even get a token.
	sa := b.find(t, "ServiceAccount", "queuescale", "sqs-exporter").typed.(*corev1.ServiceAccount)
	if sa.AutomountServiceAccountToken == nil || *sa.AutomountServiceAccountToken {
		t.Errorf("ServiceAccount sqs-exporter mounts an API token it never uses")
	}
}

// TestRBACRulesAreExplained requires a comment right above every RBAC rule
// and binding in the base: why each permission exists.
func TestRBACRulesAreExplained(t *testing.T) {
	ruleStart := regexp.MustCompile(`^- (apiGroups|nonResourceURLs):`)
	for _, file := range []string{"base/rbac-adapter.yaml", "base/rbac-coordinator.yaml"} {
		data, err := os.ReadFile(file)
		if err != nil {
			t.Fatal(err)
		}
		var prev string
		n := 0
		sc := bufio.NewScanner(bytes.NewReader(data))
		for sc.Scan() {
			n++
			line := sc.Text()
			if ruleStart.MatchString(line) && !strings.HasPrefix(strings.TrimSpace(prev), "#") {
				t.Errorf("%s:%d: RBAC rule without a comment saying why: %s", file, n, line)
			}
			if strings.TrimSpace(line) != "" {
				prev = line
			}
		}
	}
}

func TestMicrobadgerExample(t *testing.T) {
	b := buildAll(t)["examples/microbadger"]
	set, err := rules.Parse("adapter/rules/default.yaml", repoFile(t, "adapter/rules/default.yaml"))
	if err != nil {
		t.Fatalf("the adapter's default rules do not load: %v", err)
	}
	inspectorPC := b.find(t, "PriorityClass", "", "microbadger-inspector").typed.(*schedulingv1.PriorityClass)
	sizePC := b.find(t, "PriorityClass", "", "microbadger-size").typed.(*schedulingv1.PriorityClass)
	if inspectorPC.Value <= sizePC.Value {
		t.Errorf("PriorityClass values: inspector %d, size %d; Inspector must be higher", inspectorPC.Value, sizePC.Value)
	}
	if inspectorPC.GlobalDefault || sizePC.GlobalDefault {
		t.Errorf("an example PriorityClass is globalDefault: it would apply to every pod of the cluster")
	}

	workers := []struct {
		name, queue, priorityClass string
		averageValue               string
	}{
		{"inspector", "inspection", "microbadger-inspector", "2"},
		{"size", "size", "microbadger-size", "5"},
	}
	for _, w := range workers {
		t.Run(w.name, func(t *testing.T) {
			d := b.find(t, "Deployment", "microbadger", w.name).typed.(*appsv1.Deployment)
			pod := d.Spec.Template.Spec
			if pod.PriorityClassName != w.priorityClass {
				t.Errorf("priorityClassName %q, want %q", pod.PriorityClassName, w.priorityClass)
			}
			if diff := cmp.Diff(map[string]string{"queuescale.io/pool": "workers"}, pod.NodeSelector); diff != "" {
				t.Errorf("nodeSelector (-want +got):\n%s", diff)
			}
			req := pod.Containers[0].Resources.Requests
			if !req.Cpu().Equal(resource.MustParse("200m")) || !req.Memory().Equal(resource.MustParse("256Mi")) {
				t.Errorf("requests cpu %s memory %s, want 200m and 256Mi (SCENARIO.md)", req.Cpu(), req.Memory())
			}

			hpa := b.find(t, "HorizontalPodAutoscaler", "microbadger", w.name).typed.(*autoscalingv2.HorizontalPodAutoscaler)
			if ref := hpa.Spec.ScaleTargetRef; ref.Kind != "Deployment" || ref.Name != d.Name || ref.APIVersion != "apps/v1" {
				t.Errorf("scaleTargetRef %+v does not name Deployment %s", ref, d.Name)
			}
			if hpa.Spec.MinReplicas == nil || *hpa.Spec.MinReplicas != 1 || hpa.Spec.MaxReplicas != 16 {
				t.Errorf("replicas min %v max %d, want 1 and 16", hpa.Spec.MinReplicas, hpa.Spec.MaxReplicas)
			}
			want := []autoscalingv2.MetricSpec{{
				Type: autoscalingv2.ExternalMetricSourceType,
				External: &autoscalingv2.ExternalMetricSource{
					Metric: autoscalingv2.MetricIdentifier{
						Name:     "sqs_backlog",
						Selector: &metav1.LabelSelector{MatchLabels: map[string]string{"queue": w.queue}},
					},
					Target: autoscalingv2.MetricTarget{Type: autoscalingv2.AverageValueMetricType, AverageValue: ptr(resource.MustParse(w.averageValue))},
				},
			}}
			if diff := cmp.Diff(want, hpa.Spec.Metrics, cmp.Comparer(func(a, b resource.Quantity) bool { return a.Cmp(b) == 0 })); diff != "" {
				t.Errorf("HPA metrics (-want +got):\n%s", diff)
			}
			// The adapter must serve what the HPA asks for.
			for _, m := range hpa.Spec.Metrics {
				r, ok := set.Lookup(m.External.Metric.Name)
				if !ok {
					t.Errorf("the adapter's default rules have no metric %q", m.External.Metric.Name)
					continue
				}
				if !r.AllowsNamespace(hpa.Namespace) {
					t.Errorf("the adapter's rule %q does not serve namespace %q", r.Name, hpa.Namespace)
				}
				for l := range m.External.Metric.Selector.MatchLabels {
					if !r.AllowsLabel(l) {
						t.Errorf("the adapter's rule %q does not allow selector label %q", r.Name, l)
					}
				}
			}
		})
	}

	pp := b.find(t, "PriorityPolicy", "microbadger", "microbadger").typed.(*v1alpha1.PriorityPolicy)
	var tiers []string
	for _, tier := range pp.Spec.Tiers {
		tiers = append(tiers, tier.HPA)
	}
	if diff := cmp.Diff([]string{"inspector", "size"}, tiers); diff != "" {
		t.Errorf("PriorityPolicy tiers (-want +got):\n%s", diff)
	}
	if pp.Spec.Capacity.Budget != nil || pp.Spec.Capacity.NodeSelector == nil {
		t.Fatalf("PriorityPolicy capacity must be a nodeSelector pool, got %+v", pp.Spec.Capacity)
	}
	if diff := cmp.Diff(map[string]string{"queuescale.io/pool": "workers"}, pp.Spec.Capacity.NodeSelector.MatchLabels); diff != "" {
		t.Errorf("PriorityPolicy capacity nodeSelector (-want +got):\n%s", diff)
	}
}

func ptr[T any](v T) *T { return &v }

// TestStaticCA checks what make-certs.sh produces, as applied by the local
// overlay: the aggregator, trusting the APIService's caBundle, accepts the
// adapter's serving certificate for the Service's DNS name.
func TestStaticCA(t *testing.T) {
	b := buildAll(t)["overlays/local"]
	api := b.find(t, "APIService", "", "v1beta1.external.metrics.k8s.io").typed.(*apiregistrationv1.APIService)
	secret := b.find(t, "Secret", "queuescale", "metrics-adapter-serving-cert").typed.(*corev1.Secret)
	if secret.Type != corev1.SecretTypeTLS {
		t.Errorf("serving secret type %q, want %q", secret.Type, corev1.SecretTypeTLS)
	}
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(api.Spec.CABundle) {
		t.Fatalf("APIService caBundle holds no PEM certificate: %q", api.Spec.CABundle)
	}
	if !bytes.Equal(api.Spec.CABundle, secret.Data["ca.crt"]) {
		t.Errorf("APIService caBundle differs from the secret's ca.crt")
	}
	_, err := tls.X509KeyPair(secret.Data["tls.crt"], secret.Data["tls.key"])
	if err != nil {
		t.Fatalf("tls.crt and tls.key do not form a key pair: %v", err)
	}
	block, _ := pem.Decode(secret.Data["tls.crt"])
	cert, err := x509.ParseCertificate(block.Bytes)
	if err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{"metrics-adapter.queuescale.svc", "metrics-adapter.queuescale.svc.cluster.local"} {
		if _, err := cert.Verify(x509.VerifyOptions{DNSName: name, Roots: pool, KeyUsages: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}}); err != nil {
			t.Errorf("serving certificate does not verify for %s against the caBundle: %v", name, err)
		}
	}
	if _, err := cert.Verify(x509.VerifyOptions{DNSName: "evil.example.com", Roots: pool}); err == nil {
		t.Errorf("serving certificate verifies for a name it must not cover")
	}
	if cert.IsCA {
		t.Errorf("serving certificate is a CA")
	}
}
