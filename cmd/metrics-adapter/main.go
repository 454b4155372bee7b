// Command metrics-adapter serves external.metrics.k8s.io/v1beta1 from
// Prometheus for HorizontalPodAutoscalers; see docs/adapter.md.
package main

import (
	"os"

	"k8s.io/component-base/cli"

	"github.com/queuescale/queuescale/cmd/metrics-adapter/app"
)

func main() {
	os.Exit(cli.Run(app.NewCommand()))
}
