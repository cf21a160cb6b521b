#!/usr/bin/env bash
# Provisions everything the real-node lab (`npm run cluster:up -- --nodes`,
# startClusters(n, { nodes: true })) needs beyond the API-server-only harness:
#   1. Debian packages: containerd, runc, CNI plugins, iptables, conntrack (apt-get; idempotent)
#   2. kubelet, kube-proxy, kube-controller-manager, kube-scheduler (scripts/control-plane.sh --nodes:
#      same cache, same PLEXUS_K8S_BIN / KUBEBUILDER_ASSETS rules as kube-apiserver)
#   3. images, built locally because no registry is reachable, as docker-archive tars in
#      ${PLEXUS_CACHE_DIR:-~/.cache/plexus}/images/ (imported into each node's containerd):
#        plexus.local/pause       a static build of scripts/lab-images/pause.c
#        plexus.local/coredns     the cached coredns binary (the cluster DNS)
#        plexus.local/lab-tools   dash, curl, dig/nslookup, OpenBSD nc, busybox httpd and coreutils
# Prints progress to stderr and, on success, the images directory on stdout (last line).
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
# shellcheck source=control-plane.versions
source "$here/control-plane.versions"
cache_root="${PLEXUS_CACHE_DIR:-$HOME/.cache/plexus}"
images_dir="$cache_root/images"

log() { printf '[real-nodes] %s\n' "$*" >&2; }
die() { printf '[real-nodes] error: %s\n' "$*" >&2; exit 1; }

[ "$(id -u)" = 0 ] || die "the real-node lab needs root (network namespaces, cgroups, mounts)"

# --- 1. Debian packages ---------------------------------------------------------------
packages=(containerd runc containernetworking-plugins iptables conntrack busybox-static dnsutils netcat-openbsd curl gcc libc6-dev)
# shellcheck source=debian-packages.sh
source "$here/debian-packages.sh"
ensure_debian_packages "${packages[@]}"

# --- 2. node binaries -------------------------------------------------------------------
bin_dir="$(bash "$here/control-plane.sh" --nodes | tail -n 1)"

# --- 3. images --------------------------------------------------------------------------
mkdir -p "$images_dir"

# shellcheck source=lab-images/docker-archive.sh
source "$here/lab-images/docker-archive.sh"

image_tar() { echo "$images_dir/$1-$2.tar"; }

pause_tar="$(image_tar pause "$LAB_PAUSE_TAG")"
if [ ! -f "$pause_tar" ]; then
  root="$(new_rootfs)"
  gcc -static -O2 -o "$root/pause" "$here/lab-images/pause.c"
  strip "$root/pause"
  write_image "$root" "plexus.local/pause:$LAB_PAUSE_TAG" "$pause_tar" '"Entrypoint":["/pause"]' 65535
  rm -rf "$root"
fi

coredns_tar="$(image_tar coredns "$COREDNS_VERSION")"
if [ ! -f "$coredns_tar" ]; then
  root="$(new_rootfs)"
  cp -L "$bin_dir/coredns" "$root/coredns"
  write_image "$root" "plexus.local/coredns:$COREDNS_VERSION" "$coredns_tar" '"Entrypoint":["/coredns"]' 65534
  rm -rf "$root"
fi

tools_tar="$(image_tar lab-tools "$LAB_TOOLS_TAG")"
if [ ! -f "$tools_tar" ]; then
  root="$(new_rootfs)"
  copy_with_libs "$root" /usr/bin/dash /usr/bin/curl /usr/bin/dig /usr/bin/nslookup /usr/bin/nc.openbsd /usr/bin/busybox
  ln -s dash "$root/usr/bin/sh"
  ln -s nc.openbsd "$root/usr/bin/nc"
  # busybox for the everyday tools and a static-file HTTP server; never its wget or nc
  # (Debian's busybox-static wget segfaults; its nc lacks -v and -4).
  for a in cat cp date echo env false grep head hostname httpd id ip kill ls mkdir mv printf ps rm sed seq sleep sort tail timeout touch tr true uname wc; do
    ln -s busybox "$root/usr/bin/$a"
  done
  [ -f /etc/ssl/certs/ca-certificates.crt ] && cp -L --parents /etc/ssl/certs/ca-certificates.crt "$root"
  # Cmd, not Entrypoint: `kubectl run … -- httpd -f -p 8080` replaces it whole.
  write_image "$root" "plexus.local/lab-tools:$LAB_TOOLS_TAG" "$tools_tar" '"Cmd":["/bin/sh"]' 0
  rm -rf "$root"
fi

log "ready: $images_dir"
echo "$images_dir"
