package app

import (
	"context"
	"fmt"
	"os"

	"github.com/prometheus/client_golang/api"
	promv1 "github.com/prometheus/client_golang/api/prometheus/v1"
	"github.com/spf13/cobra"
	genericapiserver "k8s.io/apiserver/pkg/server"
	"k8s.io/component-base/metrics/legacyregistry"
	"k8s.io/klog/v2"
	cmmetrics "sigs.k8s.io/custom-metrics-apiserver/pkg/apiserver/metrics"

	"github.com/queuescale/queuescale/adapter/provider"
	"github.com/queuescale/queuescale/adapter/rules"
)

// NewCommand returns the metrics-adapter command.
func NewCommand() *cobra.Command {
	o := NewOptions()
	cmd := &cobra.Command{
		Use:   "metrics-adapter",
		Short: "Serve external.metrics.k8s.io/v1beta1 from Prometheus for HorizontalPodAutoscalers",
		Long: `metrics-adapter answers the Kubernetes external metrics API from Prometheus.

A rules file names each external metric and the Prometheus series or query
behind it, the labels an HPA selector may use and the namespaces that may read
it. Missing or stale data is an error (the HPA then holds its replicas),
never 0. It runs behind the kube-apiserver aggregator (an APIService for
v1beta1.external.metrics.k8s.io) with TLS and delegated authentication and
authorization.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if err := o.Validate(); err != nil {
				return err
			}
			return o.Run(genericapiserver.SetupSignalContext())
		},
	}
	o.AddFlags(cmd.Flags())
	return cmd
}

// Run serves until ctx ends.
func (o *Options) Run(ctx context.Context) error {
	set, data, err := o.loadRules()
	if err != nil {
		return err
	}
	store := rules.NewStore(set)

	m := provider.NewMetrics()
	if err := m.Register(legacyregistry.Register); err != nil {
		return fmt.Errorf("register adapter metrics: %w", err)
	}
	if err := cmmetrics.RegisterMetrics(legacyregistry.Register); err != nil {
		return fmt.Errorf("register apiserver library metrics: %w", err)
	}

	client, err := api.NewClient(api.Config{Address: o.PrometheusURL})
	if err != nil {
		return fmt.Errorf("prometheus client for %s: %w", o.PrometheusURL, err)
	}
	p := provider.New(store, promv1.NewAPI(client), provider.Options{
		MaxSampleAge: o.MaxSampleAge,
		CacheTTL:     o.CacheTTL,
		QueryTimeout: o.QueryTimeout,
	}, m)
	o.Base.WithExternalMetrics(p)

	if o.RulesFile != "" {
		w := rules.NewWatcher(o.RulesFile, data, store, m)
		go func() {
			if err := w.Run(ctx); err != nil {
				klog.ErrorS(err, "Rules file will not be reloaded on change", "path", o.RulesFile)
			}
		}()
	}
	klog.InfoS("Starting metrics adapter", "prometheus", o.PrometheusURL, "rules", set.Source,
		"metrics", set.Names(), "maxSampleAge", o.MaxSampleAge, "cacheTTL", o.CacheTTL, "queryTimeout", o.QueryTimeout)
	return o.Base.Run(ctx)
}

func (o *Options) loadRules() (*rules.Set, []byte, error) {
	if o.RulesFile == "" {
		set, err := rules.Parse("built-in default rules", rules.DefaultYAML)
		return set, rules.DefaultYAML, err
	}
	data, err := os.ReadFile(o.RulesFile)
	if err != nil {
		return nil, nil, fmt.Errorf("read rules file: %w", err)
	}
	set, err := rules.Parse(o.RulesFile, data)
	return set, data, err
}
