package cluster

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	"github.com/queuescale/queuescale/internal/testenv"
)

// Names of the binaries in the cache directory that hack/cluster-bins.sh fills.
const (
	binEtcd              = "etcd"
	binAPIServer         = "kube-apiserver"
	binControllerManager = "kube-controller-manager"
	binScheduler         = "kube-scheduler"
	binKWOK              = "kwok"
	// kwokStagesDir holds KWOK's stage definitions copied from its module.
	kwokStagesDir = "kwok-stages"
)

// BinDir returns the directory holding the control plane's binaries, building
// them with hack/cluster-bins.sh when they are not cached yet (minutes on a
// cold machine; seconds otherwise). The script's progress goes to progress
// (nil for none).
func BinDir(ctx context.Context, progress io.Writer) (string, error) {
	root, err := testenv.RepoRoot()
	if err != nil {
		return "", err
	}
	script := filepath.Join(root, "hack", "cluster-bins.sh")
	cmd := exec.CommandContext(ctx, "bash", script)
	cmd.Dir = root
	// On cancellation stop the whole build (bash and its go build), not only
	// bash.
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	cmd.Cancel = func() error { return syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL) }
	cmd.WaitDelay = 10 * time.Second
	var stdout, stderr bytes.Buffer
	cmd.Stdout = &stdout
	cmd.Stderr = &stderr
	if progress != nil {
		cmd.Stderr = io.MultiWriter(&stderr, progress)
	}
	if err := cmd.Run(); err != nil {
		return "", fmt.Errorf("build the cluster binaries with %s (run `make deps` to see its progress): %w\n%s", script, err, tail(stderr.String(), 30))
	}
	dir := strings.TrimSpace(stdout.String())
	if lines := strings.Split(dir, "\n"); len(lines) > 1 {
		dir = lines[len(lines)-1]
	}
	for _, name := range []string{binEtcd, binAPIServer, binControllerManager, binScheduler, binKWOK, kwokStagesDir} {
		if _, err := os.Stat(filepath.Join(dir, name)); err != nil {
			return "", fmt.Errorf("%s did not produce %s: %w", script, name, err)
		}
	}
	return dir, nil
}

// tail returns the last n lines of s.
func tail(s string, n int) string {
	lines := strings.Split(strings.TrimRight(s, "\n"), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}
