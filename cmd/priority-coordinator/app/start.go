package app

import (
	"context"
	"fmt"

	"github.com/spf13/cobra"
	"k8s.io/apimachinery/pkg/runtime"
	clientgoscheme "k8s.io/client-go/kubernetes/scheme"
	"k8s.io/client-go/rest"
	"k8s.io/klog/v2/textlogger"
	"k8s.io/metrics/pkg/client/external_metrics"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/healthz"
	ctrlmetrics "sigs.k8s.io/controller-runtime/pkg/metrics"
	metricsserver "sigs.k8s.io/controller-runtime/pkg/metrics/server"

	"github.com/queuescale/queuescale/coordinator/api/v1alpha1"
	"github.com/queuescale/queuescale/coordinator/controller"
	"github.com/queuescale/queuescale/coordinator/demand"
	"github.com/queuescale/queuescale/hpacalc"
)

// NewCommand builds the priority-coordinator command.
func NewCommand() *cobra.Command {
	o := NewOptions()
	cmd := &cobra.Command{
		Use:   "priority-coordinator",
		Short: "Let high-priority HPAs take shared capacity from low-priority ones",
		Long: `priority-coordinator reconciles PriorityPolicy objects (queuescale.io/v1alpha1).

A PriorityPolicy lists HorizontalPodAutoscalers in priority order and the pool
of capacity they share (nodes chosen by a label selector, or a fixed budget).
Every --resync-period, and whenever a policy, its HPAs or the pool's nodes and
pods change, the coordinator predicts what each HPA wants from its External
metrics (read through the external metrics API, like the HPA controller) or,
if more, the replicas it still holds until its scale-down stabilization
window has passed, and lowers the maxReplicas of the lower tiers to what the
higher tiers' demand leaves. It writes nothing but spec.maxReplicas of those HPAs; the user's own
maximum is kept in the queuescale.io/user-max-replicas annotation and restored
when the room is back, when a tier is removed and when the policy is deleted.`,
		SilenceUsage: true,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if err := o.Validate(); err != nil {
				return err
			}
			return o.Run(cmd.Context())
		},
	}
	o.AddFlags(cmd.Flags())
	return cmd
}

// Run starts the manager and blocks until ctx ends.
func (o *Options) Run(ctx context.Context) error {
	log := textlogger.NewLogger(textlogger.NewConfig(textlogger.Verbosity(o.Verbosity)))
	ctrl.SetLogger(log)
	ctx = ctrl.LoggerInto(ctx, log)

	cfg, err := o.RESTConfig()
	if err != nil {
		return err
	}
	scheme := runtime.NewScheme()
	if err := clientgoscheme.AddToScheme(scheme); err != nil {
		return err
	}
	if err := v1alpha1.AddToScheme(scheme); err != nil {
		return err
	}
	mgr, err := ctrl.NewManager(cfg, ctrl.Options{
		Scheme:                        scheme,
		Metrics:                       metricsserver.Options{BindAddress: o.MetricsBindAddress},
		HealthProbeBindAddress:        o.HealthProbeBindAddress,
		LeaderElection:                o.LeaderElect,
		LeaderElectionID:              o.LeaderElectionID,
		LeaderElectionNamespace:       o.LeaderElectionNamespace,
		LeaderElectionReleaseOnCancel: true,
	})
	if err != nil {
		return fmt.Errorf("create manager: %w", err)
	}
	metricsCfg := rest.CopyConfig(cfg)
	metricsCfg.Timeout = o.ExternalMetricsTimeout
	em, err := external_metrics.NewForConfig(metricsCfg)
	if err != nil {
		return fmt.Errorf("external metrics client: %w", err)
	}
	m, err := controller.NewMetrics(ctrlmetrics.Registry)
	if err != nil {
		return fmt.Errorf("register metrics: %w", err)
	}
	r := &controller.Reconciler{
		Client:       mgr.GetClient(),
		APIReader:    mgr.GetAPIReader(),
		Demand:       &demand.Estimator{Metrics: &demand.APISource{Client: em}, Tolerance: hpacalc.Tolerance{ScaleUp: o.Tolerance, ScaleDown: o.Tolerance}},
		Recorder:     mgr.GetEventRecorder("priority-coordinator"),
		Metrics:      m,
		DryRun:       o.DryRun,
		ResyncPeriod: o.ResyncPeriod,
	}
	if err := r.SetupWithManager(ctx, mgr); err != nil {
		return err
	}
	if err := mgr.AddHealthzCheck("ping", healthz.Ping); err != nil {
		return err
	}
	if err := mgr.AddReadyzCheck("ping", healthz.Ping); err != nil {
		return err
	}
	log.Info("starting priority-coordinator", "resyncPeriod", o.ResyncPeriod, "dryRun", o.DryRun, "leaderElect", o.LeaderElect)
	if err := mgr.Start(ctx); err != nil {
		log.Error(err, "manager stopped")
		return err
	}
	return nil
}
