#!/usr/bin/env bash
# The newcomer's one command: install everything, build, and run the main job.
# Installs system packages (scripts/install-system-deps.sh), npm dependencies and the build, then
# runs the most complete thing Margay has (see README "What runs today").
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install-system-deps.sh
# `npm install` with the committed lock, not `npm ci`: npm 11 writes lockfiles without the
# other platforms' optional packages (rollup/esbuild binaries) and its own `npm ci` then refuses
# them as out of sync. `npm install` installs exactly the locked versions all the same.
npm install --no-audit --no-fund
npm run build
exec scripts/main-job.sh "$@"
