// Package app is the queuescale-sim command: flags, then Run.
package app

import (
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"time"

	"github.com/spf13/cobra"

	"github.com/queuescale/queuescale/cmd/queuescale-sim/app/options"
	"github.com/queuescale/queuescale/sim"
	"github.com/queuescale/queuescale/sim/plot"
)

// NewCommand returns the queuescale-sim command.
func NewCommand() *cobra.Command {
	o := options.New()
	cmd := &cobra.Command{
		Use:   "queuescale-sim",
		Short: "Compare scaling policies for two tiers of queue workers on shared nodes",
		Long: `queuescale-sim plays a day of queue traffic through single-threaded
workers on a shared pool of nodes and prints, for each scaling policy, the
top tier's wait, the lower tier's lag, pod-hours, ReceiveMessage calls under
short and long polling, Pending pod-seconds and scaling actions.

Policies:
  static            each tier runs its static replicas all day
  hpa               one HPA per tier (External metric visible + in flight,
                    AverageValue target), no pod priorities
  hpa-priority      the same HPAs, with the tiers' pod priorities, so the
                    scheduler preempts the lower tier
  coordinator       the HPAs with priorities plus the priority coordinator,
                    whose planner caps the lower tier's maxReplicas; a tier's
                    demand is the larger of what its HPA's metric asks for
                    and the replicas it has (held during scale-down
                    stabilization), as the coordinator ships
  coordinator-metric-only
                    the coordinator's first version: demand from the
                    metric's ask alone
  priority-scaler   the priority scaler queuescale comes from: one container
                    budget, strict priority, one step per period, a dead band

The workload is the reference day (a smooth daily curve plus six bursts,
seeded) or a trace file (--trace). The HPA arithmetic is the controller's
(tolerance, scale-up policies, scale-down stabilization); the coordinator's
is its own planner. Parameters come from flags or a YAML file (--config);
flags given on the command line win. See docs/simulation.md.`,
		Args:         cobra.NoArgs,
		SilenceUsage: true,
		RunE: func(cmd *cobra.Command, _ []string) error {
			cfg, err := o.Config()
			if err != nil {
				return err
			}
			return Run(cmd.Context(), cfg, cmd.OutOrStdout())
		},
	}
	o.AddFlags(cmd.Flags())
	return cmd
}

// Run simulates every policy and writes the table, the CSV and the plots.
func Run(ctx context.Context, cfg *options.Config, out io.Writer) error {
	var arrivals []sim.Arrival
	source := fmt.Sprintf("built-in day, seed %d", cfg.Sim.Seed)
	if cfg.Trace != "" {
		var err error
		arrivals, err = sim.ReadTraceFile(cfg.Trace, cfg.Sim.Tiers, cfg.Sim.DurationSeconds)
		if err != nil {
			return err
		}
		source = "trace " + filepath.Base(cfg.Trace)
	} else {
		arrivals = cfg.Day.Generate(cfg.Sim.Seed, cfg.Sim.DurationSeconds)
	}
	if cfg.TraceOut != "" {
		if err := writeFile(cfg.TraceOut, func(w io.Writer) error { return sim.WriteTrace(w, arrivals, cfg.Sim.Tiers) }); err != nil {
			return fmt.Errorf("--write-trace: %w", err)
		}
	}
	var results []*sim.Result
	start := time.Now()
	for _, p := range cfg.Policies {
		if err := ctx.Err(); err != nil {
			return err
		}
		r, err := sim.Run(cfg.Sim, p, arrivals)
		if err != nil {
			return fmt.Errorf("policy %s: %w", p, err)
		}
		results = append(results, r)
		if cfg.PlotDir != "" {
			path := filepath.Join(cfg.PlotDir, fmt.Sprintf("sim-%s.%s", p, cfg.PlotFormat))
			if err := plot.WriteFile(path, r, cfg.Sim); err != nil {
				return err
			}
		}
	}
	elapsed := time.Since(start)
	fmt.Fprintf(out, "%d arrivals (%s) over %.0f s; %d policies simulated in %s\n\n",
		len(arrivals), source, cfg.Sim.DurationSeconds, len(results), elapsed.Round(time.Millisecond))
	if err := sim.WriteTable(out, results); err != nil {
		return err
	}
	fmt.Fprintf(out, "\nwait: %s jobs, arrival to start of the attempt that completed; started_within_objective: share started within %g s;\n"+
		"size_lag: lower-tier jobs, enqueue to completion; calls: ReceiveMessage under short polling (%g s) and long polling (%g s wait).\n",
		cfg.Sim.Tiers[0].Name, cfg.Sim.InspectorObjectiveWaitSeconds, cfg.Sim.ShortPollIntervalSeconds, cfg.Sim.LongPollWaitSeconds)
	if cfg.CSVFile != "" {
		if err := writeFile(cfg.CSVFile, func(w io.Writer) error { return sim.WriteCSV(w, results) }); err != nil {
			return fmt.Errorf("--csv: %w", err)
		}
	}
	return nil
}

func writeFile(path string, write func(io.Writer) error) error {
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	if err := write(f); err != nil {
		f.Close()
		return fmt.Errorf("write %s: %w", path, err)
	}
	return f.Close()
}
