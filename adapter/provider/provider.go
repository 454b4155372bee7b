// Package provider answers external metric requests from Prometheus: it is
// the custom-metrics-apiserver ExternalMetricsProvider of the adapter.
//
// A request is looked up in the rules, checked against the rule's namespaces
// and label allow-list, turned into PromQL, and answered from a short-lived
// cache or one coalesced Prometheus query. Missing, stale or unreadable data
// is an error, never 0.
package provider

import (
	"context"
	"errors"
	"fmt"
	"math"
	"sync"
	"time"

	promv1 "github.com/prometheus/client_golang/api/prometheus/v1"
	"github.com/prometheus/common/model"
	"golang.org/x/sync/singleflight"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/klog/v2"
	"k8s.io/metrics/pkg/apis/external_metrics"
	cmprovider "sigs.k8s.io/custom-metrics-apiserver/pkg/provider"

	"github.com/queuescale/queuescale/adapter/query"
	"github.com/queuescale/queuescale/adapter/rules"
)

// Querier runs one instant PromQL query; the client_golang v1 API has it.
type Querier interface {
	Query(ctx context.Context, query string, ts time.Time, opts ...promv1.Option) (model.Value, promv1.Warnings, promv1.Infos, error)
}

var _ Querier = (promv1.API)(nil)

// RuleSource gives the rules in force (a *rules.Store).
type RuleSource interface {
	Current() *rules.Set
}

var _ RuleSource = (*rules.Store)(nil)

var externalMetrics = schema.GroupResource{Group: external_metrics.GroupName}

// Options tune the provider.
type Options struct {
	// MaxSampleAge: an answer computed from a sample older than this is an error.
	MaxSampleAge time.Duration
	// CacheTTL: how long a successful answer is reused; 0 disables the cache
	// (identical concurrent requests are still coalesced).
	CacheTTL time.Duration
	// QueryTimeout bounds each Prometheus query.
	QueryTimeout time.Duration
	// Now is the clock; nil means time.Now.
	Now func() time.Time
}

// Provider implements cmprovider.ExternalMetricsProvider.
type Provider struct {
	rules   RuleSource
	prom    Querier
	opts    Options
	metrics *Metrics

	group singleflight.Group

	mu        sync.Mutex
	cache     map[string]cached
	lastSweep time.Time
}

var _ cmprovider.ExternalMetricsProvider = (*Provider)(nil)

// result is what Prometheus said for one request: the samples of the value
// query and the oldest timestamp of the samples behind them.
type result struct {
	samples []*model.Sample
	oldest  time.Time
}

type cached struct {
	res     *result
	expires time.Time
}

// New returns a provider. metrics may be unregistered (tests).
func New(rs RuleSource, prom Querier, opts Options, m *Metrics) *Provider {
	if opts.Now == nil {
		opts.Now = time.Now
	}
	return &Provider{rules: rs, prom: prom, opts: opts, metrics: m, cache: map[string]cached{}}
}

// ListAllExternalMetrics names every metric the rules define.
func (p *Provider) ListAllExternalMetrics() []cmprovider.ExternalMetricInfo {
	names := p.rules.Current().Names()
	out := make([]cmprovider.ExternalMetricInfo, len(names))
	for i, n := range names {
		out[i] = cmprovider.ExternalMetricInfo{Metric: n}
	}
	return out
}

// GetExternalMetric answers one request.
func (p *Provider) GetExternalMetric(ctx context.Context, namespace string, selector labels.Selector, info cmprovider.ExternalMetricInfo) (*external_metrics.ExternalMetricValueList, error) {
	list, outcome, err := p.get(ctx, namespace, selector, info.Metric)
	metricLabel := info.Metric
	if outcome == OutcomeNotFound {
		if _, known := p.rules.Current().Lookup(info.Metric); !known {
			metricLabel = "unknown" // keep the label set bounded by the rules
		}
	}
	p.metrics.Requests.WithLabelValues(metricLabel, outcome).Inc()
	if err != nil {
		klog.V(2).InfoS("External metric request failed", "metric", info.Metric, "namespace", namespace,
			"selector", selectorString(selector), "outcome", outcome, "err", err)
	}
	return list, err
}

func (p *Provider) get(ctx context.Context, namespace string, selector labels.Selector, metric string) (*external_metrics.ExternalMetricValueList, string, error) {
	rule, ok := p.rules.Current().Lookup(metric)
	// A namespace the rule does not grant gets the same answer as an unknown
	// metric, so a namespace cannot probe which metrics exist.
	if !ok || !rule.AllowsNamespace(namespace) {
		return nil, OutcomeNotFound, cmprovider.NewMetricNotFoundError(externalMetrics, metric)
	}
	q, err := query.Build(rule, selector)
	if err != nil {
		return nil, OutcomeBadRequest, apierrors.NewBadRequest(err.Error())
	}
	res, err := p.fetch(ctx, q)
	if err != nil {
		klog.ErrorS(err, "Querying Prometheus", "metric", metric, "query", q.Value)
		return nil, OutcomeError, apierrors.NewServiceUnavailable(
			fmt.Sprintf("unable to read metric %s from Prometheus: %s", metric, clientMessage(err)))
	}
	if len(res.samples) == 0 {
		return nil, OutcomeNoData, noData(metric, selector)
	}
	if res.oldest.IsZero() {
		// Values without timestamps cannot be checked for age.
		return nil, OutcomeNoData, noData(metric, selector)
	}
	if age := p.opts.Now().Sub(res.oldest); age > p.opts.MaxSampleAge {
		return nil, OutcomeStale, apierrors.NewServiceUnavailable(fmt.Sprintf(
			"metric %s with selector %q is stale: its oldest sample is from %s, %s old, more than the allowed %s",
			metric, selectorString(selector), res.oldest.UTC().Format(time.RFC3339), age.Round(time.Second), p.opts.MaxSampleAge))
	}
	list := &external_metrics.ExternalMetricValueList{}
	for _, s := range res.samples {
		v := float64(s.Value)
		if math.IsNaN(v) || math.IsInf(v, 0) {
			return nil, OutcomeError, apierrors.NewServiceUnavailable(fmt.Sprintf("metric %s with selector %q is %v, not a number an autoscaler can use", metric, selectorString(selector), v))
		}
		lbls := make(map[string]string, len(s.Metric))
		for k, v := range s.Metric {
			if k != model.MetricNameLabel {
				lbls[string(k)] = string(v)
			}
		}
		list.Items = append(list.Items, external_metrics.ExternalMetricValue{
			MetricName:   metric,
			MetricLabels: lbls,
			Timestamp:    metav1.NewTime(res.oldest),
			Value:        quantity(v),
		})
	}
	return list, OutcomeSuccess, nil
}

func noData(metric string, selector labels.Selector) error {
	return apierrors.NewNotFound(externalMetrics, fmt.Sprintf("%s (selector %q): Prometheus has no data for it; check that the series exists and is being scraped", metric, selectorString(selector)))
}

func selectorString(s labels.Selector) string {
	if s == nil {
		return ""
	}
	return s.String()
}

// clientMessage keeps what an HPA condition should show (timeout or not
// reachable) and leaves addresses and query text to the log.
func clientMessage(err error) string {
	switch {
	case errors.Is(err, context.DeadlineExceeded):
		return "query timed out"
	case errors.Is(err, context.Canceled):
		return "request cancelled"
	default:
		var perr *promv1.Error
		if errors.As(err, &perr) {
			return fmt.Sprintf("Prometheus answered %s", perr.Type)
		}
		return "Prometheus is not reachable or failed"
	}
}

func quantity(v float64) resource.Quantity {
	if math.Abs(v) < math.MaxInt64/1000 {
		return *resource.NewMilliQuantity(int64(math.Round(v*1000)), resource.DecimalSI)
	}
	return *resource.NewQuantity(int64(math.Round(v)), resource.DecimalSI)
}

// fetch answers q from the cache, or from one Prometheus round trip shared
// by every identical request in flight. Only successes are cached.
func (p *Provider) fetch(ctx context.Context, q query.Queries) (*result, error) {
	key := q.Key()
	if res, ok := p.cached(key); ok {
		p.metrics.CacheHits.Inc()
		return res, nil
	}
	ch := p.group.DoChan(key, func() (any, error) {
		// Detached from the first caller: its cancellation must not fail
		// the others waiting on the same query. Bounded by QueryTimeout.
		qctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), p.opts.QueryTimeout)
		defer cancel()
		res, err := p.query(qctx, q)
		if err != nil {
			return nil, err
		}
		p.store(key, res)
		return res, nil
	})
	select {
	case r := <-ch:
		if r.Err != nil {
			return nil, r.Err
		}
		return r.Val.(*result), nil
	case <-ctx.Done():
		return nil, ctx.Err()
	}
}

func (p *Provider) cached(key string) (*result, bool) {
	if p.opts.CacheTTL <= 0 {
		return nil, false
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	c, ok := p.cache[key]
	if !ok || !p.opts.Now().Before(c.expires) {
		return nil, false
	}
	return c.res, true
}

func (p *Provider) store(key string, res *result) {
	if p.opts.CacheTTL <= 0 {
		return
	}
	now := p.opts.Now()
	p.mu.Lock()
	defer p.mu.Unlock()
	p.cache[key] = cached{res: res, expires: now.Add(p.opts.CacheTTL)}
	if now.Sub(p.lastSweep) > p.opts.CacheTTL {
		for k, c := range p.cache {
			if !now.Before(c.expires) {
				delete(p.cache, k)
			}
		}
		p.lastSweep = now
	}
}

// query runs the value and timestamp queries side by side.
func (p *Provider) query(ctx context.Context, q query.Queries) (*result, error) {
	now := p.opts.Now()
	var (
		wg            sync.WaitGroup
		value, stamps model.Value
		valErr, tsErr error
	)
	wg.Add(2)
	go func() { defer wg.Done(); value, valErr = p.run(ctx, q.Value, now) }()
	go func() { defer wg.Done(); stamps, tsErr = p.run(ctx, q.Timestamp, now) }()
	wg.Wait()
	if err := errors.Join(valErr, tsErr); err != nil {
		return nil, err
	}
	samples, err := asSamples(value)
	if err != nil {
		return nil, fmt.Errorf("query %q: %w", q.Value, err)
	}
	tss, err := asSamples(stamps)
	if err != nil {
		return nil, fmt.Errorf("query %q: %w", q.Timestamp, err)
	}
	res := &result{samples: samples}
	for _, s := range tss {
		sec := float64(s.Value)
		if math.IsNaN(sec) || math.IsInf(sec, 0) {
			continue
		}
		t := time.Unix(0, int64(sec*float64(time.Second)))
		if res.oldest.IsZero() || t.Before(res.oldest) {
			res.oldest = t
		}
	}
	return res, nil
}

func (p *Provider) run(ctx context.Context, q string, ts time.Time) (model.Value, error) {
	start := time.Now()
	v, warnings, _, err := p.prom.Query(ctx, q, ts, promv1.WithTimeout(p.opts.QueryTimeout))
	p.metrics.QueryDuration.Observe(time.Since(start).Seconds())
	if err != nil {
		return nil, fmt.Errorf("query %q: %w", q, err)
	}
	if len(warnings) > 0 {
		klog.InfoS("Prometheus warned about a query", "query", q, "warnings", warnings)
	}
	return v, nil
}

func asSamples(v model.Value) ([]*model.Sample, error) {
	switch v := v.(type) {
	case model.Vector:
		return v, nil
	case *model.Scalar:
		return []*model.Sample{{Value: v.Value, Timestamp: v.Timestamp}}, nil
	case nil:
		return nil, nil
	default:
		return nil, fmt.Errorf("result is a %s, want an instant vector or a scalar", v.Type())
	}
}
