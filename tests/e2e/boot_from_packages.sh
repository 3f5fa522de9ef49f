#!/bin/sh
# A boot_e2e.sh scenario with everything keybroker from the .deb packages: cpack -G DEB from
# the build tree, the packages unpacked with dpkg-deb -x, and their keybrokerd, keybrokerctl,
# kbunlock, initramfs-tools hook and script, dracut module and token plugin used instead of the
# tree's and the build's.
# usage: boot_from_packages.sh SCENARIO [BUILD_DIR]
#   (scripts/demo.sh --from-packages runs `online`; ctest e2e_dracut runs `dracut`)
set -eu
SRC=$(cd "$(dirname "$0")/../.." && pwd)
SCENARIO=${1:?usage: boot_from_packages.sh SCENARIO [BUILD_DIR]}
BUILD=$(cd "${2:-$SRC/build}" && pwd)
pkg=$(mktemp -d /tmp/kb-packages.XXXXXX)
trap 'rm -rf "$pkg"' EXIT
echo "== making the packages (cpack -G DEB) and unpacking them in $pkg/root"
"$SRC/tests/packaging/make_packages.sh" "$BUILD" "$pkg" ||
  { echo "E2E FAIL $SCENARIO: cpack"; exit 1; }
KB_PACKAGE_ROOT="$pkg/root" "$SRC/tests/e2e/boot_e2e.sh" "$SCENARIO" "$BUILD"
