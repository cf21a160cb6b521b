#!/usr/bin/env bash
# Provisions kube-apiserver, kubectl, etcd and coredns for the pinned releases into a
# cache outside the repository; with --nodes also kubelet, kube-proxy,
# kube-controller-manager and kube-scheduler (the real-node lab; scripts/real-nodes.sh).
# Sources, in order of preference:
#   1. PLEXUS_K8S_BIN       a directory that already holds the binaries
#   2. KUBEBUILDER_ASSETS   an envtest asset directory (kube-apiserver, etcd, kubectl)
#   3. the cache            ${PLEXUS_CACHE_DIR:-~/.cache/plexus}/k8s/v<K8S_VERSION>/
# Anything not found is built from Go modules with the machine's Go toolchain, in a
# throwaway module. Idempotent: a warm cache returns in well under a second.
# Prints progress to stderr and, on success, the directory that holds every binary on
# stdout (last line). Exits non-zero with the reason when a binary cannot be provided.
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
# shellcheck source=control-plane.versions
source "$here/control-plane.versions"

cache_root="${PLEXUS_CACHE_DIR:-$HOME/.cache/plexus}"
bin_dir="$cache_root/k8s/v$K8S_VERSION"
work_root="$cache_root/build"
mkdir -p "$bin_dir" "$work_root"

log() { printf '[control-plane] %s\n' "$*" >&2; }
die() { printf '[control-plane] error: %s\n' "$*" >&2; exit 1; }

command -v go >/dev/null || die "Go toolchain not found on PATH; install Go >= 1.24 or set PLEXUS_K8S_BIN to a directory holding kube-apiserver, kubectl and etcd"

# Link a binary from an external directory into the cache so that every consumer looks
# in one place. Returns 0 when linked.
adopt() {
  local name="$1" from="$2"
  [ -n "$from" ] && [ -x "$from/$name" ] || return 1
  ln -sfn "$(cd "$from" && pwd)/$name" "$bin_dir/$name"
  log "$name: using $from/$name"
}

# Build with a heartbeat so that long builds show they are alive.
run_with_progress() {
  local what="$1"; shift
  local logf="$work_root/$what.log" start=$SECONDS
  ( "$@" ) >"$logf" 2>&1 &
  local pid=$!
  while kill -0 "$pid" 2>/dev/null; do
    sleep 15
    kill -0 "$pid" 2>/dev/null && log "$what: still building ($((SECONDS - start))s elapsed)"
  done
  if ! wait "$pid"; then
    tail -n 40 "$logf" >&2
    die "$what: build failed; full log in $logf"
  fi
  log "$what: built in $((SECONDS - start))s"
}

# A throwaway module that requires $1@$2 and builds package $3 to $bin_dir/$4.
build_go_main() {
  local mod="$1" ver="$2" pkg="$3" out="$4" ldflags="${5:-}"
  local dir="$work_root/$out"
  rm -rf "$dir" && mkdir -p "$dir"
  cd "$dir"
  go mod init plexus.local/build/"$out" >/dev/null 2>&1
  printf 'package main\n\nimport _ "%s"\n' "$pkg" > tools.go
  # k8s.io/kubernetes pins its staging modules at v0.0.0: map each to its published tag.
  if [ "$mod" = "k8s.io/kubernetes" ]; then
    go mod download -json "$mod@$ver" >/dev/null
    local gomod
    gomod="$(go env GOMODCACHE)/cache/download/k8s.io/kubernetes/@v/$ver.mod"
    [ -f "$gomod" ] || die "cannot read go.mod of $mod@$ver"
    local staged
    staged=$(grep -oE '^\s*k8s\.io/[a-z0-9-]+ => \./staging/' "$gomod" | awk '{print $1}' | sort -u)
    [ -n "$staged" ] || die "found no staging modules in $gomod"
    local minor_patch="${ver#v1.}"
    for m in $staged; do go mod edit -replace "$m=$m@v0.$minor_patch"; done
  fi
  go mod edit -require "$mod@$ver"
  GOFLAGS=-mod=mod go mod tidy
  CGO_ENABLED=0 go build -trimpath -ldflags "-s -w $ldflags" -o "$bin_dir/$out.tmp" "$pkg"
  mv -f "$bin_dir/$out.tmp" "$bin_dir/$out"
  cd - >/dev/null
}

k8s_ldflags() {
  local v="v$K8S_VERSION" major minor
  major="${K8S_VERSION%%.*}"; minor="$(echo "$K8S_VERSION" | cut -d. -f2)"
  local f=""
  for p in k8s.io/component-base/version k8s.io/client-go/pkg/version; do
    f+=" -X $p.gitVersion=$v -X $p.gitMajor=$major -X $p.gitMinor=$minor -X $p.gitTreeState=clean -X $p.buildDate=1970-01-01T00:00:00Z"
  done
  echo "$f"
}

provide() {
  local name="$1"
  # Builds land under a temporary name and are renamed, so an executable here is whole.
  [ -x "$bin_dir/$name" ] && return 0
  adopt "$name" "${PLEXUS_K8S_BIN:-}" && return 0
  case "$name" in kube-apiserver|etcd|kubectl) adopt "$name" "${KUBEBUILDER_ASSETS:-}" && return 0 ;; esac
  log "$name: not cached; building from Go modules (first run only; takes several minutes)"
  case "$name" in
    kube-apiserver) run_with_progress "$name" build_go_main k8s.io/kubernetes "v$K8S_VERSION" k8s.io/kubernetes/cmd/kube-apiserver kube-apiserver "$(k8s_ldflags)" ;;
    kubectl)        run_with_progress "$name" build_go_main k8s.io/kubernetes "v$K8S_VERSION" k8s.io/kubernetes/cmd/kubectl kubectl "$(k8s_ldflags)" ;;
    etcd)           run_with_progress "$name" build_go_main go.etcd.io/etcd/server/v3 "v$ETCD_VERSION" go.etcd.io/etcd/server/v3 etcd ;;
    coredns)        run_with_progress "$name" build_go_main github.com/coredns/coredns "v$COREDNS_VERSION" github.com/coredns/coredns coredns ;;
    kubelet|kube-proxy|kube-controller-manager|kube-scheduler)
                    run_with_progress "$name" build_go_main k8s.io/kubernetes "v$K8S_VERSION" "k8s.io/kubernetes/cmd/$name" "$name" "$(k8s_ldflags)" ;;
    *)              die "unknown binary $name" ;;
  esac
}

wanted=(etcd kube-apiserver kubectl coredns)
case "${1:-}" in
  "") ;;
  --nodes) wanted+=(kubelet kube-proxy kube-controller-manager kube-scheduler) ;;
  *) die "unknown argument ${1}; usage: control-plane.sh [--nodes]" ;;
esac

for b in "${wanted[@]}"; do provide "$b"; done
for b in "${wanted[@]}"; do
  [ -x "$bin_dir/$b" ] || die "$b missing from $bin_dir after provisioning"
done
log "ready: $bin_dir"
echo "$bin_dir"
