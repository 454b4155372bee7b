// Command queuescale-sim compares scaling policies for queue workers on a
// shared pool of nodes. Run it with --help for its flags.
package main

import (
	"context"
	"os"
	"os/signal"
	"syscall"

	"github.com/queuescale/queuescale/cmd/queuescale-sim/app"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, os.Interrupt)
	defer stop()
	if err := app.NewCommand().ExecuteContext(ctx); err != nil {
		os.Exit(1)
	}
}
