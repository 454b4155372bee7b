package provider

import (
	"k8s.io/component-base/metrics"
)

// Outcomes of a request, the values of the outcome label.
const (
	OutcomeSuccess    = "success"
	OutcomeNotFound   = "not_found"
	OutcomeBadRequest = "bad_request"
	OutcomeNoData     = "no_data"
	OutcomeStale      = "stale"
	OutcomeError      = "error"
)

// Metrics are the adapter's self-metrics. They are served on the API
// server's own /metrics once registered there (Register with
// legacyregistry.Register).
type Metrics struct {
	Requests          *metrics.CounterVec
	QueryDuration     *metrics.Histogram
	CacheHits         *metrics.Counter
	RulesReloads      *metrics.CounterVec
	RulesReloadStatus *metrics.Gauge
}

// NewMetrics makes unregistered self-metrics.
func NewMetrics() *Metrics {
	return &Metrics{
		Requests: metrics.NewCounterVec(&metrics.CounterOpts{
			Namespace: "queuescale", Subsystem: "adapter", Name: "requests_total",
			Help: "External metric requests answered, by metric (rule name; \"unknown\" for names no rule defines) and outcome " +
				"(success, not_found, bad_request, no_data, stale, error).",
		}, []string{"metric", "outcome"}),
		QueryDuration: metrics.NewHistogram(&metrics.HistogramOpts{
			Namespace: "queuescale", Subsystem: "adapter", Name: "prometheus_query_duration_seconds",
			Help:    "Duration of PromQL queries sent to Prometheus (cache hits and coalesced requests send none).",
			Buckets: []float64{.001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5},
		}),
		CacheHits: metrics.NewCounter(&metrics.CounterOpts{
			Namespace: "queuescale", Subsystem: "adapter", Name: "cache_hits_total",
			Help: "Requests answered from the result cache without querying Prometheus.",
		}),
		RulesReloads: metrics.NewCounterVec(&metrics.CounterOpts{
			Namespace: "queuescale", Subsystem: "adapter", Name: "rules_reloads_total",
			Help: "Reloads of the rules file after it changed, by outcome (success, error); on error the last good rules stay in force.",
		}, []string{"outcome"}),
		RulesReloadStatus: metrics.NewGauge(&metrics.GaugeOpts{
			Namespace: "queuescale", Subsystem: "adapter", Name: "rules_last_reload_success",
			Help: "1 if the last load of the rules file succeeded, 0 if it failed and older rules are in force.",
		}),
	}
}

// Register registers every metric with reg (e.g. legacyregistry.Register).
func (m *Metrics) Register(reg func(metrics.Registerable) error) error {
	for _, c := range []metrics.Registerable{m.Requests, m.QueryDuration, m.CacheHits, m.RulesReloads, m.RulesReloadStatus} {
		if err := reg(c); err != nil {
			return err
		}
	}
	m.RulesReloadStatus.Set(1) // the rules were valid at start, or the server would not be up
	return nil
}

// RulesReloaded records a reload attempt (rules.ReloadRecorder).
func (m *Metrics) RulesReloaded(ok bool) {
	if ok {
		m.RulesReloads.WithLabelValues(OutcomeSuccess).Inc()
		m.RulesReloadStatus.Set(1)
		return
	}
	m.RulesReloads.WithLabelValues(OutcomeError).Inc()
	m.RulesReloadStatus.Set(0)
}
