package exporter

import (
	"bytes"
	"context"
	"flag"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata/ from the current output")

// goldenExposition is a scrape covering every kind of series: healthy
// standard and FIFO queues, a queue that failed after an earlier success, a
// queue whose name never resolved, and a discovered queue.
func goldenExposition(t *testing.T) []byte {
	t.Helper()
	f := newFakeSQS()
	f.add("orders", 3, 2, 1)
	f.add("jobs.fifo", 7, 0, 0)
	f.add("img-thumbnails", 0, 0, 0)
	f.add("denied", 4, 0, 0)
	e, clk := newTestExporter(t, f, testConfig(func(c *Config) {
		c.Queues = mustQueues(t, "orders", fakeURLBase+"jobs.fifo", "denied", "missing")
		c.Prefixes = []string{"img-"}
		c.MinRefreshInterval = 30 * time.Second
	}))
	e.Snapshot(context.Background())
	f.setErr("denied", apiError("AccessDenied"))
	clk.Step(time.Minute)
	rec := httptest.NewRecorder()
	e.Handler(nil).ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/metrics", nil))
	if rec.Code != http.StatusOK {
		t.Fatalf("status %d: %s", rec.Code, rec.Body)
	}
	return rec.Body.Bytes()
}

func TestGoldenExposition(t *testing.T) {
	got := goldenExposition(t)
	path := filepath.Join("testdata", "metrics.golden")
	if *update {
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test ./exporter -run TestGoldenExposition -update to create it)", err)
	}
	if diff := cmp.Diff(string(want), string(got)); diff != "" {
		t.Errorf("exposition differs from %s (-want +got); rerun with -update if the change is intended:\n%s", path, diff)
	}
}

// TestGoldenExpositionPassesPromtool lints the golden file with the
// Prometheus project's own checker.
func TestGoldenExpositionPassesPromtool(t *testing.T) {
	promtool, err := exec.LookPath("promtool")
	if err != nil {
		t.Fatalf("promtool is not installed (%v): run `make deps`", err)
	}
	data, err := os.ReadFile(filepath.Join("testdata", "metrics.golden"))
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(promtool, "check", "metrics")
	cmd.Stdin = bytes.NewReader(data)
	out, err := cmd.CombinedOutput()
	if err != nil || len(bytes.TrimSpace(out)) != 0 {
		t.Errorf("promtool check metrics: %v\n%s", err, out)
	}
}
