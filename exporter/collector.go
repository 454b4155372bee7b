package exporter

import (
	"fmt"
	"strconv"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// descs are the metrics the exporter exposes.
type descs struct {
	visible, inFlight, delayed   *prometheus.Desc
	info, up, lastSuccess        *prometheus.Desc
	refreshDuration, refreshTime *prometheus.Desc
	queues, requests             *prometheus.Desc
}

func newDescs(minRefresh time.Duration) descs {
	reuse := fmt.Sprintf(" Read at most once per --min-refresh-interval (%s): scrapes within it reuse the last result.", minRefresh)
	queue := []string{"queue"}
	return descs{
		visible: prometheus.NewDesc("sqs_messages_visible",
			"Messages available for retrieval (SQS ApproximateNumberOfMessages)."+reuse, queue, nil),
		inFlight: prometheus.NewDesc("sqs_messages_in_flight",
			"Messages received but not yet deleted or returned to the queue (SQS ApproximateNumberOfMessagesNotVisible)."+reuse, queue, nil),
		delayed: prometheus.NewDesc("sqs_messages_delayed",
			"Messages delayed and not yet available (SQS ApproximateNumberOfMessagesDelayed)."+reuse, queue, nil),
		info: prometheus.NewDesc("sqs_queue_info",
			"Always 1 for every queue whose URL is known; fifo is \"true\" for FIFO queues.", []string{"queue", "url", "fifo"}, nil),
		up: prometheus.NewDesc("sqs_queue_up",
			"1 if the queue's attributes were read in the last refresh, 0 if not (its depth series are then absent, never 0)."+reuse, queue, nil),
		lastSuccess: prometheus.NewDesc("sqs_queue_last_success_timestamp_seconds",
			"Unix time the queue's attributes were last read successfully.", queue, nil),
		refreshDuration: prometheus.NewDesc("sqs_exporter_refresh_duration_seconds",
			"Time the last full refresh (discovery, when due, and one GetQueueAttributes per queue) took.", nil, nil),
		refreshTime: prometheus.NewDesc("sqs_exporter_refresh_timestamp_seconds",
			"Unix time the last full refresh started; scrapes within --min-refresh-interval of it reuse its result.", nil, nil),
		queues: prometheus.NewDesc("sqs_exporter_queues",
			"Queues in the last refresh (named and discovered).", nil, nil),
		requests: prometheus.NewDesc("sqs_exporter_requests_total",
			"SQS API calls made, by operation and outcome (success or error); a call the AWS SDK retried counts once, with its final outcome.", []string{"operation", "outcome"}, nil),
	}
}

func (d descs) all() []*prometheus.Desc {
	return []*prometheus.Desc{d.visible, d.inFlight, d.delayed, d.info, d.up, d.lastSuccess,
		d.refreshDuration, d.refreshTime, d.queues, d.requests}
}

// collector exposes one snapshot, with the request counts as they are when
// collected.
type collector struct {
	d        descs
	snap     *Snapshot
	requests *requestCounts
}

var _ prometheus.Collector = collector{}

func (c collector) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range c.d.all() {
		ch <- d
	}
}

func (c collector) Collect(ch chan<- prometheus.Metric) {
	d := c.d
	for _, q := range c.snap.Queues {
		if q.URL != "" {
			ch <- prometheus.MustNewConstMetric(d.info, prometheus.GaugeValue, 1, q.Name, q.URL, strconv.FormatBool(q.FIFO()))
		}
		if !q.LastSuccess.IsZero() {
			ch <- prometheus.MustNewConstMetric(d.lastSuccess, prometheus.GaugeValue, unixSeconds(q.LastSuccess), q.Name)
		}
		if q.Err != nil {
			ch <- prometheus.MustNewConstMetric(d.up, prometheus.GaugeValue, 0, q.Name)
			continue
		}
		ch <- prometheus.MustNewConstMetric(d.up, prometheus.GaugeValue, 1, q.Name)
		ch <- prometheus.MustNewConstMetric(d.visible, prometheus.GaugeValue, q.Visible, q.Name)
		ch <- prometheus.MustNewConstMetric(d.inFlight, prometheus.GaugeValue, q.InFlight, q.Name)
		ch <- prometheus.MustNewConstMetric(d.delayed, prometheus.GaugeValue, q.Delayed, q.Name)
	}
	ch <- prometheus.MustNewConstMetric(d.refreshDuration, prometheus.GaugeValue, c.snap.Duration.Seconds())
	ch <- prometheus.MustNewConstMetric(d.refreshTime, prometheus.GaugeValue, unixSeconds(c.snap.Start))
	ch <- prometheus.MustNewConstMetric(d.queues, prometheus.GaugeValue, float64(len(c.snap.Queues)))
	for op, name := range operationNames {
		ch <- prometheus.MustNewConstMetric(d.requests, prometheus.CounterValue, float64(c.requests.success[op].Load()), name, "success")
		ch <- prometheus.MustNewConstMetric(d.requests, prometheus.CounterValue, float64(c.requests.failure[op].Load()), name, "error")
	}
}

func unixSeconds(t time.Time) float64 { return float64(t.UnixNano()) / 1e9 }
