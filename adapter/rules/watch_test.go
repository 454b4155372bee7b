package rules

import (
	"context"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

type fakeRecorder struct {
	mu      sync.Mutex
	results []bool
}

func (f *fakeRecorder) RulesReloaded(ok bool) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.results = append(f.results, ok)
}

func (f *fakeRecorder) get() []bool {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]bool(nil), f.results...)
}

const ruleA = `rules:
- name: a
  series: a
  aggregation: sum
  namespaces: "*"
`

const ruleB = `rules:
- name: b
  series: b
  aggregation: max
  namespaces: "*"
`

func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// The update is made the way a Kubernetes ConfigMap volume makes it: the
// file is a symlink into a ..data directory symlink that is swapped.
func TestWatcherConfigMapSwap(t *testing.T) {
	dir := t.TempDir()
	write := func(version, content string) {
		vdir := filepath.Join(dir, "..v"+version)
		if err := os.Mkdir(vdir, 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(vdir, "rules.yaml"), []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
		tmp := filepath.Join(dir, "..data_tmp")
		if err := os.Symlink("..v"+version, tmp); err != nil {
			t.Fatal(err)
		}
		if err := os.Rename(tmp, filepath.Join(dir, "..data")); err != nil {
			t.Fatal(err)
		}
	}
	write("1", ruleA)
	path := filepath.Join(dir, "rules.yaml")
	if err := os.Symlink(filepath.Join("..data", "rules.yaml"), path); err != nil {
		t.Fatal(err)
	}
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	set, err := Parse(path, data)
	if err != nil {
		t.Fatal(err)
	}
	store := NewStore(set)
	rec := &fakeRecorder{}
	w := NewWatcher(path, data, store, rec)
	w.Debounce = 50 * time.Millisecond
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- w.Run(ctx) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("Run: %v", err)
		}
	})
	// Let the watch be established before changing anything.
	time.Sleep(200 * time.Millisecond)

	write("2", ruleB)
	waitFor(t, "rules b in force", func() bool { _, ok := store.Current().Lookup("b"); return ok })
	if diff := cmp.Diff([]bool{true}, rec.get()); diff != "" {
		t.Errorf("reload outcomes (-want +got):\n%s", diff)
	}

	write("3", "rules:\n- name: broken\n")
	waitFor(t, "failed reload recorded", func() bool { return len(rec.get()) == 2 })
	if diff := cmp.Diff([]bool{true, false}, rec.get()); diff != "" {
		t.Errorf("reload outcomes (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff([]string{"b"}, store.Current().Names()); diff != "" {
		t.Errorf("after an invalid file the last good rules must stay (-want +got):\n%s", diff)
	}

	write("4", ruleA)
	waitFor(t, "rules a back in force", func() bool { _, ok := store.Current().Lookup("a"); return ok })
	if diff := cmp.Diff([]bool{true, false, true}, rec.get()); diff != "" {
		t.Errorf("reload outcomes (-want +got):\n%s", diff)
	}
}

func TestWatcherPlainWrite(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "rules.yaml")
	if err := os.WriteFile(path, []byte(ruleA), 0o644); err != nil {
		t.Fatal(err)
	}
	set, err := LoadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	store := NewStore(set)
	rec := &fakeRecorder{}
	w := NewWatcher(path, []byte(ruleA), store, rec)
	w.Debounce = 50 * time.Millisecond
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- w.Run(ctx) }()
	t.Cleanup(func() { cancel(); <-done })
	time.Sleep(200 * time.Millisecond)
	if err := os.WriteFile(path, []byte(ruleB), 0o644); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "rules b in force", func() bool { _, ok := store.Current().Lookup("b"); return ok })
}
