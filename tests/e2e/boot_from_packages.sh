#!/bin/sh
# The `online` boot (boot_e2e.sh) with everything keybroker from the .deb packages: cpack -G
# DEB from the build tree, both packages unpacked with dpkg-deb -x, and their keybrokerd,
# keybrokerctl, kbunlock, initramfs hook and local-top script used instead of the build tree's.
# usage: boot_from_packages.sh [BUILD_DIR]   (scripts/demo.sh --from-packages runs it)
set -eu
SRC=$(cd "$(dirname "$0")/../.." && pwd)
BUILD=$(cd "${1:-$SRC/build}" && pwd)
pkg=$(mktemp -d /tmp/kb-packages.XXXXXX)
trap 'rm -rf "$pkg"' EXIT
echo "== making the packages (cpack -G DEB) and unpacking them in $pkg/root"
cpack -G DEB --config "$BUILD/CPackConfig.cmake" -B "$pkg" >"$pkg/cpack.log" 2>&1 ||
  { cat "$pkg/cpack.log"; echo "E2E FAIL online-packaged: cpack"; exit 1; }
for deb in "$pkg"/keybroker-broker_*.deb "$pkg"/keybroker-guest_*.deb; do
  echo "   $(basename "$deb")"
  dpkg-deb -x "$deb" "$pkg/root"
done
KB_PACKAGE_ROOT="$pkg/root" "$SRC/tests/e2e/boot_e2e.sh" online "$BUILD"
