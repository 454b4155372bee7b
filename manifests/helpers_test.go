package manifests_test

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	apiextensionsv1 "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/runtime/serializer"
	clientgoscheme "k8s.io/client-go/kubernetes/scheme"
	apiregistrationv1 "k8s.io/kube-aggregator/pkg/apis/apiregistration/v1"
	"sigs.k8s.io/kustomize/api/krusty"
	"sigs.k8s.io/kustomize/kyaml/filesys"

	"github.com/queuescale/queuescale/coordinator/api/v1alpha1"
	"github.com/queuescale/queuescale/internal/testenv"
)

// manifestsDir is this package's directory: go test runs in it.
const manifestsDir = "."

// object is one rendered manifest: its JSON and the decoded Go value (a typed
// object for the Kubernetes scheme and our CRD, a minimal schema struct for
// the other custom resources).
type object struct {
	u     *unstructured.Unstructured
	json  []byte
	typed any
}

func (o object) gvk() schema.GroupVersionKind { return o.u.GroupVersionKind() }

func (o object) String() string {
	if ns := o.u.GetNamespace(); ns != "" {
		return fmt.Sprintf("%s %s/%s", o.u.GetKind(), ns, o.u.GetName())
	}
	return fmt.Sprintf("%s %s", o.u.GetKind(), o.u.GetName())
}

// build is the rendered output of one kustomization.
type build struct {
	name    string
	objects []object
}

// find returns the object of kind, namespace and name, failing the test when
// it is missing.
func (b build) find(t *testing.T, kind, namespace, name string) object {
	t.Helper()
	for _, o := range b.objects {
		if o.u.GetKind() == kind && o.u.GetNamespace() == namespace && o.u.GetName() == name {
			return o
		}
	}
	t.Fatalf("%s: no %s %s/%s in the build", b.name, kind, namespace, name)
	return object{}
}

func (b build) has(kind, namespace, name string) bool {
	for _, o := range b.objects {
		if o.u.GetKind() == kind && o.u.GetNamespace() == namespace && o.u.GetName() == name {
			return true
		}
	}
	return false
}

func (b build) ofKind(kind string) []object {
	var out []object
	for _, o := range b.objects {
		if o.u.GetKind() == kind {
			out = append(out, o)
		}
	}
	return out
}

// newScheme knows every built-in type, CRDs, APIServices and PriorityPolicy.
func newScheme(t *testing.T) *runtime.Scheme {
	t.Helper()
	s := runtime.NewScheme()
	for _, add := range []func(*runtime.Scheme) error{
		clientgoscheme.AddToScheme,
		apiextensionsv1.AddToScheme,
		apiregistrationv1.AddToScheme,
		v1alpha1.AddToScheme,
	} {
		if err := add(s); err != nil {
			t.Fatalf("build scheme: %v", err)
		}
	}
	return s
}

// decodeStrict decodes one object's JSON into its Go type, failing on unknown
// or duplicate fields. Kinds outside the scheme must have a minimal schema in
// customSchemas; any other kind is an error.
func decodeStrict(scheme *runtime.Scheme, data []byte) (any, error) {
	var tm struct {
		APIVersion string `json:"apiVersion"`
		Kind       string `json:"kind"`
	}
	if err := json.Unmarshal(data, &tm); err != nil {
		return nil, err
	}
	gvk := schema.FromAPIVersionAndKind(tm.APIVersion, tm.Kind)
	if scheme.Recognizes(gvk) {
		codecs := serializer.NewCodecFactory(scheme, serializer.EnableStrict)
		obj, _, err := codecs.UniversalDeserializer().Decode(data, nil, nil)
		if err != nil {
			return nil, err
		}
		return obj, nil
	}
	newObj, ok := customSchemas[gvk]
	if !ok {
		return nil, fmt.Errorf("%s is neither in the Kubernetes scheme nor among the custom resources the tests know", gvk)
	}
	v := newObj()
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		return nil, err
	}
	if c, ok := v.(interface{ check() error }); ok {
		if err := c.check(); err != nil {
			return nil, err
		}
	}
	return v, nil
}

// runKustomize renders dir with kustomize's own library (what `kubectl
// kustomize` runs) and decodes every object strictly.
func runKustomize(t *testing.T, scheme *runtime.Scheme, dir string) build {
	t.Helper()
	k := krusty.MakeKustomizer(krusty.MakeDefaultOptions())
	resMap, err := k.Run(filesys.MakeFsOnDisk(), dir)
	if err != nil {
		t.Fatalf("kustomize build %s: %v", dir, err)
	}
	b := build{name: dir}
	for _, r := range resMap.Resources() {
		data, err := r.MarshalJSON()
		if err != nil {
			t.Fatalf("kustomize build %s: marshal %s: %v", dir, r.CurId(), err)
		}
		u := &unstructured.Unstructured{}
		if err := u.UnmarshalJSON(data); err != nil {
			t.Fatalf("kustomize build %s: %s: %v", dir, r.CurId(), err)
		}
		typed, err := decodeStrict(scheme, data)
		if err != nil {
			t.Errorf("kustomize build %s: %s %s/%s does not decode strictly: %v", dir, u.GetKind(), u.GetNamespace(), u.GetName(), err)
			continue
		}
		b.objects = append(b.objects, object{u: u, json: data, typed: typed})
	}
	if len(b.objects) == 0 {
		t.Fatalf("kustomize build %s: no objects", dir)
	}
	return b
}

// preparedTree copies manifests/ to a temporary directory and runs
// components/static-ca/make-certs.sh in the copy, so that every
// kustomization, including those that need the generated certificate files,
// builds. It returns the copy's root (the equivalent of manifests/).
func preparedTree(t *testing.T) string {
	t.Helper()
	root := filepath.Join(t.TempDir(), "manifests")
	err := filepath.WalkDir(manifestsDir, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		dst := filepath.Join(root, path)
		if d.IsDir() {
			return os.MkdirAll(dst, 0o755)
		}
		if strings.HasSuffix(path, ".go") {
			return nil
		}
		data, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		info, err := d.Info()
		if err != nil {
			return err
		}
		return os.WriteFile(dst, data, info.Mode().Perm())
	})
	if err != nil {
		t.Fatalf("copy manifests: %v", err)
	}
	caDir := filepath.Join(root, "components", "static-ca")
	for _, f := range []string{"tls.crt", "tls.key", "ca.crt", "apiservice-cabundle.yaml"} {
		os.Remove(filepath.Join(caDir, f)) // a stale local copy must not hide a broken script
	}
	if _, err := exec.LookPath("openssl"); err != nil {
		t.Fatalf("openssl is needed by components/static-ca/make-certs.sh: install it (apt-get install openssl)")
	}
	cmd := exec.Command("bash", filepath.Join(caDir, "make-certs.sh"))
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("components/static-ca/make-certs.sh: %v\n%s", err, out)
	}
	return root
}

// repoFile reads a file relative to the repository root.
func repoFile(t *testing.T, rel string) []byte {
	t.Helper()
	root, err := testenv.RepoRoot()
	if err != nil {
		t.Fatal(err)
	}
	data, err := os.ReadFile(filepath.Join(root, rel))
	if err != nil {
		t.Fatalf("read %s: %v", rel, err)
	}
	return data
}

// lookTool finds a command-line tool the tests need or fails with how to get
// it.
func lookTool(t *testing.T, name string) string {
	t.Helper()
	path, err := exec.LookPath(name)
	if err != nil {
		t.Fatalf("%s is not installed: run `make deps`", name)
	}
	return path
}
