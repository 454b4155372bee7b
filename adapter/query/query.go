// Package query turns an HPA's label selector and a rule into PromQL. It is
// pure: no I/O, no clock.
//
// Every selector value ends up inside a PromQL double-quoted string literal
// (escaped as Go's strconv.Quote does, which PromQL's lexer reads back), and
// every label name must be on the rule's allow-list and match the Prometheus
// label-name grammar, so no selector can change the shape of the query.
package query

import (
	"fmt"
	"regexp"
	"strconv"
	"strings"

	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/selection"

	"github.com/queuescale/queuescale/adapter/rules"
)

var labelNameRE = regexp.MustCompile(`^[a-zA-Z_][a-zA-Z0-9_]*$`)

// SelectorError is a selector the adapter will not translate; the API
// answers it with 400 Bad Request.
type SelectorError struct {
	Metric string
	Msg    string
}

func (e *SelectorError) Error() string {
	return fmt.Sprintf("selector for metric %q: %s", e.Metric, e.Msg)
}

// Queries are the two PromQL expressions answering one request: the value,
// and the timestamps of the samples it is computed from.
type Queries struct {
	Value     string
	Timestamp string
}

// Key identifies the request for caching and coalescing.
func (q Queries) Key() string { return q.Value + "\x00" + q.Timestamp }

// Build translates sel for rule into queries.
func Build(rule *rules.Rule, sel labels.Selector) (Queries, error) {
	m, err := Matchers(rule, sel)
	if err != nil {
		return Queries{}, err
	}
	if rule.Series != "" {
		vs := rule.Series
		if m != "" {
			vs += "{" + m + "}"
		}
		return Queries{
			Value:     rule.Aggregation + "(" + vs + ")",
			Timestamp: "min(timestamp(" + vs + "))",
		}, nil
	}
	return Queries{
		Value:     strings.Replace(rule.Query, rules.Placeholder, m, 1),
		Timestamp: strings.Replace(rule.TimestampQuery, rules.Placeholder, m, 1),
	}, nil
}

// Matchers renders sel as a comma-separated PromQL matcher list (no braces),
// in the selector's own (sorted) order; "" for an empty selector.
func Matchers(rule *rules.Rule, sel labels.Selector) (string, error) {
	if sel == nil {
		return "", nil
	}
	reqs, selectable := sel.Requirements()
	if !selectable {
		return "", &SelectorError{Metric: rule.Name, Msg: "selector can never match"}
	}
	out := make([]string, 0, len(reqs))
	for _, r := range reqs {
		key := r.Key()
		if !labelNameRE.MatchString(key) || strings.HasPrefix(key, "__") {
			return "", &SelectorError{Metric: rule.Name, Msg: fmt.Sprintf("label %q is not a Prometheus label name", key)}
		}
		if !rule.AllowsLabel(key) {
			return "", &SelectorError{Metric: rule.Name, Msg: fmt.Sprintf("label %q is not allowed; allowed labels: %s", key, allowed(rule))}
		}
		values := r.ValuesUnsorted()
		var m string
		switch r.Operator() {
		case selection.Equals, selection.DoubleEquals:
			m = key + "=" + quote(one(values))
		case selection.NotEquals:
			m = key + "!=" + quote(one(values))
		case selection.In:
			m = key + "=~" + quote(alternation(r.Values().List()))
		case selection.NotIn:
			m = key + "!~" + quote(alternation(r.Values().List()))
		case selection.Exists:
			m = key + `!=""`
		case selection.DoesNotExist:
			m = key + `=""`
		default:
			return "", &SelectorError{Metric: rule.Name, Msg: fmt.Sprintf("operator %q on label %q is not supported (use =, ==, !=, in, notin, exists, !exists)", r.Operator(), key)}
		}
		out = append(out, m)
	}
	return strings.Join(out, ","), nil
}

func allowed(rule *rules.Rule) string {
	if len(rule.Labels) == 0 {
		return "none"
	}
	return strings.Join(rule.Labels, ", ")
}

func one(values []string) string {
	if len(values) == 0 {
		return ""
	}
	return values[0]
}

// alternation is an anchored regular expression matching exactly values.
func alternation(values []string) string {
	quoted := make([]string, len(values))
	for i, v := range values {
		quoted[i] = regexp.QuoteMeta(v)
	}
	return "^(?:" + strings.Join(quoted, "|") + ")$"
}

// quote makes a PromQL double-quoted string literal. PromQL string literals
// use Go's escape sequences, so strconv.Quote's output reads back exactly
// (Prometheus prints matchers the same way).
func quote(s string) string { return strconv.Quote(s) }
