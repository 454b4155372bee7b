#!/usr/bin/env bash
# Builds the local test cluster's binaries (kube-apiserver,
# kube-controller-manager, kube-scheduler, kubectl, etcd, kwok) from their Go
# modules into a cache directory keyed by version, and prints that directory.
# A binary already in the cache is not rebuilt, so only the first run is slow
# (several minutes on two cores; the linker needs about 3 GB of memory).
set -euo pipefail

here=$(cd "$(dirname "$0")/.." && pwd)
cache=${QUEUESCALE_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/queuescale}

k8s_version=v1.37.2
etcd_version=v3.7.3
kwok_version=v0.8.0
dir="$cache/bin/k8s-$k8s_version-etcd-$etcd_version-kwok-$kwok_version"
mkdir -p "$dir"

k8s_ldflags="-s -w -X k8s.io/component-base/version.gitVersion=$k8s_version -X k8s.io/component-base/version.gitMajor=1 -X k8s.io/component-base/version.gitMinor=37"

# build MODULE_DIR PACKAGE NAME LDFLAGS
build() {
  local module=$1 pkg=$2 name=$3 ldflags=$4
  if [ -x "$dir/$name" ]; then
    return
  fi
  echo ">> building $name ($pkg) into $dir" >&2
  local start=$SECONDS
  (cd "$here/tools/cluster/$module" && go build -trimpath -ldflags "$ldflags" -o "$dir/$name.partial" "$pkg")
  mv "$dir/$name.partial" "$dir/$name"
  echo ">> built $name in $((SECONDS - start))s" >&2
}

build kubernetes k8s.io/kubernetes/cmd/kube-apiserver kube-apiserver "$k8s_ldflags"
build kubernetes k8s.io/kubernetes/cmd/kube-controller-manager kube-controller-manager "$k8s_ldflags"
build kubernetes k8s.io/kubernetes/cmd/kube-scheduler kube-scheduler "$k8s_ldflags"
build kubernetes k8s.io/kubernetes/cmd/kubectl kubectl "$k8s_ldflags"
build etcd go.etcd.io/etcd/server/v3 etcd "-s -w"
build kwok sigs.k8s.io/kwok/cmd/kwok kwok "-s -w -X sigs.k8s.io/kwok/pkg/consts.Version=${kwok_version#v}"

echo "$dir"
