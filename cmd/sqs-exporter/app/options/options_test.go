package options

import (
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/spf13/pflag"

	"github.com/queuescale/queuescale/exporter"
)

// parse runs the flags through AddFlags, as the command does.
func parse(t *testing.T, args ...string) *Options {
	t.Helper()
	o := New()
	fs := pflag.NewFlagSet("test", pflag.ContinueOnError)
	o.AddFlags(fs)
	if err := fs.Parse(args); err != nil {
		t.Fatalf("parse %q: %v", args, err)
	}
	return o
}

func TestValidateRejectsBadInput(t *testing.T) {
	tests := []struct {
		name string
		args []string
		// want are substrings the joined error must all contain.
		want []string
	}{
		{"no queues and no prefix", nil, []string{"no queues: give at least one --queue or --queue-prefix"}},
		{"invalid queue URL", []string{"--queue", "https://sqs.us-east-1.amazonaws.com/orders"}, []string{`queue URL "https://sqs.us-east-1.amazonaws.com/orders" is invalid`}},
		{"URL with a bad scheme", []string{"--queue", "ftp://sqs.us-east-1.amazonaws.com/1/orders"}, []string{"scheme must be https or http"}},
		{"invalid queue name", []string{"--queue", "my queue"}, []string{`queue name "my queue" is invalid`}},
		{"same queue twice", []string{"--queue", "a", "--queue", "https://sqs.us-east-1.amazonaws.com/1/a"}, []string{`name the same queue "a"`}},
		{"invalid prefix", []string{"--queue-prefix", "a b"}, []string{`queue prefix "a b" is invalid`}},
		{"unknown region format", []string{"--queue", "a", "--region", "Virginia"}, []string{`--region "Virginia" is not an AWS region name`}},
		{"region without number", []string{"--queue", "a", "--region", "us-east"}, []string{`--region "us-east"`}},
		{"endpoint not a URL", []string{"--queue", "a", "--endpoint-url", "localhost:4566"}, []string{`--endpoint-url "localhost:4566" is not an absolute http or https URL`}},
		{"zero discovery interval", []string{"--queue", "a", "--discovery-interval", "0s"}, []string{"--discovery-interval must be positive, got 0s"}},
		{"negative min refresh interval", []string{"--queue", "a", "--min-refresh-interval", "-5s"}, []string{"--min-refresh-interval must be positive, got -5s"}},
		{"zero refresh timeout", []string{"--queue", "a", "--refresh-timeout", "0"}, []string{"--refresh-timeout must be positive"}},
		{"zero shutdown timeout", []string{"--queue", "a", "--shutdown-timeout", "0"}, []string{"--shutdown-timeout must be positive"}},
		{"negative offset", []string{"--queue", "a", "--scrape-timeout-offset", "-1s"}, []string{"--scrape-timeout-offset must not be negative"}},
		{"concurrency below one", []string{"--queue", "a", "--concurrency", "0"}, []string{"--concurrency must be at least 1, got 0"}},
		{"listen address without port", []string{"--queue", "a", "--listen-address", "localhost"}, []string{`--listen-address "localhost" is not host:port`}},
		{"listen port out of range", []string{"--queue", "a", "--listen-address", ":70000"}, []string{`port "70000" is not a number`}},
		{
			name: "every problem reported at once",
			args: []string{"--queue", "bad name", "--region", "EU", "--concurrency", "-1", "--discovery-interval", "0s", "--min-refresh-interval", "0s", "--endpoint-url", "::"},
			want: []string{`queue name "bad name"`, "--region", "--concurrency", "--discovery-interval", "--min-refresh-interval", "--endpoint-url"},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			err := parse(t, tc.args...).Validate()
			if err == nil {
				t.Fatalf("Validate(%q) accepted bad input", tc.args)
			}
			for _, w := range tc.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error lacks %q:\n%v", w, err)
				}
			}
		})
	}
}

func TestInvalidQueuesAreNotAlsoReportedAsMissing(t *testing.T) {
	err := parse(t, "--queue", "bad name").Validate()
	if err == nil || strings.Contains(err.Error(), "no queues") {
		t.Errorf("Validate = %v; want the invalid name only", err)
	}
}

func TestConfig(t *testing.T) {
	o := parse(t,
		"--queue", "orders",
		"--queue", "https://sqs.eu-west-1.amazonaws.com/123456789012/jobs.fifo",
		"--queue-prefix", "img-", "--queue-prefix", "size-",
		"--region", "eu-west-1", "--endpoint-url", "http://127.0.0.1:4566",
		"--concurrency", "20", "--min-refresh-interval", "20s",
		"--listen-address", "127.0.0.1:0")
	cfg, err := o.Config()
	if err != nil {
		t.Fatal(err)
	}
	want := &Config{
		Exporter: exporter.Config{
			Queues: []exporter.Queue{
				{Name: "orders"},
				{Name: "jobs.fifo", URL: "https://sqs.eu-west-1.amazonaws.com/123456789012/jobs.fifo"},
			},
			Prefixes:            []string{"img-", "size-"},
			DiscoveryInterval:   time.Minute,
			MinRefreshInterval:  20 * time.Second,
			Concurrency:         20,
			RefreshTimeout:      30 * time.Second,
			ScrapeTimeoutOffset: 500 * time.Millisecond,
		},
		Client:          exporter.ClientOptions{Region: "eu-west-1", EndpointURL: "http://127.0.0.1:4566", MaxConnsPerHost: 20},
		ListenAddress:   "127.0.0.1:0",
		ShutdownTimeout: 10 * time.Second,
	}
	if diff := cmp.Diff(want, cfg); diff != "" {
		t.Errorf("Config (-want +got):\n%s", diff)
	}
}

func TestDefaults(t *testing.T) {
	o := parse(t, "--queue-prefix", "x")
	if o.ListenAddress != ":9434" || o.Concurrency != 50 || o.MinRefreshInterval != 10*time.Second || o.DiscoveryInterval != time.Minute {
		t.Errorf("defaults changed: %+v", o)
	}
	for _, region := range []string{"us-east-1", "eu-central-2", "us-gov-west-1", "cn-northwest-1", "ap-southeast-4", "us-isob-east-1"} {
		if err := parse(t, "--queue", "a", "--region", region).Validate(); err != nil {
			t.Errorf("region %s rejected: %v", region, err)
		}
	}
}
