#!/bin/sh
# Installs everything keybroker needs to build, test and run the demo, from Debian 12 packages.
set -eu
SUDO=""
[ "$(id -u)" -eq 0 ] || SUDO="sudo"
PACKAGES="
  cmake ninja-build g++ pkg-config clang-format python3
  libssl-dev openssl libnghttp2-dev
  libgrpc++-dev libprotobuf-dev protobuf-compiler protobuf-compiler-grpc libabsl-dev
  libtss2-dev libtss2-tcti-swtpm0 libtss2-tcti-device0
  libcryptsetup-dev cryptsetup-bin
  libsqlite3-dev libpq-dev postgresql
  libp11-kit-dev softhsm2
  libgtest-dev libgmock-dev
  swtpm swtpm-tools
  qemu-system-x86 linux-image-amd64 initramfs-tools cryptsetup-initramfs busybox socat
  e2fsprogs cpio kmod zstd iproute2 util-linux
  clang-14 libclang-rt-14-dev
  pandoc man-db dpkg-dev lintian prometheus-cpp-dev
  dracut-core dracut-network systemd dbus-daemon binutils
"
export DEBIAN_FRONTEND=noninteractive
missing=""
for p in $PACKAGES; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' ||
    missing="$missing $p"
done
if [ -z "$missing" ]; then
  echo "install-deps: all packages already installed"
  exit 0
fi
echo "install-deps: installing$missing"
$SUDO apt-get update -q
# shellcheck disable=SC2086
$SUDO apt-get install -y -q --no-install-recommends $missing
