#!/bin/bash
# The .deb packages, made by `cpack -G DEB` from this build tree (no second build) and checked
# as a user would meet them: the files each package carries, lintian without errors, the units
# verified by systemd-analyze, the man pages, and the unpacked keybrokerd creating its KEK and
# accepting the example config as an unprivileged user would, in a private mount namespace
# whose /etc/keybroker and /var/lib/keybroker are the test's own.
# usage: deb_test.sh SOURCE_DIR BINARY_DIR   (as root: unshare --mount)
set -euo pipefail
SRC=$1
BUILD=$2
W=$(mktemp -d /tmp/kb-deb.XXXXXX)
trap 'rm -rf "$W"' EXIT
fail() { echo "FAIL: $*" >&2; exit 1; }

echo "== cpack -G DEB from $BUILD"
"$SRC/tests/packaging/make_packages.sh" "$BUILD" "$W/out" || fail "cpack"
broker=$(ls "$W"/out/keybroker-broker_*_amd64.deb)
guest=$(ls "$W"/out/keybroker-guest_*_amd64.deb)
dracut=$(ls "$W"/out/keybroker-dracut_*_all.deb)

echo "== files each package carries (nothing else: no test binaries, no build paths)"
files() { dpkg-deb -c "$1" | awk '$1 !~ /^d/ {print $6}' | sort; }
diff -u - <(files "$broker") <<'LIST' || fail "keybroker-broker's files"
./etc/keybroker/broker.json
./lib/systemd/system/keybrokerd.service
./usr/bin/keybrokerctl
./usr/sbin/keybrokerd
./usr/share/bash-completion/completions/keybrokerctl
./usr/share/doc/keybroker-broker/changelog.Debian.gz
./usr/share/doc/keybroker-broker/copyright
./usr/share/man/man1/keybrokerctl.1.gz
./usr/share/man/man8/keybrokerd.8.gz
LIST
diff -u - <(files "$guest") <<'LIST' || fail "keybroker-guest's files"
./lib/systemd/system/kbunlock-all.service
./lib/systemd/system/kbunlock@.service
./usr/lib/x86_64-linux-gnu/cryptsetup/libcryptsetup-token-keybroker.so
./usr/sbin/kbunlock
./usr/share/bash-completion/completions/kbunlock
./usr/share/doc/keybroker-guest/changelog.Debian.gz
./usr/share/doc/keybroker-guest/copyright
./usr/share/initramfs-tools/hooks/keybroker
./usr/share/initramfs-tools/scripts/local-top/keybroker
./usr/share/man/man8/kbunlock.8.gz
LIST
diff -u - <(files "$dracut") <<'LIST' || fail "keybroker-dracut's files"
./usr/lib/dracut/dracut.conf.d/95-keybroker.conf
./usr/lib/dracut/modules.d/95keybroker/keybroker-network.conf
./usr/lib/dracut/modules.d/95keybroker/module-setup.sh
./usr/share/doc/keybroker-dracut/changelog.Debian.gz
./usr/share/doc/keybroker-dracut/copyright
LIST
dpkg-deb -f "$broker" Depends | grep -q 'libgrpc++' || fail "broker Depends lacks shared libraries"
dpkg-deb -f "$guest" Depends | grep -q 'libtss2-tcti-device0' || fail "guest Depends lacks TCTI"
dpkg-deb -I "$broker" conffiles | grep -qx /etc/keybroker/broker.json ||
  fail "broker.json is not a conffile"

echo "== lintian (errors fail the test; warnings are printed)"
lintian --fail-on error "$broker" "$guest" "$dracut" > "$W/lintian.log" 2>&1 ||
  { cat "$W/lintian.log"; fail "lintian reports errors"; }
grep -v 'running with root privileges' "$W/lintian.log" || true

root=$W/out/root  # every package unpacked
for b in usr/sbin/keybrokerd usr/bin/keybrokerctl usr/sbin/kbunlock; do
  ldd "$root/$b" | grep -q 'not found' && fail "$b: missing shared libraries"
  "$root/$b" --version | grep -qx "$(basename $b) [0-9.]*" || fail "$b --version"
done
readelf -S "$root/usr/sbin/keybrokerd" | grep -q '\.debug_info' && fail "keybrokerd not stripped"
for page in man1/keybrokerctl.1 man8/keybrokerd.8 man8/kbunlock.8; do
  MANWIDTH=80 man -l "$root/usr/share/man/$page.gz" 2>/dev/null | grep -q '^NAME' ||
    fail "man page $page does not render"
done

echo "== the units verify (systemd-analyze, with the packaged binaries and man pages in place)"
cp "$root/lib/systemd/system/kbunlock@.service" "$W/kbunlock@data.service"
unshare --mount bash -c "
  set -e
  mount -t overlay overlay -o 'lowerdir=$root/usr/sbin:/usr/sbin' /usr/sbin
  mount -t overlay overlay -o 'lowerdir=$root/usr/share/man/man8:/usr/share/man/man8' \
    /usr/share/man/man8
  systemd-analyze verify '$root/lib/systemd/system/keybrokerd.service' \
    '$W/kbunlock@data.service' '$root/lib/systemd/system/kbunlock-all.service'
" || fail "systemd-analyze verify"
grep -q '^User=keybroker' "$root/lib/systemd/system/keybrokerd.service" || fail "unit user"
grep -q '^CapabilityBoundingSet=$' "$root/lib/systemd/system/keybrokerd.service" ||
  fail "unit keeps capabilities"

echo "== the unpacked keybrokerd creates its KEK and accepts the example config, unprivileged"
sh "$SRC/tests/integration/make_pki.sh" "$W/pki" > /dev/null 2>&1
unshare --mount bash -c "
  set -e
  mount -t tmpfs -o mode=0755 tmpfs /etc/keybroker 2>/dev/null ||
    { mkdir -p /etc/keybroker; mount -t tmpfs -o mode=0755 tmpfs /etc/keybroker; }
  mkdir -p /var/lib/keybroker
  mount -t tmpfs -o mode=0700 tmpfs /var/lib/keybroker
  chown nobody:nogroup /var/lib/keybroker
  cp '$root/etc/keybroker/broker.json' /etc/keybroker/
  install -d -m 0755 /etc/keybroker/tls
  install -m 0644 '$W/pki/server.pem' '$W/pki/operator-ca.pem' /etc/keybroker/tls/
  install -m 0640 -g nogroup '$W/pki/server.key' /etc/keybroker/tls/
  as_service() { setpriv --reuid=nobody --regid=nogroup --clear-groups \"\$@\"; }
  as_service '$root/usr/sbin/keybrokerd' --config /etc/keybroker/broker.json --create-kek
  test \"\$(stat -c %a:%U /var/lib/keybroker/kek)\" = 600:nobody
  as_service '$root/usr/sbin/keybrokerd' --config /etc/keybroker/broker.json --check-config
" > "$W/check.log" 2>&1 || { cat "$W/check.log"; fail "keybrokerd with the example config"; }
cat "$W/check.log"
grep -q '^config OK: /etc/keybroker/broker.json' "$W/check.log" || fail "no 'config OK'"
echo "PASS: packages"
