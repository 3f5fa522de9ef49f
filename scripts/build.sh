#!/bin/sh
# Configures and builds keybroker into ./build (or $KB_BUILD_DIR): optimised, with line tables
# and function names (-g1: backtraces, perf and sanitizer reports keep file:line) but no
# variable info, which compiles about a fifth faster than -g (measured per file: 7.9 s instead
# of 10.0 s for keybroker/server/broker_server.cc). KB_CXX_FLAGS="-O2 -g -DNDEBUG" for a
# debugger's view of locals (the flags are set on every run of this script).
set -eu
cd "$(dirname "$0")/.."
build=${KB_BUILD_DIR:-build}
cmake -S . -B "$build" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo \
  -DCMAKE_CXX_FLAGS_RELWITHDEBINFO="${KB_CXX_FLAGS:--O2 -g1 -DNDEBUG}" >/dev/null
cmake --build "$build" -j "$(nproc)"
