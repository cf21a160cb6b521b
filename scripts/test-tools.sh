#!/usr/bin/env bash
# Installs the system tools that the test suites drive as real parts, so that `npm test`
# works on a fresh machine exactly as the README says (it runs this before anything else):
#   dig       real DNS queries over UDP and TCP (test/integration/dns-*, test/e2e/*)
#   chromium  the dashboard in a real browser (test/e2e/fleet-views.test.ts)
#   openssl   independent checks of every certificate Plexus issues (and of its PKCS#12 files)
#   certutil, pk12util  the dashboard test's browser profile: an NSS database holding the admin
#             PKCS#12 and the trusted clusterset root, as a user sets up Chromium (libnss3-tools)
# Debian packages, installed with apt-get when a tool is missing; idempotent (a machine that
# has them returns at once). Without root it fails with the one command to run instead.
set -euo pipefail

declare -A package_of=([dig]=bind9-dnsutils [chromium]=chromium [openssl]=openssl [certutil]=libnss3-tools [pk12util]=libnss3-tools)
missing=()
for tool in dig chromium openssl certutil pk12util; do
  package=${package_of[$tool]}
  command -v "$tool" >/dev/null 2>&1 || [[ " ${missing[*]} " == *" $package "* ]] || missing+=("$package")
done
[ ${#missing[@]} -eq 0 ] && exit 0

if [ "$(id -u)" -ne 0 ]; then
  echo "error [PLX_TEST_TOOLS_MISSING]: the tests need ${missing[*]}; install them with: sudo apt-get install -y ${missing[*]}" >&2
  exit 1
fi
echo "[test-tools] installing ${missing[*]} (apt-get)…" >&2
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq >/dev/null
apt-get install -y -qq "${missing[@]}" >/dev/null
