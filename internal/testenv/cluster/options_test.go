package cluster_test

import (
	"context"
	"strings"
	"testing"

	"github.com/queuescale/queuescale/internal/testenv/cluster"
)

// TestStartRejectsBadOptions checks that bad options fail before anything is
// built or started, with an error naming the node and field.
func TestStartRejectsBadOptions(t *testing.T) {
	tests := []struct {
		name string
		opts cluster.Options
		want []string
	}{
		{
			name: "no dir",
			opts: cluster.Options{},
			want: []string{"Dir is required"},
		},
		{
			name: "bad quantities and duplicate name",
			opts: cluster.Options{Dir: t.TempDir(), Nodes: []cluster.Node{
				{Name: "a", CPU: "two", Memory: "1Gi"},
				{Name: "a", CPU: "1", Memory: "1Gi", Pods: "-x"},
				{CPU: "1", Memory: "1Gi"},
			}},
			want: []string{`node "a": cpu "two"`, `node "a": name used twice`, `node "a": pods "-x"`, "node 2: name is empty"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := cluster.Start(context.Background(), tt.opts)
			if err == nil {
				t.Fatal("Start succeeded, want an error")
			}
			for _, w := range tt.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q does not mention %q", err, w)
				}
			}
		})
	}
}
