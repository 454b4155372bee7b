package integration

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	sqstypes "github.com/aws/aws-sdk-go-v2/service/sqs/types"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/queuescale/queuescale/adapter/rules"
	"github.com/queuescale/queuescale/internal/testenv"
)

const maxSampleAge = 5 * time.Second

func TestAdapterAgainstPrometheusAndExporter(t *testing.T) {
	if testing.Short() {
		t.Skip("integration test: starts the SQS emulator, the exporter, Prometheus and the adapter")
	}
	e := startEnv(t, envOptions{queues: []string{"inspection", "size"}, maxSampleAge: maxSampleAge, cacheTTL: 500 * time.Millisecond})
	ctx, cancel := context.WithTimeout(context.Background(), 8*time.Minute)
	defer cancel()
	inspection := queueURL(ctx, t, e, "inspection")

	// waitValue polls until the adapter answers want for metric and selector.
	waitValue := func(t *testing.T, metric, selector string, want float64) {
		t.Helper()
		ctx, cancel := context.WithTimeout(ctx, 90*time.Second)
		defer cancel()
		err := testenv.Poll(ctx, 250*time.Millisecond, fmt.Sprintf("%s{%s} = %v", metric, selector, want), func(ctx context.Context) error {
			got, ts, err := e.value(ctx, metric, selector)
			if err != nil {
				return err
			}
			if got != want {
				return fmt.Errorf("got %v", got)
			}
			if age := time.Since(ts); age < -time.Second || age > maxSampleAge {
				return fmt.Errorf("timestamp %s is not the recent sample's own (age %s)", ts, age)
			}
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
	}
	// waitError polls until the adapter fails the request with code, and
	// checks it never answered with a value meanwhile being 0.
	waitError := func(t *testing.T, metric, selector string, code int, contains string) {
		t.Helper()
		ctx, cancel := context.WithTimeout(ctx, 90*time.Second)
		defer cancel()
		err := testenv.Poll(ctx, 250*time.Millisecond, fmt.Sprintf("%s{%s} to fail with %d", metric, selector, code), func(ctx context.Context) error {
			got, _, err := e.value(ctx, metric, selector)
			var se *statusError
			if !errors.As(err, &se) {
				return fmt.Errorf("answered %v, %v", got, err)
			}
			if se.code != code || !strings.Contains(se.body, contains) {
				return se
			}
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
	}

	t.Run("list names every rule's metric", func(t *testing.T) {
		code, body, err := e.get(ctx, e.client, "/apis/external.metrics.k8s.io/v1beta1")
		if err != nil || code != http.StatusOK {
			t.Fatalf("list: %d %s %v", code, body, err)
		}
		var list metav1.APIResourceList
		if err := json.Unmarshal(body, &list); err != nil {
			t.Fatal(err)
		}
		var names []string
		for _, r := range list.APIResources {
			names = append(names, r.Name)
		}
		for _, want := range []string{"sqs_backlog", "sqs_messages_visible", "sqs_messages_in_flight", "sqs_messages_delayed"} {
			if !slices.Contains(names, want) {
				t.Errorf("list %v lacks %s", names, want)
			}
		}
	})

	t.Run("authentication and authorization are enforced", func(t *testing.T) {
		code, body, err := e.get(ctx, e.anon, metricPath("default", "sqs_backlog", "queue=inspection"))
		if err != nil {
			t.Fatal(err)
		}
		// Anonymous: not in an always-allowed group, so the library asks
		// the kube-apiserver with a SubjectAccessReview; there is none in
		// this tier, so the request is refused (500 naming the review).
		refused := code == http.StatusForbidden || code == http.StatusUnauthorized ||
			(code == http.StatusInternalServerError && strings.Contains(string(body), "subjectaccessreviews"))
		if !refused {
			t.Fatalf("anonymous request answered %d, want it refused by delegated authorization: %s", code, body)
		}
	})

	t.Run("backlog follows the queue", func(t *testing.T) {
		waitValue(t, "sqs_backlog", "queue=inspection", 0)
		send(ctx, t, e, inspection, 5)
		waitValue(t, "sqs_backlog", "queue=inspection", 5)
		waitValue(t, "sqs_messages_visible", "queue=inspection", 5)
		received := receive(ctx, t, e, inspection, 2)
		waitValue(t, "sqs_messages_in_flight", "queue=inspection", 2)
		waitValue(t, "sqs_messages_visible", "queue=inspection", 3)
		waitValue(t, "sqs_backlog", "queue=inspection", 5)
		for _, h := range received {
			if _, err := e.sqs.DeleteMessage(ctx, &sqs.DeleteMessageInput{QueueUrl: aws.String(inspection), ReceiptHandle: h}); err != nil {
				t.Fatal(err)
			}
		}
		waitValue(t, "sqs_backlog", "queue=inspection", 3)
		send(ctx, t, e, inspection, 4)
		waitValue(t, "sqs_backlog", "queue=inspection", 7)
		// Selectors: the size queue is separate, in() sums both.
		send(ctx, t, e, queueURL(ctx, t, e, "size"), 1)
		waitValue(t, "sqs_backlog", "queue=size", 1)
		waitValue(t, "sqs_backlog", "queue in (inspection,size)", 8)
		waitValue(t, "sqs_backlog", "queue notin (size)", 7)
	})

	t.Run("bad selector is a 400", func(t *testing.T) {
		waitError(t, "sqs_backlog", "team=a", http.StatusBadRequest, `label \"team\" is not allowed`)
	})

	t.Run("unknown metric is a 404", func(t *testing.T) {
		waitError(t, "no_such_metric", "queue=inspection", http.StatusNotFound, "no_such_metric")
	})

	t.Run("absent series is an error, not 0", func(t *testing.T) {
		waitError(t, "sqs_backlog", "queue=no-such-queue", http.StatusNotFound, "no data")
	})

	t.Run("Prometheus stopped is an error; list and health still served", func(t *testing.T) {
		e.prom.Stop()
		waitError(t, "sqs_backlog", "queue=inspection", http.StatusServiceUnavailable, "unable to read metric sqs_backlog from Prometheus")
		for _, path := range []string{"/apis/external.metrics.k8s.io/v1beta1", "/livez", "/readyz"} {
			if code, body, err := e.get(ctx, e.client, path); err != nil || code != http.StatusOK {
				t.Errorf("%s while Prometheus is down: %d %s %v", path, code, body, err)
			}
		}
		if err := e.prom.Start(ctx); err != nil {
			t.Fatal(err)
		}
		waitValue(t, "sqs_backlog", "queue=inspection", 7)
	})

	t.Run("stale samples are an error, not the old value", func(t *testing.T) {
		// Stopping Prometheus before the exporter keeps the last samples
		// without staleness markers; once restarted without a target to
		// scrape, they are still there but older than --max-sample-age.
		e.prom.Stop()
		e.exporter.Stop(5 * time.Second)
		time.Sleep(maxSampleAge + time.Second)
		if err := e.prom.Start(ctx); err != nil {
			t.Fatal(err)
		}
		waitError(t, "sqs_backlog", "queue=inspection", http.StatusServiceUnavailable, "is stale")
		e.startExporter(t)
		waitValue(t, "sqs_backlog", "queue=inspection", 7)
	})

	t.Run("exporter gone: series absent, error", func(t *testing.T) {
		e.exporter.Stop(5 * time.Second)
		waitError(t, "sqs_backlog", "queue=inspection", http.StatusNotFound, "no data")
		e.startExporter(t)
		waitValue(t, "sqs_backlog", "queue=inspection", 7)
	})

	t.Run("rules reload without a restart; an invalid file keeps the last good rules", func(t *testing.T) {
		listed := func(ctx context.Context) ([]string, error) {
			code, body, err := e.get(ctx, e.client, "/apis/external.metrics.k8s.io/v1beta1")
			if err != nil || code != http.StatusOK {
				return nil, fmt.Errorf("list: %d %s %v", code, body, err)
			}
			var list metav1.APIResourceList
			if err := json.Unmarshal(body, &list); err != nil {
				return nil, err
			}
			var names []string
			for _, r := range list.APIResources {
				names = append(names, r.Name)
			}
			return names, nil
		}
		extra := string(rules.DefaultYAML) + `- name: sqs_visible_max
  series: sqs_messages_visible
  aggregation: max
  labels: [queue]
  namespaces: [default]
`
		writeFile(t, e.rulesFile+".tmp", extra)
		if err := os.Rename(e.rulesFile+".tmp", e.rulesFile); err != nil {
			t.Fatal(err)
		}
		pollCtx, cancel := context.WithTimeout(ctx, 60*time.Second)
		defer cancel()
		err := testenv.Poll(pollCtx, 200*time.Millisecond, "the new metric to be listed", func(ctx context.Context) error {
			names, err := listed(ctx)
			if err != nil {
				return err
			}
			if !slices.Contains(names, "sqs_visible_max") {
				return fmt.Errorf("listed %v", names)
			}
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
		waitValue(t, "sqs_visible_max", "queue=inspection", 7)

		writeFile(t, e.rulesFile, "rules:\n- name: sqs_backlog\n  aggregation: median\n")
		err = testenv.Poll(pollCtx, 200*time.Millisecond, "the failed reload to show in /metrics", func(ctx context.Context) error {
			_, body, err := e.get(ctx, e.client, "/metrics")
			if err != nil {
				return err
			}
			if !strings.Contains(string(body), "queuescale_adapter_rules_last_reload_success 0") ||
				!strings.Contains(string(body), `queuescale_adapter_rules_reloads_total{outcome="error"} 1`) {
				return errors.New("not yet")
			}
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
		if names, err := listed(ctx); err != nil || !slices.Contains(names, "sqs_visible_max") {
			t.Errorf("after an invalid file the last good rules must stay: %v %v", names, err)
		}
		waitValue(t, "sqs_visible_max", "queue=inspection", 7)
		data, _ := os.ReadFile(filepath.Join(e.dir, "logs", "metrics-adapter.log"))
		if !strings.Contains(string(data), `keeping the last good rules`) || !strings.Contains(string(data), `field series`) {
			t.Errorf("adapter log does not say the reload failed and why")
		}
		writeFile(t, e.rulesFile, string(rules.DefaultYAML))
	})

	t.Run("self-metrics on the library's /metrics", func(t *testing.T) {
		code, body, err := e.get(ctx, e.client, "/metrics")
		if err != nil || code != http.StatusOK {
			t.Fatalf("/metrics: %d %v", code, err)
		}
		for _, want := range []string{
			`queuescale_adapter_requests_total{metric="sqs_backlog",outcome="success"}`,
			`queuescale_adapter_requests_total{metric="sqs_backlog",outcome="no_data"}`,
			`queuescale_adapter_requests_total{metric="sqs_backlog",outcome="stale"}`,
			`queuescale_adapter_requests_total{metric="sqs_backlog",outcome="error"}`,
			`queuescale_adapter_requests_total{metric="sqs_backlog",outcome="bad_request"}`,
			`queuescale_adapter_requests_total{metric="unknown",outcome="not_found"}`,
			`queuescale_adapter_prometheus_query_duration_seconds_count`,
			`queuescale_adapter_cache_hits_total`,
			`apiserver_request_total`,
		} {
			if !strings.Contains(string(body), want) {
				t.Errorf("/metrics lacks %s", want)
			}
		}
	})
}

func queueURL(ctx context.Context, t *testing.T, e *env, name string) string {
	t.Helper()
	out, err := e.sqs.GetQueueUrl(ctx, &sqs.GetQueueUrlInput{QueueName: aws.String(name)})
	if err != nil {
		t.Fatal(err)
	}
	return aws.ToString(out.QueueUrl)
}

func send(ctx context.Context, t *testing.T, e *env, url string, n int) {
	t.Helper()
	for i := range n {
		if _, err := e.sqs.SendMessage(ctx, &sqs.SendMessageInput{QueueUrl: aws.String(url), MessageBody: aws.String(fmt.Sprint("job ", i))}); err != nil {
			t.Fatal(err)
		}
	}
}

// receive takes n messages in flight for 10 minutes and returns their
// receipt handles.
func receive(ctx context.Context, t *testing.T, e *env, url string, n int) []*string {
	t.Helper()
	var handles []*string
	for len(handles) < n {
		out, err := e.sqs.ReceiveMessage(ctx, &sqs.ReceiveMessageInput{
			QueueUrl: aws.String(url), MaxNumberOfMessages: int32(n - len(handles)), VisibilityTimeout: 600,
			MessageSystemAttributeNames: []sqstypes.MessageSystemAttributeName{},
		})
		if err != nil {
			t.Fatal(err)
		}
		for _, m := range out.Messages {
			handles = append(handles, m.ReceiptHandle)
		}
	}
	return handles
}
