// Package e2e holds the end-to-end tests: the whole queuescale path (SQS
// emulator → exporter → Prometheus → adapter → kube-apiserver aggregator →
// HPA controller) on a local, real control plane, with faults injected by
// stopping Prometheus and the adapter. See docs/e2e.md.
package e2e
