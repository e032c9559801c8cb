#!/usr/bin/env bash
# The main job. Until `margayctl lab` exists this runs the integration suite in the sandbox, which
# exercises every piece that exists against the real kernel and real BGP daemons.
set -euo pipefail
cd "$(dirname "$0")/.."
exec scripts/in-sandbox.sh scripts/vitest-project.sh integration
