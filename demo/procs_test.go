package demo

import (
	"os"
	"os/exec"
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
