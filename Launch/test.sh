#!/usr/bin/env bash
# Installs what is missing, builds, and runs every test, the multi-rank ones included.
set -euo pipefail
cd "$(dirname "$0")/.."

Launch/setup.sh --test

# One release build serves both the tests and the end-to-end runs of the tool: the kernels are
# only vectorized in release, and training in the end-to-end tests would crawl in debug.
# -enable-testing lets unit tests reach internal helpers.
swift build -c release -Xswiftc -enable-testing
log=$(mktemp)
trap 'rm -f "$log"' EXIT
# Every test is XCTest; Swift Testing would only add a closing line about zero tests of its own.
status=0
swift test -c release -Xswiftc -enable-testing --disable-swift-testing "$@" 2>&1 | tee "$log" || status=$?
# One plain closing line with the totals XCTest reported for the whole run.
summary=$(grep -E "Executed [0-9]+ tests?, with" "$log" | tail -n 1 || true)
if [ -n "$summary" ]; then
  total=$(sed -E 's/.*Executed ([0-9]+) tests?.*/\1/' <<< "$summary")
  # XCTest counts failed assertions; the plain line counts failed tests.
  failed=$(grep -cE "^Test Case '.*' failed" "$log" || true)
  skipped=$(grep -oE "[0-9]+ tests? skipped" <<< "$summary" | grep -oE "^[0-9]+" || echo 0)
  echo "tests: $((total - failed - skipped)) passed, $failed failed, $skipped skipped"
fi
exit "$status"
