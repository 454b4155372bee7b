package app

import (
	"errors"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"time"

	"github.com/spf13/pflag"
	"golang.org/x/term"

	"github.com/queuescale/queuescale/demo"
	"github.com/queuescale/queuescale/demo/story"
	"github.com/queuescale/queuescale/internal/testenv"
)

// Options are the command's flags.
type Options struct {
	Duration             time.Duration
	MinWarmup, MaxWarmup time.Duration
	Burst                int
	BurstWindow          time.Duration
	Trickle              float64
	SizePrefill          int
	TimeScale            float64
	Keep                 bool
	Dir                  string
	Plot                 string
	RulesFile            string
	Refresh              time.Duration
	PlainEvery           time.Duration
	HPASyncPeriod        time.Duration
	ScaleDownWindow      time.Duration
	Seed                 uint64
}

// NewOptions returns the defaults: a story of about four minutes.
func NewOptions() *Options {
	return &Options{
		Duration:        4 * time.Minute,
		MinWarmup:       20 * time.Second,
		MaxWarmup:       90 * time.Second,
		Burst:           300,
		BurstWindow:     15 * time.Second,
		Trickle:         0.2,
		SizePrefill:     150,
		TimeScale:       0.5,
		Refresh:         time.Second,
		PlainEvery:      5 * time.Second,
		HPASyncPeriod:   2 * time.Second,
		ScaleDownWindow: 30 * time.Second,
		Seed:            1,
	}
}

// AddFlags registers the flags on fs.
func (o *Options) AddFlags(fs *pflag.FlagSet) {
	fs.DurationVar(&o.Duration, "duration", o.Duration, "Length of the whole story: warm-up, burst and drain.")
	fs.DurationVar(&o.MinWarmup, "min-warmup", o.MinWarmup, "The burst starts once Size is busy (current replicas at 3/4 of its maxReplicas) and at least this much time has passed.")
	fs.DurationVar(&o.MaxWarmup, "max-warmup", o.MaxWarmup, "The burst starts at this time at the latest, busy or not.")
	fs.IntVar(&o.Burst, "burst", o.Burst, "Number of inspection requests in the burst.")
	fs.DurationVar(&o.BurstWindow, "burst-window", o.BurstWindow, "The burst's requests arrive evenly over this window.")
	fs.Float64Var(&o.Trickle, "trickle", o.Trickle, "Steady arrival rate of inspection requests, per second, for the whole story.")
	fs.IntVar(&o.SizePrefill, "size-prefill", o.SizePrefill, "Jobs put on the size queue at the start, so Size scales into the shared pool before the burst.")
	fs.Float64Var(&o.TimeScale, "time-scale", o.TimeScale, "Multiplies the scenario's job times (Inspector median 2s / p95 6s, Size median 45s / p95 120s) so the story fits in minutes; 1 plays them at full length. Pod start-up and HPA reactions are not scaled.")
	fs.BoolVar(&o.Keep, "keep", o.Keep, "After the story, leave the cluster, the system and the stand-in workers running for exploring, until Ctrl-C.")
	fs.StringVar(&o.Dir, "dir", o.Dir, "Directory for everything the run writes (cluster state, logs, the plot). Empty: a new directory under $QUEUESCALE_CACHE/demo (default ~/.cache/queuescale/demo).")
	fs.StringVar(&o.Plot, "plot", o.Plot, "Where to write the timeline plot, .png or .svg. Empty: <dir>/demo-timeline.png.")
	fs.StringVar(&o.RulesFile, "rules-file", o.RulesFile, "The metrics adapter's rules file, to try your own rules. Empty: adapter/rules/default.yaml.")
	fs.DurationVar(&o.Refresh, "refresh", o.Refresh, "How often the view is refreshed and the timeline sampled.")
	fs.DurationVar(&o.PlainEvery, "plain-every", o.PlainEvery, "When the output is not a terminal, print one plain status line this often instead of the live view.")
	fs.DurationVar(&o.HPASyncPeriod, "hpa-sync-period", o.HPASyncPeriod, "The local HPA controller's sync period (real clusters default to 15s).")
	fs.DurationVar(&o.ScaleDownWindow, "scale-down-window", o.ScaleDownWindow, "Sets both HPAs' behavior.scaleDown.stabilizationWindowSeconds after applying the example, so idle pods leave within the story. The example keeps Kubernetes' default of 5m; a negative value leaves it.")
	fs.Uint64Var(&o.Seed, "seed", o.Seed, "Seed of the job-time draws, for repeatable runs.")
}

func (o *Options) storyConfig() story.Config {
	return story.Config{
		Duration:    o.Duration,
		MinWarmup:   o.MinWarmup,
		MaxWarmup:   o.MaxWarmup,
		Trickle:     o.Trickle,
		SizePrefill: o.SizePrefill,
		Burst:       o.Burst,
		BurstWindow: o.BurstWindow,
	}
}

// Validate reports every invalid flag at once.
func (o *Options) Validate() error {
	var errs []error
	if err := o.storyConfig().Validate(); err != nil {
		errs = append(errs, err)
	}
	if !(o.TimeScale > 0) || math.IsInf(o.TimeScale, 0) {
		errs = append(errs, fmt.Errorf("--time-scale must be a positive number, got %v", o.TimeScale))
	}
	if o.Refresh <= 0 {
		errs = append(errs, fmt.Errorf("--refresh must be positive, got %s", o.Refresh))
	}
	if o.PlainEvery <= 0 {
		errs = append(errs, fmt.Errorf("--plain-every must be positive, got %s", o.PlainEvery))
	}
	if o.HPASyncPeriod <= 0 {
		errs = append(errs, fmt.Errorf("--hpa-sync-period must be positive, got %s", o.HPASyncPeriod))
	}
	if ext := filepath.Ext(o.Plot); o.Plot != "" && ext != ".png" && ext != ".svg" {
		errs = append(errs, fmt.Errorf("--plot %q must end in .png or .svg", o.Plot))
	}
	return errors.Join(errs...)
}

// Config validates the options and makes the run directory.
func (o *Options) Config() (demo.Config, error) {
	if err := o.Validate(); err != nil {
		return demo.Config{}, err
	}
	dir := o.Dir
	if dir == "" {
		cache, err := testenv.CacheDir()
		if err != nil {
			return demo.Config{}, err
		}
		dir = filepath.Join(cache, "demo", time.Now().UTC().Format("20060102-150405"))
	}
	dir, err := filepath.Abs(dir)
	if err != nil {
		return demo.Config{}, err
	}
	if err := os.MkdirAll(filepath.Join(dir, "logs"), 0o755); err != nil {
		return demo.Config{}, fmt.Errorf("--dir: %w", err)
	}
	plot := o.Plot
	if plot == "" {
		plot = filepath.Join(dir, "demo-timeline.png")
	}
	rules := o.RulesFile
	if rules != "" {
		if rules, err = filepath.Abs(rules); err != nil {
			return demo.Config{}, err
		}
		if _, err := os.Stat(rules); err != nil {
			return demo.Config{}, fmt.Errorf("--rules-file: %w", err)
		}
	}
	terminal := term.IsTerminal(int(os.Stdout.Fd()))
	width := 0
	if terminal {
		if w, _, err := term.GetSize(int(os.Stdout.Fd())); err == nil {
			width = w
		}
	}
	return demo.Config{
		Story:           o.storyConfig(),
		TimeScale:       o.TimeScale,
		Keep:            o.Keep,
		Dir:             dir,
		PlotPath:        plot,
		RulesFile:       rules,
		Refresh:         o.Refresh,
		PlainEvery:      o.PlainEvery,
		HPASyncPeriod:   o.HPASyncPeriod,
		ScaleDownWindow: o.ScaleDownWindow,
		Seed:            o.Seed,
		Out:             os.Stdout,
		Terminal:        terminal,
		Width:           width,
	}, nil
}
