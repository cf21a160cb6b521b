#!/usr/bin/env bash
# Provisions the upstream MCS API conformance suite and the two images its pods run, for
# `npm run test:conformance` (test/conformance/run.ts):
#   1. the suite binary, built from a copy of the unmodified vendor directory
#      (../shared/vendor/mcs-api-conformance; its SOURCE.md): the `replace … => ..` line
#      is dropped so the root module sigs.k8s.io/mcs-api comes from the module proxy, then
#      `go test -c`. Cached in ${PLEXUS_CACHE_DIR:-~/.cache/plexus}/mcs-conformance/<key>/,
#      keyed on the vendor directory's content, so a changed copy is rebuilt.
#   2. the images, under the upstream names the suite's pods ask for (no registry is
#      reachable, so they are built here from Debian packages as docker-archive tars that
#      the lab imports into every node; the pods' pull policy is IfNotPresent):
#        docker.io/alpine/socat:1.7.4.4     the server pods: sh -c '… grep -E, tr, awk … socat
#                                           TCP-LISTEN/UDP-LISTEN … SYSTEM:echo …'
#        docker.io/nicolaka/netshoot:v0.15  the client pod: sh, sleep; `nslookup -type=A|AAAA|SRV`
#                                           and `echo hi | nc -v -w 2 -4 <name> <port>`
#      dash (sh), OpenBSD nc (-v, -4), dnsutils' nslookup, socat, mawk, and busybox for the
#      rest (never its wget or nc: Debian's busybox wget segfaults, its nc lacks -v/-4).
# Needs root (apt-get) and Go. Prints progress to stderr and, on success, three lines on
# stdout: `version <vX.Y.Z>`, `suite <path of the binary>` and `images <tar> <tar>`.
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
repo="$(cd "$here/.." && pwd)"
cache_root="${PLEXUS_CACHE_DIR:-$HOME/.cache/plexus}"
SOCAT_REF=docker.io/alpine/socat:1.7.4.4
NETSHOOT_REF=docker.io/nicolaka/netshoot:v0.15
IMAGES_TAG=1          # bump to rebuild both images

log() { printf '[mcs-conformance] %s\n' "$*" >&2; }
die() { printf '[mcs-conformance] error: %s\n' "$*" >&2; exit 1; }

# --- the vendor copy ------------------------------------------------------------------
src="${PLEXUS_MCS_CONFORMANCE_SRC:-}"
if [ -z "$src" ]; then
  for d in "$repo/../shared/vendor/mcs-api-conformance" "$repo/../../shared/vendor/mcs-api-conformance"; do
    [ -f "$d/go.mod" ] && { src="$(cd "$d" && pwd)"; break; }
  done
fi
[ -n "$src" ] && [ -f "$src/go.mod" ] \
  || die "the conformance suite source is not found (looked for ../shared/vendor/mcs-api-conformance next to the repo); set PLEXUS_MCS_CONFORMANCE_SRC"
command -v go >/dev/null || die "Go toolchain not found on PATH (the suite is built with go test -c)"

# --- 1. the suite -----------------------------------------------------------------------
key="$(cd "$src" && find . -type f -print0 | LC_ALL=C sort -z | xargs -0 sha256sum | sha256sum | cut -c1-16)"
suite_dir="$cache_root/mcs-conformance/$key"
suite="$suite_dir/mcs-conformance.test"
if [ ! -x "$suite" ]; then
  start=$SECONDS
  build="$cache_root/build/mcs-conformance-$key"
  rm -rf "$build" && mkdir -p "$build" "$suite_dir"
  cp -R "$src/." "$build/"
  log "building the suite from $src (copy in $build)"
  (
    cd "$build"
    go mod edit -dropreplace sigs.k8s.io/mcs-api
    # go.sum has no line for the root module while it was replaced by a directory.
    go mod download sigs.k8s.io/mcs-api
    go get sigs.k8s.io/mcs-api@"$(go list -m -f '{{.Version}}' sigs.k8s.io/mcs-api)"
    go test -c -o "$suite.tmp" .
  ) >"$build.log" 2>&1 || { tail -n 30 "$build.log" >&2; die "suite build failed; full log in $build.log"; }
  mv -f "$suite.tmp" "$suite"
  rm -rf "$build"
  log "suite built in $((SECONDS - start))s: $suite"
fi

# --- 2. the images ----------------------------------------------------------------------
[ "$(id -u)" = 0 ] || die "building the images needs root (apt-get, files owned by root)"
packages=(busybox-static dash dnsutils netcat-openbsd socat mawk)
# shellcheck source=debian-packages.sh
source "$(dirname "${BASH_SOURCE[0]}")/debian-packages.sh"
ensure_debian_packages "${packages[@]}"

images_dir="$cache_root/images"
mkdir -p "$images_dir"
# shellcheck source=lab-images/docker-archive.sh
source "$here/lab-images/docker-archive.sh"

# Everyday tools from busybox; `sh` is dash, `awk` mawk, `nc` OpenBSD's.
BUSYBOX_APPLETS=(cat cut date echo env false grep head hostname id ip kill ls mkdir ps rm sed sleep sort tail timeout tr true uname wc)

socat_tar="$images_dir/socat-1.7.4.4-$IMAGES_TAG.tar"
if [ ! -f "$socat_tar" ]; then
  root="$(new_rootfs)"
  copy_with_libs "$root" /usr/bin/dash /usr/bin/socat /usr/bin/mawk /usr/bin/busybox
  ln -s dash "$root/usr/bin/sh"; ln -s mawk "$root/usr/bin/awk"
  for a in "${BUSYBOX_APPLETS[@]}"; do ln -s busybox "$root/usr/bin/$a"; done
  write_image "$root" "$SOCAT_REF" "$socat_tar" '"Entrypoint":["socat"]' 0
  rm -rf "$root"
fi

netshoot_tar="$images_dir/netshoot-v0.15-$IMAGES_TAG.tar"
if [ ! -f "$netshoot_tar" ]; then
  root="$(new_rootfs)"
  copy_with_libs "$root" /usr/bin/dash /usr/bin/nslookup /usr/bin/dig /usr/bin/nc.openbsd /usr/bin/socat /usr/bin/mawk /usr/bin/busybox
  ln -s dash "$root/usr/bin/sh"; ln -s mawk "$root/usr/bin/awk"; ln -s nc.openbsd "$root/usr/bin/nc"
  for a in "${BUSYBOX_APPLETS[@]}"; do ln -s busybox "$root/usr/bin/$a"; done
  write_image "$root" "$NETSHOOT_REF" "$netshoot_tar" '"Cmd":["/bin/sh"]' 0
  rm -rf "$root"
fi

# The suite's release: the root module it requires (conformance/vX.Y.Z is tagged with it).
echo "version $(awk '$1 == "sigs.k8s.io/mcs-api" && $2 ~ /^v/ {print $2; exit}' "$src/go.mod")"
echo "suite $suite"
echo "images $socat_tar $netshoot_tar"
