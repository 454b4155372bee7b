package manifests_test

import (
	"bytes"
	"encoding/json"
	"os"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// TestIAMPolicy: valid JSON with only IAM policy fields, and exactly the SQS
// calls the exporter makes, ListQueues apart for discovery.
func TestIAMPolicy(t *testing.T) {
	data, err := os.ReadFile("aws/iam-policy.json")
	if err != nil {
		t.Fatal(err)
	}
	type statement struct {
		Sid      string   `json:"Sid"`
		Effect   string   `json:"Effect"`
		Action   []string `json:"Action"`
		Resource string   `json:"Resource"`
	}
	var policy struct {
		Version   string      `json:"Version"`
		Statement []statement `json:"Statement"`
	}
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&policy); err != nil {
		t.Fatalf("aws/iam-policy.json: %v", err)
	}
	if dec.More() {
		t.Fatalf("aws/iam-policy.json: trailing data after the policy")
	}
	if policy.Version != "2012-10-17" {
		t.Errorf("Version %q, want 2012-10-17 (the only version with policy variables)", policy.Version)
	}
	got := map[string][]string{}
	for _, s := range policy.Statement {
		if s.Effect != "Allow" {
			t.Errorf("statement %s: Effect %q", s.Sid, s.Effect)
		}
		if s.Resource == "" {
			t.Errorf("statement %s: no Resource", s.Sid)
		}
		got[s.Sid] = s.Action
	}
	want := map[string][]string{
		"ReadQueueDepth": {"sqs:GetQueueAttributes", "sqs:GetQueueUrl"},
		"DiscoverQueuesByPrefixOnlyWithQueuePrefix": {"sqs:ListQueues"},
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("IAM actions by statement (-want +got):\n%s", diff)
	}
}
