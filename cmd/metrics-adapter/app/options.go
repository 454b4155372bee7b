// Package app holds the metrics-adapter command: its options, their
// validation and the wiring of rules, Prometheus client and API server.
package app

import (
	"errors"
	"fmt"
	"net/url"
	"time"

	"github.com/spf13/pflag"
	basecmd "sigs.k8s.io/custom-metrics-apiserver/pkg/cmd"

	"github.com/queuescale/queuescale/adapter/rules"
)

// Options are the command line of the adapter: the apiserver library's
// serving, authentication and authorization options plus our own.
type Options struct {
	Base basecmd.AdapterBase

	PrometheusURL string
	RulesFile     string
	MaxSampleAge  time.Duration
	CacheTTL      time.Duration
	QueryTimeout  time.Duration
}

// NewOptions returns options with their defaults.
func NewOptions() *Options {
	o := &Options{
		MaxSampleAge: 2 * time.Minute,
		// Two seconds: HPAs sync every 15 s and Prometheus scrapes every
		// 15-30 s, so a value younger than 2 s is as fresh as a new query
		// could give, while a burst of HPAs (and the coordinator) reading
		// the same metric in one sync costs Prometheus one query.
		CacheTTL:     2 * time.Second,
		QueryTimeout: 5 * time.Second,
	}
	o.Base.Name = "queuescale-metrics-adapter"
	return o
}

// AddFlags adds every flag, the library's and ours, to fs.
func (o *Options) AddFlags(fs *pflag.FlagSet) {
	o.Base.FlagSet = fs
	o.Base.InstallFlags()
	// Serve on 6443 by default, and keep a generated self-signed
	// certificate in memory (nothing written to a read-only root file
	// system) when no --tls-cert-file is given.
	o.Base.SecureServing.BindPort = 6443
	o.Base.SecureServing.ServerCert.CertDirectory = ""
	if f := fs.Lookup("secure-port"); f != nil {
		f.DefValue = "6443"
		_ = f.Value.Set("6443")
	}
	if f := fs.Lookup("cert-dir"); f != nil {
		f.DefValue = ""
		f.Usage = "Directory to write a generated self-signed serving certificate to when --tls-cert-file is not given; empty keeps it in memory. A generated certificate is for local use only: give a real one (signed by the CA in the APIService's caBundle) in a cluster."
	}

	fs.StringVar(&o.PrometheusURL, "prometheus-url", o.PrometheusURL,
		"Base URL of the Prometheus HTTP API to query, e.g. http://prometheus.monitoring.svc:9090. Required.")
	fs.StringVar(&o.RulesFile, "rules-file", o.RulesFile,
		"YAML rules file mapping external metric names to Prometheus series or queries (see docs/adapter.md). "+
			"Reloaded when it changes; an invalid new file keeps the last good rules. Empty uses the built-in rules for the queuescale SQS exporter.")
	fs.DurationVar(&o.MaxSampleAge, "max-sample-age", o.MaxSampleAge,
		"A value computed from a sample older than this is an error, not an answer, so an HPA holds its size instead of acting on old data.")
	fs.DurationVar(&o.CacheTTL, "cache-ttl", o.CacheTTL,
		"How long a successful answer is reused for identical requests (identical concurrent requests always share one query). 0 disables reuse. Errors are never reused.")
	fs.DurationVar(&o.QueryTimeout, "query-timeout", o.QueryTimeout,
		"Upper bound of each Prometheus query; when it passes the request fails and the HPA keeps its replicas.")
}

// Validate returns every problem with the options, joined.
func (o *Options) Validate() error {
	var errs []error
	errs = append(errs, o.Base.CustomMetricsAdapterServerOptions.Validate()...)
	if o.PrometheusURL == "" {
		errs = append(errs, errors.New("--prometheus-url is required"))
	} else if u, err := url.Parse(o.PrometheusURL); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		errs = append(errs, fmt.Errorf("--prometheus-url %q: want an http:// or https:// URL with a host", o.PrometheusURL))
	}
	if o.MaxSampleAge <= 0 {
		errs = append(errs, fmt.Errorf("--max-sample-age %s: must be positive", o.MaxSampleAge))
	}
	if o.CacheTTL < 0 {
		errs = append(errs, fmt.Errorf("--cache-ttl %s: must not be negative", o.CacheTTL))
	}
	if o.CacheTTL >= o.MaxSampleAge && o.MaxSampleAge > 0 {
		errs = append(errs, fmt.Errorf("--cache-ttl %s: must be shorter than --max-sample-age %s", o.CacheTTL, o.MaxSampleAge))
	}
	if o.QueryTimeout <= 0 {
		errs = append(errs, fmt.Errorf("--query-timeout %s: must be positive", o.QueryTimeout))
	}
	if o.RulesFile != "" {
		if _, err := rules.LoadFile(o.RulesFile); err != nil {
			errs = append(errs, fmt.Errorf("--rules-file: %w", err))
		}
	}
	return errors.Join(errs...)
}
