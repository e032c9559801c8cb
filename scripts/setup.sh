#!/usr/bin/env bash
# The newcomer's one command: install everything, build, and run the main job.
# Installs system packages (scripts/install-system-deps.sh), npm dependencies and the build, then
# runs the most complete thing Margay has (see README "What runs today").
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install-system-deps.sh
scripts/install-node.sh
# Node 24 lives in /usr/local/bin; make sure this shell finds it before the system's Node 20.
export PATH="/usr/local/bin:$PATH"; hash -r
# The committed lockfile is complete (every platform's optional packages): install exactly it.
npm ci --no-audit --no-fund
npm run build
exec scripts/main-job.sh "$@"
