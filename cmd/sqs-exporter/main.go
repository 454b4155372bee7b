// Command sqs-exporter exposes the depth of Amazon SQS queues as Prometheus
// metrics. Run it with --help for its flags.
package main

import (
	"context"
	"os"
	"os/signal"
	"syscall"

	"github.com/queuescale/queuescale/cmd/sqs-exporter/app"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, os.Interrupt)
	defer stop()
	if err := app.NewCommand().ExecuteContext(ctx); err != nil {
		os.Exit(1)
	}
}
