package app

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/spf13/pflag"
)

func parse(t *testing.T, args ...string) *Options {
	t.Helper()
	o := NewOptions()
	fs := pflag.NewFlagSet("test", pflag.ContinueOnError)
	o.AddFlags(fs)
	if err := fs.Parse(args); err != nil {
		t.Fatalf("parse %v: %v", args, err)
	}
	return o
}

func TestValidate(t *testing.T) {
	dir := t.TempDir()
	bad := filepath.Join(dir, "bad.yaml")
	if err := os.WriteFile(bad, []byte("rules:\n- name: a\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name string
		args []string
		want []string // substrings; none means valid
	}{
		{"minimal", []string{"--prometheus-url=http://127.0.0.1:9090"}, nil},
		{"every problem at once", []string{
			"--prometheus-url=ftp://x", "--max-sample-age=0s", "--cache-ttl=-1s", "--query-timeout=0s", "--rules-file=" + bad,
		}, []string{
			`--prometheus-url "ftp://x"`, "--max-sample-age 0s: must be positive", "--cache-ttl -1s: must not be negative",
			"--query-timeout 0s: must be positive", `--rules-file: rules file ` + bad, `rule 0 ("a")`,
		}},
		{"missing prometheus", nil, []string{"--prometheus-url is required"}},
		{"cache longer than staleness", []string{"--prometheus-url=http://p:9090", "--cache-ttl=5m"},
			[]string{"--cache-ttl 5m0s: must be shorter than --max-sample-age 2m0s"}},
		{"library options validated too", []string{"--prometheus-url=http://p:9090", "--secure-port=70000"},
			[]string{"--secure-port 70000"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := parse(t, tt.args...).Validate()
			if len(tt.want) == 0 {
				if err != nil {
					t.Fatalf("Validate: %v", err)
				}
				return
			}
			if err == nil {
				t.Fatalf("Validate accepted %v", tt.args)
			}
			for _, w := range tt.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error does not contain %q:\n%v", w, err)
				}
			}
		})
	}
}

func TestDefaults(t *testing.T) {
	o := parse(t)
	if o.Base.SecureServing.BindPort != 6443 {
		t.Errorf("secure port = %d, want 6443", o.Base.SecureServing.BindPort)
	}
	if o.Base.SecureServing.ServerCert.CertDirectory != "" {
		t.Errorf("cert dir = %q, want empty (generated certificate kept in memory)", o.Base.SecureServing.ServerCert.CertDirectory)
	}
	if o.CacheTTL.String() != "2s" || o.MaxSampleAge.String() != "2m0s" || o.QueryTimeout.String() != "5s" {
		t.Errorf("defaults: cache-ttl %s max-sample-age %s query-timeout %s", o.CacheTTL, o.MaxSampleAge, o.QueryTimeout)
	}
}
