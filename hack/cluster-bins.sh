#!/usr/bin/env bash
# Builds the local test cluster's binaries (kube-apiserver,
# kube-controller-manager, kube-scheduler, kubectl, etcd, kwok) from their Go
# modules into a cache directory keyed by version, copies KWOK's stage
# definitions next to them, and prints that directory on stdout.
# A binary already in the cache is not rebuilt, so only the first run is slow
# (several minutes on two cores; the linker needs about 3 GB of memory).
# Progress goes to stderr. Concurrent runs (parallel test packages) wait for
# each other on a lock instead of building twice.
set -euo pipefail

here=$(cd "$(dirname "$0")/.." && pwd)
cache=${QUEUESCALE_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/queuescale}

k8s_version=v1.37.2
etcd_version=v3.7.3
kwok_version=v0.8.0
dir="$cache/bin/k8s-$k8s_version-etcd-$etcd_version-kwok-$kwok_version"
mkdir -p "$dir"

binaries=(kube-apiserver kube-controller-manager kube-scheduler kubectl etcd kwok)
stages=(node/fast/node-initialize node/heartbeat/node-heartbeat pod/fast/pod-ready pod/fast/pod-complete pod/fast/pod-delete)

# complete succeeds when every binary and stage file is in the cache.
complete() {
  local name
  for name in "${binaries[@]}"; do [ -x "$dir/$name" ] || return 1; done
  for name in "${stages[@]}"; do [ -f "$dir/kwok-stages/$(basename "$name").yaml" ] || return 1; done
}

if complete; then
  echo "$dir"
  exit 0
fi

exec 9>"$dir/.lock"
if ! flock -n 9; then
  echo ">> another build of the cluster binaries is running; waiting for it" >&2
  flock 9
fi

k8s_ldflags="-s -w -X k8s.io/component-base/version.gitVersion=$k8s_version -X k8s.io/component-base/version.gitMajor=1 -X k8s.io/component-base/version.gitMinor=37"
total=$SECONDS

# build MODULE_DIR PACKAGE NAME LDFLAGS
build() {
  local module=$1 pkg=$2 name=$3 ldflags=$4
  if [ -x "$dir/$name" ]; then
    echo ">> $name is cached" >&2
    return
  fi
  echo ">> building $name ($pkg) into $dir" >&2
  local start=$SECONDS
  # A heartbeat, so a long quiet link step does not look like a hang.
  ( while sleep 30; do echo ">>   still building $name ($((SECONDS - start))s)" >&2; done ) &
  local ticker=$!
  if ! (cd "$here/tools/cluster/$module" && go build -trimpath -ldflags "$ldflags" -o "$dir/$name.partial" "$pkg"); then
    kill "$ticker" 2>/dev/null || true
    echo ">> building $name failed" >&2
    return 1
  fi
  kill "$ticker" 2>/dev/null || true
  wait "$ticker" 2>/dev/null || true
  mv "$dir/$name.partial" "$dir/$name"
  echo ">> built $name in $((SECONDS - start))s" >&2
}

build kubernetes k8s.io/kubernetes/cmd/kube-apiserver kube-apiserver "$k8s_ldflags"
build kubernetes k8s.io/kubernetes/cmd/kube-controller-manager kube-controller-manager "$k8s_ldflags"
build kubernetes k8s.io/kubernetes/cmd/kube-scheduler kube-scheduler "$k8s_ldflags"
build kubernetes k8s.io/kubernetes/cmd/kubectl kubectl "$k8s_ldflags"
build etcd go.etcd.io/etcd/server/v3 etcd "-s -w"
build kwok sigs.k8s.io/kwok/cmd/kwok kwok "-s -w -X sigs.k8s.io/kwok/pkg/consts.Version=${kwok_version#v}"

# KWOK's stage definitions (what its fake kubelet does to nodes and pods) ship
# in its module under kustomize/stage.
kwok_dir=$(cd "$here/tools/cluster/kwok" && go list -m -f '{{.Dir}}' sigs.k8s.io/kwok)
mkdir -p "$dir/kwok-stages"
for stage in "${stages[@]}"; do
  cp "$kwok_dir/kustomize/stage/$stage.yaml" "$dir/kwok-stages/$(basename "$stage").yaml"
done
chmod u+w "$dir"/kwok-stages/*.yaml
echo ">> cluster binaries ready in $((SECONDS - total))s" >&2

echo "$dir"
