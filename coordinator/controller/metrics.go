package controller

import (
	"github.com/prometheus/client_golang/prometheus"
)

// Metrics are the coordinator's Prometheus series. Create them with
// NewMetrics on the registry the process serves (controller-runtime's
// metrics.Registry in the binary, a fresh one in tests).
type Metrics struct {
	poolCapacity      *prometheus.GaugeVec
	tierDemand        *prometheus.GaugeVec
	tierGrant         *prometheus.GaugeVec
	tierCap           *prometheus.GaugeVec
	tierUserMax       *prometheus.GaugeVec
	tierCapped        *prometheus.GaugeVec
	minimumsFit       *prometheus.GaugeVec
	reconciles        *prometheus.CounterVec
	reconcileDuration prometheus.Histogram
}

// Reconcile outcomes counted in queuescale_coordinator_reconciles_total.
const (
	outcomeSuccess = "success"
	outcomeInvalid = "invalid" // the policy cannot be applied (condition and event say why)
	outcomeError   = "error"   // an API error; retried
)

// NewMetrics creates the coordinator's series and registers them with reg.
func NewMetrics(reg prometheus.Registerer) (*Metrics, error) {
	tier := []string{"namespace", "policy", "tier"}
	m := &Metrics{
		poolCapacity: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "queuescale_coordinator_pool_capacity",
			Help: "Capacity the policy's tiers share, by resource: cpu in cores, memory in bytes, pods (absent when unlimited).",
		}, []string{"namespace", "policy", "resource"}),
		tierDemand: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "queuescale_coordinator_tier_demand_replicas",
			Help: "Replicas the tier's HPA would want now, clamped to its minReplicas and the user's maxReplicas.",
		}, tier),
		tierGrant: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "queuescale_coordinator_tier_grant_replicas",
			Help: "Replicas the pool grants the tier after the higher tiers' demand.",
		}, tier),
		tierCap: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "queuescale_coordinator_tier_cap_replicas",
			Help: "maxReplicas the plan wants on the tier's HPA (the user's maxReplicas when not capped).",
		}, tier),
		tierUserMax: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "queuescale_coordinator_tier_user_max_replicas",
			Help: "The user's own maxReplicas of the tier's HPA.",
		}, tier),
		tierCapped: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "queuescale_coordinator_tier_capped",
			Help: "1 while the tier's maxReplicas is held below the user's maxReplicas, else 0.",
		}, tier),
		minimumsFit: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "queuescale_coordinator_minimums_fit",
			Help: "1 when the tiers' minReplicas fit the pool, 0 when they alone exceed it (nothing is written then).",
		}, []string{"namespace", "policy"}),
		reconciles: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "queuescale_coordinator_reconciles_total",
			Help: "PriorityPolicy reconciles by outcome: success, invalid (the policy cannot be applied) or error (API failure, retried).",
		}, []string{"outcome"}),
		reconcileDuration: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name:    "queuescale_coordinator_reconcile_duration_seconds",
			Help:    "Time to plan and apply one PriorityPolicy.",
			Buckets: prometheus.ExponentialBuckets(0.001, 2, 14),
		}),
	}
	for _, c := range []prometheus.Collector{m.poolCapacity, m.tierDemand, m.tierGrant, m.tierCap, m.tierUserMax, m.tierCapped, m.minimumsFit, m.reconciles, m.reconcileDuration} {
		if err := reg.Register(c); err != nil {
			return nil, err
		}
	}
	for _, o := range []string{outcomeSuccess, outcomeInvalid, outcomeError} {
		m.reconciles.WithLabelValues(o)
	}
	return m, nil
}

// forget removes every series of a policy (deleted, or about to be re-set).
func (m *Metrics) forget(namespace, policy string) {
	l := prometheus.Labels{"namespace": namespace, "policy": policy}
	for _, v := range []*prometheus.GaugeVec{m.poolCapacity, m.tierDemand, m.tierGrant, m.tierCap, m.tierUserMax, m.tierCapped, m.minimumsFit} {
		v.DeletePartialMatch(l)
	}
}
