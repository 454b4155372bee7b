package app

import (
	"bytes"
	"context"
	"encoding/csv"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/queuescale/queuescale/cmd/queuescale-sim/app/options"
	"github.com/queuescale/queuescale/sim"
)

func TestRunWritesTableCSVAndPlots(t *testing.T) {
	dir := t.TempDir()
	trace := filepath.Join(dir, "trace.csv")
	if err := os.WriteFile(trace, []byte("time_seconds,queue\n1,inspection\n2,inspection\n3,size\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	c := sim.DefaultConfig()
	c.DurationSeconds = 600
	cfg := &options.Config{
		Sim: c, Day: sim.DefaultDay(), Trace: trace,
		Policies: []sim.Policy{sim.Static, sim.Coordinator},
		CSVFile:  filepath.Join(dir, "out.csv"), PlotDir: dir, PlotFormat: "svg",
		TraceOut: filepath.Join(dir, "again.csv"),
	}
	var out bytes.Buffer
	if err := Run(context.Background(), cfg, &out); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(out.String(), "3 arrivals (trace trace.csv)") || !strings.Contains(out.String(), "coordinator") {
		t.Errorf("table:\n%s", out.String())
	}
	f, err := os.Open(cfg.CSVFile)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	rows, err := csv.NewReader(f).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	if len(rows) != 3 || rows[0][0] != "policy" || rows[1][0] != "static" || rows[2][0] != "coordinator" {
		t.Errorf("CSV rows %q", rows)
	}
	for _, p := range cfg.Policies {
		b, err := os.ReadFile(filepath.Join(dir, "sim-"+string(p)+".svg"))
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Contains(b, []byte("<svg")) {
			t.Errorf("%s plot is not SVG", p)
		}
	}
	again, err := os.ReadFile(cfg.TraceOut)
	if err != nil || !strings.HasPrefix(string(again), "time_seconds,queue\n1.000,inspection\n") {
		t.Errorf("--write-trace: %q, %v", again, err)
	}
}

func TestRunReportsTraceErrors(t *testing.T) {
	dir := t.TempDir()
	trace := filepath.Join(dir, "bad.csv")
	if err := os.WriteFile(trace, []byte("time_seconds,queue\n1,inspection\nx,inspection\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	cfg := &options.Config{Sim: sim.DefaultConfig(), Trace: trace, Policies: []sim.Policy{sim.Static}, PlotFormat: "png"}
	err := Run(context.Background(), cfg, &bytes.Buffer{})
	if err == nil || !strings.Contains(err.Error(), "bad.csv:3: field time_seconds") {
		t.Errorf("error %v, want it to name bad.csv, line 3 and time_seconds", err)
	}
}
