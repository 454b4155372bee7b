package options

import (
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/spf13/pflag"

	"github.com/queuescale/queuescale/sim"
)

func parse(t *testing.T, args ...string) (*Config, error) {
	t.Helper()
	o := New()
	fs := pflag.NewFlagSet("test", pflag.ContinueOnError)
	o.AddFlags(fs)
	if err := fs.Parse(args); err != nil {
		return nil, err
	}
	return o.Config()
}

func TestDefaultsAreTheReferenceScenario(t *testing.T) {
	cfg, err := parse(t)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(sim.DefaultConfig(), cfg.Sim); diff != "" {
		t.Errorf("defaults differ from sim.DefaultConfig (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff(sim.DefaultDay(), cfg.Day); diff != "" {
		t.Errorf("day differs (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff(sim.AllPolicies, cfg.Policies); diff != "" {
		t.Errorf("policies (-want +got):\n%s", diff)
	}
}

func TestFileThenFlags(t *testing.T) {
	cfg, err := parse(t, "--config", filepath.Join("testdata", "valid.yaml"), "--nodes", "4", "--size-max-replicas", "8", "--inspector-memory", "512Mi", "--node-cpu", "1500m")
	if err != nil {
		t.Fatal(err)
	}
	got := struct {
		Seed            uint64
		Duration        float64
		Nodes           int
		NodeMilliCPU    int64
		SizeMax         int32
		InspectorMemory int64
		Bursts          int
		Policies        []sim.Policy
	}{cfg.Sim.Seed, cfg.Sim.DurationSeconds, cfg.Sim.Nodes, cfg.Sim.NodeMilliCPU, cfg.Sim.Tiers[1].MaxReplicas, cfg.Sim.Tiers[0].MemoryBytes, cfg.Day.Bursts, cfg.Policies}
	want := got
	want.Seed, want.Duration, want.Nodes, want.NodeMilliCPU, want.SizeMax, want.InspectorMemory, want.Bursts = 7, 3600, 4, 1500, 8, 512<<20, 2
	want.Policies = []sim.Policy{sim.Static, sim.Coordinator}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("(-want +got):\n%s", diff)
	}
}

func TestValidationErrors(t *testing.T) {
	tests := []struct {
		name string
		args []string
		want []string
	}{
		{"unknown policy", []string{"--policies", "static,magic"}, []string{`--policies: unknown policy "magic"`}},
		{"bad quantity", []string{"--node-memory", "4Gx"}, []string{`--node-memory: "4Gx" is not a quantity`}},
		{"negative quantity", []string{"--size-cpu", "-1"}, []string{`--size-cpu: "-1" must be positive`}},
		{"field from a flag", []string{"--inspector-max-replicas", "0"}, []string{"tiers[0].maxReplicas: 0"}},
		{"all problems at once", []string{"--nodes", "0", "--hpa-tolerance", "1.5", "--plot-format", "gif"},
			[]string{"nodes: 0", "hpaTolerance: 1.5", `--plot-format: "gif"`}},
		{"missing plot dir", []string{"--plot-dir", filepath.Join("testdata", "nope")}, []string{"--plot-dir:", "nope"}},
		{"unknown field in file", []string{"--config", filepath.Join("testdata", "unknown-field.yaml")},
			[]string{"unknown-field.yaml", `unknown field "node"`}},
		{"bad values in file", []string{"--config", filepath.Join("testdata", "bad-values.yaml")},
			[]string{"bad-values.yaml", "policies[1]", `"magic"`, "nodes: 0", "hpaTolerance: 2"}},
		{"missing file", []string{"--config", filepath.Join("testdata", "missing.yaml")}, []string{"--config", "missing.yaml"}},
		{"bad day", []string{"--max-rate", "0"}, []string{"day.maxRate 0"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := parse(t, tc.args...)
			if err == nil {
				t.Fatal("accepted")
			}
			for _, w := range tc.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q does not mention %q", err, w)
				}
			}
		})
	}
}

func TestHelpNamesEveryFlagAndDefault(t *testing.T) {
	o := New()
	fs := pflag.NewFlagSet("test", pflag.ContinueOnError)
	o.AddFlags(fs)
	fs.VisitAll(func(f *pflag.Flag) {
		if len(f.Usage) < 15 {
			t.Errorf("--%s: usage %q explains too little", f.Name, f.Usage)
		}
	})
	usage := fs.FlagUsages()
	for _, w := range []string{`--inspector-job-p95 float`, `(default 6)`, `--node-memory string`, `(default "4Gi")`, `[config: tiers[1].maxReplicas]`} {
		if !strings.Contains(usage, w) {
			t.Errorf("--help does not show %q", w)
		}
	}
}

// TestDocumentedExample loads the example of docs/simulation.md (kept in
// testdata/reference.yaml): it must be the reference scenario.
func TestDocumentedExample(t *testing.T) {
	cfg, err := parse(t, "--config", filepath.Join("testdata", "reference.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(sim.DefaultConfig(), cfg.Sim); diff != "" {
		t.Errorf("example differs from the reference (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff(sim.DefaultDay(), cfg.Day); diff != "" {
		t.Errorf("example day differs (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff([]sim.Policy{sim.Static, sim.HPA, sim.Coordinator}, cfg.Policies); diff != "" {
		t.Errorf("policies (-want +got):\n%s", diff)
	}
}

func TestTraceRelativeToConfigFile(t *testing.T) {
	cfg, err := parse(t, "--config", filepath.Join("testdata", "with-trace.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	if want := filepath.Join("testdata", "burst.csv"); cfg.Trace != want {
		t.Errorf("trace %q, want %q (relative to the config file)", cfg.Trace, want)
	}
	cfg, err = parse(t, "--config", filepath.Join("testdata", "with-trace.yaml"), "--trace", "other.csv")
	if err != nil {
		t.Fatal(err)
	}
	if cfg.Trace != "other.csv" {
		t.Errorf("--trace given: trace %q, want other.csv", cfg.Trace)
	}
}
