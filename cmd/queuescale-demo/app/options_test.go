package app

import (
	"strings"
	"testing"
	"time"

	"github.com/spf13/pflag"
)

func TestDefaultsAreValid(t *testing.T) {
	o := NewOptions()
	fs := pflag.NewFlagSet("demo", pflag.ContinueOnError)
	o.AddFlags(fs)
	if err := fs.Parse(nil); err != nil {
		t.Fatal(err)
	}
	if err := o.Validate(); err != nil {
		t.Fatalf("defaults rejected: %v", err)
	}
}

func TestValidateJoinsEveryProblem(t *testing.T) {
	tests := []struct {
		name string
		args []string
		want []string
	}{
		{
			name: "story too short for its warm-up",
			args: []string{"--duration=30s", "--max-warmup=1m"},
			want: []string{"duration 30s is shorter than the longest warm-up"},
		},
		{
			name: "several bad flags at once",
			args: []string{"--time-scale=0", "--burst=-1", "--refresh=0s", "--plot=out.gif", "--trickle=-2"},
			want: []string{"--time-scale must be a positive number", "burst must be >= 0", "--refresh must be positive", `--plot "out.gif" must end in .png or .svg`, "trickle must be"},
		},
		{
			name: "warm-up bounds inverted",
			args: []string{"--min-warmup=2m", "--max-warmup=1m"},
			want: []string{"warm-up must satisfy 0 <= min (2m0s) <= max (1m0s)"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			o := NewOptions()
			fs := pflag.NewFlagSet("demo", pflag.ContinueOnError)
			o.AddFlags(fs)
			if err := fs.Parse(tt.args); err != nil {
				t.Fatal(err)
			}
			err := o.Validate()
			if err == nil {
				t.Fatalf("Validate(%v) accepted", tt.args)
			}
			for _, w := range tt.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q does not contain %q", err, w)
				}
			}
		})
	}
}

func TestConfigMakesTheRunDirectory(t *testing.T) {
	o := NewOptions()
	o.Dir = t.TempDir() + "/run"
	o.Duration = 3 * time.Minute
	cfg, err := o.Config()
	if err != nil {
		t.Fatal(err)
	}
	if cfg.PlotPath != o.Dir+"/demo-timeline.png" {
		t.Errorf("plot path %q, want it in the run directory", cfg.PlotPath)
	}
	if cfg.Story.Duration != 3*time.Minute || cfg.TimeScale != 0.5 || cfg.ScaleDownWindow != 30*time.Second {
		t.Errorf("config does not carry the options: %+v", cfg)
	}
	o.RulesFile = o.Dir + "/missing.yaml"
	if _, err := o.Config(); err == nil || !strings.Contains(err.Error(), "--rules-file") {
		t.Errorf("Config with a missing rules file = %v, want an error naming --rules-file", err)
	}
}
