package manifests_test

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	authorizationv1 "k8s.io/api/authorization/v1"
	apiextensionsv1 "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/discovery"
	"k8s.io/client-go/discovery/cached/memory"
	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/restmapper"

	"github.com/queuescale/queuescale/internal/testenv"
	"github.com/queuescale/queuescale/internal/testenv/cluster"
)

// TestServerSideDryRun applies the base (with the static CA's secret and
// caBundle), the local overlay and the example workload to a real
// kube-apiserver with server-side apply in dry-run mode and strict field
// validation: the API server's own defaulting, validation, admission and the
// CRD's OpenAPI and CEL rules see every object. The CRD and the namespaces
// are created for real first, as `kubectl apply` would need them to be.
// Then the base's RBAC is applied for real and the API server's authorizer
// (SubjectAccessReview) must agree with rbacExpectations.
func TestServerSideDryRun(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 15*time.Minute)
	defer cancel()

	root := preparedTree(t)
	scheme := newScheme(t)
	var builds []build
	for _, dir := range []string{"base", "overlays/local", "examples/microbadger"} {
		b := runKustomize(t, scheme, filepath.Join(root, dir))
		b.name = dir
		builds = append(builds, b)
	}
	// The base alone lacks the serving secret; build it with the static CA
	// component as docs/install.md applies it.
	withCA := filepath.Join(filepath.Dir(root), "base-with-static-ca")
	if err := os.MkdirAll(withCA, 0o755); err != nil {
		t.Fatal(err)
	}
	kust := "apiVersion: kustomize.config.k8s.io/v1beta1\nkind: Kustomization\nresources:\n- ../manifests/base\ncomponents:\n- ../manifests/components/static-ca\n"
	if err := os.WriteFile(filepath.Join(withCA, "kustomization.yaml"), []byte(kust), 0o644); err != nil {
		t.Fatal(err)
	}
	b := runKustomize(t, scheme, withCA)
	b.name = "base + components/static-ca"
	builds = append(builds, b)

	c := cluster.StartForTest(ctx, t, cluster.Options{})
	apply, mapper := newApplier(ctx, t, c)
	// The CRD and the namespaces for real, then wait for the CRD.
	for _, b := range builds {
		for _, o := range b.objects {
			if k := o.u.GetKind(); k != "CustomResourceDefinition" && k != "Namespace" {
				continue
			}
			if err := apply(o, false); err != nil {
				t.Fatalf("%s: apply %s: %v", b.name, o, err)
			}
		}
	}
	dyn, err := dynamic.NewForConfig(c.Config)
	if err != nil {
		t.Fatal(err)
	}
	err = testenv.Poll(ctx, 200*time.Millisecond, "the PriorityPolicy CRD to be Established", func(ctx context.Context) error {
		u, err := dyn.Resource(apiextensionsv1.SchemeGroupVersion.WithResource("customresourcedefinitions")).Get(ctx, "prioritypolicies.queuescale.io", metav1.GetOptions{})
		if err != nil {
			return err
		}
		conds, _, _ := unstructured.NestedSlice(u.Object, "status", "conditions")
		for _, c := range conds {
			m, _ := c.(map[string]any)
			if m["type"] == "Established" && m["status"] == "True" {
				return nil
			}
		}
		return fmt.Errorf("not Established yet")
	})
	if err != nil {
		t.Fatal(err)
	}
	mapper.Reset()

	for _, b := range builds {
		t.Run(b.name, func(t *testing.T) {
			for _, o := range b.objects {
				if err := apply(o, true); err != nil {
					t.Errorf("server-side dry run of %s: %v", o, err)
				}
			}
		})
	}

	// The dry run must not have created anything.
	if _, err := c.Client.AppsV1().Deployments("queuescale").Get(ctx, "metrics-adapter", metav1.GetOptions{}); err == nil {
		t.Errorf("the dry run created Deployment queuescale/metrics-adapter")
	}

	// Now the ServiceAccounts and RBAC for real, and the API server's own
	// authorizer asked what each identity may do.
	t.Run("RBAC", func(t *testing.T) {
		for _, o := range builds[0].objects {
			switch o.u.GetKind() {
			case "ServiceAccount", "ClusterRole", "ClusterRoleBinding", "Role", "RoleBinding":
				if err := apply(o, false); err != nil {
					t.Fatalf("apply %s: %v", o, err)
				}
			}
		}
		type check struct {
			user string
			a    access
			name string
			want bool
		}
		sa := func(name string) string { return "system:serviceaccount:queuescale:" + name }
		checks := []check{
			// Delegated authentication and authorization of the adapter.
			{sa("metrics-adapter"), access{"create", "authentication.k8s.io", "tokenreviews", ""}, "", true},
			{sa("metrics-adapter"), access{"create", "authorization.k8s.io", "subjectaccessreviews", ""}, "", true},
			{sa("metrics-adapter"), access{"get", "", "configmaps", "kube-system"}, "extension-apiserver-authentication", true},
			{sa("metrics-adapter"), access{"get", "", "configmaps", "kube-system"}, "kube-proxy", false},
			// The HPA controller reads external metrics.
			{"system:serviceaccount:kube-system:horizontal-pod-autoscaler", access{"list", "external.metrics.k8s.io", "sqs_backlog", "microbadger"}, "", true},
		}
		for _, e := range rbacExpectations {
			checks = append(checks, check{sa(e.sa), e.access, "", e.want})
		}
		for _, ch := range checks {
			resource, sub, _ := strings.Cut(ch.a.resource, "/")
			sar := &authorizationv1.SubjectAccessReview{Spec: authorizationv1.SubjectAccessReviewSpec{
				User:   ch.user,
				Groups: []string{"system:serviceaccounts", "system:serviceaccounts:" + strings.Split(ch.user, ":")[2], "system:authenticated"},
				ResourceAttributes: &authorizationv1.ResourceAttributes{
					Verb: ch.a.verb, Group: ch.a.group, Resource: resource, Subresource: sub,
					Namespace: ch.a.namespace, Name: ch.name,
				},
			}}
			got, err := c.Client.AuthorizationV1().SubjectAccessReviews().Create(ctx, sar, metav1.CreateOptions{})
			if err != nil {
				t.Fatalf("SubjectAccessReview: %v", err)
			}
			if got.Status.Allowed != ch.want {
				t.Errorf("%s may %s %s %s (group %q, namespace %q): allowed=%v, want %v (%s)",
					ch.user, ch.a.verb, ch.a.resource, ch.name, ch.a.group, ch.a.namespace, got.Status.Allowed, ch.want, got.Status.Reason)
			}
		}
	})
}

// newApplier returns a function that applies one rendered object to the
// cluster with server-side apply and strict field validation (dryRun: only
// validated and admitted, not stored), and the REST mapper it uses (Reset it
// after installing a CRD).
func newApplier(ctx context.Context, t *testing.T, c *cluster.Cluster) (func(o object, dryRun bool) error, *restmapper.DeferredDiscoveryRESTMapper) {
	t.Helper()
	// API server warnings (PodSecurity violations of a Deployment's pod
	// template, deprecated fields) fail the apply.
	warnings := &warningRecorder{}
	cfg := rest.CopyConfig(c.Config)
	cfg.WarningHandler = warnings
	dyn, err := dynamic.NewForConfig(cfg)
	if err != nil {
		t.Fatal(err)
	}
	disc, err := discovery.NewDiscoveryClientForConfig(c.Config)
	if err != nil {
		t.Fatal(err)
	}
	mapper := restmapper.NewDeferredDiscoveryRESTMapper(memory.NewMemCacheClient(disc))
	return func(o object, dryRun bool) error {
		mapping, err := mapper.RESTMapping(o.gvk().GroupKind(), o.gvk().Version)
		if err != nil {
			return fmt.Errorf("map %s: %w", o.gvk(), err)
		}
		var ri dynamic.ResourceInterface = dyn.Resource(mapping.Resource)
		if mapping.Scope.Name() == "namespace" {
			ri = dyn.Resource(mapping.Resource).Namespace(o.u.GetNamespace())
		}
		opts := metav1.PatchOptions{FieldManager: "queuescale-manifests-test", Force: ptr(true), FieldValidation: "Strict"}
		if dryRun {
			opts.DryRun = []string{metav1.DryRunAll}
		}
		warnings.take()
		_, err = ri.Patch(ctx, o.u.GetName(), types.ApplyPatchType, o.json, opts)
		if err != nil {
			return err
		}
		if w := warnings.take(); len(w) > 0 {
			return fmt.Errorf("the API server warned: %s", strings.Join(w, "; "))
		}
		return nil
	}, mapper
}

// warningRecorder keeps the warnings the API server sends.
type warningRecorder struct {
	mu   sync.Mutex
	msgs []string
}

var _ rest.WarningHandler = (*warningRecorder)(nil)

func (w *warningRecorder) HandleWarningHeader(_ int, _ string, text string) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.msgs = append(w.msgs, text)
}

func (w *warningRecorder) take() []string {
	w.mu.Lock()
	defer w.mu.Unlock()
	m := w.msgs
	w.msgs = nil
	return m
}
