package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/sqs"

	"github.com/queuescale/queuescale/internal/testenv"
	"github.com/queuescale/queuescale/internal/testenv/sqsemu"
)

// These tests run the built binary, as a user or a Deployment would.

func build(t *testing.T) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
	defer cancel()
	bin, err := testenv.BuildCommand(ctx, "./cmd/sqs-exporter", t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	return bin
}

// awsEnv is an environment with static test credentials and no shared
// config, so nothing from the machine's own AWS setup is used.
func awsEnv(t *testing.T) []string {
	dir := t.TempDir()
	var env []string
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "AWS_") {
			env = append(env, kv)
		}
	}
	return append(env,
		"AWS_ACCESS_KEY_ID=test", "AWS_SECRET_ACCESS_KEY=test",
		"AWS_CONFIG_FILE="+filepath.Join(dir, "config"),
		"AWS_SHARED_CREDENTIALS_FILE="+filepath.Join(dir, "credentials"),
		"AWS_EC2_METADATA_DISABLED=true")
}

func TestBadFlagsExitBeforeServing(t *testing.T) {
	bin := build(t)
	port, err := testenv.FreePort()
	if err != nil {
		t.Fatal(err)
	}
	addr := fmt.Sprintf("127.0.0.1:%d", port)
	tests := []struct {
		name string
		args []string
		want []string
	}{
		{"no queues", []string{"--listen-address", addr}, []string{"no queues"}},
		{"everything wrong", []string{"--listen-address", addr, "--queue", "https://sqs.us-east-1.amazonaws.com/orders",
			"--region", "useast1", "--discovery-interval", "0s", "--min-refresh-interval", "-1s", "--concurrency", "0"},
			[]string{`queue URL "https://sqs.us-east-1.amazonaws.com/orders" is invalid`, `--region "useast1"`,
				"--discovery-interval must be positive", "--min-refresh-interval must be positive", "--concurrency must be at least 1"}},
		{"unknown flag", []string{"--queue", "a", "--queues", "b"}, []string{"unknown flag: --queues"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
			defer cancel()
			cmd := exec.CommandContext(ctx, bin, tc.args...)
			cmd.Env = awsEnv(t)
			out, err := cmd.CombinedOutput()
			var exitErr *exec.ExitError
			if !errors.As(err, &exitErr) || exitErr.ExitCode() == 0 {
				t.Fatalf("exit: %v, want a non-zero exit status\n%s", err, out)
			}
			for _, w := range tc.want {
				if !strings.Contains(string(out), w) {
					t.Errorf("output lacks %q:\n%s", w, out)
				}
			}
			if strings.Contains(string(out), "Serving metrics") {
				t.Errorf("served before validating:\n%s", out)
			}
		})
	}
	if c, err := net.Dial("tcp", addr); err == nil {
		c.Close()
		t.Errorf("something listens on %s after bad flags", addr)
	}
}

func TestHelpExplainsEveryFlag(t *testing.T) {
	out, err := exec.Command(build(t), "--help").CombinedOutput()
	if err != nil {
		t.Fatalf("--help: %v\n%s", err, out)
	}
	for _, want := range []string{
		"--queue stringArray", "--queue-prefix stringArray",
		"--discovery-interval duration", "(default 1m0s)",
		"--min-refresh-interval duration", "(default 10s)",
		"--concurrency int", "(default 50)",
		"--region string", "--endpoint-url string",
		"--listen-address string", `(default ":9434")`,
		"--refresh-timeout duration", "--scrape-timeout-offset duration", "--shutdown-timeout duration",
		"sqs:GetQueueAttributes",
	} {
		if !strings.Contains(string(out), want) {
			t.Errorf("--help lacks %q", want)
		}
	}
}

func TestServesMetricsAndStopsOnSIGTERM(t *testing.T) {
	bin := build(t)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	logDir := t.TempDir()
	emu, err := sqsemu.Start(ctx, logDir)
	if err != nil {
		t.Fatalf("start the SQS emulator: %v (run `make deps`)", err)
	}
	t.Cleanup(emu.Stop)
	client := sqs.New(sqs.Options{
		Region:       emu.Region,
		BaseEndpoint: aws.String(emu.Endpoint),
		Credentials:  credentials.NewStaticCredentialsProvider("test", "test", ""),
	})
	urls := map[string]string{}
	for _, name := range []string{"inspection", "size"} {
		out, err := client.CreateQueue(ctx, &sqs.CreateQueueInput{QueueName: aws.String(name)})
		if err != nil {
			t.Fatal(err)
		}
		urls[name] = aws.ToString(out.QueueUrl)
	}
	for i := range 3 {
		if _, err := client.SendMessage(ctx, &sqs.SendMessageInput{QueueUrl: aws.String(urls["inspection"]), MessageBody: aws.String(fmt.Sprint(i))}); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := client.SendMessage(ctx, &sqs.SendMessageInput{QueueUrl: aws.String(urls["size"]), MessageBody: aws.String("s"), DelaySeconds: 600}); err != nil {
		t.Fatal(err)
	}

	port, err := testenv.FreePort()
	if err != nil {
		t.Fatal(err)
	}
	base := fmt.Sprintf("http://127.0.0.1:%d", port)
	cmd := exec.Command(bin, "--queue", "inspection", "--queue", "absent", "--queue-prefix", "siz",
		"--region", emu.Region, "--endpoint-url", emu.Endpoint,
		"--listen-address", fmt.Sprintf("127.0.0.1:%d", port), "--min-refresh-interval", "5s")
	cmd.Env = awsEnv(t)
	proc, err := testenv.StartProcess("sqs-exporter", logDir, cmd)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(proc.Kill)
	dumpLog := func() {
		data, _ := os.ReadFile(proc.LogPath)
		t.Logf("exporter log:\n%s", data)
	}

	err = testenv.Poll(ctx, 100*time.Millisecond, "/healthz", func(ctx context.Context) error {
		if exited, err := proc.Exited(); exited {
			return fmt.Errorf("exporter exited: %v", err)
		}
		resp, err := http.Get(base + "/healthz")
		if err != nil {
			return err
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			return fmt.Errorf("status %s", resp.Status)
		}
		return nil
	})
	if err != nil {
		dumpLog()
		t.Fatal(err)
	}

	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, base+"/metrics", nil)
	req.Header.Set("X-Prometheus-Scrape-Timeout-Seconds", "10")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	t.Logf("GET /metrics:\n%s", body)
	for _, want := range []string{
		`sqs_messages_visible{queue="inspection"} 3`,
		`sqs_messages_in_flight{queue="inspection"} 0`,
		`sqs_messages_delayed{queue="size"} 1`,
		`sqs_queue_up{queue="inspection"} 1`,
		`sqs_queue_info{fifo="false",queue="size",url="` + urls["size"] + `"} 1`,
		`sqs_exporter_requests_total{operation="GetQueueAttributes",outcome="success"} 2`,
		`sqs_exporter_requests_total{operation="ListQueues",outcome="success"} 1`,
		`sqs_queue_up{queue="absent"} 0`,
		`sqs_exporter_requests_total{operation="GetQueueUrl",outcome="error"} 1`,
		"go_goroutines ",
	} {
		if !strings.Contains(string(body), want) {
			t.Errorf("/metrics lacks %q", want)
		}
	}
	if strings.Contains(string(body), `sqs_messages_visible{queue="absent"}`) {
		t.Error("a queue that does not exist has a depth series")
	}

	proc.Stop(15 * time.Second)
	exited, exitErr := proc.Exited()
	if !exited || exitErr != nil {
		dumpLog()
		t.Fatalf("after SIGTERM: exited=%v err=%v, want a clean exit", exited, exitErr)
	}
	if data, _ := os.ReadFile(proc.LogPath); !strings.Contains(string(data), `"Stopped"`) {
		t.Errorf("log does not say it stopped:\n%s", data)
	}
}
