package app

import (
	"strings"
	"testing"

	"github.com/spf13/pflag"
)

func TestOptionsValidate(t *testing.T) {
	tests := []struct {
		name  string
		args  []string
		wants []string // substrings of the joined error; none means valid
	}{
		{name: "defaults"},
		{name: "everything set", args: []string{"--kubeconfig=/k", "--resync-period=2s", "--dry-run", "--leader-elect", "--leader-election-namespace=queuescale",
			"--metrics-bind-address=127.0.0.1:9000", "--health-probe-bind-address=0", "--external-metrics-timeout=3s", "--hpa-tolerance=0.2", "-v=1"}},
		{name: "all problems at once", args: []string{"--resync-period=0s", "--external-metrics-timeout=-1s", "--hpa-tolerance=1", "--metrics-bind-address=8080", "--leader-elect", "--leader-election-id="},
			wants: []string{"--resync-period 0s", "--external-metrics-timeout -1s", "--hpa-tolerance 1", `--metrics-bind-address "8080"`, "--leader-election-id", "--leader-election-namespace: required"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			o := NewOptions()
			o.namespaceFile = t.TempDir() + "/not-in-a-pod"
			fs := pflag.NewFlagSet("test", pflag.ContinueOnError)
			o.AddFlags(fs)
			if err := fs.Parse(tt.args); err != nil {
				t.Fatal(err)
			}
			err := o.Validate()
			if len(tt.wants) == 0 {
				if err != nil {
					t.Fatalf("Validate() = %v, want nil", err)
				}
				return
			}
			if err == nil {
				t.Fatalf("Validate() = nil, want errors %q", tt.wants)
			}
			for _, w := range tt.wants {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("Validate() = %v\nwant it to mention %q", err, w)
				}
			}
		})
	}
}

func TestHelpExplainsEveryFlag(t *testing.T) {
	cmd := NewCommand()
	cmd.Flags().VisitAll(func(f *pflag.Flag) {
		if f.Name != "help" && len(f.Usage) < 20 {
			t.Errorf("flag --%s has a terse help text %q", f.Name, f.Usage)
		}
	})
	for _, want := range []string{"PriorityPolicy", "maxReplicas", "queuescale.io/user-max-replicas"} {
		if !strings.Contains(cmd.Long, want) {
			t.Errorf("--help does not mention %q", want)
		}
	}
}
