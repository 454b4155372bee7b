// Package promserver runs a real Prometheus server (Debian's package) on
// 127.0.0.1 for integration tests and the demo. It can be stopped and started
// again on the same address and storage, to test what clients do while
// Prometheus is down.
package promserver

import (
	"context"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"time"

	"github.com/queuescale/queuescale/internal/testenv"
)

// Target is one scrape job.
type Target struct {
	Job  string
	Addr string // host:port serving /metrics
}

// Options configure the server.
type Options struct {
	// Dir holds the config and the TSDB; LogDir gets prometheus.log.
	Dir, LogDir    string
	Targets        []Target
	ScrapeInterval time.Duration // default 1s
	// RuleFiles are extra rule files to load (recording or alerting).
	RuleFiles []string
}

// Server is a Prometheus server.
type Server struct {
	// URL is http://127.0.0.1:PORT.
	URL string

	opts Options
	port int
	proc *testenv.Process
}

// Binary returns the path of the prometheus binary, or an error that says how
// to install it.
func Binary() (string, error) {
	path, err := exec.LookPath("prometheus")
	if err != nil {
		return "", fmt.Errorf("prometheus is not installed: run `make deps` (it runs apt-get install prometheus): %w", err)
	}
	return path, nil
}

// Start writes the config and starts Prometheus on a free port.
func Start(ctx context.Context, opts Options) (*Server, error) {
	if opts.ScrapeInterval == 0 {
		opts.ScrapeInterval = time.Second
	}
	port, err := testenv.FreePort()
	if err != nil {
		return nil, err
	}
	s := &Server{URL: fmt.Sprintf("http://127.0.0.1:%d", port), opts: opts, port: port}
	if err := s.writeConfig(); err != nil {
		return nil, err
	}
	return s, s.Start(ctx)
}

func (s *Server) configPath() string { return filepath.Join(s.opts.Dir, "prometheus.yml") }

func (s *Server) writeConfig() error {
	if err := os.MkdirAll(s.opts.Dir, 0o755); err != nil {
		return err
	}
	var b strings.Builder
	fmt.Fprintf(&b, "global:\n  scrape_interval: %s\n  evaluation_interval: %s\n", s.opts.ScrapeInterval, s.opts.ScrapeInterval)
	if len(s.opts.RuleFiles) > 0 {
		b.WriteString("rule_files:\n")
		for _, f := range s.opts.RuleFiles {
			fmt.Fprintf(&b, "  - %q\n", f)
		}
	}
	b.WriteString("scrape_configs:\n")
	for _, t := range s.opts.Targets {
		fmt.Fprintf(&b, "  - job_name: %q\n    static_configs:\n      - targets: [%q]\n", t.Job, t.Addr)
	}
	return os.WriteFile(s.configPath(), []byte(b.String()), 0o644)
}

// Start (re)starts a stopped server on its address and storage.
func (s *Server) Start(ctx context.Context) error {
	bin, err := Binary()
	if err != nil {
		return err
	}
	cmd := exec.Command(bin,
		"--config.file="+s.configPath(),
		"--storage.tsdb.path="+filepath.Join(s.opts.Dir, "data"),
		fmt.Sprintf("--web.listen-address=127.0.0.1:%d", s.port),
		"--web.enable-lifecycle",
		"--log.level=warn",
	)
	proc, err := testenv.StartProcess("prometheus", s.opts.LogDir, cmd)
	if err != nil {
		return err
	}
	s.proc = proc
	waitCtx, cancel := context.WithTimeout(ctx, 60*time.Second)
	defer cancel()
	err = testenv.Poll(waitCtx, 100*time.Millisecond, "prometheus to be ready", func(ctx context.Context) error {
		if exited, exitErr := proc.Exited(); exited {
			return fmt.Errorf("prometheus exited: %v", exitErr)
		}
		req, _ := http.NewRequestWithContext(ctx, http.MethodGet, s.URL+"/-/ready", nil)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			return err
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			return fmt.Errorf("/-/ready: %s", resp.Status)
		}
		return nil
	})
	if err != nil {
		proc.Stop(time.Second)
		return fmt.Errorf("%w; see %s", err, proc.LogPath)
	}
	return nil
}

// Stop stops the server; Start brings it back on the same address.
func (s *Server) Stop() {
	if s.proc != nil {
		s.proc.Stop(10 * time.Second)
	}
}

// LogPath is the server's log file.
func (s *Server) LogPath() string { return filepath.Join(s.opts.LogDir, "prometheus.log") }
