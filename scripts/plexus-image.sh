#!/usr/bin/env bash
# Builds the Plexus image from the repository's Dockerfile with buildah (no Docker engine
# and no registry here), for the real-node lab (`npm run image:build`):
#   1. a local base image named docker.io/library/node:24-slim, so the Dockerfile builds
#      unchanged with --pull=never: busybox-static, the pinned Node binary (the `node`
#      devDependency, node_modules/node/bin/node), the glibc/libstdc++ libraries it links,
#      npm (`npm pack npm@<the host npm's version>`, cached), a `node` user (uid/gid 1000),
#      the CA bundle and a global npmrc naming it as `cafile` (registry traffic here may pass
#      an intercepting certificate authority, and `npm ci` in the build must trust it);
#   2. `buildah bud --pull=never` on ./Dockerfile;
#   3. the result as a docker-archive in ${PLEXUS_CACHE_DIR:-~/.cache/plexus}/images/,
#      named plexus.local/plexus:<inputs hash> (the lab imports it into every node).
# Cached by a hash of its inputs (the files the Dockerfile copies, the base's recipe): an
# unchanged tree is not rebuilt. Needs root (buildah's storage); installs buildah if missing.
# Prints progress to stderr and, on success, "<tar> <image ref>" on stdout (last line).
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
repo="$(cd "$here/.." && pwd)"
cache_root="${PLEXUS_CACHE_DIR:-$HOME/.cache/plexus}"
images_dir="$cache_root/images"
build_dir="$cache_root/build/plexus-image"
base_ref="docker.io/library/node:24-slim"

log() { printf '[plexus-image] %s\n' "$*" >&2; }
die() { printf '[plexus-image] error: %s\n' "$*" >&2; exit 1; }

[ "$(id -u)" = 0 ] || die "buildah's storage needs root here"
# shellcheck source=debian-packages.sh
source "$(dirname "${BASH_SOURCE[0]}")/debian-packages.sh"
ensure_debian_packages buildah busybox-static

node_bin="$repo/node_modules/node/bin/node"
[ -x "$node_bin" ] || die "$node_bin is missing: run \`npm ci\` (the node devDependency pins the image's Node)"
node_version="$("$node_bin" --version)"
want="v$(sed -n 's/.*"version": *"\([^"]*\)".*/\1/p' "$repo/node_modules/node/package.json" | head -n 1)"
[ "$node_version" = "$want" ] || die "node_modules/node/bin/node is $node_version, its package says $want"
npm_version="${PLEXUS_IMAGE_NPM_VERSION:-$(npm --version)}"
mkdir -p "$images_dir" "$build_dir"
# One build at a time on this machine (worktrees share the cache and buildah's storage).
exec 9>"$build_dir/lock"
flock 9

# --- 1. the base image --------------------------------------------------------------------
ca_bundle=/etc/ssl/certs/ca-certificates.crt
[ -f "$ca_bundle" ] || die "no CA bundle at $ca_bundle"
# Contents only, never paths: every worktree has its own node_modules, and a path in the hash
# made two worktrees remake the shared base in turn.
base_hash="$( { for f in "$node_bin" "$ca_bundle" /bin/busybox; do sha256sum <"$f"; done; echo "npm $npm_version"; sed -n '/^# --- 1\./,/^# --- 2\./p' "${BASH_SOURCE[0]}"; } | sha256sum | cut -c1-16)"
if [ "$(buildah inspect --type image --format '{{index .ImageAnnotations "io.plexus.base-hash"}}' "$base_ref" 2>/dev/null)" != "$base_hash" ]; then
  log "making $base_ref (Node $node_version, npm $npm_version)"
  npm_tgz="$build_dir/npm-$npm_version.tgz"
  if [ ! -f "$npm_tgz" ]; then
    (cd "$build_dir" && npm pack --silent "npm@$npm_version" >/dev/null)
  fi
  root="$(mktemp -d "$build_dir/.rootfs.XXXXXX")"
  trap 'rm -rf "$root"' EXIT
  mkdir -p "$root"/usr/{bin,lib,lib64,sbin} "$root"/usr/local/{bin,lib/node_modules,etc} "$root"/{etc/ssl/certs,tmp,home/node,proc,sys,dev,root}
  chmod 1777 "$root/tmp"
  ln -s usr/bin "$root/bin"; ln -s usr/lib "$root/lib"; ln -s usr/lib64 "$root/lib64"; ln -s usr/sbin "$root/sbin"
  cp /bin/busybox "$root/usr/bin/busybox"
  for a in $("$root/usr/bin/busybox" --list); do
    [ "$a" = busybox ] || [ -e "$root/usr/bin/$a" ] || ln -s busybox "$root/usr/bin/$a"
  done
  cp "$node_bin" "$root/usr/local/bin/node"
  for lib in $(ldd "$node_bin" | grep -oE '/[^ ]+' | sort -u); do cp -L --parents "$lib" "$root"; done
  tar -xzf "$npm_tgz" -C "$root/usr/local/lib/node_modules" && mv "$root/usr/local/lib/node_modules/package" "$root/usr/local/lib/node_modules/npm"
  ln -s ../lib/node_modules/npm/bin/npm-cli.js "$root/usr/local/bin/npm"
  ln -s ../lib/node_modules/npm/bin/npx-cli.js "$root/usr/local/bin/npx"
  cp "$ca_bundle" "$root/etc/ssl/certs/ca-certificates.crt"
  printf 'cafile=/etc/ssl/certs/ca-certificates.crt\nupdate-notifier=false\n' >"$root/usr/local/etc/npmrc"
  printf 'root:x:0:0:root:/root:/bin/sh\nnode:x:1000:1000::/home/node:/bin/sh\nnobody:x:65534:65534:nobody:/nonexistent:/usr/sbin/nologin\n' >"$root/etc/passwd"
  printf 'root:x:0:\nnode:x:1000:\nnogroup:x:65534:\n' >"$root/etc/group"
  printf 'hosts: files dns\n' >"$root/etc/nsswitch.conf"
  chown 1000:1000 "$root/home/node"
  ctr="$(buildah from scratch)"
  buildah copy --quiet "$ctr" "$root/" / >/dev/null
  buildah config --env PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin --env NODE_VERSION="${node_version#v}" \
    --cmd node --annotation "io.plexus.base-hash=$base_hash" "$ctr"
  buildah commit --quiet --rm "$ctr" "$base_ref" >/dev/null
  buildah rmi --prune >/dev/null 2>&1 || true      # the base it replaced, now untagged
  rm -rf "$root"
  trap - EXIT
fi

# --- 2. the Plexus image ------------------------------------------------------------------
# The inputs: what the Dockerfile copies (less .dockerignore's tests), the Dockerfile, the base,
# and this part of the script. --format=docker keeps the HEALTHCHECK (OCI has none).
tag="$( { cd "$repo" && find Dockerfile .dockerignore package.json package-lock.json bin cli certs broker agent gateway crds -type f ! -name '*.test.ts' -print0 \
  | sort -z | xargs -0 sha256sum; echo "base $base_hash"; sed -n '/^# --- 2\./,$p' "${BASH_SOURCE[0]}"; } | sha256sum | cut -c1-12)"
ref="plexus.local/plexus:$tag"
tar="$images_dir/plexus-$tag.tar"
if [ ! -f "$tar" ]; then
  log "building $ref from $repo/Dockerfile"
  started=$(date +%s)
  # Host network: the build's `npm ci` reaches the registry as the host does (no CNI here).
  buildah bud --quiet --format=docker --pull=never --network=host --layers=false -t "$ref" -f "$repo/Dockerfile" "$repo" >/dev/null
  buildah push --quiet "$ref" "docker-archive:$tar.tmp:$ref" >/dev/null
  mv -f "$tar.tmp" "$tar"
  buildah rmi "$ref" >/dev/null 2>&1 || true
  # Every tree change makes a new image; drop those unused for two days (another worktree
  # may still use a recent one).
  find "$images_dir" -maxdepth 1 -name 'plexus-*.tar' -mtime +1 -delete
  log "built $ref in $(( $(date +%s) - started )) s: $tar ($(du -m "$tar" | cut -f1) MB)"
fi
touch "$tar"
echo "$tar $ref"
