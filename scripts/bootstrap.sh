#!/usr/bin/env bash
# Makes `npm test` and `npm run demo` work on a fresh clone: installs the npm packages
# (which pin Node 24) when node_modules is missing or older than the lockfile. npm puts
# node_modules/.bin first on PATH, so everything after this runs on the pinned Node.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
if [ ! -x node_modules/.bin/node ] || [ ! -f node_modules/.package-lock.json ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
  echo "[bootstrap] installing npm packages (npm ci)…" >&2
  # --loglevel=error: npm here runs on the machine's Node, which npm's engine checks of the
  # dependencies warn about; the packages run on the pinned Node 24, so those lines are noise.
  npm ci --no-audit --no-fund --loglevel=error >&2
fi
