package demo

import (
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"syscall"
	"testing"
	"time"
)

func TestDescendantsAndAlive(t *testing.T) {
	// sh starts sleep as its child: both are our descendants.
	cmd := exec.Command("sh", "-c", "sleep 30 & wait")
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = cmd.Process.Kill(); _ = cmd.Wait() })
	var pids []int
	deadline := time.Now().Add(10 * time.Second)
	for len(pids) < 2 && time.Now().Before(deadline) {
		time.Sleep(20 * time.Millisecond)
		pids = descendants(os.Getpid())
	}
	if !slices.Contains(pids, cmd.Process.Pid) || len(pids) < 2 {
		t.Fatalf("descendants = %v, want sh (%d) and its sleep", pids, cmd.Process.Pid)
	}
	if got := alive(pids); len(got) != len(pids) {
		t.Errorf("alive(%v) = %v, want all", pids, got)
	}
	sleepPid := pids[len(pids)-1]
	if err := syscall.Kill(sleepPid, syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	_ = cmd.Wait()
	deadline = time.Now().Add(10 * time.Second)
	for len(alive(pids)) > 0 && time.Now().Before(deadline) {
		time.Sleep(20 * time.Millisecond)
	}
	if got := alive(pids); len(got) != 0 {
		t.Errorf("alive after both ended = %v", got)
	}
}

func TestTidyKeepsLogsAndPlot(t *testing.T) {
	dir := t.TempDir()
	for _, p := range []string{"bin/x", "stack/bin/y", "cluster/etcd/member/z", "logs/demo.log", "cluster/logs/etcd.log", "demo-timeline.png"} {
		path := filepath.Join(dir, p)
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, []byte("x"), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	tidy(dir)
	for p, want := range map[string]bool{"bin": false, "stack/bin": false, "cluster/etcd": false, "logs/demo.log": true, "cluster/logs/etcd.log": true, "demo-timeline.png": true} {
		_, err := os.Stat(filepath.Join(dir, p))
		if got := err == nil; got != want {
			t.Errorf("%s exists = %v, want %v", p, got, want)
		}
	}
}
