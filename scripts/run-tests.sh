#!/bin/sh
# Builds keybroker and runs every test (unit, integration with swtpm + TLS gRPC + LUKS2 images).
# Prints ctest's summary ("100% tests passed, 0 tests failed out of N").
set -eu
cd "$(dirname "$0")/.."
./scripts/build.sh
build=${KB_BUILD_DIR:-build}
ctest --test-dir "$build" --output-on-failure --timeout 600 -j 1 "$@"
