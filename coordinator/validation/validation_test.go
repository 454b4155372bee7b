package validation

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/queuescale/queuescale/coordinator/api/v1alpha1"
	"sigs.k8s.io/yaml"
)

func TestSpec(t *testing.T) {
	tests := []struct {
		name    string
		spec    string
		wantErr string // substring; empty means valid
	}{
		{"selector", `{tiers: [{hpa: inspector}, {hpa: size}], capacity: {nodeSelector: {matchLabels: {queuescale.io/pool: workers}}}}`, ""},
		{"budget", `{tiers: [{hpa: a}, {hpa: b}, {hpa: c}], capacity: {budget: {cpu: "4"}}, dryRun: true}`, ""},
		{"one tier", `{tiers: [{hpa: a}], capacity: {budget: {cpu: "4"}}}`, "spec.tiers: need 2"},
		{"no tiers", `{capacity: {budget: {cpu: "4"}}}`, "spec.tiers: need 2"},
		{"duplicate", `{tiers: [{hpa: a}, {hpa: a}], capacity: {budget: {cpu: "4"}}}`, `spec.tiers[1].hpa: "a" is already tier 0`},
		{"bad name", `{tiers: [{hpa: A_B}, {hpa: a}], capacity: {budget: {cpu: "4"}}}`, `spec.tiers[0].hpa: "A_B"`},
		{"both pools", `{tiers: [{hpa: a}, {hpa: b}], capacity: {budget: {cpu: "4"}, nodeSelector: {}}}`, "exactly one"},
		{"no pool", `{tiers: [{hpa: a}, {hpa: b}], capacity: {}}`, "exactly one"},
		{"empty budget", `{tiers: [{hpa: a}, {hpa: b}], capacity: {budget: {}}}`, "spec.capacity.budget: name cpu"},
		{"negative budget", `{tiers: [{hpa: a}, {hpa: b}], capacity: {budget: {memory: "-1Gi"}}}`, "spec.capacity.budget.memory: -1Gi is negative"},
		{"bad selector", `{tiers: [{hpa: a}, {hpa: b}], capacity: {nodeSelector: {matchExpressions: [{key: k, operator: Bogus}]}}}`, "spec.capacity.nodeSelector"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var spec v1alpha1.PriorityPolicySpec
			if err := yaml.UnmarshalStrict([]byte(tt.spec), &spec); err != nil {
				t.Fatalf("test spec does not decode: %v", err)
			}
			err := Spec(&spec)
			switch {
			case tt.wantErr == "" && err != nil:
				t.Errorf("Spec() = %v, want valid", err)
			case tt.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tt.wantErr)):
				t.Errorf("Spec() = %v, want an error containing %q", err, tt.wantErr)
			}
		})
	}
}

// FuzzSpec decodes arbitrary policy specs: validation never panics, and a
// spec it accepts has what the controller relies on.
func FuzzSpec(f *testing.F) {
	f.Add(`{"tiers":[{"hpa":"inspector"},{"hpa":"size"}],"capacity":{"nodeSelector":{"matchLabels":{"queuescale.io/pool":"workers"}}}}`)
	f.Add(`{"tiers":[{"hpa":"a"},{"hpa":"a"}],"capacity":{"budget":{"cpu":"4","memory":"8Gi"}}}`)
	f.Add(`{"tiers":[{"hpa":"a"},{"hpa":"b"}],"capacity":{"nodeSelector":{"matchExpressions":[{"key":"k","operator":"In","values":["v"]}]}}}`)
	f.Fuzz(func(t *testing.T, data string) {
		var spec v1alpha1.PriorityPolicySpec
		if json.Unmarshal([]byte(data), &spec) != nil {
			return
		}
		if Spec(&spec) != nil {
			return
		}
		if len(spec.Tiers) < 2 {
			t.Fatalf("accepted %d tiers", len(spec.Tiers))
		}
		names := map[string]bool{}
		for _, tr := range spec.Tiers {
			if names[tr.HPA] || tr.HPA == "" {
				t.Fatalf("accepted duplicate or empty hpa %q", tr.HPA)
			}
			names[tr.HPA] = true
		}
		if (spec.Capacity.NodeSelector == nil) == (spec.Capacity.Budget == nil) {
			t.Fatalf("accepted capacity %+v", spec.Capacity)
		}
	})
}
