package manifests_test

import (
	"flag"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"sigs.k8s.io/yaml"
)

var update = flag.Bool("update", false, "rewrite generated files (the PrometheusRule, the Grafana dashboard) from their sources")

const (
	rulesFile          = "prometheus/rules.yaml"
	prometheusRuleFile = "components/prometheus-operator/prometheusrule.yaml"
)

func runTool(t *testing.T, dir string, name string, args ...string) string {
	t.Helper()
	cmd := exec.Command(lookTool(t, name), args...)
	cmd.Dir = dir
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("%s %s: %v\n%s", name, strings.Join(args, " "), err, out)
	}
	return string(out)
}

func readRules(t *testing.T, path string) ruleFile {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var f ruleFile
	if err := yaml.UnmarshalStrict(data, &f); err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	return f
}

func TestPrometheusRules(t *testing.T) {
	runTool(t, "prometheus", "promtool", "check", "rules", "rules.yaml")
	tests, err := filepath.Glob("prometheus/tests/*.yaml")
	if err != nil || len(tests) == 0 {
		t.Fatalf("no rule unit tests in prometheus/tests (%v)", err)
	}
	for _, f := range tests {
		runTool(t, "prometheus", "promtool", "test", "rules", strings.TrimPrefix(f, "prometheus/"))
	}
}

// TestEveryAlertIsUnitTested requires, for every alert, a promtool test in
// which it fires and one in which it stays quiet.
func TestEveryAlertIsUnitTested(t *testing.T) {
	type alertTest struct {
		EvalTime  string           `json:"eval_time"`
		AlertName string           `json:"alertname"`
		ExpAlerts []map[string]any `json:"exp_alerts"`
	}
	type unitFile struct {
		Tests []struct {
			AlertRuleTest []alertTest `json:"alert_rule_test"`
		} `json:"tests"`
	}
	fires, quiet := map[string]bool{}, map[string]bool{}
	files, _ := filepath.Glob("prometheus/tests/*.yaml")
	for _, f := range files {
		data, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		var u unitFile
		if err := yaml.Unmarshal(data, &u); err != nil {
			t.Fatalf("%s: %v", f, err)
		}
		for _, tc := range u.Tests {
			for _, a := range tc.AlertRuleTest {
				if len(a.ExpAlerts) > 0 {
					fires[a.AlertName] = true
				} else {
					quiet[a.AlertName] = true
				}
			}
		}
	}
	var alerts []string
	for _, g := range readRules(t, rulesFile).Groups {
		for _, r := range g.Rules {
			if r.Alert != "" {
				alerts = append(alerts, r.Alert)
			}
		}
	}
	if len(alerts) == 0 {
		t.Fatalf("%s has no alerts", rulesFile)
	}
	for _, a := range alerts {
		if !fires[a] {
			t.Errorf("alert %s has no unit test in which it fires", a)
		}
		if !quiet[a] {
			t.Errorf("alert %s has no unit test in which it stays quiet", a)
		}
	}
	for a := range fires {
		if !slices.Contains(alerts, a) {
			t.Errorf("unit tests expect alert %s, which %s does not define", a, rulesFile)
		}
	}
}

// TestPrometheusRuleMatchesRules keeps the operator component's
// PrometheusRule identical to prometheus/rules.yaml (-update rewrites it).
func TestPrometheusRuleMatchesRules(t *testing.T) {
	want := readRules(t, rulesFile)
	if *update {
		pr := prometheusRule{Spec: want}
		pr.APIVersion, pr.Kind = "monitoring.coreos.com/v1", "PrometheusRule"
		pr.Name, pr.Namespace = "queuescale", "queuescale"
		pr.Labels = map[string]string{"app.kubernetes.io/part-of": "queuescale"}
		data, err := yaml.Marshal(pr)
		if err != nil {
			t.Fatal(err)
		}
		header := "# Generated from manifests/prometheus/rules.yaml by `go test ./manifests -update`; do not edit.\n"
		if err := os.WriteFile(prometheusRuleFile, append([]byte(header), data...), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	data, err := os.ReadFile(prometheusRuleFile)
	if err != nil {
		t.Fatal(err)
	}
	var got prometheusRule
	if err := yaml.UnmarshalStrict(data, &got); err != nil {
		t.Fatalf("%s: %v", prometheusRuleFile, err)
	}
	if diff := cmp.Diff(want, got.Spec); diff != "" {
		t.Errorf("%s differs from %s (run go test ./manifests -update) (-want +got):\n%s", prometheusRuleFile, rulesFile, diff)
	}
}

// TestScrapeConfig checks the plain Prometheus scrape jobs with promtool.
// Debian's Prometheus is built without Kubernetes service discovery, so the
// test checks each kubernetes_sd_configs entry's shape itself and hands
// promtool the job with a static target instead; files the jobs read (token,
// CA) are pointed at temporary files, since promtool checks they exist.
func TestScrapeConfig(t *testing.T) {
	data, err := os.ReadFile("components/prometheus-scrape/scrape-configs.yaml")
	if err != nil {
		t.Fatal(err)
	}
	var cfg struct {
		ScrapeConfigs []map[string]any `json:"scrape_configs"`
	}
	if err := yaml.UnmarshalStrict(data, &cfg); err != nil {
		t.Fatal(err)
	}
	wantJobs := []string{"sqs-exporter", "priority-coordinator", "metrics-adapter"}
	var jobs []string
	dir := t.TempDir()
	placeholder := filepath.Join(dir, "file")
	if err := os.WriteFile(placeholder, []byte("x"), 0o600); err != nil {
		t.Fatal(err)
	}
	for _, job := range cfg.ScrapeConfigs {
		name, _ := job["job_name"].(string)
		jobs = append(jobs, name)
		sds, _ := job["kubernetes_sd_configs"].([]any)
		if len(sds) == 0 {
			t.Errorf("job %s: no kubernetes_sd_configs", name)
		}
		for _, sd := range sds {
			raw, _ := yaml.Marshal(sd)
			var k struct {
				Role       string `json:"role"`
				Namespaces struct {
					Names []string `json:"names"`
				} `json:"namespaces"`
			}
			if err := yaml.UnmarshalStrict(raw, &k); err != nil {
				t.Errorf("job %s: kubernetes_sd_configs: %v", name, err)
			}
			if !slices.Contains([]string{"endpoints", "endpointslice", "pod", "service"}, k.Role) {
				t.Errorf("job %s: kubernetes_sd_configs role %q", name, k.Role)
			}
			if !slices.Equal(k.Namespaces.Names, []string{"queuescale"}) {
				t.Errorf("job %s: kubernetes_sd_configs namespaces %v, want [queuescale]", name, k.Namespaces.Names)
			}
		}
		delete(job, "kubernetes_sd_configs")
		job["static_configs"] = []any{map[string]any{"targets": []any{"127.0.0.1:9"}}}
		if a, ok := job["authorization"].(map[string]any); ok && a["credentials_file"] != nil {
			a["credentials_file"] = placeholder
		}
		if tc, ok := job["tls_config"].(map[string]any); ok && tc["ca_file"] != nil {
			tc["ca_file"] = placeholder
		}
	}
	if diff := cmp.Diff(wantJobs, jobs); diff != "" {
		t.Errorf("scrape jobs (-want +got):\n%s", diff)
	}
	out, err := yaml.Marshal(cfg)
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(dir, "prometheus.yml")
	if err := os.WriteFile(path, out, 0o644); err != nil {
		t.Fatal(err)
	}
	runTool(t, dir, "promtool", "check", "config", path)
}
