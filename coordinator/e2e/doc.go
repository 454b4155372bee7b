// Package e2e tests the priority coordinator end to end on a local, real
// control plane (package internal/testenv/cluster) running the queuescale
// system (package internal/testenv/stack): real HPAs scale Deployments on
// queue depth read through the aggregator, the kube-scheduler places pods
// on KWOK nodes by their real allocatable CPU, and the coordinator binary
// runs as a separate process under the RBAC the manifests ship.
package e2e
