package sqsemu

import (
	"context"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"
)

func TestStartServesSQSJSONProtocol(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	emu, err := Start(ctx, t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	defer emu.Stop()
	if !strings.HasPrefix(emu.Endpoint, "http://127.0.0.1:") {
		t.Fatalf("endpoint %q is not on 127.0.0.1", emu.Endpoint)
	}
	req, _ := http.NewRequestWithContext(ctx, http.MethodPost, emu.Endpoint, strings.NewReader(`{"QueueName":"smoke"}`))
	req.Header.Set("Content-Type", "application/x-amz-json-1.0")
	req.Header.Set("X-Amz-Target", "AmazonSQS.CreateQueue")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK || !strings.Contains(string(body), "/smoke") {
		t.Fatalf("CreateQueue: %s %s", resp.Status, body)
	}
	emu.Stop()
	if _, err := http.DefaultClient.Do(req.Clone(ctx)); err == nil {
		t.Fatal("emulator still answers after Stop")
	}
}
