// Command priority-coordinator runs the PriorityPolicy controller: it lowers
// the maxReplicas of low-priority HPAs while higher-priority ones need the
// shared capacity. Run it with --help for its flags.
package main

import (
	"context"
	"os"
	"os/signal"
	"syscall"

	"github.com/queuescale/queuescale/cmd/priority-coordinator/app"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, os.Interrupt)
	defer stop()
	if err := app.NewCommand().ExecuteContext(ctx); err != nil {
		os.Exit(1)
	}
}
