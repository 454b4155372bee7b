package rules

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestLoadFileValid(t *testing.T) {
	s, err := LoadFile(filepath.Join("testdata", "valid.yaml"))
	if err != nil {
		t.Fatalf("LoadFile: %v", err)
	}
	if diff := cmp.Diff([]string{"orders_backlog", "jobs"}, s.Names()); diff != "" {
		t.Errorf("names (-want +got):\n%s", diff)
	}
	r, ok := s.Lookup("orders_backlog")
	if !ok {
		t.Fatal("orders_backlog not found")
	}
	want := &Rule{Name: "orders_backlog", Series: "sqs_messages_visible", Aggregation: "max",
		Labels: []string{"queue", "region"}, Namespaces: NamespaceList{"shop", "billing"}}
	if diff := cmp.Diff(want, r); diff != "" {
		t.Errorf("rule (-want +got):\n%s", diff)
	}
	if _, ok := s.Lookup("missing"); ok {
		t.Error("Lookup(missing) found a rule")
	}
}

func TestDefaultRules(t *testing.T) {
	s, err := Parse("default.yaml", DefaultYAML)
	if err != nil {
		t.Fatalf("default rules do not validate: %v", err)
	}
	want := []string{"sqs_messages_visible", "sqs_messages_in_flight", "sqs_messages_delayed", "sqs_backlog"}
	if diff := cmp.Diff(want, s.Names()); diff != "" {
		t.Errorf("default metric names (-want +got):\n%s", diff)
	}
	onDisk, err := os.ReadFile("default.yaml")
	if err != nil {
		t.Fatal(err)
	}
	if string(onDisk) != string(DefaultYAML) {
		t.Error("embedded default rules differ from default.yaml")
	}
	for _, name := range want {
		r, _ := s.Lookup(name)
		if !r.AllowsLabel("queue") || !r.AllowsNamespace("any-namespace") {
			t.Errorf("%s: want label queue allowed in every namespace, got labels %v namespaces %v", name, r.Labels, r.Namespaces)
		}
	}
}

// Every validation rule has one invalid file; the error must name the file,
// the rule (index and name) and the field.
func TestLoadFileInvalid(t *testing.T) {
	tests := []struct {
		file string
		want []string // substrings of the error
	}{
		{"invalid-syntax.yaml", []string{"invalid-syntax.yaml", "yaml"}},
		{"invalid-unknown-field.yaml", []string{"invalid-unknown-field.yaml", `rule 0 ("a")`, `unknown field "selector"`}},
		{"invalid-no-rules.yaml", []string{"invalid-no-rules.yaml", "rules: no rules"}},
		{"invalid-missing-name.yaml", []string{"invalid-missing-name.yaml", `rule 0 ("")`, "field name: required"}},
		{"invalid-name.yaml", []string{"invalid-name.yaml", `rule 0 ("9lives/backlog")`, "field name:", "not a valid metric name"}},
		{"invalid-duplicate-name.yaml", []string{"invalid-duplicate-name.yaml", `rule 1 ("a")`, "field name:", "already defined by rule 0"}},
		{"invalid-series-and-query.yaml", []string{`rule 0 ("a")`, "field series:", "not both"}},
		{"invalid-no-source.yaml", []string{`rule 0 ("a")`, "field series:", "one of series"}},
		{"invalid-series-name.yaml", []string{`rule 0 ("a")`, "field series:", "not a valid Prometheus metric name"}},
		{"invalid-aggregation.yaml", []string{`rule 0 ("a")`, "field aggregation:", `"median" is not one of sum, max, min, avg`}},
		{"invalid-aggregation-with-query.yaml", []string{`rule 0 ("a")`, "field aggregation:", "only for series rules"}},
		{"invalid-timestamp-query-with-series.yaml", []string{`rule 0 ("a")`, "field timestampQuery:", "only for query rules"}},
		{"invalid-query-placeholder.yaml", []string{`rule 0 ("a")`, "field query:", "exactly once, found 2"}},
		{"invalid-timestamp-query-missing.yaml", []string{`rule 0 ("a")`, "field timestampQuery:", "found 0"}},
		{"invalid-label-name.yaml", []string{`rule 0 ("a")`, "field labels:", `"app.kubernetes.io/name" is not a valid Prometheus label name`}},
		{"invalid-label-reserved.yaml", []string{`rule 0 ("a")`, "field labels:", "reserved"}},
		{"invalid-label-duplicate.yaml", []string{`rule 0 ("a")`, "field labels:", "listed twice"}},
		{"invalid-namespaces-missing.yaml", []string{`rule 0 ("a")`, "field namespaces: required"}},
		{"invalid-namespaces-wildcard-mixed.yaml", []string{`rule 0 ("a")`, "field namespaces:", "must be the only entry"}},
		{"invalid-namespace-name.yaml", []string{`rule 0 ("a")`, "field namespaces:", `"Shop_Floor" is not a namespace name`}},
		{"invalid-namespaces-type.yaml", []string{`rule 0 ("a")`, "namespaces must be a list"}},
	}
	files, err := filepath.Glob(filepath.Join("testdata", "invalid-*.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	if len(files) != len(tests) {
		t.Errorf("testdata has %d invalid files, the table covers %d: keep one case per file", len(files), len(tests))
	}
	for _, tt := range tests {
		t.Run(tt.file, func(t *testing.T) {
			path := filepath.Join("testdata", tt.file)
			s, err := LoadFile(path)
			if err == nil {
				t.Fatalf("LoadFile(%s) = %v, want an error", path, s.Names())
			}
			msg := err.Error()
			if !strings.Contains(msg, path) {
				t.Errorf("error does not name the file %s: %v", path, msg)
			}
			for _, w := range tt.want {
				if !strings.Contains(msg, w) {
					t.Errorf("error does not contain %q:\n%v", w, msg)
				}
			}
		})
	}
}

func TestAllowsNamespace(t *testing.T) {
	tests := []struct {
		namespaces NamespaceList
		ns         string
		want       bool
	}{
		{NamespaceList{"shop"}, "shop", true},
		{NamespaceList{"shop"}, "billing", false},
		{NamespaceList{"shop"}, "", false},
		{NamespaceList{"shop", "billing"}, "billing", true},
		{NamespaceList{AllNamespaces}, "anything", true},
	}
	for _, tt := range tests {
		r := &Rule{Namespaces: tt.namespaces}
		if got := r.AllowsNamespace(tt.ns); got != tt.want {
			t.Errorf("namespaces %v AllowsNamespace(%q) = %v, want %v", tt.namespaces, tt.ns, got, tt.want)
		}
	}
}

func FuzzParse(f *testing.F) {
	f.Add(DefaultYAML)
	for _, name := range []string{"valid.yaml", "invalid-syntax.yaml", "invalid-query-placeholder.yaml"} {
		data, err := os.ReadFile(filepath.Join("testdata", name))
		if err != nil {
			f.Fatal(err)
		}
		f.Add(data)
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		s, err := Parse("fuzz.yaml", data)
		if err != nil {
			return
		}
		// Whatever parses must satisfy the invariants the server relies on.
		for _, name := range s.Names() {
			r, _ := s.Lookup(name)
			if (r.Series == "") == (r.Query == "") {
				t.Fatalf("rule %q has both or neither of series and query", name)
			}
			if r.Query != "" && (strings.Count(r.Query, Placeholder) != 1 || strings.Count(r.TimestampQuery, Placeholder) != 1) {
				t.Fatalf("rule %q query placeholders not exactly once", name)
			}
			if len(r.Namespaces) == 0 {
				t.Fatalf("rule %q has no namespaces", name)
			}
		}
	})
}
