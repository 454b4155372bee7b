// Command queuescale-demo runs the whole queuescale system on a local, real
// control plane and plays a queue burst on it. `make demo` runs it; see
// --help and docs/demo.md.
package main

import (
	"context"
	"os"
	"os/signal"
	"syscall"

	"github.com/queuescale/queuescale/cmd/queuescale-demo/app"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, os.Interrupt)
	defer stop()
	if err := app.NewCommand().ExecuteContext(ctx); err != nil {
		os.Exit(1)
	}
}
