package stack_test

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"testing"
	"time"

	"k8s.io/metrics/pkg/apis/external_metrics/v1beta1"

	"github.com/queuescale/queuescale/internal/testenv"
	"github.com/queuescale/queuescale/internal/testenv/cluster"
	"github.com/queuescale/queuescale/internal/testenv/stack"
)

// TestStackServesQueueDepthThroughAggregator brings the whole system up and
// reads a queue's depth the way an HPA does: from the kube-apiserver, which
// proxies to the adapter through the APIService.
func TestStackServesQueueDepthThroughAggregator(t *testing.T) {
	// Long enough for a first run that builds the cluster binaries.
	ctx, cancel := context.WithTimeout(context.Background(), 40*time.Minute)
	defer cancel()
	c := cluster.StartForTest(ctx, t, cluster.Options{Progress: os.Stderr})
	s := stack.StartForTest(ctx, t, stack.Options{Cluster: c, Queues: []string{"smoke"}, Progress: os.Stderr})

	if err := s.SendMessages(ctx, "smoke", 3); err != nil {
		t.Fatal(err)
	}
	path := stack.ExternalMetricsPath + "/namespaces/default/sqs_messages_visible"
	waitCtx, waitCancel := context.WithTimeout(ctx, 2*time.Minute)
	defer waitCancel()
	err := testenv.Poll(waitCtx, 500*time.Millisecond, "sqs_messages_visible{queue=smoke} = 3 through the aggregator", func(ctx context.Context) error {
		raw, err := c.Client.CoreV1().RESTClient().Get().AbsPath(path).Param("labelSelector", "queue=smoke").DoRaw(ctx)
		if err != nil {
			return fmt.Errorf("GET %s: %w: %s", path, err, raw)
		}
		var list v1beta1.ExternalMetricValueList
		if err := json.Unmarshal(raw, &list); err != nil {
			return err
		}
		if len(list.Items) != 1 || list.Items[0].Value.Value() != 3 {
			return fmt.Errorf("got %s", raw)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}
