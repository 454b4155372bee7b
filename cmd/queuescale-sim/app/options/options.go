// Package options holds the queuescale-sim flags, the YAML config file and
// their validation.
package options

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/spf13/pflag"
	"k8s.io/apimachinery/pkg/api/resource"
	"sigs.k8s.io/yaml"

	"github.com/queuescale/queuescale/sim"
)

// File is the YAML config file: the simulation's parameters, the built-in
// day's shape, an optional trace and the policies to run. Every field is
// optional; missing ones keep the reference scenario's values.
type File struct {
	sim.Config `json:",inline"`
	Day        sim.Day  `json:"day"`
	Trace      string   `json:"trace"`
	Policies   []string `json:"policies"`
}

// Options are the command-line flags.
type Options struct {
	ConfigFile string
	CSVFile    string
	PlotDir    string
	PlotFormat string
	TraceOut   string

	// Everything below may also come from the config file; a flag given on
	// the command line wins.
	Policies []string
	Trace    string
	Seed     uint64
	Duration float64

	Nodes      int
	NodeCPU    string
	NodeMemory string

	StartDelay       float64
	TerminationGrace float64

	Tiers [2]TierFlags

	HPASync                float64
	HPATolerance           float64
	DownscaleStabilization int32
	CoordinatorPeriod      float64
	ScalerBudget           int32
	ScalerPeriod           float64
	ScalerDeadBand         float64
	SamplePeriod           float64
	MetricScrape           float64
	ShortPoll, LongPoll    float64
	ObjectiveWait          float64

	MinRate, MaxRate float64
	Bursts           int

	fs *pflag.FlagSet
}

// TierFlags are the flags of one tier.
type TierFlags struct {
	prefix, field string
	CPU, Memory   string
	JobMedian     float64
	JobP95        float64
	Target        float64
	Min, Max      int32
	Static        int32
	Priority      int32
}

// New returns options holding the reference scenario.
func New() *Options {
	c := sim.DefaultConfig()
	d := sim.DefaultDay()
	o := &Options{
		PlotFormat: "png",
		Seed:       c.Seed, Duration: c.DurationSeconds,
		Nodes: c.Nodes, NodeCPU: milli(c.NodeMilliCPU), NodeMemory: bytes(c.NodeMemoryBytes),
		StartDelay: c.StartDelaySeconds, TerminationGrace: c.TerminationGraceSeconds,
		HPASync: c.HPASyncSeconds, HPATolerance: c.HPATolerance, DownscaleStabilization: c.DownscaleStabilizationSeconds,
		CoordinatorPeriod: c.CoordinatorPeriodSeconds,
		ScalerBudget:      c.PriorityScalerBudget, ScalerPeriod: c.PriorityScalerPeriodSeconds, ScalerDeadBand: c.PriorityScalerDeadBand,
		SamplePeriod: c.SamplePeriodSeconds, MetricScrape: c.MetricScrapeSeconds,
		ShortPoll: c.ShortPollIntervalSeconds, LongPoll: c.LongPollWaitSeconds, ObjectiveWait: c.InspectorObjectiveWaitSeconds,
		MinRate: d.MinRate, MaxRate: d.MaxRate, Bursts: d.Bursts,
	}
	for _, p := range sim.AllPolicies {
		o.Policies = append(o.Policies, string(p))
	}
	for i, t := range c.Tiers[:2] {
		o.Tiers[i] = TierFlags{
			prefix: t.Name, field: fmt.Sprintf("tiers[%d]", i),
			CPU: milli(t.MilliCPU), Memory: bytes(t.MemoryBytes),
			JobMedian: t.JobMedianSeconds, JobP95: t.JobP95Seconds, Target: t.TargetPerPod,
			Min: t.MinReplicas, Max: t.MaxReplicas, Static: t.StaticReplicas, Priority: t.Priority,
		}
	}
	return o
}

func milli(m int64) string { return resource.NewMilliQuantity(m, resource.DecimalSI).String() }
func bytes(b int64) string { return resource.NewQuantity(b, resource.BinarySI).String() }

// AddFlags registers the flags on fs.
func (o *Options) AddFlags(fs *pflag.FlagSet) {
	o.fs = fs
	fs.StringVar(&o.ConfigFile, "config", o.ConfigFile, "YAML file with the simulation's parameters (the fields are those of docs/simulation.md); flags given on the command line override it.")
	fs.StringVar(&o.CSVFile, "csv", o.CSVFile, "Also write the results table as CSV to this file.")
	fs.StringVar(&o.PlotDir, "plot-dir", o.PlotDir, "Write one plot per policy (queue depths, pods per tier, the lower tier's maxReplicas) into this directory, named sim-<policy>.<format>.")
	fs.StringVar(&o.PlotFormat, "plot-format", o.PlotFormat, "Plot format: png or svg.")
	fs.StringVar(&o.TraceOut, "write-trace", o.TraceOut, "Write the arrivals that were simulated to this file in the trace format (time_seconds,queue), for replay with --trace.")

	fs.StringSliceVar(&o.Policies, "policies", o.Policies, fmt.Sprintf("Policies to simulate, in this order. Known: %v. [config: policies]", sim.AllPolicies))
	fs.StringVar(&o.Trace, "trace", o.Trace, "Replay arrivals from this CSV file (header time_seconds,queue; one row per arriving message; rows in time order) instead of the built-in day. [config: trace]")
	fs.Uint64Var(&o.Seed, "seed", o.Seed, "Random seed for arrivals and job times; the same seed gives the same results. [config: seed]")
	fs.Float64Var(&o.Duration, "duration", o.Duration, "Simulated seconds. [config: durationSeconds]")

	fs.IntVar(&o.Nodes, "nodes", o.Nodes, "Nodes in the shared pool. [config: nodes]")
	fs.StringVar(&o.NodeCPU, "node-cpu", o.NodeCPU, "Allocatable CPU per node, as a Kubernetes quantity. [config: nodeMilliCPU, in millicores]")
	fs.StringVar(&o.NodeMemory, "node-memory", o.NodeMemory, "Allocatable memory per node, as a Kubernetes quantity. [config: nodeMemoryBytes, in bytes]")
	fs.Float64Var(&o.StartDelay, "start-delay", o.StartDelay, "Seconds from a pod landing on a node to it consuming. [config: startDelaySeconds]")
	fs.Float64Var(&o.TerminationGrace, "termination-grace", o.TerminationGrace, "Seconds a deleted busy worker may finish its job before it is killed and its message returns to the queue. [config: terminationGraceSeconds]")

	for i := range o.Tiers {
		t := &o.Tiers[i]
		order := [...]string{"first (highest-priority)", "second"}[i]
		n := func(s string) string { return t.prefix + "-" + s }
		h := func(s, field string) string {
			return fmt.Sprintf("%s tier: %s [config: %s.%s]", order, s, t.field, field)
		}
		fs.StringVar(&t.CPU, n("cpu"), t.CPU, h("CPU request per pod, as a quantity.", "milliCPU"))
		fs.StringVar(&t.Memory, n("memory"), t.Memory, h("memory request per pod, as a quantity.", "memoryBytes"))
		fs.Float64Var(&t.JobMedian, n("job-median"), t.JobMedian, h("median job time in seconds (log-normal).", "jobMedianSeconds"))
		fs.Float64Var(&t.JobP95, n("job-p95"), t.JobP95, h("95th percentile job time in seconds.", "jobP95Seconds"))
		fs.Float64Var(&t.Target, n("target"), t.Target, h("HPA AverageValue target: messages (visible + in flight) per pod.", "targetPerPod"))
		fs.Int32Var(&t.Min, n("min-replicas"), t.Min, h("HPA minReplicas (also the priority scaler's minimum).", "minReplicas"))
		fs.Int32Var(&t.Max, n("max-replicas"), t.Max, h("HPA maxReplicas as the user sets it.", "maxReplicas"))
		fs.Int32Var(&t.Static, n("static-replicas"), t.Static, h("pods under the static policy.", "staticReplicas"))
		fs.Int32Var(&t.Priority, n("priority"), t.Priority, h("pod priority in the policies that use PriorityClasses.", "priority"))
	}

	fs.Float64Var(&o.HPASync, "hpa-sync-period", o.HPASync, "HPA controller sync period in seconds. [config: hpaSyncSeconds]")
	fs.Float64Var(&o.HPATolerance, "hpa-tolerance", o.HPATolerance, "HPA tolerance around a usage ratio of 1. [config: hpaTolerance]")
	fs.Int32Var(&o.DownscaleStabilization, "downscale-stabilization", o.DownscaleStabilization, "HPA scale-down stabilization window in seconds. [config: downscaleStabilizationSeconds]")
	fs.Float64Var(&o.CoordinatorPeriod, "coordinator-period", o.CoordinatorPeriod, "Seconds between coordinator passes (its --resync-period). [config: coordinatorPeriodSeconds]")
	fs.Int32Var(&o.ScalerBudget, "scaler-budget", o.ScalerBudget, "Priority scaler: containers shared by all tiers. [config: priorityScalerBudget]")
	fs.Float64Var(&o.ScalerPeriod, "scaler-period", o.ScalerPeriod, "Priority scaler: seconds between steps. [config: priorityScalerPeriodSeconds]")
	fs.Float64Var(&o.ScalerDeadBand, "scaler-dead-band", o.ScalerDeadBand, "Priority scaler: scale down only below this fraction of the target. [config: priorityScalerDeadBand]")
	fs.Float64Var(&o.SamplePeriod, "sample-period", o.SamplePeriod, "Seconds between the samples that make the plots. [config: samplePeriodSeconds]")

	fs.Float64Var(&o.MetricScrape, "metric-scrape-interval", o.MetricScrape, "Seconds between scrapes of the queue depth; the HPAs and the coordinator read the last scraped value. 0 reads it live. [config: metricScrapeSeconds]")
	fs.Float64Var(&o.ShortPoll, "short-poll-interval", o.ShortPoll, "Seconds between an idle worker's ReceiveMessage calls under short polling. [config: shortPollIntervalSeconds]")
	fs.Float64Var(&o.LongPoll, "long-poll-wait", o.LongPoll, "WaitTimeSeconds of one ReceiveMessage call under long polling. [config: longPollWaitSeconds]")
	fs.Float64Var(&o.ObjectiveWait, "objective-wait", o.ObjectiveWait, "The first tier's objective: report the share of its jobs started within this many seconds. [config: inspectorObjectiveWaitSeconds]")

	fs.Float64Var(&o.MinRate, "min-rate", o.MinRate, "Built-in day: arrivals per second at night. [config: day.minRate]")
	fs.Float64Var(&o.MaxRate, "max-rate", o.MaxRate, "Built-in day: arrivals per second in the afternoon. [config: day.maxRate]")
	fs.IntVar(&o.Bursts, "bursts", o.Bursts, "Built-in day: bursts of 100-400 requests within 2-5 minutes. [config: day.bursts]")
}

// Config is what Run needs.
type Config struct {
	Sim        sim.Config
	Day        sim.Day
	Trace      string
	Policies   []sim.Policy
	CSVFile    string
	PlotDir    string
	PlotFormat string
	TraceOut   string
}

// Config merges the reference scenario, the config file and the flags given,
// and validates the result; the error lists every problem.
func (o *Options) Config() (*Config, error) {
	file := File{Config: sim.DefaultConfig(), Day: sim.DefaultDay()}
	var errs []error
	if o.ConfigFile != "" {
		data, err := os.ReadFile(o.ConfigFile)
		if err != nil {
			return nil, fmt.Errorf("--config: %w", err)
		}
		if err := yaml.UnmarshalStrict(data, &file); err != nil {
			return nil, fmt.Errorf("--config %s: %w", o.ConfigFile, err)
		}
	}
	cfg := &Config{Sim: file.Config, Day: file.Day, Trace: file.Trace, CSVFile: o.CSVFile, PlotDir: o.PlotDir, PlotFormat: o.PlotFormat, TraceOut: o.TraceOut}
	policies, policiesFrom := file.Policies, fmt.Sprintf("--config %s: policies", o.ConfigFile)
	if len(policies) == 0 || o.changed("policies") {
		policies, policiesFrom = o.Policies, "--policies"
	}
	if o.changed("trace") {
		cfg.Trace = o.Trace
	}
	s := &cfg.Sim
	set := func(flag string, apply func()) {
		if o.changed(flag) {
			apply()
		}
	}
	set("seed", func() { s.Seed = o.Seed })
	set("duration", func() { s.DurationSeconds = o.Duration })
	set("nodes", func() { s.Nodes = o.Nodes })
	set("node-cpu", func() { quantity(&errs, "--node-cpu", o.NodeCPU, true, &s.NodeMilliCPU) })
	set("node-memory", func() { quantity(&errs, "--node-memory", o.NodeMemory, false, &s.NodeMemoryBytes) })
	set("start-delay", func() { s.StartDelaySeconds = o.StartDelay })
	set("termination-grace", func() { s.TerminationGraceSeconds = o.TerminationGrace })
	set("hpa-sync-period", func() { s.HPASyncSeconds = o.HPASync })
	set("hpa-tolerance", func() { s.HPATolerance = o.HPATolerance })
	set("downscale-stabilization", func() { s.DownscaleStabilizationSeconds = o.DownscaleStabilization })
	set("coordinator-period", func() { s.CoordinatorPeriodSeconds = o.CoordinatorPeriod })
	set("scaler-budget", func() { s.PriorityScalerBudget = o.ScalerBudget })
	set("scaler-period", func() { s.PriorityScalerPeriodSeconds = o.ScalerPeriod })
	set("scaler-dead-band", func() { s.PriorityScalerDeadBand = o.ScalerDeadBand })
	set("sample-period", func() { s.SamplePeriodSeconds = o.SamplePeriod })
	set("metric-scrape-interval", func() { s.MetricScrapeSeconds = o.MetricScrape })
	set("short-poll-interval", func() { s.ShortPollIntervalSeconds = o.ShortPoll })
	set("long-poll-wait", func() { s.LongPollWaitSeconds = o.LongPoll })
	set("objective-wait", func() { s.InspectorObjectiveWaitSeconds = o.ObjectiveWait })
	set("min-rate", func() { cfg.Day.MinRate = o.MinRate })
	set("max-rate", func() { cfg.Day.MaxRate = o.MaxRate })
	set("bursts", func() { cfg.Day.Bursts = o.Bursts })
	for i := range o.Tiers {
		t := &o.Tiers[i]
		if i >= len(s.Tiers) {
			break
		}
		st := &s.Tiers[i]
		n := func(x string) string { return t.prefix + "-" + x }
		set(n("cpu"), func() { quantity(&errs, "--"+n("cpu"), t.CPU, true, &st.MilliCPU) })
		set(n("memory"), func() { quantity(&errs, "--"+n("memory"), t.Memory, false, &st.MemoryBytes) })
		set(n("job-median"), func() { st.JobMedianSeconds = t.JobMedian })
		set(n("job-p95"), func() { st.JobP95Seconds = t.JobP95 })
		set(n("target"), func() { st.TargetPerPod = t.Target })
		set(n("min-replicas"), func() { st.MinReplicas = t.Min })
		set(n("max-replicas"), func() { st.MaxReplicas = t.Max })
		set(n("static-replicas"), func() { st.StaticReplicas = t.Static })
		set(n("priority"), func() { st.Priority = t.Priority })
	}
	for i, p := range policies {
		pol, err := sim.ParsePolicy(strings.TrimSpace(p))
		if err != nil {
			if policiesFrom == "--policies" {
				errs = append(errs, fmt.Errorf("--policies: %w", err))
			} else {
				errs = append(errs, fmt.Errorf("%s[%d]: %w", policiesFrom, i, err))
			}
			continue
		}
		cfg.Policies = append(cfg.Policies, pol)
	}
	if len(policies) == 0 {
		errs = append(errs, fmt.Errorf("%s: empty, name at least one policy", policiesFrom))
	}
	if cfg.PlotFormat != "png" && cfg.PlotFormat != "svg" {
		errs = append(errs, fmt.Errorf("--plot-format: %q, want png or svg", cfg.PlotFormat))
	}
	if cfg.PlotDir != "" {
		if st, err := os.Stat(cfg.PlotDir); err != nil || !st.IsDir() {
			errs = append(errs, fmt.Errorf("--plot-dir: %q is not an existing directory", cfg.PlotDir))
		}
	}
	if cfg.Trace != "" && o.ConfigFile != "" && !o.changed("trace") && !filepath.IsAbs(cfg.Trace) {
		// A trace named in the config file is relative to that file.
		cfg.Trace = filepath.Join(filepath.Dir(o.ConfigFile), cfg.Trace)
	}
	where := "parameters"
	if o.ConfigFile != "" {
		where = "parameters (from --config " + o.ConfigFile + " and flags)"
	}
	if err := cfg.Sim.Validate(); err != nil {
		errs = append(errs, fmt.Errorf("%s: %w", where, err))
	}
	if cfg.Trace == "" {
		if err := cfg.Day.Validate(); err != nil {
			errs = append(errs, fmt.Errorf("%s: %w", where, err))
		}
	}
	if err := errors.Join(errs...); err != nil {
		return nil, err
	}
	return cfg, nil
}

func (o *Options) changed(name string) bool {
	return o.fs != nil && o.fs.Changed(name)
}

// quantity parses a Kubernetes quantity as millis (CPU) or whole units into
// dst; on error dst keeps its value and the error names the flag.
func quantity(errs *[]error, flag, v string, asMilli bool, dst *int64) {
	q, err := resource.ParseQuantity(v)
	if err != nil {
		*errs = append(*errs, fmt.Errorf("%s: %q is not a quantity (examples: 500m, 2, 256Mi, 4Gi)", flag, v))
		return
	}
	if q.Sign() <= 0 {
		*errs = append(*errs, fmt.Errorf("%s: %q must be positive", flag, v))
		return
	}
	if asMilli {
		*dst = q.MilliValue()
		return
	}
	*dst = q.Value()
}
