// Package manifests holds no code: its tests check the kustomize manifests,
// the Prometheus rules, the Grafana dashboard and the IAM policy in this
// directory (every build renders, every object decodes strictly, every alert
// has a unit test, every dashboard query parses and names real metrics).
package manifests
