// Package options holds the sqs-exporter command line: flags, their
// validation and the configuration they produce.
package options

import (
	"errors"
	"fmt"
	"net"
	"net/url"
	"regexp"
	"strconv"
	"time"

	"github.com/spf13/pflag"

	"github.com/queuescale/queuescale/exporter"
)

// Options are the sqs-exporter flags.
type Options struct {
	Queues              []string
	QueuePrefixes       []string
	DiscoveryInterval   time.Duration
	MinRefreshInterval  time.Duration
	RefreshTimeout      time.Duration
	ScrapeTimeoutOffset time.Duration
	Concurrency         int
	Region              string
	EndpointURL         string
	ListenAddress       string
	ShutdownTimeout     time.Duration
}

// Config is what Run needs, built from valid Options.
type Config struct {
	Exporter        exporter.Config
	Client          exporter.ClientOptions
	ListenAddress   string
	ShutdownTimeout time.Duration
}

// New returns the options with their defaults.
func New() *Options {
	return &Options{
		DiscoveryInterval:   time.Minute,
		MinRefreshInterval:  10 * time.Second,
		RefreshTimeout:      30 * time.Second,
		ScrapeTimeoutOffset: 500 * time.Millisecond,
		Concurrency:         50,
		ListenAddress:       ":9434",
		ShutdownTimeout:     10 * time.Second,
	}
}

// AddFlags registers the flags on fs.
func (o *Options) AddFlags(fs *pflag.FlagSet) {
	fs.StringArrayVar(&o.Queues, "queue", o.Queues,
		"Queue to export, by name (resolved with GetQueueUrl) or by URL (https://sqs.REGION.amazonaws.com/ACCOUNT/NAME). Repeat the flag for more queues.")
	fs.StringArrayVar(&o.QueuePrefixes, "queue-prefix", o.QueuePrefixes,
		"Export every queue whose name starts with this prefix (found with ListQueues). Repeat the flag for more prefixes. At least one --queue or --queue-prefix is required.")
	fs.DurationVar(&o.DiscoveryInterval, "discovery-interval", o.DiscoveryInterval,
		"Least time between two discoveries of queues by prefix (and retries of queue names not resolved yet); a deleted queue disappears from the output after the next discovery.")
	fs.DurationVar(&o.MinRefreshInterval, "min-refresh-interval", o.MinRefreshInterval,
		"Scrapes within this time of the last refresh reuse its result instead of calling SQS, so SQS calls per queue stay at most 60/interval per minute however many Prometheus servers scrape. Set it a little below the scrape interval.")
	fs.DurationVar(&o.RefreshTimeout, "refresh-timeout", o.RefreshTimeout,
		"Longest a refresh may take; the scrape timeout Prometheus sends (X-Prometheus-Scrape-Timeout-Seconds) can only shorten it. Queues not read in time are reported as down.")
	fs.DurationVar(&o.ScrapeTimeoutOffset, "scrape-timeout-offset", o.ScrapeTimeoutOffset,
		"Time taken off the scrape timeout Prometheus sends, to leave room for writing the response.")
	fs.IntVar(&o.Concurrency, "concurrency", o.Concurrency,
		"Most SQS calls in flight at once during a refresh (10,000 queues at 20 ms per call take about 4 s at 50).")
	fs.StringVar(&o.Region, "region", o.Region,
		"AWS region of the queues, e.g. us-east-1 (default: from AWS_REGION or the shared config file).")
	fs.StringVar(&o.EndpointURL, "endpoint-url", o.EndpointURL,
		"SQS endpoint to call instead of the region's public one, e.g. a VPC endpoint or an emulator (default: the SDK's endpoint resolution, which also honours AWS_ENDPOINT_URL_SQS).")
	fs.StringVar(&o.ListenAddress, "listen-address", o.ListenAddress,
		"Address to serve /metrics and /healthz on.")
	fs.DurationVar(&o.ShutdownTimeout, "shutdown-timeout", o.ShutdownTimeout,
		"On SIGTERM or SIGINT, how long to let scrapes in progress finish.")
}

// regionRE matches AWS region names: us-east-1, eu-central-2, us-gov-west-1,
// cn-northwest-1, us-isob-east-1.
var regionRE = regexp.MustCompile(`^[a-z]{2}(-[a-z]+)+-[0-9]+$`)

// Validate reports every problem with the flags, joined.
func (o *Options) Validate() error {
	_, err := o.Config()
	return err
}

// Config checks the options and builds the configuration; the error joins
// every problem found.
func (o *Options) Config() (*Config, error) {
	var errs []error
	cfg := &Config{
		Exporter: exporter.Config{
			Prefixes:            o.QueuePrefixes,
			DiscoveryInterval:   o.DiscoveryInterval,
			MinRefreshInterval:  o.MinRefreshInterval,
			Concurrency:         o.Concurrency,
			RefreshTimeout:      o.RefreshTimeout,
			ScrapeTimeoutOffset: o.ScrapeTimeoutOffset,
		},
		Client: exporter.ClientOptions{
			Region:          o.Region,
			EndpointURL:     o.EndpointURL,
			MaxConnsPerHost: o.Concurrency,
		},
		ListenAddress:   o.ListenAddress,
		ShutdownTimeout: o.ShutdownTimeout,
	}
	seen := make(map[string]string)
	for _, s := range o.Queues {
		q, err := exporter.ParseQueue(s)
		if err != nil {
			errs = append(errs, fmt.Errorf("--queue: %w", err))
			continue
		}
		if prev, ok := seen[q.Name]; ok {
			errs = append(errs, fmt.Errorf("--queue: %q and %q name the same queue %q", prev, s, q.Name))
			continue
		}
		seen[q.Name] = s
		cfg.Exporter.Queues = append(cfg.Exporter.Queues, q)
	}
	if err := cfg.Exporter.Validate(); err != nil {
		// Queues that did not parse are not in the config: do not also
		// report that there are none.
		if len(o.Queues) > 0 && len(cfg.Exporter.Queues) == 0 && len(o.QueuePrefixes) == 0 {
			err = withoutNoQueues(err)
		}
		if err != nil {
			errs = append(errs, err)
		}
	}
	if o.Region != "" && !regionRE.MatchString(o.Region) {
		errs = append(errs, fmt.Errorf("--region %q is not an AWS region name like us-east-1", o.Region))
	}
	if o.EndpointURL != "" {
		if u, err := url.Parse(o.EndpointURL); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			errs = append(errs, fmt.Errorf("--endpoint-url %q is not an absolute http or https URL", o.EndpointURL))
		}
	}
	if _, port, err := net.SplitHostPort(o.ListenAddress); err != nil {
		errs = append(errs, fmt.Errorf("--listen-address %q is not host:port: %w", o.ListenAddress, err))
	} else if n, err := strconv.Atoi(port); err != nil || n < 0 || n > 65535 {
		errs = append(errs, fmt.Errorf("--listen-address %q: port %q is not a number from 0 to 65535", o.ListenAddress, port))
	}
	if o.ShutdownTimeout <= 0 {
		errs = append(errs, fmt.Errorf("--shutdown-timeout must be positive, got %s", o.ShutdownTimeout))
	}
	if err := errors.Join(errs...); err != nil {
		return nil, fmt.Errorf("invalid flags:\n%w", err)
	}
	return cfg, nil
}

// withoutNoQueues drops the "no queues" problem from a joined error.
func withoutNoQueues(err error) error {
	joined, ok := err.(interface{ Unwrap() []error })
	if !ok {
		return err
	}
	var keep []error
	for _, e := range joined.Unwrap() {
		if !errors.Is(e, exporter.ErrNoQueues) {
			keep = append(keep, e)
		}
	}
	return errors.Join(keep...)
}
