#!/usr/bin/env bash
# Builds the etcd image for deploy/etcd/ without a container engine or a registry
# (`npm run image:etcd`), the way the lab's own images are built (scripts/real-nodes.sh):
#   - the etcd binary the project already pins and builds (scripts/control-plane.sh,
#     ETCD_VERSION in control-plane.versions; statically linked) at /usr/local/bin/etcd,
#     the path the upstream image (gcr.io/etcd-development/etcd) uses, so deploy/etcd/ runs
#     either unchanged;
#   - Debian's busybox-static for a shell and the everyday tools (`kubectl exec … -- sh`
#     to look at a member; `stat` of the mounted certificates), as the Plexus image's base;
#   - an `etcd` user and group, uid/gid 65532: the member runs as it (deploy/etcd/ sets
#     runAsUser, fsGroup and the certificate Secrets' 0440 mode to match).
# One layer as a docker-archive in ${PLEXUS_CACHE_DIR:-~/.cache/plexus}/images/, named
# plexus.local/etcd:<etcd version>-<inputs hash> (imported into the lab's nodes by
# test/harness/etcd-deploy.ts). Cached by a hash of its inputs (the etcd binary, busybox,
# this script): unchanged inputs are not rebuilt. Fixed timestamps: the same inputs give
# the same image ID. Prints progress to stderr and, on success, "<tar> <image ref>" on
# stdout (last line).
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
# shellcheck source=control-plane.versions
source "$here/control-plane.versions"
cache_root="${PLEXUS_CACHE_DIR:-$HOME/.cache/plexus}"
images_dir="$cache_root/images"

log() { printf '[etcd-image] %s\n' "$*" >&2; }
die() { printf '[etcd-image] error: %s\n' "$*" >&2; exit 1; }

# shellcheck source=debian-packages.sh
source "$here/debian-packages.sh"
ensure_debian_packages busybox-static

bin_dir="$(bash "$here/control-plane.sh" | tail -n 1)"
etcd_bin="$bin_dir/etcd"
[ -x "$etcd_bin" ] || die "$etcd_bin is missing: run \`npm run control-plane:install\`"
version="$("$etcd_bin" --version | sed -n 's/^etcd Version: //p')"
[ "$version" = "$ETCD_VERSION" ] || die "$etcd_bin is etcd $version, control-plane.versions pins $ETCD_VERSION"
# A member's image must not depend on the node's libraries: refuse a dynamically linked build.
if ldd "$etcd_bin" >/dev/null 2>&1; then die "$etcd_bin is dynamically linked; the image holds no libraries"; fi

mkdir -p "$images_dir"
tag="$ETCD_VERSION-$( { sha256sum <"$etcd_bin"; sha256sum </bin/busybox; sha256sum <"$here/lab-images/docker-archive.sh"; sha256sum <"${BASH_SOURCE[0]}"; } | sha256sum | cut -c1-12)"
ref="plexus.local/etcd:$tag"
tar="$images_dir/etcd-$tag.tar"
if [ ! -f "$tar" ]; then
  # shellcheck source=lab-images/docker-archive.sh
  source "$here/lab-images/docker-archive.sh"
  started=$(date +%s)
  root="$(new_rootfs)"
  trap 'rm -rf "$root"' EXIT
  mkdir -p "$root/usr/local/bin"
  cp -L "$etcd_bin" "$root/usr/local/bin/etcd"
  cp /bin/busybox "$root/usr/bin/busybox"
  for a in $("$root/usr/bin/busybox" --list); do
    [ "$a" = busybox ] || [ -e "$root/usr/bin/$a" ] || ln -s busybox "$root/usr/bin/$a"
  done
  printf 'etcd:x:65532:65532::/nonexistent:/bin/sh\n' >>"$root/etc/passwd"
  printf 'etcd:x:65532:\n' >>"$root/etc/group"
  write_image "$root" "$ref" "$tar" '"Entrypoint":["/usr/local/bin/etcd"]' 65532
  rm -rf "$root"
  trap - EXIT
  find "$images_dir" -maxdepth 1 -name 'etcd-*.tar' ! -name "etcd-$tag.tar" -mtime +1 -delete
  log "built $ref in $(( $(date +%s) - started )) s: $tar ($(du -m "$tar" | cut -f1) MB)"
fi
touch "$tar"
echo "$tar $ref"
