#!/bin/sh
# The sanitizer run of scripts/run-tests.sh (CMake preset asan, ./build-asan): every test but
# the QEMU boots and the fuzz smoke run (which has ASan of its own), with keybrokerd,
# keybrokerctl and kbunlock built with AddressSanitizer + UndefinedBehaviorSanitizer as well,
# LeakSanitizer included. Any sanitizer report fails the test that triggered it.
set -eu
cd "$(dirname "$0")/.."
export ASAN_OPTIONS="detect_leaks=1:abort_on_error=1:strict_string_checks=1"
export LSAN_OPTIONS="suppressions=$(pwd)/tests/sanitizers/lsan.supp:print_suppressions=0"
export UBSAN_OPTIONS="print_stacktrace=1:halt_on_error=1"

echo "== asan: build (build-asan)"
cmake --preset asan >/dev/null
cmake --build build-asan -j "$(nproc)"
echo "== asan: tests"
ctest --test-dir build-asan --output-on-failure --timeout 900 -j 1 -LE 'e2e|fuzz|lint'
