#!/bin/sh
# The keybroker demo: a guest boots under QEMU (software emulation) with a vTPM, and its LUKS2
# root is opened in the initramfs by kbunlock with a key that keybrokerd releases only after
# verifying the guest's TPM quote. Prints each step and the guest's console.
# (scripts/demo-host.sh shows the same flow step by step on the host, without a VM.)
set -eu
cd "$(dirname "$0")/.."
echo "== building keybroker"
./scripts/build.sh >/dev/null
echo "== booting a guest whose encrypted root is unlocked by the broker (takes ~30 s under TCG)"
exec tests/e2e/boot_e2e.sh online
