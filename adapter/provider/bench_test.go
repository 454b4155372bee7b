package provider

import (
	"context"
	"fmt"
	"testing"
	"time"

	promv1 "github.com/prometheus/client_golang/api/prometheus/v1"
	"github.com/prometheus/common/model"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/component-base/metrics"
	cmprovider "sigs.k8s.io/custom-metrics-apiserver/pkg/provider"

	"github.com/queuescale/queuescale/adapter/rules"
)

// instantProm answers every query at once with one fresh sample: what is
// left is the adapter's own cost per request.
type instantProm struct{}

func (instantProm) Query(_ context.Context, q string, ts time.Time, _ ...promv1.Option) (model.Value, promv1.Warnings, promv1.Infos, error) {
	return model.Vector{{Metric: model.Metric{}, Value: model.SampleValue(float64(ts.Unix())), Timestamp: model.TimeFromUnixNano(ts.UnixNano())}}, nil, nil, nil
}

// BenchmarkGetExternalMetric measures the adapter's overhead per request
// (rule lookup, selector translation, cache or coalesced query, answer)
// with Prometheus faked, over 500 distinct metric/selector pairs.
func BenchmarkGetExternalMetric(b *testing.B) {
	set, err := rules.Parse("default.yaml", rules.DefaultYAML)
	if err != nil {
		b.Fatal(err)
	}
	names := set.Names()
	type pair struct {
		metric string
		sel    labels.Selector
	}
	var pairs []pair
	for i := range 500 {
		sel, err := labels.Parse(fmt.Sprintf("queue=bench-%03d", i/len(names)))
		if err != nil {
			b.Fatal(err)
		}
		pairs = append(pairs, pair{names[i%len(names)], sel})
	}
	for _, bc := range []struct {
		name string
		ttl  time.Duration
	}{{"cached", time.Hour}, {"uncached", 0}} {
		b.Run(bc.name, func(b *testing.B) {
			m := NewMetrics()
			if err := m.Register(metrics.NewKubeRegistry().Register); err != nil {
				b.Fatal(err)
			}
			p := New(rules.NewStore(set), instantProm{}, Options{
				MaxSampleAge: time.Minute, CacheTTL: bc.ttl, QueryTimeout: time.Second,
			}, m)
			ctx := context.Background()
			b.ReportAllocs()
			i := 0
			for b.Loop() {
				pr := pairs[i%len(pairs)]
				i++
				if _, err := p.GetExternalMetric(ctx, "default", pr.sel, cmprovider.ExternalMetricInfo{Metric: pr.metric}); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
