package exporter

import (
	"context"
	"net/http"
	"strconv"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	"k8s.io/klog/v2"
)

// scrapeTimeoutHeader is how Prometheus tells a target its scrape timeout.
const scrapeTimeoutHeader = "X-Prometheus-Scrape-Timeout-Seconds"

// Handler serves /metrics: it gets a snapshot (refreshing when the last one is
// older than the minimum refresh interval), bounded by the scrape timeout
// header less the offset, and exposes it with a collector on a registry of its
// own, together with what extra gathers (process and Go runtime metrics; nil
// for none).
func (e *Exporter) Handler(extra prometheus.Gatherer) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		timeout := scrapeTimeout(r.Header.Get(scrapeTimeoutHeader), e.cfg.ScrapeTimeoutOffset, e.cfg.RefreshTimeout)
		ctx, cancel := context.WithTimeout(r.Context(), timeout)
		defer cancel()
		reg := prometheus.NewRegistry()
		if err := reg.Register(e.Collector(e.Snapshot(ctx))); err != nil {
			klog.ErrorS(err, "Registering the queue collector failed")
			http.Error(w, "internal error: "+err.Error(), http.StatusInternalServerError)
			return
		}
		var g prometheus.Gatherer = reg
		if extra != nil {
			g = prometheus.Gatherers{reg, extra}
		}
		promhttp.HandlerFor(g, promhttp.HandlerOpts{ErrorLog: errorLogger{}}).ServeHTTP(w, r)
	})
}

// Collector exposes snap and the exporter's request counts.
func (e *Exporter) Collector(snap *Snapshot) prometheus.Collector {
	return collector{d: e.descs, snap: snap, requests: e.requests}
}

// scrapeTimeout is how long a scrape may take: the timeout Prometheus sent
// (header, in seconds) less offset, never more than max. A header that is
// missing or not a positive number leaves max; an offset as large as the
// timeout is ignored rather than leaving no time at all.
func scrapeTimeout(header string, offset, max time.Duration) time.Duration {
	if header == "" {
		return max
	}
	secs, err := strconv.ParseFloat(header, 64)
	if err != nil || secs <= 0 {
		klog.V(1).InfoS("Ignoring an invalid scrape timeout header", "header", scrapeTimeoutHeader, "value", header)
		return max
	}
	t := time.Duration(secs * float64(time.Second))
	if t > offset {
		t -= offset
	}
	return min(t, max)
}

// errorLogger passes promhttp's errors to klog.
type errorLogger struct{}

func (errorLogger) Println(v ...any) { klog.ErrorS(nil, "Serving metrics failed", "detail", v) }
