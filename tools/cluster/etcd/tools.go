//go:build tools

// Package tools pins etcd, the store of the local test cluster.
package tools

import _ "go.etcd.io/etcd/server/v3/etcdmain"
