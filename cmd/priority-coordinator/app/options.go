// Package app is the priority-coordinator command: options, validation and
// the wiring of the controller into a controller-runtime manager.
package app

import (
	"errors"
	"fmt"
	"net"
	"os"
	"time"

	"github.com/spf13/pflag"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/clientcmd"

	"github.com/queuescale/queuescale/hpacalc"
)

// inClusterNamespaceFile is where a pod finds its namespace.
const inClusterNamespaceFile = "/var/run/secrets/kubernetes.io/serviceaccount/namespace"

// Options are the command's flags.
type Options struct {
	Kubeconfig              string
	ResyncPeriod            time.Duration
	DryRun                  bool
	LeaderElect             bool
	LeaderElectionNamespace string
	LeaderElectionID        string
	MetricsBindAddress      string
	HealthProbeBindAddress  string
	ExternalMetricsTimeout  time.Duration
	Tolerance               float64
	Verbosity               int

	// namespaceFile is where a pod finds its namespace (a field so tests
	// need not depend on the machine they run on).
	namespaceFile string
}

// NewOptions returns the defaults.
func NewOptions() *Options {
	return &Options{
		ResyncPeriod:           5 * time.Second,
		LeaderElectionID:       "priority-coordinator.queuescale.io",
		MetricsBindAddress:     ":8080",
		HealthProbeBindAddress: ":8081",
		ExternalMetricsTimeout: 10 * time.Second,
		Tolerance:              hpacalc.DefaultTolerance,
		namespaceFile:          inClusterNamespaceFile,
	}
}

// AddFlags registers the options on fs.
func (o *Options) AddFlags(fs *pflag.FlagSet) {
	fs.StringVar(&o.Kubeconfig, "kubeconfig", o.Kubeconfig, "Path to a kubeconfig file. Empty: $KUBECONFIG, ~/.kube/config, then the in-cluster service account.")
	fs.DurationVar(&o.ResyncPeriod, "resync-period", o.ResyncPeriod, "Re-plan every policy this often, since queue metrics change without Kubernetes events. Keep it at or below the HPA controller's sync period (15s by default).")
	fs.BoolVar(&o.DryRun, "dry-run", o.DryRun, "Compute plans and report them (status, metrics, events on the policies) but write no HPA at all, not even to restore a maximum. A single policy can do the same with spec.dryRun.")
	fs.BoolVar(&o.LeaderElect, "leader-elect", o.LeaderElect, "Take a Lease before acting, so two or more replicas can run with one active. Turn it on whenever more than one replica runs.")
	fs.StringVar(&o.LeaderElectionNamespace, "leader-election-namespace", o.LeaderElectionNamespace, "Namespace of the leader-election Lease. Empty: the pod's own namespace (required outside a cluster).")
	fs.StringVar(&o.LeaderElectionID, "leader-election-id", o.LeaderElectionID, "Name of the leader-election Lease.")
	fs.StringVar(&o.MetricsBindAddress, "metrics-bind-address", o.MetricsBindAddress, "Address serving Prometheus metrics on /metrics, e.g. :8080 or 127.0.0.1:8080; 0 turns it off.")
	fs.StringVar(&o.HealthProbeBindAddress, "health-probe-bind-address", o.HealthProbeBindAddress, "Address serving /healthz and /readyz; 0 turns it off.")
	fs.DurationVar(&o.ExternalMetricsTimeout, "external-metrics-timeout", o.ExternalMetricsTimeout, "Timeout of one read from the external metrics API; a failed read falls back to the HPA's status.desiredReplicas.")
	fs.Float64Var(&o.Tolerance, "hpa-tolerance", o.Tolerance, "The HPA controller's --horizontal-pod-autoscaler-tolerance, used to predict what an HPA wants (an HPA's own spec.behavior tolerance wins).")
	fs.IntVarP(&o.Verbosity, "v", "v", o.Verbosity, "Log verbosity: 0 logs writes and problems, 1 adds every plan.")
}

// Validate reports every bad option, joined.
func (o *Options) Validate() error {
	var errs []error
	if o.ResyncPeriod <= 0 {
		errs = append(errs, fmt.Errorf("--resync-period %s: must be positive", o.ResyncPeriod))
	}
	if o.ExternalMetricsTimeout <= 0 {
		errs = append(errs, fmt.Errorf("--external-metrics-timeout %s: must be positive", o.ExternalMetricsTimeout))
	}
	if o.Tolerance < 0 || o.Tolerance >= 1 {
		errs = append(errs, fmt.Errorf("--hpa-tolerance %g: must be in [0, 1)", o.Tolerance))
	}
	for _, a := range []struct{ flag, value string }{{"--metrics-bind-address", o.MetricsBindAddress}, {"--health-probe-bind-address", o.HealthProbeBindAddress}} {
		if a.value == "0" {
			continue
		}
		if _, _, err := net.SplitHostPort(a.value); err != nil {
			errs = append(errs, fmt.Errorf("%s %q: want host:port or 0: %w", a.flag, a.value, err))
		}
	}
	if o.LeaderElect && o.LeaderElectionID == "" {
		errs = append(errs, errors.New("--leader-election-id: must not be empty with --leader-elect"))
	}
	if o.LeaderElect && o.LeaderElectionNamespace == "" {
		if _, err := os.Stat(o.namespaceFile); err != nil {
			errs = append(errs, errors.New("--leader-election-namespace: required with --leader-elect outside a cluster"))
		}
	}
	if o.Verbosity < 0 {
		errs = append(errs, fmt.Errorf("-v %d: must not be negative", o.Verbosity))
	}
	return errors.Join(errs...)
}

// RESTConfig loads the connection to the API server.
func (o *Options) RESTConfig() (*rest.Config, error) {
	rules := clientcmd.NewDefaultClientConfigLoadingRules()
	rules.ExplicitPath = o.Kubeconfig
	cfg, err := clientcmd.NewNonInteractiveDeferredLoadingClientConfig(rules, &clientcmd.ConfigOverrides{}).ClientConfig()
	if err != nil {
		return nil, fmt.Errorf("load kubeconfig %q: %w", o.Kubeconfig, err)
	}
	cfg.UserAgent = "priority-coordinator"
	return cfg, nil
}
