package demo

import (
	"path/filepath"
	"testing"

	"github.com/queuescale/queuescale/internal/testenv"
)

// TestExampleMatchesTheDemo renders manifests/examples/microbadger and checks
// it holds what the demo drives: the namespace, a Deployment and an HPA per
// tier, and the PriorityPolicy, under the names the demo uses.
func TestExampleMatchesTheDemo(t *testing.T) {
	root, err := testenv.RepoRoot()
	if err != nil {
		t.Fatal(err)
	}
	objs, err := renderKustomization(filepath.Join(root, "manifests", "examples", "microbadger"))
	if err != nil {
		t.Fatal(err)
	}
	have := map[string]bool{}
	for _, o := range objs {
		have[o.GetKind()+" "+o.GetNamespace()+"/"+o.GetName()] = true
	}
	want := []string{"Namespace /" + Namespace, "PriorityPolicy " + Namespace + "/" + PolicyName}
	for _, tier := range Microbadger() {
		want = append(want, "Deployment "+Namespace+"/"+tier.Deployment, "HorizontalPodAutoscaler "+Namespace+"/"+tier.HPA)
	}
	for _, w := range want {
		if !have[w] {
			t.Errorf("the example has no %s; it renders %v", w, have)
		}
	}
}
