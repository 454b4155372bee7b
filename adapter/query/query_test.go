package query

import (
	"errors"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/selection"

	"github.com/queuescale/queuescale/adapter/rules"
)

var seriesRule = &rules.Rule{
	Name: "sqs_messages_visible", Series: "sqs_messages_visible", Aggregation: "sum",
	Labels: []string{"queue", "region"}, Namespaces: rules.NamespaceList{"*"},
}

var queryRule = &rules.Rule{
	Name:           "sqs_backlog",
	Query:          `sum({__name__=~"sqs_messages_visible|sqs_messages_in_flight", <<.LabelMatchers>>})`,
	TimestampQuery: `min(timestamp({__name__=~"sqs_messages_visible|sqs_messages_in_flight", <<.LabelMatchers>>}))`,
	Labels:         []string{"queue"}, Namespaces: rules.NamespaceList{"*"},
}

func TestBuild(t *testing.T) {
	tests := []struct {
		name     string
		rule     *rules.Rule
		selector string
		want     Queries
	}{
		{"empty selector", seriesRule, "", Queries{
			Value: `sum(sqs_messages_visible)`, Timestamp: `min(timestamp(sqs_messages_visible))`}},
		{"equals", seriesRule, "queue=inspection", Queries{
			Value:     `sum(sqs_messages_visible{queue="inspection"})`,
			Timestamp: `min(timestamp(sqs_messages_visible{queue="inspection"}))`}},
		{"double equals", seriesRule, "queue==inspection", Queries{
			Value:     `sum(sqs_messages_visible{queue="inspection"})`,
			Timestamp: `min(timestamp(sqs_messages_visible{queue="inspection"}))`}},
		{"not equals", seriesRule, "queue!=size", Queries{
			Value:     `sum(sqs_messages_visible{queue!="size"})`,
			Timestamp: `min(timestamp(sqs_messages_visible{queue!="size"}))`}},
		{"in, sorted and escaped", seriesRule, "queue in (size,inspection,a.b)", Queries{
			Value:     `sum(sqs_messages_visible{queue=~"^(?:a\\.b|inspection|size)$"})`,
			Timestamp: `min(timestamp(sqs_messages_visible{queue=~"^(?:a\\.b|inspection|size)$"}))`}},
		{"notin", seriesRule, "queue notin (size)", Queries{
			Value:     `sum(sqs_messages_visible{queue!~"^(?:size)$"})`,
			Timestamp: `min(timestamp(sqs_messages_visible{queue!~"^(?:size)$"}))`}},
		{"exists", seriesRule, "queue", Queries{
			Value:     `sum(sqs_messages_visible{queue!=""})`,
			Timestamp: `min(timestamp(sqs_messages_visible{queue!=""}))`}},
		{"does not exist", seriesRule, "!region", Queries{
			Value:     `sum(sqs_messages_visible{region=""})`,
			Timestamp: `min(timestamp(sqs_messages_visible{region=""}))`}},
		{"several, in key order", seriesRule, "region=eu-west-1,queue=inspection", Queries{
			Value:     `sum(sqs_messages_visible{queue="inspection",region="eu-west-1"})`,
			Timestamp: `min(timestamp(sqs_messages_visible{queue="inspection",region="eu-west-1"}))`}},
		{"query rule", queryRule, "queue=inspection", Queries{
			Value:     `sum({__name__=~"sqs_messages_visible|sqs_messages_in_flight", queue="inspection"})`,
			Timestamp: `min(timestamp({__name__=~"sqs_messages_visible|sqs_messages_in_flight", queue="inspection"}))`}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			sel, err := labels.Parse(tt.selector)
			if err != nil {
				t.Fatalf("labels.Parse(%q): %v", tt.selector, err)
			}
			got, err := Build(tt.rule, sel)
			if err != nil {
				t.Fatalf("Build: %v", err)
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("queries (-want +got):\n%s", diff)
			}
		})
	}
}

func TestBuildRejects(t *testing.T) {
	tests := []struct {
		name string
		sel  func(t *testing.T) labels.Selector
		want string
	}{
		{"label not allowed", parse("team=a"), `label "team" is not allowed; allowed labels: queue, region`},
		{"kubernetes-style key", parse("app.kubernetes.io/name=x"), `label "app.kubernetes.io/name" is not a Prometheus label name`},
		{"greater than", parse("queue>3"), `operator "gt" on label "queue" is not supported`},
		{"less than", parse("queue<3"), `operator "lt" on label "queue" is not supported`},
		{"nothing selectable", func(*testing.T) labels.Selector { return labels.Nothing() }, "can never match"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			q, err := Build(seriesRule, tt.sel(t))
			var se *SelectorError
			if !errors.As(err, &se) {
				t.Fatalf("Build = %+v, %v; want a *SelectorError", q, err)
			}
			if !strings.Contains(err.Error(), tt.want) {
				t.Errorf("error %q does not contain %q", err, tt.want)
			}
		})
	}
}

func parse(s string) func(t *testing.T) labels.Selector {
	return func(t *testing.T) labels.Selector {
		t.Helper()
		sel, err := labels.Parse(s)
		if err != nil {
			t.Fatalf("labels.Parse(%q): %v", s, err)
		}
		return sel
	}
}

// matcher is one label matcher read back from generated PromQL.
type matcher struct {
	name, op, value string
}

// readMatchers is an independent reader for a PromQL matcher list: names by
// the label grammar, one of the four operators, a double-quoted literal
// (escapes honoured), separated by commas, and nothing else.
func readMatchers(s string) ([]matcher, error) {
	var out []matcher
	nameRE := regexp.MustCompile(`^[a-zA-Z_][a-zA-Z0-9_]*`)
	for len(s) > 0 {
		name := nameRE.FindString(s)
		if name == "" {
			return nil, errors.New("expected a label name at " + strconv.Quote(s))
		}
		s = s[len(name):]
		var op string
		for _, o := range []string{"=~", "!~", "!=", "="} {
			if strings.HasPrefix(s, o) {
				op = o
				break
			}
		}
		if op == "" {
			return nil, errors.New("expected an operator at " + strconv.Quote(s))
		}
		s = s[len(op):]
		if !strings.HasPrefix(s, `"`) {
			return nil, errors.New("expected a string literal at " + strconv.Quote(s))
		}
		end := 1
		for ; end < len(s); end++ {
			if s[end] == '\\' {
				end++
				continue
			}
			if s[end] == '"' {
				break
			}
		}
		if end >= len(s) {
			return nil, errors.New("unterminated string literal")
		}
		lit := s[:end+1]
		v, err := strconv.Unquote(lit)
		if err != nil {
			return nil, err
		}
		out = append(out, matcher{name, op, v})
		s = s[end+1:]
		if s == "" {
			break
		}
		if s[0] != ',' {
			return nil, errors.New("expected ',' at " + strconv.Quote(s))
		}
		s = s[1:]
		if s == "" {
			return nil, errors.New("trailing comma")
		}
	}
	return out, nil
}

// FuzzSelectorTranslation: for any selector string labels.Parse accepts,
// the query is either rejected or keeps the rule's own text (aggregation,
// series, surrounding expression) with every selector value inside one
// string literal that reads back to exactly what the selector asked for.
func FuzzSelectorTranslation(f *testing.F) {
	for _, s := range []string{
		"", "queue=inspection", "queue==a,region!=b", "queue in (a,b,c)", "queue notin (a)",
		"queue", "!queue", "region=eu-west-1", "queue>1", "team=x", `queue=a"b`,
		`queue=a})or(vector(1)`, "queue in (a.b,c-d,e_f)", "queue=x,region in (y,z),!other",
	} {
		f.Add(s)
	}
	rule := &rules.Rule{Name: "m", Series: "sqs_messages_visible", Aggregation: "max",
		Labels: []string{"queue", "region", "other"}, Namespaces: rules.NamespaceList{"*"}}
	f.Fuzz(func(t *testing.T, selector string) {
		// The API server parses (and so validates) the selector of every
		// request; a selector built without validation carries any bytes
		// as a value, which checks the escaping on its own.
		checkTranslation(t, selector, labels.SelectorFromValidatedSet(labels.Set{"queue": selector}), rule)
		sel, err := labels.Parse(selector)
		if err != nil {
			return
		}
		checkTranslation(t, selector, sel, rule)
	})
}

// checkTranslation fails t unless sel, for rule and for queryRule, is either
// rejected or translated into a query that keeps the rule's text around
// matchers reading back to exactly sel's requirements.
func checkTranslation(t *testing.T, selector string, sel labels.Selector, rule *rules.Rule) {
	t.Helper()
	for _, r := range []*rules.Rule{rule, queryRule} {
		q, err := Build(r, sel)
		if err != nil {
			var se *SelectorError
			if !errors.As(err, &se) {
				t.Fatalf("rejection is not a SelectorError: %v", err)
			}
			continue
		}
		var prefix, suffix, tsPrefix, tsSuffix string
		if r.Series != "" {
			prefix, suffix = r.Aggregation+"("+r.Series+"{", "})"
			tsPrefix, tsSuffix = "min(timestamp("+r.Series+"{", "}))"
		} else {
			prefix, suffix, _ = strings.Cut(r.Query, rules.Placeholder)
			tsPrefix, tsSuffix, _ = strings.Cut(r.TimestampQuery, rules.Placeholder)
		}
		inner, ok := cut(q.Value, prefix, suffix)
		if !ok && r.Series != "" && q.Value == r.Aggregation+"("+r.Series+")" {
			inner, ok = "", true
		}
		if !ok {
			t.Fatalf("value query %q lost the rule's text %q ... %q", q.Value, prefix, suffix)
		}
		tsInner, ok := cut(q.Timestamp, tsPrefix, tsSuffix)
		if !ok && r.Series != "" && q.Timestamp == "min(timestamp("+r.Series+"))" {
			tsInner, ok = "", true
		}
		if !ok || tsInner != inner {
			t.Fatalf("timestamp query %q does not hold the same matchers as %q", q.Timestamp, q.Value)
		}
		got, err := readMatchers(inner)
		if err != nil {
			t.Fatalf("matchers %q of selector %q: %v", inner, selector, err)
		}
		reqs, _ := sel.Requirements()
		if len(got) != len(reqs) {
			t.Fatalf("selector %q has %d requirements, query %q has %d matchers", selector, len(reqs), q.Value, len(got))
		}
		for i, req := range reqs {
			checkMatcher(t, req, got[i], r)
		}
	}
}

func cut(s, prefix, suffix string) (string, bool) {
	if !strings.HasPrefix(s, prefix) || !strings.HasSuffix(s, suffix) || len(s) < len(prefix)+len(suffix) {
		return "", false
	}
	return s[len(prefix) : len(s)-len(suffix)], true
}

func checkMatcher(t *testing.T, req labels.Requirement, m matcher, r *rules.Rule) {
	t.Helper()
	if m.name != req.Key() || !r.AllowsLabel(m.name) {
		t.Fatalf("matcher %+v for requirement %s: wrong or unallowed label", m, req.String())
	}
	values := req.Values().List()
	switch req.Operator() {
	case selection.Equals, selection.DoubleEquals, selection.NotEquals:
		wantOp := "="
		if req.Operator() == selection.NotEquals {
			wantOp = "!="
		}
		if m.op != wantOp || m.value != values[0] {
			t.Fatalf("matcher %+v for requirement %s", m, req.String())
		}
	case selection.In, selection.NotIn:
		wantOp := "=~"
		if req.Operator() == selection.NotIn {
			wantOp = "!~"
		}
		re, err := regexp.Compile(m.value)
		if m.op != wantOp || err != nil {
			t.Fatalf("matcher %+v for requirement %s: %v", m, req.String(), err)
		}
		for _, v := range values {
			if !re.MatchString(v) {
				t.Fatalf("regex %q does not match value %q", m.value, v)
			}
			if re.MatchString(v+"x") && !slices.Contains(values, v+"x") {
				t.Fatalf("regex %q is not anchored: matches %q", m.value, v+"x")
			}
		}
	case selection.Exists:
		if m.op != "!=" || m.value != "" {
			t.Fatalf("matcher %+v for requirement %s", m, req.String())
		}
	case selection.DoesNotExist:
		if m.op != "=" || m.value != "" {
			t.Fatalf("matcher %+v for requirement %s", m, req.String())
		}
	default:
		t.Fatalf("operator %s translated instead of rejected", req.Operator())
	}
}
