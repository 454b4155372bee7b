//lint:file-ignore SA1019 the classic dashboard JSON model (schema v1) is what every Grafana release imports; dashboardv2 needs Grafana 12's new API.

package manifests_test

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/grafana/grafana-foundation-sdk/go/cog"
	"github.com/grafana/grafana-foundation-sdk/go/cog/plugins"
	"github.com/grafana/grafana-foundation-sdk/go/common"
	"github.com/grafana/grafana-foundation-sdk/go/dashboard"
	"github.com/grafana/grafana-foundation-sdk/go/prometheus"
	"github.com/grafana/grafana-foundation-sdk/go/stat"
	"github.com/grafana/grafana-foundation-sdk/go/timeseries"
	"sigs.k8s.io/yaml"
)

const dashboardFile = "components/grafana-dashboard/queuescale-dashboard.json"

// The dashboard is written here with the Grafana Foundation SDK and kept as
// JSON in dashboardFile (go test ./manifests -update rewrites it): the JSON
// is what users import, the code is what reviewers read.

var promDS = common.DataSourceRef{Type: cog.ToPtr("prometheus"), Uid: cog.ToPtr("${datasource}")}

type query struct{ expr, legend string }

func q(expr, legend string) query { return query{expr, legend} }

func series(title, description, unit string, qs ...query) *timeseries.PanelBuilder {
	p := timeseries.NewPanelBuilder().
		Title(title).
		Description(description).
		Datasource(promDS).
		Unit(unit).
		Height(8).
		Span(12)
	for i, qq := range qs {
		p.WithTarget(prometheus.NewDataqueryBuilder().
			Datasource(promDS).
			RefId(string(rune('A' + i))).
			Expr(qq.expr).
			LegendFormat(qq.legend))
	}
	return p
}

func single(title, description, unit string, qq query) *stat.PanelBuilder {
	return stat.NewPanelBuilder().
		Title(title).
		Description(description).
		Datasource(promDS).
		Unit(unit).
		Height(4).
		Span(6).
		WithTarget(prometheus.NewDataqueryBuilder().
			Datasource(promDS).
			RefId("A").
			Expr(qq.expr).
			LegendFormat(qq.legend))
}

func queryVariable(name, label, query string) *dashboard.QueryVariableBuilder {
	return dashboard.NewQueryVariableBuilder(name).
		Label(label).
		Datasource(promDS).
		Query(dashboard.StringOrMap{String: cog.ToPtr(query)}).
		Definition(query).
		Refresh(dashboard.VariableRefreshOnTimeRangeChanged).
		Sort(dashboard.VariableSortAlphabeticalAsc).
		Multi(true).
		IncludeAll(true).
		AllValue(".*")
}

func buildDashboard() (dashboard.Dashboard, error) {
	const queue = `queue=~"$queue"`
	const tier = `namespace=~"$namespace", policy=~"$policy"`
	const hpa = `namespace=~"$namespace"`
	return dashboard.NewDashboardBuilder("queuescale").
		Uid("queuescale").
		Description("SQS queue depth, the external metrics adapter, the HPAs it drives and the priority coordinator's caps.").
		Tags([]string{"queuescale", "sqs", "autoscaling"}).
		Refresh("30s").
		Time("now-3h", "now").
		Timezone(common.TimeZoneBrowser).
		WithVariable(dashboard.NewDatasourceVariableBuilder("datasource").Label("Prometheus").Type("prometheus")).
		WithVariable(queryVariable("queue", "Queue", "label_values(sqs_queue_info, queue)")).
		WithVariable(queryVariable("namespace", "Namespace", "label_values(queuescale_coordinator_tier_demand_replicas, namespace)")).
		WithVariable(queryVariable("policy", "PriorityPolicy", `label_values(queuescale_coordinator_tier_demand_replicas{namespace=~"$namespace"}, policy)`)).
		WithRow(dashboard.NewRowBuilder("Queues")).
		WithPanel(series("Backlog per queue", "Messages visible plus in flight: the external metric sqs_backlog the HPAs scale on.", "short",
			q(`queue:sqs_backlog:sum{`+queue+`}`, "{{queue}}"))).
		WithPanel(series("Messages by state", "Visible (waiting), in flight (received, not deleted) and delayed messages per queue.", "short",
			q(`sum by (queue) (sqs_messages_visible{`+queue+`})`, "{{queue}} visible"),
			q(`sum by (queue) (sqs_messages_in_flight{`+queue+`})`, "{{queue}} in flight"),
			q(`sum by (queue) (sqs_messages_delayed{`+queue+`})`, "{{queue}} delayed"))).
		WithRow(dashboard.NewRowBuilder("Exporter")).
		WithPanel(series("Queue read status", "1 when the queue's last refresh succeeded, 0 when it failed (its depth is then absent, never 0).", "short",
			q(`min by (queue) (sqs_queue_up{`+queue+`})`, "{{queue}}"))).
		WithPanel(series("Age of the last successful read", "Seconds since each queue's attributes were last read successfully.", "s",
			q(`time() - max by (queue) (sqs_queue_last_success_timestamp_seconds{`+queue+`})`, "{{queue}}"))).
		WithPanel(series("SQS requests", "SQS API calls per second by operation and outcome; errors include access denied and throttling.", "reqps",
			q(`sum by (operation, outcome) (rate(sqs_exporter_requests_total[$__rate_interval]))`, "{{operation}} {{outcome}}"))).
		WithPanel(series("Refresh", "Duration of the last full refresh, and the number of queues it covered.", "s",
			q(`max(sqs_exporter_refresh_duration_seconds)`, "refresh duration"),
			q(`max(sqs_exporter_queues)`, "queues"))).
		WithPanel(single("Exporter up", "Whether Prometheus can scrape the exporter.", "short",
			q(`min(up{job="sqs-exporter"})`, "up"))).
		WithRow(dashboard.NewRowBuilder("Metrics adapter")).
		WithPanel(series("External metric requests", "Requests per second by metric and outcome (success, not_found, bad_request, no_data, stale, error).", "reqps",
			q(`sum by (metric, outcome) (rate(queuescale_adapter_requests_total[$__rate_interval]))`, "{{metric}} {{outcome}}"))).
		WithPanel(series("Error ratio", "Share of requests that did not succeed, per metric. An HPA holds its size while its metric fails.", "percentunit",
			q(`sum by (metric) (rate(queuescale_adapter_requests_total{outcome!="success"}[$__rate_interval])) / sum by (metric) (rate(queuescale_adapter_requests_total[$__rate_interval]))`, "{{metric}}"))).
		WithPanel(series("Prometheus query latency", "Latency of the adapter's PromQL queries (cache hits send none).", "s",
			q(`histogram_quantile(0.5, sum by (le) (rate(queuescale_adapter_prometheus_query_duration_seconds_bucket[$__rate_interval])))`, "p50"),
			q(`histogram_quantile(0.99, sum by (le) (rate(queuescale_adapter_prometheus_query_duration_seconds_bucket[$__rate_interval])))`, "p99"))).
		WithPanel(series("Cache and rules", "Requests answered from the cache per second, and whether the last rules reload succeeded.", "short",
			q(`sum(rate(queuescale_adapter_cache_hits_total[$__rate_interval]))`, "cache hits/s"),
			q(`min(queuescale_adapter_rules_last_reload_success)`, "rules reload ok"),
			q(`sum by (outcome) (increase(queuescale_adapter_rules_reloads_total[$__rate_interval]))`, "reloads {{outcome}}"))).
		WithRow(dashboard.NewRowBuilder("HorizontalPodAutoscalers")).
		WithPanel(series("Replicas: current, desired and max", "From kube-state-metrics. A capped tier shows max below its owner's maximum; desired at max means the HPA wants more.", "short",
			q(`kube_horizontalpodautoscaler_status_current_replicas{`+hpa+`}`, "{{namespace}}/{{horizontalpodautoscaler}} current"),
			q(`kube_horizontalpodautoscaler_status_desired_replicas{`+hpa+`}`, "{{namespace}}/{{horizontalpodautoscaler}} desired"),
			q(`kube_horizontalpodautoscaler_spec_max_replicas{`+hpa+`}`, "{{namespace}}/{{horizontalpodautoscaler}} max"))).
		WithRow(dashboard.NewRowBuilder("Priority coordinator")).
		WithPanel(series("Pool capacity: CPU and pods", "CPU (cores) and pods the policy's tiers share: allocatable of the pool's nodes minus other pods' requests, or the budget.", "short",
			q(`queuescale_coordinator_pool_capacity{`+tier+`, resource=~"cpu|pods"}`, "{{namespace}}/{{policy}} {{resource}}"))).
		WithPanel(series("Pool capacity: memory", "Memory the policy's tiers share.", "bytes",
			q(`queuescale_coordinator_pool_capacity{`+tier+`, resource="memory"}`, "{{namespace}}/{{policy}} memory"))).
		WithPanel(series("Demand and grant per tier", "Replicas each tier's HPA would want (demand) and what the pool grants it.", "short",
			q(`queuescale_coordinator_tier_demand_replicas{`+tier+`}`, "{{tier}} demand"),
			q(`queuescale_coordinator_tier_grant_replicas{`+tier+`}`, "{{tier}} grant"))).
		WithPanel(series("Caps per tier", "maxReplicas written by the coordinator next to the owner's own maximum.", "short",
			q(`queuescale_coordinator_tier_cap_replicas{`+tier+`}`, "{{tier}} cap"),
			q(`queuescale_coordinator_tier_user_max_replicas{`+tier+`}`, "{{tier}} owner's max"))).
		WithPanel(series("Capped tiers and fit", "1 while a tier is capped; minimums fit is 0 when the tiers' minReplicas exceed the pool.", "short",
			q(`queuescale_coordinator_tier_capped{`+tier+`}`, "{{tier}} capped"),
			q(`queuescale_coordinator_minimums_fit{`+tier+`}`, "{{namespace}}/{{policy}} minimums fit"))).
		WithPanel(series("Reconciles", "Reconciles per second by outcome (success, invalid, error).", "ops",
			q(`sum by (outcome) (rate(queuescale_coordinator_reconciles_total[$__rate_interval]))`, "{{outcome}}"))).
		Build()
}

func TestDashboardIsGenerated(t *testing.T) {
	d, err := buildDashboard()
	if err != nil {
		t.Fatalf("build the dashboard: %v", err)
	}
	want, err := json.MarshalIndent(d, "", "  ")
	if err != nil {
		t.Fatal(err)
	}
	want = append(want, '\n')
	if *update {
		if err := os.WriteFile(dashboardFile, want, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	got, err := os.ReadFile(dashboardFile)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(string(want), string(got)); diff != "" {
		t.Errorf("%s is not what dashboard_test.go builds (run go test ./manifests -update) (-want +got):\n%s", dashboardFile, diff)
	}
}

// strictErr drops the empty error list the SDK's strict unmarshalling
// returns on success.
func strictErr(err error) error {
	if be, ok := err.(cog.BuildErrors); ok && len(be) == 0 {
		return nil
	}
	return err
}

// parsedPanel is a panel and its Prometheus queries, each parsed strictly.
type parsedPanel struct {
	*dashboard.Panel
	queries []*prometheus.Dataquery
}

// loadDashboard parses the shipped JSON strictly with the Grafana SDK. The
// SDK's strict unmarshalling drops a panel or a target whose own strict
// unmarshalling returned that empty error list (while still reporting real
// errors), so each panel and each target is parsed again on its own.
func loadDashboard(t *testing.T) (dashboard.Dashboard, []parsedPanel) {
	t.Helper()
	data, err := os.ReadFile(dashboardFile)
	if err != nil {
		t.Fatal(err)
	}
	plugins.RegisterDefaultPlugins()
	var d dashboard.Dashboard
	if err := strictErr(d.UnmarshalJSONStrict(data)); err != nil {
		t.Fatalf("%s does not parse strictly: %v", dashboardFile, err)
	}
	var raw struct {
		Panels []json.RawMessage `json:"panels"`
	}
	if err := json.Unmarshal(data, &raw); err != nil {
		t.Fatal(err)
	}
	var panels []parsedPanel
	for i, rp := range raw.Panels {
		var head struct {
			Type    string            `json:"type"`
			Targets []json.RawMessage `json:"targets"`
		}
		if err := json.Unmarshal(rp, &head); err != nil {
			t.Fatal(err)
		}
		if head.Type == "row" {
			var row dashboard.RowPanel
			if err := strictErr(row.UnmarshalJSONStrict(rp)); err != nil {
				t.Errorf("%s: panels[%d] (row) does not parse strictly: %v", dashboardFile, i, err)
			}
			continue
		}
		p := &dashboard.Panel{}
		if err := strictErr(p.UnmarshalJSONStrict(rp)); err != nil {
			t.Errorf("%s: panels[%d] does not parse strictly: %v", dashboardFile, i, err)
			continue
		}
		pp := parsedPanel{Panel: p}
		for j, rt := range head.Targets {
			q := &prometheus.Dataquery{}
			if err := strictErr(q.UnmarshalJSONStrict(rt)); err != nil {
				t.Errorf("%s: panels[%d].targets[%d] is not a valid Prometheus query: %v", dashboardFile, i, j, err)
				continue
			}
			pp.queries = append(pp.queries, q)
		}
		panels = append(panels, pp)
	}
	return d, panels
}

// dashboardQuery is one PromQL expression of the dashboard and where it is.
type dashboardQuery struct{ where, expr string }

func dashboardQueries(t *testing.T, d dashboard.Dashboard, panels []parsedPanel) []dashboardQuery {
	t.Helper()
	var out []dashboardQuery
	for _, p := range panels {
		title := ""
		if p.Title != nil {
			title = *p.Title
		}
		if p.Datasource == nil || p.Datasource.Uid == nil || *p.Datasource.Uid != "${datasource}" {
			t.Errorf("panel %q does not use the datasource variable", title)
		}
		if len(p.queries) == 0 {
			t.Errorf("panel %q has no query", title)
		}
		for i, pq := range p.queries {
			if pq.Datasource == nil || pq.Datasource.Uid == nil || *pq.Datasource.Uid != "${datasource}" {
				t.Errorf("panel %q target %d does not use the datasource variable", title, i)
			}
			out = append(out, dashboardQuery{where: fmt.Sprintf("panel %q target %s", title, *pq.RefId), expr: pq.Expr})
		}
	}
	labelValues := regexp.MustCompile(`^label_values\((.+), *([a-zA-Z_][a-zA-Z0-9_]*)\)$`)
	for _, v := range d.Templating.List {
		if v.Type != "query" {
			continue
		}
		if v.Query == nil || v.Query.String == nil {
			t.Errorf("variable %s has no query", v.Name)
			continue
		}
		m := labelValues.FindStringSubmatch(*v.Query.String)
		if m == nil {
			t.Errorf("variable %s: query %q is not label_values(selector, label)", v.Name, *v.Query.String)
			continue
		}
		out = append(out, dashboardQuery{where: "variable " + v.Name, expr: m[1]})
	}
	return out
}

func TestDashboard(t *testing.T) {
	d, panels := loadDashboard(t)
	var hasDS bool
	for _, v := range d.Templating.List {
		if v.Type == "datasource" && v.Name == "datasource" && v.Query != nil && v.Query.String != nil && *v.Query.String == "prometheus" {
			hasDS = true
		}
	}
	if !hasDS {
		t.Errorf("no datasource variable named datasource of type prometheus")
	}
	queries := dashboardQueries(t, d, panels)
	if len(queries) < 20 {
		t.Fatalf("only %d queries found in the dashboard", len(queries))
	}

	// Every expression parses: promtool checks them as recording rules,
	// with Grafana's variables replaced by values of the same kind.
	vars := strings.NewReplacer("$__rate_interval", "5m", "$__interval", "1m", "$__range", "1h", "$queue", ".*", "$namespace", ".*", "$policy", ".*")
	var f ruleFile
	g := ruleGroup{Name: "dashboard"}
	for i, q := range queries {
		expr := vars.Replace(q.expr)
		if strings.Contains(expr, "$") {
			t.Errorf("%s: unknown variable in %q", q.where, q.expr)
		}
		g.Rules = append(g.Rules, rule{Record: fmt.Sprintf("dashboard:query_%d", i), Expr: expr})
	}
	f.Groups = append(f.Groups, g)
	data, err := yaml.Marshal(f)
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "dashboard-queries.yaml")
	if err := os.WriteFile(path, data, 0o644); err != nil {
		t.Fatal(err)
	}
	runTool(t, ".", "promtool", "check", "rules", path)

	// Every metric is one something really exposes.
	known := knownMetrics(t)
	for _, q := range queries {
		for _, name := range metricNames(q.expr) {
			if !known[name] {
				t.Errorf("%s: metric %s is exposed by none of the exporter, the adapter, the coordinator, kube-state-metrics or our recording rules", q.where, name)
			}
		}
	}
}

// TestRulesNameRealMetrics applies the same check to the alert and recording
// rules.
func TestRulesNameRealMetrics(t *testing.T) {
	known := knownMetrics(t)
	for _, g := range readRules(t, rulesFile).Groups {
		for _, r := range g.Rules {
			for _, name := range metricNames(r.Expr) {
				if !known[name] {
					t.Errorf("rule %s%s: metric %s is exposed by no component", r.Alert, r.Record, name)
				}
			}
		}
	}
}

var (
	promStrings   = regexp.MustCompile(`"(?:[^"\\]|\\.)*"|'(?:[^'\\]|\\.)*'|` + "`[^`]*`")
	promMatchers  = regexp.MustCompile(`\{[^{}]*\}`)
	promRanges    = regexp.MustCompile(`\[[^\[\]]*\]`)
	promGrouping  = regexp.MustCompile(`\b(by|without|on|ignoring|group_left|group_right)\s*\([^()]*\)`)
	promIdent     = regexp.MustCompile(`[a-zA-Z_:][a-zA-Z0-9_:]*`)
	promKeywords  = []string{"and", "or", "unless", "bool", "offset", "by", "without", "on", "ignoring", "group_left", "group_right", "inf", "nan", "Inf", "NaN"}
	promNumberEnd = regexp.MustCompile(`[0-9.]$`)
)

// metricNames returns the metric names a PromQL expression selects: what is
// left after removing strings, label matchers, ranges and grouping clauses,
// minus function names (followed by "(") and keywords.
func metricNames(expr string) []string {
	s := promStrings.ReplaceAllString(expr, `""`)
	s = promMatchers.ReplaceAllString(s, "{}")
	s = promRanges.ReplaceAllString(s, "[]")
	s = promGrouping.ReplaceAllString(s, "")
	var names []string
	for _, loc := range promIdent.FindAllStringIndex(s, -1) {
		name := s[loc[0]:loc[1]]
		if loc[0] > 0 && promNumberEnd.MatchString(s[:loc[0]]) {
			continue // the exponent of a number such as 1e3
		}
		if rest := strings.TrimLeft(s[loc[1]:], " \t\n"); strings.HasPrefix(rest, "(") {
			continue // a function or aggregation
		}
		if slices.Contains(promKeywords, name) || slices.Contains(names, name) {
			continue
		}
		names = append(names, name)
	}
	return names
}

func TestMetricNames(t *testing.T) {
	tests := []struct {
		expr string
		want []string
	}{
		{`up`, []string{"up"}},
		{`sum by (queue) (rate(a_total{outcome!="x(y)", queue=~"$q"}[5m])) / on (queue) group_left (url) b`, []string{"a_total", "b"}},
		{`histogram_quantile(0.99, sum by (le) (rate(h_bucket[5m]))) > 1e3`, []string{"h_bucket"}},
		{`time() - max without (pod) (x:y:z) and bool c`, []string{"x:y:z", "c"}},
		{`label_replace(m, "dst", "$1", "src", "(.*)")`, []string{"m"}},
	}
	for _, tc := range tests {
		if diff := cmp.Diff(tc.want, metricNames(tc.expr)); diff != "" {
			t.Errorf("metricNames(%q) (-want +got):\n%s", tc.expr, diff)
		}
	}
}
