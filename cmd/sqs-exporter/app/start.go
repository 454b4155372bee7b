// Package app is the sqs-exporter command: flags, then Run.
package app

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"net"
	"net/http"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/spf13/cobra"
	"k8s.io/klog/v2"
	"k8s.io/utils/clock"

	"github.com/queuescale/queuescale/cmd/sqs-exporter/app/options"
	"github.com/queuescale/queuescale/exporter"
)

// NewCommand returns the sqs-exporter command.
func NewCommand() *cobra.Command {
	o := options.New()
	cmd := &cobra.Command{
		Use:   "sqs-exporter",
		Short: "Expose Amazon SQS queue depths as Prometheus metrics",
		Long: `sqs-exporter serves the depth of Amazon SQS queues (messages visible, in
flight and delayed) as Prometheus metrics on /metrics, and /healthz.

Each refresh makes one GetQueueAttributes call per queue. Scrapes within
--min-refresh-interval of the last refresh reuse its result, and concurrent
scrapes share one refresh, so SQS calls do not grow with the number of
Prometheus servers. A queue that cannot be read is reported with
sqs_queue_up 0 and no depth series.

AWS credentials come from the SDK's default chain: environment variables,
the shared config and credentials files, web identity (IRSA), EKS Pod
Identity, or instance metadata. IAM permissions needed: sqs:GetQueueAttributes,
sqs:GetQueueUrl (queues given by name) and sqs:ListQueues (--queue-prefix).`,
		Args:         cobra.NoArgs,
		SilenceUsage: true,
		RunE: func(cmd *cobra.Command, _ []string) error {
			cfg, err := o.Config()
			if err != nil {
				return err
			}
			return Run(cmd.Context(), cfg)
		},
	}
	o.AddFlags(cmd.Flags())
	// Of klog's flags only the verbosity ones matter: logs go to stderr.
	logFlags := flag.NewFlagSet("klog", flag.ContinueOnError)
	klog.InitFlags(logFlags)
	for _, name := range []string{"v", "vmodule"} {
		cmd.Flags().AddGoFlag(logFlags.Lookup(name))
	}
	return cmd
}

// Run serves the exporter until ctx ends, then shuts the server down
// gracefully.
func Run(ctx context.Context, cfg *options.Config) error {
	defer klog.Flush()
	client, err := exporter.NewClient(ctx, cfg.Client)
	if err != nil {
		return err
	}
	exp, err := exporter.New(client, cfg.Exporter, clock.RealClock{})
	if err != nil {
		return err
	}
	runtime := prometheus.NewRegistry()
	runtime.MustRegister(
		collectors.NewGoCollector(),
		collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}),
	)
	mux := http.NewServeMux()
	mux.Handle("/metrics", exp.Handler(runtime))
	mux.HandleFunc("/healthz", func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		_, _ = w.Write([]byte("ok\n"))
	})

	ln, err := net.Listen("tcp", cfg.ListenAddress)
	if err != nil {
		return fmt.Errorf("listen on %s: %w", cfg.ListenAddress, err)
	}
	srv := &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second}
	served := make(chan error, 1)
	go func() { served <- srv.Serve(ln) }()
	klog.InfoS("Serving metrics", "address", ln.Addr().String(),
		"queues", len(cfg.Exporter.Queues), "prefixes", cfg.Exporter.Prefixes,
		"minRefreshInterval", cfg.Exporter.MinRefreshInterval, "concurrency", cfg.Exporter.Concurrency)

	select {
	case err := <-served:
		return fmt.Errorf("serve on %s: %w", cfg.ListenAddress, err)
	case <-ctx.Done():
	}
	klog.InfoS("Shutting down", "grace", cfg.ShutdownTimeout)
	shutdownCtx, cancel := context.WithTimeout(context.WithoutCancel(ctx), cfg.ShutdownTimeout)
	defer cancel()
	if err := srv.Shutdown(shutdownCtx); err != nil {
		return fmt.Errorf("shut down the server: %w", err)
	}
	if err := <-served; !errors.Is(err, http.ErrServerClosed) {
		return err
	}
	klog.InfoS("Stopped")
	return nil
}
