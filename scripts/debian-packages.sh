# Sourced by the provisioning scripts: `ensure_debian_packages NAME…` installs the Debian
# packages that are not installed yet (one apt-get update, one install; idempotent).
# Needs root when something is missing; progress goes to stderr.
ensure_debian_packages() {
  local p missing=()
  for p in "$@"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
  done
  [ ${#missing[@]} -eq 0 ] && return 0
  printf '[debian] installing: %s\n' "${missing[*]}" >&2
  apt-get update -qq >&2
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >&2
}
