#!/bin/sh
# The sanitizer run of scripts/run-tests.sh (CMake preset asan, ./build-asan): every test but
# the QEMU boots and the fuzz smoke run (which has ASan of its own), with keybrokerd,
# keybrokerctl and kbunlock built with AddressSanitizer + UndefinedBehaviorSanitizer as well,
# LeakSanitizer included. Any sanitizer report fails the test that triggered it.
# Both sanitizer presets are unity builds (CMAKE_UNITY_BUILD: each target's sources compiled
# eight to a translation unit): a third less compile time for the ASan tree; the normal tree
# (scripts/build.sh) compiles file by file, which also checks that each file stands alone.
# Then ThreadSanitizer (CMake preset tsan, clang-14, ./build-tsan) on the broker's concurrency
# tests: releases from several guests with concurrent policy edits and replays, group-committed
# audit appends, kb::Mutex itself, the threads that bound an HSM's calls (kek_file_test). Only
# those: Debian's gRPC and abseil are not built with TSan, so code that gRPC's threads call into
# would be reported for gRPC's own (unseen) locking;
# kb::Mutex (common/sync/mutex.h) makes the broker's own locks visible (README, "Tests").
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

echo "== tsan: build (build-tsan: broker_core_test, sync_test, kek_file_test)"
cmake --preset tsan >/dev/null
cmake --build build-tsan -j "$(nproc)" --target broker_core_test sync_test kek_file_test
echo "== tsan: tests"
TSAN_OPTIONS="halt_on_error=1" \
  ctest --test-dir build-tsan --output-on-failure --timeout 900 -j 1 \
  -R '^(broker_core_test|sync_test|kek_file_test)$'
