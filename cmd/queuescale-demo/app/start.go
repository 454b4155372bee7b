// Package app is the queuescale-demo command: flags, then demo.Run.
package app

import (
	"fmt"
	"os"
	"path/filepath"

	"github.com/spf13/cobra"
	"k8s.io/klog/v2"

	"github.com/queuescale/queuescale/demo"
)

// NewCommand returns the queuescale-demo command.
func NewCommand() *cobra.Command {
	o := NewOptions()
	cmd := &cobra.Command{
		Use:   "queuescale-demo",
		Short: "Run queuescale on a local real control plane and watch it handle a queue burst",
		Long: `queuescale-demo starts a real, local Kubernetes control plane (etcd,
kube-apiserver, kube-controller-manager with the HPA controller,
kube-scheduler, and KWOK playing the kubelet of two fake worker nodes of
2 CPU / 4 GiB), the SQS-compatible emulator, the queuescale exporter,
Prometheus, the metrics adapter behind the aggregator and the priority
coordinator, all on 127.0.0.1. It applies manifests/examples/microbadger
(Inspector and Size workers, their HPAs on sqs_backlog, a PriorityPolicy)
and plays a story: a steady trickle of inspections with the size queue
pre-filled so Size fills the shared pool, a large inspection burst, then
the drain. A view refreshed in place shows the queues, the HPAs, the cap
the coordinator puts on Size and why, and the pods per tier.

Stand-in workers: KWOK pods run no code. So that the queues drain as they
would, this command itself consumes them on the pods' behalf: one
single-threaded worker per Running pod of each Deployment, holding each
message for a job time drawn from the scenario's log-normal (scaled by
--time-scale), deleting it, and putting one size job on the size queue per
finished inspection. A pod that stops running abandons its message, which
SQS makes visible again after its visibility timeout.

At the end, or on Ctrl-C, everything is stopped, a summary is printed and a
timeline plot (queues, replicas, the cap) is written.`,
		Args:         cobra.NoArgs,
		SilenceUsage: true,
		RunE: func(cmd *cobra.Command, _ []string) error {
			cfg, err := o.Config()
			if err != nil {
				return err
			}
			// The view owns the terminal: logs go to a file.
			logPath := filepath.Join(cfg.Dir, "logs", "queuescale-demo.log")
			logFile, err := os.OpenFile(logPath, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
			if err != nil {
				return err
			}
			defer logFile.Close()
			klog.LogToStderr(false)
			klog.SetOutput(logFile)
			defer klog.Flush()

			fmt.Fprintf(cfg.Out, "queuescale demo: writing logs, state and the plot under %s\n", cfg.Dir)
			res, err := demo.Run(cmd.Context(), cfg)
			if err != nil {
				return fmt.Errorf("demo: %w (logs in %s)", err, joinDirs(res))
			}
			return nil
		},
	}
	o.AddFlags(cmd.Flags())
	return cmd
}

func joinDirs(res *demo.Result) string {
	if res == nil || len(res.LogDirs) == 0 {
		return "the run directory"
	}
	s := res.LogDirs[0]
	for _, d := range res.LogDirs[1:] {
		s += ", " + d
	}
	return s
}
