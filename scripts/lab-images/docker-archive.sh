# Shell functions that build single-layer images without a container engine, as
# docker-archive tars (what `docker save` writes; `ctr images import` reads them). Sourced
# by scripts/real-nodes.sh and scripts/mcs-conformance.sh, which define `images_dir` (the
# tars and scratch dirs go there) and `log`.

# write_image <rootfs> <ref> <out.tar> <config fields JSON, e.g. "Entrypoint":["/pause"]> [user]
# A docker-archive (what `docker save` writes) of one layer: manifest.json, the config and
# the layer tar, all with fixed timestamps so the same inputs give the same image ID.
write_image() {
  local rootfs="$1" ref="$2" out="$3" fields="$4" user="${5:-0}"
  local stage
  stage="$(mktemp -d "$images_dir/.stage.XXXXXX")"
  tar --sort=name --mtime=@0 --owner=0 --group=0 --numeric-owner -C "$rootfs" -cf "$stage/layer.tar" .
  local diff_id
  diff_id="$(sha256sum "$stage/layer.tar" | cut -d' ' -f1)"
  printf '{"architecture":"amd64","os":"linux","created":"1970-01-01T00:00:00Z","config":{%s,"User":"%s","Env":["PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"]},"rootfs":{"type":"layers","diff_ids":["sha256:%s"]}}' \
    "$fields" "$user" "$diff_id" >"$stage/config.json"
  local config_id
  config_id="$(sha256sum "$stage/config.json" | cut -d' ' -f1)"
  mv "$stage/config.json" "$stage/$config_id.json"
  printf '[{"Config":"%s.json","RepoTags":["%s"],"Layers":["layer.tar"]}]' "$config_id" "$ref" >"$stage/manifest.json"
  tar --sort=name --mtime=@0 --owner=0 --group=0 --numeric-owner -C "$stage" -cf "$out.tmp" .
  mv -f "$out.tmp" "$out"
  rm -rf "$stage"
  log "image $ref: $out"
}

# Copies binaries and every shared library they link into <rootfs> at the same paths
# (Debian is merged-/usr, so /bin, /lib, /lib64 and /sbin are links into /usr).
copy_with_libs() {
  local rootfs="$1"; shift
  local f lib
  for f in "$@"; do
    cp -L --parents "$f" "$rootfs"
    for lib in $(ldd "$f" 2>/dev/null | grep -oE '/[^ ]+' | sort -u); do
      [ -e "$rootfs$lib" ] || cp -L --parents "$lib" "$rootfs"
    done
  done
}

new_rootfs() {
  local d
  d="$(mktemp -d "$images_dir/.rootfs.XXXXXX")"
  mkdir -p "$d/usr/bin" "$d/usr/lib" "$d/usr/lib64" "$d/usr/sbin" "$d/etc" "$d/tmp" "$d/proc" "$d/sys" "$d/dev"
  chmod 1777 "$d/tmp"
  ln -s usr/bin "$d/bin"; ln -s usr/lib "$d/lib"; ln -s usr/lib64 "$d/lib64"; ln -s usr/sbin "$d/sbin"
  printf 'root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534:nobody:/nonexistent:/usr/sbin/nologin\n' >"$d/etc/passwd"
  printf 'root:x:0:\nnogroup:x:65534:\n' >"$d/etc/group"
  printf 'hosts: files dns\n' >"$d/etc/nsswitch.conf"
  echo "$d"
}
