#!/usr/bin/env bash
# The integration suite as `npm run test:integration` runs it (inside scripts/in-sandbox.sh), in two
# lanes at once so CI stays well inside its time budget on two cores:
#   main lane — every integration file but those below, one file at a time (vitest's single fork);
#   wait lane — the few long files that mostly wait on protocol timers (BGP hold and graceful-restart
#               timers, TCP-MD5/GTSM negatives that wait out a peer's retry, a 30 s datastore cut),
#               so they cost little CPU while the main lane runs.
# Every file still runs exactly once; each lane writes its own JSON report (MARGAY_TEST_REPORT_DIR) and
# the run fails if either lane fails. Arguments (file filters…) run the whole suite in one lane instead.
set -uo pipefail
cd "$(dirname "$0")/.."

if [ "$#" -gt 0 ]; then exec scripts/vitest-project.sh integration "$@"; fi

WAIT_LANE=(
  test/bgp-session/security.int.test.ts
  test/interop/graceful-restart.int.test.ts
  test/interop/session-limits.int.test.ts
  test/e2e/datastore-fault.int.test.ts
)
for f in "${WAIT_LANE[@]}"; do
  [ -f "$f" ] || { echo "integration-tests: wait-lane file $f is missing (renamed?): update this list" >&2; exit 1; }
done
excludes=()
for f in "${WAIT_LANE[@]}"; do excludes+=(--exclude "$f"); done

wait_log=$(mktemp /tmp/margay-wait-lane.XXXXXX)
MARGAY_TEST_REPORT_NAME=integration-wait scripts/vitest-project.sh integration "${WAIT_LANE[@]}" >"$wait_log" 2>&1 &
wait_pid=$!
scripts/vitest-project.sh integration "${excludes[@]}"
main_rc=$?
wait "$wait_pid"
wait_rc=$?
echo; echo "---- wait lane (${WAIT_LANE[*]}) ----"
cat "$wait_log"; rm -f "$wait_log"
echo "integration-tests: main lane exit $main_rc, wait lane exit $wait_rc"
[ "$main_rc" -eq 0 ] && [ "$wait_rc" -eq 0 ]
