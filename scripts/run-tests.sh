#!/bin/sh
# Builds keybroker and runs every test: first the non-boot suites under AddressSanitizer +
# UndefinedBehaviorSanitizer (CMake preset asan, build-asan/; scripts/run-sanitizers.sh), then
# everything in the normal build (unit, integration with swtpm + TLS gRPC + LUKS2 images,
# attack, QEMU boots, fuzzing, lint: layering and clang-format).
# Prints ctest's summary of the last run ("100% tests passed, 0 tests failed out of N").
# KB_SANITIZERS=0 skips the sanitizer build.
set -eu
cd "$(dirname "$0")/.."
./scripts/build.sh
build=${KB_BUILD_DIR:-build}
if [ "${KB_SANITIZERS:-1}" != 0 ]; then
  ./scripts/run-sanitizers.sh
fi
ctest --test-dir "$build" --output-on-failure --timeout 600 -j 1 "$@"
