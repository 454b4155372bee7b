//go:build tools

// Package tools pins KWOK, which runs the local test cluster's fake nodes.
package tools

import _ "sigs.k8s.io/kwok/pkg/kwok/cmd"
