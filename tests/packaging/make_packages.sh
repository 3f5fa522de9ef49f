#!/bin/sh
# Makes the .deb packages from a build tree (cpack -G DEB; no second build) into OUT and unpacks
# every one of them into OUT/root (dpkg-deb -x), as the package test and the boots from the
# packages use them. Prints cpack's log and exits 1 when cpack fails.
# usage: make_packages.sh BUILD_DIR OUT_DIR
set -eu
build=${1:?usage: make_packages.sh BUILD_DIR OUT_DIR}
out=${2:?usage: make_packages.sh BUILD_DIR OUT_DIR}
mkdir -p "$out/root"
cpack -G DEB --config "$build/CPackConfig.cmake" -B "$out" >"$out/cpack.log" 2>&1 ||
  { cat "$out/cpack.log"; exit 1; }
for deb in "$out"/keybroker-*.deb; do
  echo "   $(basename "$deb")"
  dpkg-deb -x "$deb" "$out/root"
done
