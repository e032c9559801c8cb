#!/usr/bin/env bash
# Runs one vitest project; when MARGAY_TEST_REPORT_DIR is set (CI) it also writes a JSON report
# there so .ci/run can count the tests that ran (named MARGAY_TEST_REPORT_NAME when set, else after the
# project). Extra arguments go to vitest (file filters etc).
set -euo pipefail
project=$1; shift
args=(run --project "$project")
if [ -n "${MARGAY_TEST_REPORT_DIR:-}" ]; then
  args+=(--reporter=default --reporter=json --outputFile.json="$MARGAY_TEST_REPORT_DIR/${MARGAY_TEST_REPORT_NAME:-$project}.json")
fi
exec npx vitest "${args[@]}" "$@"
