package exporter

import (
	"context"
	"encoding/json"
	"net"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/aws/aws-sdk-go-v2/service/sqs"
)

// sqsJSONServer is an HTTP server on 127.0.0.1 that speaks the AWS JSON 1.0
// protocol of SQS, answering each call with answer, so the real SDK client
// (signing, serialisation, error parsing, retries) can be tested against
// behaviour the emulator cannot produce.
type sqsJSONServer struct {
	URL string

	mu       sync.Mutex
	calls    map[string]int // by "Operation" and "Operation queue-url"
	newConns int            // TCP connections accepted
}

// sqsAnswer is an HTTP status and a JSON body; errors carry the SQS error
// code in __type and, for errors that had another name in the old query
// protocol, that name in the x-amzn-query-error header (which the SDK then
// reports as the error code), as SQS does.
type sqsAnswer struct {
	status int
	body   any
	code   string
}

// legacyQueryCodes are the query-protocol names SQS still sends for errors.
var legacyQueryCodes = map[string]string{"QueueDoesNotExist": "AWS.SimpleQueueService.NonExistentQueue"}

func sqsOK(body any) sqsAnswer { return sqsAnswer{status: http.StatusOK, body: body} }

func sqsFail(status int, code string) sqsAnswer {
	return sqsAnswer{status: status, code: code, body: map[string]string{
		"__type":  "com.amazonaws.sqs#" + code,
		"message": code + " (from the test server)",
	}}
}

func startSQSJSONServer(t testing.TB, answer func(op string, req map[string]any) sqsAnswer) *sqsJSONServer {
	t.Helper()
	s := &sqsJSONServer{calls: make(map[string]int)}
	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		op, ok := strings.CutPrefix(r.Header.Get("X-Amz-Target"), "AmazonSQS.")
		if !ok || !strings.HasPrefix(r.Header.Get("Authorization"), "AWS4-HMAC-SHA256 ") {
			http.Error(w, "not a signed SQS JSON request", http.StatusBadRequest)
			return
		}
		var req map[string]any
		if err := json.NewDecoder(r.Body).Decode(&req); err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		s.mu.Lock()
		s.calls[op]++
		if u, ok := req["QueueUrl"].(string); ok {
			s.calls[op+" "+u]++
		}
		s.mu.Unlock()
		a := answer(op, req)
		w.Header().Set("Content-Type", "application/x-amz-json-1.0")
		if legacy, ok := legacyQueryCodes[a.code]; ok {
			w.Header().Set("x-amzn-query-error", legacy+";Sender")
		}
		w.WriteHeader(a.status)
		_ = json.NewEncoder(w).Encode(a.body)
	}))
	srv.Config.ConnState = func(_ net.Conn, state http.ConnState) {
		if state == http.StateNew {
			s.mu.Lock()
			s.newConns++
			s.mu.Unlock()
		}
	}
	srv.Start()
	t.Cleanup(srv.Close)
	s.URL = srv.URL
	return s
}

func (s *sqsJSONServer) count(key string) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.calls[key]
}

func (s *sqsJSONServer) connections() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.newConns
}

// newSDKClient is the production client (NewClient: default credential
// chain, standard retryer) pointed at endpoint, with static credentials from
// the environment and no shared config files.
func newSDKClient(t testing.TB, endpoint string, concurrency int) *sqs.Client {
	t.Helper()
	dir := t.TempDir()
	t.Setenv("AWS_ACCESS_KEY_ID", "test")
	t.Setenv("AWS_SECRET_ACCESS_KEY", "test")
	t.Setenv("AWS_CONFIG_FILE", filepath.Join(dir, "config"))
	t.Setenv("AWS_SHARED_CREDENTIALS_FILE", filepath.Join(dir, "credentials"))
	t.Setenv("AWS_EC2_METADATA_DISABLED", "true")
	client, err := NewClient(context.Background(), ClientOptions{Region: "us-east-1", EndpointURL: endpoint, MaxConnsPerHost: concurrency})
	if err != nil {
		t.Fatal(err)
	}
	return client
}
