// Package sqsemu starts the SQS-compatible emulator (fauxqs, pinned in
// test/sqs-emulator) on 127.0.0.1 for tests and the demo.
package sqsemu

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"github.com/queuescale/queuescale/internal/testenv"
)

// Emulator is a running SQS-compatible server.
type Emulator struct {
	// Endpoint is the base URL to give the AWS SDK as its endpoint override.
	Endpoint string
	// Region the emulator places its queues in.
	Region string

	proc *testenv.Process
}

var installMu sync.Mutex

// Install runs `npm ci` in test/sqs-emulator when its node_modules are
// missing or older than the lockfile, and returns that directory.
func Install(ctx context.Context) (string, error) {
	installMu.Lock()
	defer installMu.Unlock()
	root, err := testenv.RepoRoot()
	if err != nil {
		return "", err
	}
	dir := filepath.Join(root, "test", "sqs-emulator")
	lock, err := os.Stat(filepath.Join(dir, "package-lock.json"))
	if err != nil {
		return "", err
	}
	marker, err := os.Stat(filepath.Join(dir, "node_modules", ".package-lock.json"))
	if err == nil && !marker.ModTime().Before(lock.ModTime()) {
		return dir, nil
	}
	cmd := exec.CommandContext(ctx, "npm", "ci", "--no-audit", "--no-fund", "--loglevel=error")
	cmd.Dir = dir
	if out, err := cmd.CombinedOutput(); err != nil {
		return "", fmt.Errorf("npm ci in %s: %w\n%s", dir, err, out)
	}
	return dir, nil
}

// Start installs the emulator if needed and starts it on a free port of
// 127.0.0.1, logging to logDir/sqs-emulator.log.
func Start(ctx context.Context, logDir string) (*Emulator, error) {
	dir, err := Install(ctx)
	if err != nil {
		return nil, err
	}
	const region = "us-east-1"
	_ = os.Remove(filepath.Join(logDir, "sqs-emulator.log")) // a fresh log: the address is read from it
	cmd := exec.Command("node", "server.mjs", "--port", "0", "--region", region)
	cmd.Dir = dir
	proc, err := testenv.StartProcess("sqs-emulator", logDir, cmd)
	if err != nil {
		return nil, err
	}
	// The launcher prints "listening URL" once it accepts requests.
	var endpoint string
	waitCtx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	err = testenv.Poll(waitCtx, 50*time.Millisecond, "the sqs emulator to listen", func(context.Context) error {
		if exited, exitErr := proc.Exited(); exited {
			return fmt.Errorf("exited: %v", exitErr)
		}
		data, err := os.ReadFile(proc.LogPath)
		if err != nil {
			return err
		}
		for _, line := range strings.Split(string(data), "\n") {
			if url, ok := strings.CutPrefix(line, "listening "); ok {
				endpoint = strings.TrimSpace(url)
				return nil
			}
		}
		return fmt.Errorf("no address in %s yet", proc.LogPath)
	})
	if err != nil {
		proc.Stop(time.Second)
		return nil, fmt.Errorf("%w; see %s", err, proc.LogPath)
	}
	return &Emulator{Endpoint: endpoint, Region: region, proc: proc}, nil
}

// LogPath is the emulator's log file.
func (e *Emulator) LogPath() string { return e.proc.LogPath }

// Stop ends the emulator.
func (e *Emulator) Stop() { e.proc.Stop(5 * time.Second) }
