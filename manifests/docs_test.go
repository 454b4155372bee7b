package manifests_test

import (
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/queuescale/queuescale/internal/testenv"
)

// TestInstallDocPaths keeps docs/install.md honest: every manifests/ path
// (or glob) it names exists.
func TestInstallDocPaths(t *testing.T) {
	root, err := testenv.RepoRoot()
	if err != nil {
		t.Fatal(err)
	}
	doc := string(repoFile(t, "docs/install.md"))
	paths := regexp.MustCompile(`manifests/[A-Za-z0-9_./*-]*[A-Za-z0-9_*]`).FindAllString(doc, -1)
	if len(paths) < 10 {
		t.Fatalf("docs/install.md names only %d manifests paths", len(paths))
	}
	seen := map[string]bool{}
	for _, p := range paths {
		p = strings.TrimSuffix(p, ".")
		if seen[p] {
			continue
		}
		seen[p] = true
		matches, err := filepath.Glob(filepath.Join(root, p))
		if err != nil || len(matches) == 0 {
			t.Errorf("docs/install.md names %s, which does not exist", p)
		}
	}
}
