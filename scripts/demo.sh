#!/bin/sh
# The keybroker demo: a guest boots under QEMU (software emulation) with a vTPM, and its LUKS2
# root is opened in the initramfs by kbunlock with a key that keybrokerd releases only after
# verifying the guest's TPM quote. Prints each step and the guest's console.
#   scripts/demo.sh                   binaries from the build tree
#   scripts/demo.sh --from-packages   the same boot from the .deb packages (cpack -G DEB from
#                                     the build tree, unpacked with dpkg-deb -x)
# (scripts/demo-host.sh shows the same flow step by step on the host, without a VM.)
set -eu
cd "$(dirname "$0")/.."
boot=tests/e2e/boot_e2e.sh
case "${1:-}" in
  "") ;;
  --from-packages) boot=tests/e2e/boot_from_packages.sh ;;
  *) echo "usage: scripts/demo.sh [--from-packages]" >&2; exit 2 ;;
esac
echo "== building keybroker"
./scripts/build.sh >/dev/null
echo "== booting a guest whose encrypted root is unlocked by the broker (takes ~30 s under TCG)"
if [ "$boot" = tests/e2e/boot_e2e.sh ]; then exec "$boot" online; fi
exec "$boot" online build
