package manifests_test

import (
	"context"
	"errors"
	"regexp"
	"slices"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/sqs"
	promclient "github.com/prometheus/client_golang/prometheus"
	"k8s.io/component-base/metrics"
	"k8s.io/utils/clock"

	"github.com/queuescale/queuescale/adapter/provider"
	"github.com/queuescale/queuescale/coordinator/controller"
	"github.com/queuescale/queuescale/exporter"
)

// The metric names of the contract between the parts (docs and DESIGN),
// which the dashboard and the rules may use. TestContractMetricsExist checks
// each against what the component's code really registers.
var (
	exporterMetrics = []string{
		"sqs_messages_visible", "sqs_messages_in_flight", "sqs_messages_delayed",
		"sqs_queue_info", "sqs_queue_up", "sqs_queue_last_success_timestamp_seconds",
		"sqs_exporter_refresh_duration_seconds", "sqs_exporter_queues", "sqs_exporter_requests_total",
	}
	adapterMetrics = []string{
		"queuescale_adapter_requests_total", "queuescale_adapter_prometheus_query_duration_seconds",
		"queuescale_adapter_cache_hits_total", "queuescale_adapter_rules_reloads_total",
		"queuescale_adapter_rules_last_reload_success",
	}
	coordinatorMetrics = []string{
		"queuescale_coordinator_pool_capacity", "queuescale_coordinator_tier_demand_replicas",
		"queuescale_coordinator_tier_grant_replicas", "queuescale_coordinator_tier_cap_replicas",
		"queuescale_coordinator_tier_user_max_replicas", "queuescale_coordinator_tier_capped",
		"queuescale_coordinator_minimums_fit", "queuescale_coordinator_reconciles_total",
	}
	// kube-state-metrics' HPA series (v2: metric names of its
	// horizontalpodautoscaler collector).
	kubeStateMetrics = []string{
		"kube_horizontalpodautoscaler_status_current_replicas",
		"kube_horizontalpodautoscaler_status_desired_replicas",
		"kube_horizontalpodautoscaler_spec_max_replicas",
	}
	// Prometheus' own per-target series.
	prometheusMetrics = []string{"up"}
	histograms        = []string{"queuescale_adapter_prometheus_query_duration_seconds"}
)

// knownMetrics is every name a query may select: the contract's, the
// histogram series, and our recording rules.
func knownMetrics(t *testing.T) map[string]bool {
	t.Helper()
	known := map[string]bool{}
	for _, list := range [][]string{exporterMetrics, adapterMetrics, coordinatorMetrics, kubeStateMetrics, prometheusMetrics} {
		for _, m := range list {
			known[m] = true
		}
	}
	for _, h := range histograms {
		for _, s := range []string{"_bucket", "_sum", "_count"} {
			known[h+s] = true
		}
	}
	for _, g := range readRules(t, rulesFile).Groups {
		for _, r := range g.Rules {
			if r.Record != "" {
				known[r.Record] = true
			}
		}
	}
	return known
}

var descName = regexp.MustCompile(`fqName: "([^"]+)"`)

// describedNames lists the metric names a collector describes.
func describedNames(c promclient.Collector) []string {
	ch := make(chan *promclient.Desc)
	go func() {
		c.Describe(ch)
		close(ch)
	}()
	var names []string
	for d := range ch {
		if m := descName.FindStringSubmatch(d.String()); m != nil {
			names = append(names, m[1])
		}
	}
	return names
}

// recordingRegisterer collects what a component registers.
type recordingRegisterer struct{ names []string }

var _ promclient.Registerer = (*recordingRegisterer)(nil)

func (r *recordingRegisterer) Register(c promclient.Collector) error {
	r.names = append(r.names, describedNames(c)...)
	return nil
}

func (r *recordingRegisterer) MustRegister(cs ...promclient.Collector) {
	for _, c := range cs {
		_ = r.Register(c)
	}
}

func (r *recordingRegisterer) Unregister(promclient.Collector) bool { return false }

// noSQS is an SQS client the exporter is built with but never calls here.
type noSQS struct{}

var _ exporter.SQS = noSQS{}

var errNoSQS = errors.New("no SQS in this test")

func (noSQS) GetQueueAttributes(context.Context, *sqs.GetQueueAttributesInput, ...func(*sqs.Options)) (*sqs.GetQueueAttributesOutput, error) {
	return nil, errNoSQS
}
func (noSQS) GetQueueUrl(context.Context, *sqs.GetQueueUrlInput, ...func(*sqs.Options)) (*sqs.GetQueueUrlOutput, error) {
	return nil, errNoSQS
}
func (noSQS) ListQueues(context.Context, *sqs.ListQueuesInput, ...func(*sqs.Options)) (*sqs.ListQueuesOutput, error) {
	return nil, errNoSQS
}

// TestContractMetricsExist checks the names the dashboard and rules rely on
// against the metrics each component's code registers.
func TestContractMetricsExist(t *testing.T) {
	exp, err := exporter.New(noSQS{}, exporter.Config{
		Queues:             []exporter.Queue{{Name: "inspection", URL: "https://sqs.us-east-1.amazonaws.com/111122223333/inspection"}},
		DiscoveryInterval:  time.Minute,
		MinRefreshInterval: 10 * time.Second,
		RefreshTimeout:     30 * time.Second,
		Concurrency:        1,
	}, clock.RealClock{})
	if err != nil {
		t.Fatalf("build the exporter: %v", err)
	}
	exporterNames := describedNames(exp.Collector(nil))

	var adapterNames []string
	if err := provider.NewMetrics().Register(func(r metrics.Registerable) error {
		adapterNames = append(adapterNames, r.FQName())
		return nil
	}); err != nil {
		t.Fatal(err)
	}

	reg := &recordingRegisterer{}
	if _, err := controller.NewMetrics(reg); err != nil {
		t.Fatal(err)
	}

	for _, c := range []struct {
		part     string
		contract []string
		real     []string
	}{
		{"exporter", exporterMetrics, exporterNames},
		{"adapter", adapterMetrics, adapterNames},
		{"coordinator", coordinatorMetrics, reg.names},
	} {
		if len(c.real) == 0 {
			t.Errorf("%s: no metrics found in its code", c.part)
		}
		for _, m := range c.contract {
			if !slices.Contains(c.real, m) {
				t.Errorf("%s does not expose %s (it exposes %v)", c.part, m, c.real)
			}
		}
	}
}
