#!/usr/bin/env bash
# Installs what is missing, builds, and runs every test, the multi-rank ones included.
set -euo pipefail
cd "$(dirname "$0")/.."

Launch/setup.sh --test

# One release build serves both the tests and the end-to-end runs of the tool: the kernels are
# only vectorized in release, and training in the end-to-end tests would crawl in debug.
# -enable-testing lets unit tests reach internal helpers.
export MPIVAE_BUILD_CONFIGURATION=release
swift build -c release -Xswiftc -enable-testing
swift test -c release -Xswiftc -enable-testing "$@"
