package manifests_test

import (
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	policyv1 "k8s.io/api/policy/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	apiextensionsv1 "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/util/intstr"
	apiregistrationv1 "k8s.io/kube-aggregator/pkg/apis/apiregistration/v1"
)

// kustomizations lists every kustomization and component we ship, as built
// by the tests: components are built on top of the base, as a user would.
// TestEveryKustomizationIsBuilt fails when a directory is missing here.
var kustomizations = []struct {
	name      string // directory relative to manifests/
	component bool
}{
	{name: "base"},
	{name: "examples/microbadger"},
	{name: "overlays/production"},
	{name: "overlays/local"},
	{name: "components/cert-manager", component: true},
	{name: "components/static-ca", component: true},
	{name: "components/prometheus-scrape", component: true},
	{name: "components/prometheus-operator", component: true},
	{name: "components/aws-irsa", component: true},
	{name: "components/grafana-dashboard", component: true},
}

// buildAll renders every kustomization from a prepared copy of the tree.
func buildAll(t *testing.T) map[string]build {
	t.Helper()
	root := preparedTree(t)
	scheme := newScheme(t)
	builds := map[string]build{}
	for _, k := range kustomizations {
		dir := filepath.Join(root, k.name)
		if k.component {
			// A component cannot be built alone: build the base with it.
			dir = filepath.Join(filepath.Dir(root), "with-"+filepath.Base(k.name))
			kust := "apiVersion: kustomize.config.k8s.io/v1beta1\nkind: Kustomization\n" +
				"resources:\n- ../manifests/base\ncomponents:\n- ../manifests/" + k.name + "\n"
			if err := os.MkdirAll(dir, 0o755); err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(filepath.Join(dir, "kustomization.yaml"), []byte(kust), 0o644); err != nil {
				t.Fatal(err)
			}
		}
		b := runKustomize(t, scheme, dir)
		b.name = k.name
		builds[k.name] = b
	}
	return builds
}

func TestEveryKustomizationIsBuilt(t *testing.T) {
	var found []string
	err := filepath.WalkDir(manifestsDir, func(path string, d os.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if !d.IsDir() && d.Name() == "kustomization.yaml" {
			found = append(found, filepath.ToSlash(filepath.Dir(path)))
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	var listed []string
	for _, k := range kustomizations {
		listed = append(listed, k.name)
	}
	for _, f := range found {
		if !slices.Contains(listed, f) {
			t.Errorf("%s/kustomization.yaml is not in the kustomizations the tests build", f)
		}
	}
	for _, l := range listed {
		if !slices.Contains(found, l) {
			t.Errorf("kustomization %s is listed but has no kustomization.yaml", l)
		}
	}
}

// TestKustomizations builds every kustomization (each object decoding
// strictly) and checks what each build must hold.
func TestKustomizations(t *testing.T) {
	builds := buildAll(t)

	for name, b := range builds {
		t.Run(strings.ReplaceAll(name, "/", "_"), func(t *testing.T) {
			checkNoInsecureAPIService(t, b)
			// Secret references are checked where the build makes secrets
			// (a certificate component); checkSystem requires that of the
			// overlays.
			checkWorkloads(t, b, len(b.ofKind("Secret"))+len(b.ofKind("Certificate")) > 0)
			checkServices(t, b)
			checkNetworkPolicies(t, b)
			checkBindings(t, b)
		})
	}

	t.Run("base has the whole system", func(t *testing.T) {
		b := builds["base"]
		checkSystem(t, b, 2, 2, false)
		crd := b.find(t, "CustomResourceDefinition", "", "prioritypolicies.queuescale.io").typed.(*apiextensionsv1.CustomResourceDefinition)
		if crd.Spec.Group != "queuescale.io" || crd.Spec.Names.Kind != "PriorityPolicy" || crd.Spec.Scope != apiextensionsv1.NamespaceScoped {
			t.Errorf("CRD %s: group %q kind %q scope %q, want queuescale.io PriorityPolicy Namespaced", crd.Name, crd.Spec.Group, crd.Spec.Names.Kind, crd.Spec.Scope)
		}
	})
	t.Run("production keeps two adapters and coordinators", func(t *testing.T) {
		checkSystem(t, builds["overlays/production"], 2, 2, true)
	})
	t.Run("local runs one of each", func(t *testing.T) {
		checkSystem(t, builds["overlays/local"], 1, 1, true)
	})
	t.Run("cert-manager injects the caBundle", func(t *testing.T) {
		b := builds["components/cert-manager"]
		api := b.find(t, "APIService", "", "v1beta1.external.metrics.k8s.io").typed.(*apiregistrationv1.APIService)
		from := api.Annotations["cert-manager.io/inject-ca-from"]
		if from != "queuescale/metrics-adapter-serving-cert" {
			t.Errorf("APIService annotation cert-manager.io/inject-ca-from = %q, want queuescale/metrics-adapter-serving-cert", from)
		}
		cert := b.find(t, "Certificate", "queuescale", "metrics-adapter-serving-cert").typed.(*cmCertificate)
		if cert.Spec.SecretName != "metrics-adapter-serving-cert" {
			t.Errorf("Certificate secretName = %q, want the secret the adapter mounts", cert.Spec.SecretName)
		}
		if !slices.Contains(cert.Spec.DNSNames, "metrics-adapter.queuescale.svc") {
			t.Errorf("Certificate dnsNames %v lack metrics-adapter.queuescale.svc, the name the aggregator verifies", cert.Spec.DNSNames)
		}
		if !b.has("Issuer", "queuescale", cert.Spec.IssuerRef.Name) {
			t.Errorf("Certificate issuer %q is not in the build", cert.Spec.IssuerRef.Name)
		}
	})
	t.Run("aws-irsa annotates the exporter's ServiceAccount", func(t *testing.T) {
		sa := builds["components/aws-irsa"].find(t, "ServiceAccount", "queuescale", "sqs-exporter").typed.(*corev1.ServiceAccount)
		if arn := sa.Annotations["eks.amazonaws.com/role-arn"]; !strings.HasPrefix(arn, "arn:aws:iam::") {
			t.Errorf("eks.amazonaws.com/role-arn = %q, want an IAM role ARN", arn)
		}
	})
	t.Run("adapter rules ConfigMap is the adapter's default rules", func(t *testing.T) {
		for _, name := range []string{"base", "overlays/production", "overlays/local"} {
			var found bool
			for _, o := range builds[name].ofKind("ConfigMap") {
				cm := o.typed.(*corev1.ConfigMap)
				if !strings.HasPrefix(cm.Name, "metrics-adapter-rules") {
					continue
				}
				found = true
				if got, want := cm.Data["rules.yaml"], string(repoFile(t, "adapter/rules/default.yaml")); got != want {
					t.Errorf("%s: ConfigMap %s rules.yaml differs from adapter/rules/default.yaml: copy it to manifests/base/adapter-rules.yaml", name, cm.Name)
				}
			}
			if !found {
				t.Errorf("%s: no metrics-adapter-rules ConfigMap", name)
			}
		}
	})
}

// checkSystem checks the parts of queuescale in a build of the base; an
// installable build (needCert) also makes the adapter's serving certificate.
func checkSystem(t *testing.T, b build, adapters, coordinators int32, needCert bool) {
	t.Helper()
	exporter := b.find(t, "Deployment", "queuescale", "sqs-exporter").typed.(*appsv1.Deployment)
	adapter := b.find(t, "Deployment", "queuescale", "metrics-adapter").typed.(*appsv1.Deployment)
	coordinator := b.find(t, "Deployment", "queuescale", "priority-coordinator").typed.(*appsv1.Deployment)
	for _, c := range []struct {
		d    *appsv1.Deployment
		want int32
	}{{exporter, 1}, {adapter, adapters}, {coordinator, coordinators}} {
		if c.d.Spec.Replicas == nil || *c.d.Spec.Replicas != c.want {
			t.Errorf("Deployment %s: replicas %v, want %d", c.d.Name, c.d.Spec.Replicas, c.want)
		}
	}
	if args := coordinator.Spec.Template.Spec.Containers[0].Args; !slices.Contains(args, "--leader-elect") && !slices.Contains(args, "--leader-elect=true") {
		t.Errorf("coordinator args %v lack --leader-elect", args)
	}
	pdb := b.find(t, "PodDisruptionBudget", "queuescale", "metrics-adapter").typed.(*policyv1.PodDisruptionBudget)
	sel, err := metav1.LabelSelectorAsSelector(pdb.Spec.Selector)
	if err != nil || !sel.Matches(labels.Set(adapter.Spec.Template.Labels)) {
		t.Errorf("PodDisruptionBudget metrics-adapter does not select the adapter's pods (%v)", err)
	}
	if adapters > 1 && (pdb.Spec.MinAvailable == nil || pdb.Spec.MinAvailable.IntValue() < 1) {
		t.Errorf("PodDisruptionBudget minAvailable %v: with %d adapters at least one must stay", pdb.Spec.MinAvailable, adapters)
	}
	if adapters == 1 && pdb.Spec.MinAvailable != nil && pdb.Spec.MinAvailable.IntValue() >= 1 {
		t.Errorf("PodDisruptionBudget minAvailable %v with a single adapter blocks every node drain", pdb.Spec.MinAvailable)
	}
	api := b.find(t, "APIService", "", "v1beta1.external.metrics.k8s.io").typed.(*apiregistrationv1.APIService)
	if api.Spec.Group != "external.metrics.k8s.io" || api.Spec.Version != "v1beta1" || api.Spec.Service == nil {
		t.Fatalf("APIService spec %+v does not register external.metrics.k8s.io/v1beta1 with a Service", api.Spec)
	}
	svc := b.find(t, "Service", api.Spec.Service.Namespace, api.Spec.Service.Name).typed.(*corev1.Service)
	var port *corev1.ServicePort
	for i := range svc.Spec.Ports {
		if api.Spec.Service.Port != nil && svc.Spec.Ports[i].Port == *api.Spec.Service.Port {
			port = &svc.Spec.Ports[i]
		}
	}
	if port == nil {
		t.Fatalf("APIService port %v is not a port of Service %s", api.Spec.Service.Port, svc.Name)
	}
	if !selects(svc.Spec.Selector, adapter.Spec.Template.Labels) || !hasContainerPort(adapter.Spec.Template.Spec, port.TargetPort) {
		t.Errorf("the APIService's Service port %d does not reach the adapter's container port", port.Port)
	}
	if needCert {
		for _, v := range adapter.Spec.Template.Spec.Volumes {
			if v.Secret != nil && !b.has("Secret", adapter.Namespace, v.Secret.SecretName) && !certificateFor(b, adapter.Namespace, v.Secret.SecretName) {
				t.Errorf("the adapter's Secret %q is neither in the build nor issued by a Certificate", v.Secret.SecretName)
			}
		}
	}
	if !b.has("CustomResourceDefinition", "", "prioritypolicies.queuescale.io") {
		t.Errorf("the PriorityPolicy CRD is not installed")
	}
}

func checkNoInsecureAPIService(t *testing.T, b build) {
	t.Helper()
	for _, o := range b.ofKind("APIService") {
		api := o.typed.(*apiregistrationv1.APIService)
		if api.Spec.InsecureSkipTLSVerify {
			t.Errorf("%s sets insecureSkipTLSVerify", o)
		}
		if len(api.Spec.CABundle) == 0 && api.Annotations["cert-manager.io/inject-ca-from"] == "" && b.name != "base" && !strings.HasPrefix(b.name, "components/") {
			t.Errorf("%s has neither a caBundle nor cert-manager's inject-ca-from annotation", o)
		}
	}
}

// checkWorkloads checks every Deployment's pods: security context, resources,
// probes, and that what they reference is in the build. Secrets are only
// required to exist when the build includes a certificate component.
func checkWorkloads(t *testing.T, b build, secretsInBuild bool) {
	t.Helper()
	for _, o := range b.ofKind("Deployment") {
		d := o.typed.(*appsv1.Deployment)
		pod := d.Spec.Template.Spec
		if !selects(d.Spec.Selector.MatchLabels, d.Spec.Template.Labels) {
			t.Errorf("%s: selector does not match its pod labels", o)
		}
		psc := pod.SecurityContext
		if psc == nil || psc.RunAsNonRoot == nil || !*psc.RunAsNonRoot {
			t.Errorf("%s: pod securityContext.runAsNonRoot is not true", o)
		}
		if psc == nil || psc.SeccompProfile == nil || psc.SeccompProfile.Type != corev1.SeccompProfileTypeRuntimeDefault {
			t.Errorf("%s: pod seccompProfile is not RuntimeDefault", o)
		}
		if sa := pod.ServiceAccountName; sa != "" && !b.has("ServiceAccount", d.Namespace, sa) {
			t.Errorf("%s: ServiceAccount %q is not in the build", o, sa)
		}
		if pc := pod.PriorityClassName; pc != "" && !b.has("PriorityClass", "", pc) {
			t.Errorf("%s: PriorityClass %q is not in the build", o, pc)
		}
		for _, v := range pod.Volumes {
			switch {
			case v.ConfigMap != nil && !hasGenerated(b, "ConfigMap", d.Namespace, v.ConfigMap.Name):
				t.Errorf("%s: volume %s: ConfigMap %q is not in the build", o, v.Name, v.ConfigMap.Name)
			case v.Secret != nil && secretsInBuild && !b.has("Secret", d.Namespace, v.Secret.SecretName) && !certificateFor(b, d.Namespace, v.Secret.SecretName):
				t.Errorf("%s: volume %s: Secret %q is neither in the build nor issued by a Certificate", o, v.Name, v.Secret.SecretName)
			}
		}
		for _, c := range pod.Containers {
			where := o.String() + " container " + c.Name
			sc := c.SecurityContext
			if sc == nil || sc.AllowPrivilegeEscalation == nil || *sc.AllowPrivilegeEscalation {
				t.Errorf("%s: allowPrivilegeEscalation is not false", where)
			}
			if sc == nil || sc.ReadOnlyRootFilesystem == nil || !*sc.ReadOnlyRootFilesystem {
				t.Errorf("%s: readOnlyRootFilesystem is not true", where)
			}
			if sc == nil || sc.Capabilities == nil || !slices.Equal(sc.Capabilities.Drop, []corev1.Capability{"ALL"}) || len(sc.Capabilities.Add) > 0 {
				t.Errorf("%s: capabilities are not drop [ALL]", where)
			}
			for _, r := range []corev1.ResourceName{corev1.ResourceCPU, corev1.ResourceMemory} {
				if _, ok := c.Resources.Requests[r]; !ok {
					t.Errorf("%s: no %s request", where, r)
				}
			}
			if _, ok := c.Resources.Limits[corev1.ResourceMemory]; !ok {
				t.Errorf("%s: no memory limit", where)
			}
			if d.Namespace != "queuescale" {
				continue // the example's workers are the user's; no probes assumed
			}
			if _, ok := c.Resources.Limits[corev1.ResourceCPU]; !ok {
				t.Errorf("%s: no cpu limit", where)
			}
			for _, p := range []struct {
				name  string
				probe *corev1.Probe
			}{{"liveness", c.LivenessProbe}, {"readiness", c.ReadinessProbe}} {
				if p.probe == nil || p.probe.HTTPGet == nil {
					t.Errorf("%s: no HTTP %s probe", where, p.name)
					continue
				}
				if !slices.Contains([]string{"/healthz", "/livez", "/readyz"}, p.probe.HTTPGet.Path) {
					t.Errorf("%s: %s probe path %q is not /healthz, /livez or /readyz", where, p.name, p.probe.HTTPGet.Path)
				}
				if !hasContainerPort(pod, p.probe.HTTPGet.Port) {
					t.Errorf("%s: %s probe port %s is not a container port", where, p.name, p.probe.HTTPGet.Port.String())
				}
			}
		}
	}
}

// hasGenerated accepts a kustomize-generated name with its hash suffix.
func hasGenerated(b build, kind, namespace, name string) bool {
	for _, o := range b.ofKind(kind) {
		if o.u.GetNamespace() == namespace && (o.u.GetName() == name || strings.HasPrefix(o.u.GetName(), name+"-")) {
			return true
		}
	}
	return false
}

func certificateFor(b build, namespace, secret string) bool {
	for _, o := range b.ofKind("Certificate") {
		if o.u.GetNamespace() == namespace && o.typed.(*cmCertificate).Spec.SecretName == secret {
			return true
		}
	}
	return false
}

func checkServices(t *testing.T, b build) {
	t.Helper()
	for _, o := range b.ofKind("Service") {
		svc := o.typed.(*corev1.Service)
		var target *corev1.PodSpec
		for _, d := range b.ofKind("Deployment") {
			dep := d.typed.(*appsv1.Deployment)
			if dep.Namespace == svc.Namespace && selects(svc.Spec.Selector, dep.Spec.Template.Labels) {
				target = &dep.Spec.Template.Spec
			}
		}
		if target == nil {
			t.Errorf("%s selects no Deployment's pods", o)
			continue
		}
		for _, p := range svc.Spec.Ports {
			if !hasContainerPort(*target, p.TargetPort) {
				t.Errorf("%s: targetPort %s is not a container port", o, p.TargetPort.String())
			}
		}
	}
}

func checkNetworkPolicies(t *testing.T, b build) {
	t.Helper()
	for _, o := range b.ofKind("NetworkPolicy") {
		np := o.typed.(*networkingv1.NetworkPolicy)
		sel, err := metav1.LabelSelectorAsSelector(&np.Spec.PodSelector)
		if err != nil {
			t.Errorf("%s: %v", o, err)
			continue
		}
		var pods []corev1.PodSpec
		for _, d := range b.ofKind("Deployment") {
			dep := d.typed.(*appsv1.Deployment)
			if dep.Namespace == np.Namespace && sel.Matches(labels.Set(dep.Spec.Template.Labels)) {
				pods = append(pods, dep.Spec.Template.Spec)
			}
		}
		if len(pods) == 0 {
			t.Errorf("%s selects no pods", o)
		}
		for _, rule := range np.Spec.Ingress {
			for _, p := range rule.Ports {
				if p.Port == nil || p.Port.Type != intstr.String {
					continue
				}
				for _, pod := range pods {
					if !hasContainerPort(pod, *p.Port) {
						t.Errorf("%s: ingress port %q is not a container port of a selected pod", o, p.Port.StrVal)
					}
				}
			}
		}
	}
}

// systemRoles are roles Kubernetes creates itself that our bindings use.
var systemRoles = []string{"system:auth-delegator", "extension-apiserver-authentication-reader"}

func checkBindings(t *testing.T, b build) {
	t.Helper()
	check := func(o object, ref rbacv1.RoleRef, subjects []rbacv1.Subject, namespace string) {
		if !slices.Contains(systemRoles, ref.Name) && !b.has(ref.Kind, map[string]string{"Role": namespace}[ref.Kind], ref.Name) {
			t.Errorf("%s: %s %q is not in the build", o, ref.Kind, ref.Name)
		}
		for _, s := range subjects {
			if s.Kind == "ServiceAccount" && s.Namespace != "kube-system" && !b.has("ServiceAccount", s.Namespace, s.Name) {
				t.Errorf("%s: ServiceAccount %s/%s is not in the build", o, s.Namespace, s.Name)
			}
		}
	}
	for _, o := range b.ofKind("ClusterRoleBinding") {
		crb := o.typed.(*rbacv1.ClusterRoleBinding)
		check(o, crb.RoleRef, crb.Subjects, "")
	}
	for _, o := range b.ofKind("RoleBinding") {
		rb := o.typed.(*rbacv1.RoleBinding)
		check(o, rb.RoleRef, rb.Subjects, rb.Namespace)
	}
}

func selects(selector, podLabels map[string]string) bool {
	return len(selector) > 0 && labels.SelectorFromSet(selector).Matches(labels.Set(podLabels))
}

func hasContainerPort(pod corev1.PodSpec, port intstr.IntOrString) bool {
	for _, c := range pod.Containers {
		for _, p := range c.Ports {
			if (port.Type == intstr.String && p.Name == port.StrVal) || (port.Type == intstr.Int && p.ContainerPort == port.IntVal) {
				return true
			}
		}
	}
	return false
}
