package stack

import (
	"context"
	"fmt"
	"os/exec"
	"path/filepath"
	"sync"
	"time"

	"github.com/queuescale/queuescale/internal/testenv"
)

// Component is one of the system's own processes (the exporter or the
// adapter). Tests stop and start it to see how the rest copes; it comes back
// on the same address with the same flags.
type Component struct {
	// Name is the process and log file name.
	Name string
	// Addr is the host:port it listens on (127.0.0.1).
	Addr string
	// Binary and Args are its command line; Env is added to the inherited
	// environment.
	Binary string
	Args   []string
	Env    []string

	logDir string
	ready  func(ctx context.Context) error

	mu   sync.Mutex
	proc *testenv.Process
}

// Start starts the process unless it runs, and waits until it is ready.
func (c *Component) Start(ctx context.Context) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.proc != nil {
		if exited, _ := c.proc.Exited(); !exited {
			return nil
		}
	}
	cmd := exec.Command(c.Binary, c.Args...)
	cmd.Env = append(cmd.Environ(), c.Env...)
	proc, err := testenv.StartProcess(c.Name, c.logDir, cmd)
	if err != nil {
		return err
	}
	c.proc = proc
	waitCtx, cancel := context.WithTimeout(ctx, 2*time.Minute)
	defer cancel()
	var died error
	err = testenv.Poll(waitCtx, 100*time.Millisecond, c.Name+" to be ready on "+c.Addr, func(ctx context.Context) error {
		if exited, exitErr := proc.Exited(); exited {
			died = fmt.Errorf("%s exited: %v", c.Name, exitErr)
			return nil
		}
		return c.ready(ctx)
	})
	if err == nil {
		err = died
	}
	if err != nil {
		proc.Stop(5 * time.Second)
		return fmt.Errorf("%w; see %s", err, proc.LogPath)
	}
	return nil
}

// Stop ends the process (SIGTERM, then SIGKILL after 10s).
func (c *Component) Stop() {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.proc != nil {
		c.proc.Stop(10 * time.Second)
	}
}

// Running reports whether the process runs.
func (c *Component) Running() bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.proc == nil {
		return false
	}
	exited, _ := c.proc.Exited()
	return !exited
}

// LogPath is the process's log file.
func (c *Component) LogPath() string { return filepath.Join(c.logDir, c.Name+".log") }
