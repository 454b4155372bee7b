// Package rules reads and validates the adapter's rules file: which external
// metrics exist, where their data comes from in Prometheus, which labels an
// HPA selector may use and which namespaces may read them.
//
// Loading is pure apart from reading the file; watching it for changes lives
// in Watcher.
package rules

import (
	"bytes"
	_ "embed"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"regexp"
	"slices"
	"strings"

	"k8s.io/apimachinery/pkg/util/validation"
	"sigs.k8s.io/yaml"
)

// Placeholder marks where a query rule receives the request's label
// matchers, rendered as a comma-separated matcher list without braces.
const Placeholder = "<<.LabelMatchers>>"

// AllNamespaces in a rule's namespaces grants the metric to every namespace.
const AllNamespaces = "*"

// DefaultYAML is the shipped rules file for the queuescale SQS exporter
// (also at adapter/rules/default.yaml for mounting).
//
//go:embed default.yaml
var DefaultYAML []byte

// Aggregations a series rule may use.
var aggregations = []string{"sum", "max", "min", "avg"}

var (
	metricNameRE = regexp.MustCompile(`^[a-zA-Z_:][a-zA-Z0-9_:]*$`)
	labelNameRE  = regexp.MustCompile(`^[a-zA-Z_][a-zA-Z0-9_]*$`)
)

// File is the rules file as written.
type File struct {
	Rules []Rule `json:"rules"`
}

// Rule maps one external metric name to Prometheus data.
type Rule struct {
	// Name is the external metric name HPAs ask for.
	Name string `json:"name"`
	// Series is a Prometheus metric name; the value is
	// Aggregation(Series{matchers}).
	Series      string `json:"series,omitempty"`
	Aggregation string `json:"aggregation,omitempty"`
	// Query is a PromQL expression with exactly one Placeholder where the
	// request's matchers go; TimestampQuery (same placeholder) returns the
	// samples' own timestamps, e.g. min(timestamp(x{<<.LabelMatchers>>})).
	Query          string `json:"query,omitempty"`
	TimestampQuery string `json:"timestampQuery,omitempty"`
	// Labels an HPA selector may use.
	Labels []string `json:"labels,omitempty"`
	// Namespaces that may read the metric; "*" for all.
	Namespaces NamespaceList `json:"namespaces,omitempty"`
}

// NamespaceList is a list of namespace names, or the single string "*".
type NamespaceList []string

// UnmarshalJSON accepts a list of strings or a single string.
func (n *NamespaceList) UnmarshalJSON(data []byte) error {
	var one string
	if err := json.Unmarshal(data, &one); err == nil {
		*n = NamespaceList{one}
		return nil
	}
	var many []string
	if err := json.Unmarshal(data, &many); err != nil {
		return fmt.Errorf("namespaces must be a list of namespace names or %q", AllNamespaces)
	}
	*n = many
	return nil
}

// Set is a validated rules file, ready to answer requests. It is immutable.
type Set struct {
	Source string
	byName map[string]*Rule
	names  []string
}

// Lookup returns the rule for an external metric name.
func (s *Set) Lookup(name string) (*Rule, bool) {
	r, ok := s.byName[name]
	return r, ok
}

// Names returns the metric names in file order.
func (s *Set) Names() []string { return slices.Clone(s.names) }

// AllowsNamespace reports whether namespace may read the rule's metric.
func (r *Rule) AllowsNamespace(namespace string) bool {
	for _, n := range r.Namespaces {
		if n == AllNamespaces || n == namespace {
			return true
		}
	}
	return false
}

// AllowsLabel reports whether an HPA selector may use label.
func (r *Rule) AllowsLabel(label string) bool { return slices.Contains(r.Labels, label) }

// LoadFile reads and validates a rules file.
func LoadFile(path string) (*Set, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("read rules file: %w", err)
	}
	return Parse(path, data)
}

// Parse decodes (strictly: unknown fields are errors) and validates rules;
// source names the file in errors.
func Parse(source string, data []byte) (*Set, error) {
	f, errs := decode(data)
	if len(errs) == 0 {
		errs = Validate(f)
	}
	if len(errs) > 0 {
		for i := range errs {
			errs[i] = fmt.Errorf("rules file %s: %w", source, errs[i])
		}
		return nil, errors.Join(errs...)
	}
	s := &Set{Source: source, byName: make(map[string]*Rule, len(f.Rules))}
	for i := range f.Rules {
		r := f.Rules[i]
		s.byName[r.Name] = &r
		s.names = append(s.names, r.Name)
	}
	return s, nil
}

// decode reads the file strictly, rule by rule, so that an unknown field or
// a wrong type is reported with the rule it is in.
func decode(data []byte) (*File, []error) {
	js, err := yaml.YAMLToJSON(data)
	if err != nil {
		return nil, []error{fmt.Errorf("not valid YAML: %w", err)}
	}
	var top struct {
		Rules []json.RawMessage `json:"rules"`
	}
	if err := strictUnmarshal(js, &top); err != nil {
		return nil, []error{&FieldError{Index: -1, Field: "rules", Msg: err.Error()}}
	}
	f := &File{Rules: make([]Rule, len(top.Rules))}
	var errs []error
	for i, raw := range top.Rules {
		if err := strictUnmarshal(raw, &f.Rules[i]); err != nil {
			var named struct {
				Name string `json:"name"`
			}
			_ = json.Unmarshal(raw, &named)
			errs = append(errs, &FieldError{Index: i, Rule: named.Name, Field: "(decode)", Msg: err.Error()})
		}
	}
	return f, errs
}

func strictUnmarshal(data []byte, v any) error {
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		return err
	}
	if dec.More() {
		return errors.New("unexpected data after the document")
	}
	return nil
}

// FieldError names the rule and field a problem is in.
type FieldError struct {
	Index int    // rule index, from 0; -1 for the file as a whole
	Rule  string // rule name, may be empty
	Field string
	Msg   string
}

func (e *FieldError) Error() string {
	if e.Index < 0 {
		return fmt.Sprintf("%s: %s", e.Field, e.Msg)
	}
	return fmt.Sprintf("rule %d (%q): field %s: %s", e.Index, e.Rule, e.Field, e.Msg)
}

// Validate returns every problem in f, each a *FieldError.
func Validate(f *File) []error {
	var errs []error
	if len(f.Rules) == 0 {
		errs = append(errs, &FieldError{Index: -1, Field: "rules", Msg: "no rules: the file must define at least one metric"})
	}
	seen := map[string]int{}
	for i := range f.Rules {
		r := &f.Rules[i]
		bad := func(field, format string, args ...any) {
			errs = append(errs, &FieldError{Index: i, Rule: r.Name, Field: field, Msg: fmt.Sprintf(format, args...)})
		}
		switch {
		case r.Name == "":
			bad("name", "required")
		case !metricNameRE.MatchString(r.Name):
			bad("name", "%q is not a valid metric name (letters, digits, '_' and ':', not starting with a digit)", r.Name)
		}
		if j, dup := seen[r.Name]; dup && r.Name != "" {
			bad("name", "%q is already defined by rule %d", r.Name, j)
		} else {
			seen[r.Name] = i
		}
		switch {
		case r.Series != "" && r.Query != "":
			bad("series", "set either series (with aggregation) or query, not both")
		case r.Series == "" && r.Query == "":
			bad("series", "one of series (with aggregation) or query is required")
		case r.Series != "":
			if !metricNameRE.MatchString(r.Series) {
				bad("series", "%q is not a valid Prometheus metric name", r.Series)
			}
			if !slices.Contains(aggregations, r.Aggregation) {
				bad("aggregation", "%q is not one of %s", r.Aggregation, strings.Join(aggregations, ", "))
			}
			if r.TimestampQuery != "" {
				bad("timestampQuery", "only for query rules: a series rule derives it from the series")
			}
		default: // query
			if r.Aggregation != "" {
				bad("aggregation", "only for series rules: a query does its own aggregation")
			}
			if n := strings.Count(r.Query, Placeholder); n != 1 {
				bad("query", "must contain the placeholder %s exactly once, found %d", Placeholder, n)
			}
			if n := strings.Count(r.TimestampQuery, Placeholder); n != 1 {
				bad("timestampQuery", "required for query rules and must contain the placeholder %s exactly once, found %d (e.g. min(timestamp(my_series{%s})))", Placeholder, n, Placeholder)
			}
		}
		labels := map[string]bool{}
		for _, l := range r.Labels {
			switch {
			case !labelNameRE.MatchString(l):
				bad("labels", "%q is not a valid Prometheus label name", l)
			case strings.HasPrefix(l, "__"):
				bad("labels", "%q is reserved (names starting with __ are Prometheus internals)", l)
			case labels[l]:
				bad("labels", "%q is listed twice", l)
			}
			labels[l] = true
		}
		if len(r.Namespaces) == 0 {
			bad("namespaces", "required: list the namespaces that may read the metric, or %q for all", AllNamespaces)
		}
		for _, ns := range r.Namespaces {
			if ns == AllNamespaces {
				if len(r.Namespaces) > 1 {
					bad("namespaces", "%q must be the only entry", AllNamespaces)
				}
				continue
			}
			if msgs := validation.IsDNS1123Label(ns); len(msgs) > 0 {
				bad("namespaces", "%q is not a namespace name: %s", ns, strings.Join(msgs, "; "))
			}
		}
	}
	return errs
}
