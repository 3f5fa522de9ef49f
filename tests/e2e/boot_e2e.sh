#!/bin/bash
# End-to-end boot test: a guest with a LUKS2 root boots under QEMU (TCG) with a vTPM (swtpm); an
# initramfs built by Debian's mkinitramfs with keybroker's hook opens the root through keybrokerd.
#
#   tests/e2e/boot_e2e.sh SCENARIO [BUILD_DIR]
#
# Scenarios:
#   online        broker up, policy allows: the root opens via keybroker in the initramfs, and a
#                 second (data) disk is opened after boot by `kbunlock unlock` from the real root
#   pcr-changed   the policy expects another PCR 7: the broker denies, the reason is on the console,
#                 the boot falls back to the passphrase prompt
#   wrong-ca      the initramfs trusts another CA than the volume was enrolled with: fails closed,
#                 falls back to the prompt
#   broker-down   the broker is stopped: the unlock gives up within its bound, prompt
#   offline-grace the policy grants 2 offline boots: an online boot seals a copy in the vTPM; with
#                 the broker stopped the next boot opens the root from it and counts down
#   rotation      the operator rotates the key; the next boot opens with version 1 and re-enrols
#                 the volume to version 2 and confirms it (rotation-status: confirmed); version
#                 1 is retired without --force; the next boot opens with 2 only
#   grace-exhausted  1 offline boot granted: online boot, offline boot (0 left), then the next
#                 offline boot is refused and falls back to the prompt
#   keyfile       baseline: the same harness opens the root with a key file in the initramfs
#   no-token      keybroker's hook is installed but the root's token was removed (it opens with a
#                 key file): the script says there is nothing to do and never brings the network up
#   ha-postgres   two keybrokerd on one PostgreSQL (started by this script as the postgres user,
#                 Unix socket only) sharing a KEK; the volume's token lists both; the first is
#                 stopped before the boot: the root opens through the second, which records the
#                 release in the shared audit trail
#   snp-no-tpm    a guest with no TPM whose root is enrolled with SEV-SNP evidence: kbunlock with
#                 SEV-SNP firmware in software (kbunlock-software-snp, tests/fakes) in the
#                 initramfs; the broker trusts that firmware's test AMD chain; the script goes
#                 on without /dev/tpmrm0 and opens the root through the broker
#   dracut        an initramfs built by the real dracut with systemd (keybroker's dracut module,
#                 the token plugin, systemd-networkd, systemd-cryptsetup): the root opens through
#                 the token; with the PCR policy changed, and with the broker down, the boot
#                 stops at systemd's passphrase prompt. One initramfs, three boots.
#
# KB_PACKAGE_ROOT=DIR takes everything keybroker from the .deb packages unpacked in DIR
# (boot_from_packages.sh makes it).
# Everything runs in a private network namespace (only its loopback): keybrokerd listens on the
# namespace's 127.0.0.1, and the guest reaches it only through QEMU's restricted user network
# with a guestfwd (10.0.2.100:PORT -> 127.0.0.1:PORT). Prints "E2E PASS <scenario>" or
# "E2E FAIL <scenario>: <reason>"; exit status 0 on pass.
set -euo pipefail

SCENARIO=${1:?usage: boot_e2e.sh SCENARIO [BUILD_DIR]}
SRC=$(cd "$(dirname "$0")/../.." && pwd)
BUILD=$(cd "${2:-$SRC/build}" && pwd)
BOOT_TIMEOUT=${BOOT_TIMEOUT:-240}
PORT=21443
GUEST_BROKER=10.0.2.100:$PORT

if [ "$(id -u)" -ne 0 ]; then
  echo "E2E SKIP $SCENARIO: needs root (network and mount namespaces, overlay on /etc)"
  exit 77
fi
if [ -z "${KB_E2E_IN_NS:-}" ]; then
  export KB_E2E_IN_NS=1
  exec unshare --net --mount --propagation private "$0" "$@"
fi
ip link set lo up

W=$(mktemp -d /tmp/kb-e2e-"$SCENARIO".XXXXXX)
PIDS=()
cleanup() {
  if [ -n "${PGDIR:-}" ]; then
    runuser -u postgres -- "$PG_BIN/pg_ctl" -D "$PGDIR/data" -m immediate stop >/dev/null 2>&1 || true
    rm -rf "$PGDIR"
  fi
  for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null || true; done
  sleep 0.2
  for p in "${PIDS[@]}"; do kill -9 "$p" 2>/dev/null || true; done
  if [ -z "${KB_E2E_KEEP:-}" ]; then rm -rf "$W"; else echo "kept $W"; fi
}
trap cleanup EXIT
fail() { echo "E2E FAIL $SCENARIO: $*"; exit 1; }
log() { echo "[e2e $(date +%T)] $*"; }

KVER=$(ls /boot/vmlinuz-* 2>/dev/null | sed 's|/boot/vmlinuz-||' | sort -V | tail -1)
[ -n "$KVER" ] || fail "no guest kernel in /boot (apt-get install linux-image-amd64)"
KBUNLOCK=$BUILD/unlocker/kbunlock
[ "$SCENARIO" = snp-no-tpm ] && KBUNLOCK=$BUILD/tests/kbunlock-software-snp
CTL=$BUILD/keybroker/ctl/keybrokerctl
KEYBROKERD=$BUILD/keybroker/keybrokerd
HOOKS=$SRC/initramfs/initramfs-tools
# KB_PACKAGE_ROOT: the keybroker-broker and keybroker-guest packages unpacked there (dpkg-deb
# -x) provide the binaries, the hook and the local-top script instead of the build tree.
if [ -n "${KB_PACKAGE_ROOT:-}" ]; then
  KBUNLOCK=$KB_PACKAGE_ROOT/usr/sbin/kbunlock
  CTL=$KB_PACKAGE_ROOT/usr/bin/keybrokerctl
  KEYBROKERD=$KB_PACKAGE_ROOT/usr/sbin/keybrokerd
  HOOKS=$KB_PACKAGE_ROOT/usr/share/initramfs-tools
fi
[ -x "$KBUNLOCK" ] && [ -x "$CTL" ] && [ -x "$KEYBROKERD" ] ||
  fail "build the project first (missing binaries in ${KB_PACKAGE_ROOT:-$BUILD})"

# ---------------------------------------------------------------- guest root filesystem
copy_with_libs() {  # copy_with_libs SRC DEST_IN_ROOT ROOT
  mkdir -p "$3$(dirname "$2")"
  cp -L "$1" "$3$2"
  for lib in $(ldd "$1" | grep -o '/[^ ]*'); do
    [ -e "$3$lib" ] && continue
    mkdir -p "$3$(dirname "$lib")"; cp -L "$lib" "$3$lib"
  done
}
make_rootfs() {
  local root=$W/rootfs
  mkdir -p "$root"/{bin,sbin,etc,proc,sys,dev,run,tmp,lib64,usr/lib}
  cp /bin/busybox "$root/bin/busybox"
  for lib in $(ldd /bin/busybox | grep -o '/[^ ]*'); do
    mkdir -p "$root$(dirname "$lib")"; cp -L "$lib" "$root$lib"
  done
  ln -s busybox "$root/bin/sh"
  # kbunlock on the real root, to open the data disk after boot.
  copy_with_libs "$KBUNLOCK" /bin/kbunlock "$root"
  strip --strip-unneeded "$root/bin/kbunlock" 2>/dev/null || true
  local tcti
  tcti=$(ls /usr/lib/x86_64-linux-gnu/libtss2-tcti-device.so.0 2>/dev/null || true)
  [ -n "$tcti" ] && copy_with_libs "$tcti" "$tcti" "$root"
  mkdir -p "$root/etc/keybroker" "$root/mnt"
  cp "$W/pki/ca.pem" "$root/etc/keybroker/ca.pem"
  echo "keybroker-e2e-root-$SCENARIO" > "$root/etc/kb-e2e-marker"
  # systemd's switch-root (dracut scenarios) accepts only a root with an os-release.
  printf 'ID=kb-e2e\nNAME="keybroker e2e root"\n' > "$root/etc/os-release"
  cat > "$root/sbin/init" <<'INIT'
#!/bin/sh
export PATH=/bin
busybox mount -t proc proc /proc
read up _ </proc/uptime
echo "KB-E2E-ROOT-REACHED uptime=$up"
echo "KB-E2E-ROOT-MOUNT: $(busybox grep ' / ' /proc/mounts)"
echo "KB-E2E-MARKER: $(busybox cat /etc/kb-e2e-marker)"
busybox mount -t devtmpfs dev /dev 2>/dev/null
busybox mount -t tmpfs run /run
if [ -b /dev/vdb ]; then
  export DM_DISABLE_UDEV=1 LD_LIBRARY_PATH=/usr/lib/x86_64-linux-gnu:/lib/x86_64-linux-gnu
  if /bin/kbunlock unlock --device /dev/vdb --name data --ca /etc/keybroker/ca.pem \
       --deadline 30 && busybox mount -o ro /dev/mapper/data /mnt; then
    echo "KB-E2E-DATA: $(busybox cat /mnt/data-marker)"
  else
    echo "KB-E2E-DATA: FAILED"
  fi
fi
busybox sync
busybox sleep 0.2
printf '\000' | busybox dd of=/dev/port bs=1 seek=244 count=1 2>/dev/null
busybox poweroff -f
INIT
  chmod +x "$root/sbin/init"
}

# ---------------------------------------------------------------- encrypted disk
encrypt_image() {  # encrypt_image IMG SIZE_MB DIR LABEL: ext4 from DIR, then LUKS2 in place
  truncate -s "$2"M "$1"
  mkfs.ext4 -q -F -L "$4" -d "$3" "$1" $(( $2 - 16 ))M
  cryptsetup reencrypt -q --encrypt --type luks2 --pbkdf pbkdf2 --pbkdf-force-iterations 1000 \
    --key-file "$W/pass" --reduce-device-size 16M "$1" >/dev/null
}

make_disk() {
  printf 'e2e fallback passphrase' > "$W/pass"
  encrypt_image "$W/disk.img" 128 "$W/rootfs" kbroot
  UUID=$(cryptsetup luksUUID "$W/disk.img")
  mkdir -p "$W/datafs"
  echo "keybroker-e2e-data-$SCENARIO" > "$W/datafs/data-marker"
  encrypt_image "$W/data.img" 24 "$W/datafs" kbdata
}

# ---------------------------------------------------------------- broker
# Where the brokers keep their state: SQLite by default; ha-postgres points STORE at PostgreSQL.
STORE='"database_path":"broker.db"'
BROKER_EXTRA=""  # more config members, each followed by a comma
TOKEN_BROKERS=$GUEST_BROKER
GUESTFWD_MORE=""

start_postgres() {  # a PostgreSQL of this test's own; initdb and pg_ctl refuse root
  PG_BIN=$(ls -d /usr/lib/postgresql/*/bin | sort -V | tail -1)
  PGDIR=$(mktemp -d /tmp/kb-e2e-pg.XXXXXX)
  chown postgres: "$PGDIR"
  runuser -u postgres -- "$PG_BIN/initdb" -D "$PGDIR/data" -A trust -U postgres --no-sync \
    -E UTF8 --locale C >"$W/initdb.log" 2>&1 || { cat "$W/initdb.log"; fail "initdb failed"; }
  runuser -u postgres -- "$PG_BIN/pg_ctl" -D "$PGDIR/data" -l "$PGDIR/log" -w -t 30 \
    -o "-k $PGDIR -c listen_addresses=''" start >/dev/null || { cat "$PGDIR/log"; fail "pg_ctl start failed"; }
  runuser -u postgres -- "$PG_BIN/psql" -h "$PGDIR" -d postgres -qc "CREATE DATABASE keybroker" ||
    fail "CREATE DATABASE failed"
  STORE="\"store\":{\"postgres\":{\"dsn\":\"host=$PGDIR dbname=keybroker user=postgres\"}}"
}

start_broker() {  # start_broker [N]: broker N (default 1) on release port PORT + 2(N-1)
  local n=${1:-1} conf=$W/broker${1:-}.json
  local release=$((PORT + 2 * (n - 1)))
  [ -d "$W/pki" ] || sh "$SRC/tests/integration/make_pki.sh" "$W/pki"
  [ -f "$W/kek" ] || { head -c 32 /dev/urandom > "$W/kek"; chmod 600 "$W/kek"; }
  cat > "$conf" <<JSON
{"release_listen":"127.0.0.1:$release","admin_listen":"127.0.0.1:$((release + 1))",
 "tls_cert_file":"pki/server.pem","tls_key_file":"pki/server.key",
 "operator_ca_file":"pki/operator-ca.pem",$BROKER_EXTRA$STORE,"kek_file":"kek",
 "operator_roles":[{"identity":"operator-alice","roles":["admin"]}]}
JSON
  "$KEYBROKERD" --config "$conf" 2>"$W/broker${1:-}.log" &
  local pid=$!
  PIDS+=("$pid")
  if [ "$n" = 1 ]; then BROKER_PID=$pid; else BROKER2_PID=$pid; fi
  for _ in $(seq 100); do grep -q serving "$W/broker${1:-}.log" && return 0; sleep 0.1; done
  cat "$W/broker${1:-}.log"; fail "keybrokerd $n did not start"
}
stop_broker() { kill "$BROKER_PID"; wait "$BROKER_PID" 2>/dev/null || true; }

ctl() {
  "$CTL" --addr "127.0.0.1:$((PORT + 1))" --ca "$W/pki/ca.pem" --cert "$W/pki/operator.pem" \
    --key "$W/pki/operator.key" "$@"
}

# PCR 7 as the guest will see it: SeaBIOS extends only a separator (sha256 of FF FF FF FF).
seabios_pcr() {
  { head -c 32 /dev/zero; printf '\377\377\377\377' | openssl dgst -sha256 -binary; } |
    openssl dgst -sha256 -r | cut -d' ' -f1
}

set_policy() {  # set_policy PCR7_HEX|- [OFFLINE_BOOTS [KEY]]  (- : machine only, for enrolment)
  local pcrs="" key=${3:-e2e-root}
  [ "$1" != "-" ] && pcrs=",\"pcrs\":[{\"index\":7,\"allowed\":[\"$1\"]}]"
  echo "{\"allow\":[{\"name\":\"e2e-boot\",\"machines\":[\"e2e-vm\"]$pcrs,\"offline_boots\":${2:-0}}]}" |
    ctl policy set "$key" - >/dev/null
}

# ---------------------------------------------------------------- vTPM + enrolment
enroll() {
  mkdir -p "$W/tpm"
  swtpm socket --tpm2 --tpmstate dir="$W/tpm" --flags not-need-init,startup-clear \
    --server type=tcp,port=21321,bindaddr=127.0.0.1 \
    --ctrl type=tcp,port=21322,bindaddr=127.0.0.1 2>"$W/swtpm-enroll.log" &
  local swtpm_pid=$!
  PIDS+=("$swtpm_pid")  # stopped by cleanup too if enrolment fails
  sleep 0.5
  local tcti=swtpm:host=127.0.0.1,port=21321
  ctl key create e2e-root >/dev/null
  ctl key create e2e-data >/dev/null
  "$KBUNLOCK" attestation-key --out "$W/ak.pub" --tcti "$tcti" >/dev/null
  ctl ak register --machine e2e-vm --ak-public "$W/ak.pub" >/dev/null
  set_policy - 0 e2e-root
  set_policy - 0 e2e-data
  for disk in disk:e2e-root data:e2e-data; do
    "$KBUNLOCK" enroll --device "$W/${disk%%:*}.img" --broker "127.0.0.1:$PORT" \
      --token-broker "$TOKEN_BROKERS" --ca "$W/pki/ca.pem" --key-id "${disk#*:}" \
      --passphrase-file "$W/pass" --pcrs 0,7 --tcti "$tcti"
  done
  kill "$swtpm_pid"; wait "$swtpm_pid" 2>/dev/null || true
  # From now on only the guest's boot state is allowed.
  set_policy "$(seabios_pcr)" 0 e2e-root
  set_policy "$(seabios_pcr)" 0 e2e-data
}

# SEV-SNP (snp-no-tpm): the software firmware's platform in $W/fw, policy by MEASUREMENT and
# chip, and enrolment with SEV-SNP evidence and no TPM at all.
enroll_snp() {
  ctl key create e2e-root >/dev/null
  echo "{\"allow\":[{\"name\":\"e2e-snp\",\"evidence_types\":[\"snp\"],\"machines\":[\"snp-chip:$(cat "$W/fw/chip_id.hex")\"],\"snp\":{\"measurements\":[\"$(cat "$W/fw/measurement.hex")\"]}}]}" |
    ctl policy set e2e-root - >/dev/null
  "$KBUNLOCK" enroll --device "$W/disk.img" --broker "127.0.0.1:$PORT" \
    --token-broker "$TOKEN_BROKERS" --ca "$W/pki/ca.pem" --key-id e2e-root \
    --passphrase-file "$W/pass" --evidence snp --sev-guest "$W/fw" --tcti device:/nonexistent
}

# ---------------------------------------------------------------- initramfs (Debian mkinitramfs)
build_initramfs() {  # build_initramfs CA_PEM [keybroker|keyfile|both]
  local conf=$W/initramfs-conf ca=$1 mode=${2:-keybroker}
  mkdir -p "$conf"/{hooks,scripts/local-top,conf.d} "$W/etc-upper" "$W/etc-work" "$W/etc-keybroker"
  cat > "$conf/initramfs.conf" <<CONF
MODULES=list
BUSYBOX=y
KEYMAP=n
COMPRESS=zstd
DEVICE=
NFSROOT=auto
RUNSIZE=10%
FSTYPE=ext4
UMASK=0077
CONF
  printf '%s\n' virtio_pci virtio_blk virtio_net ext4 crc32c_generic > "$conf/modules"
  # Phase markers (same in every mode): local-top start and local-premount (root device open).
  mkdir -p "$conf/scripts/local-premount"
  for phase in local-top/00e2emark local-premount/zze2emark; do
    cat > "$conf/scripts/$phase" <<'MARK'
#!/bin/sh
case "$1" in prereqs) exit 0 ;; esac
read -r up _ </proc/uptime
echo "e2e-mark[$up]: $(basename "$(dirname "$0")")" >/dev/console
MARK
    chmod +x "$conf/scripts/$phase"
  done
  cp "$ca" "$W/etc-keybroker/ca.pem"
  # A shorter bound than the 60 s default keeps the fallback scenarios quick.
  echo "KEYBROKER_TIMEOUT=${E2E_UNLOCK_TIMEOUT:-15}" > "$W/etc-keybroker/initramfs.conf"
  if [ -d "$W/fw" ]; then  # the software SEV-SNP firmware stands where /dev/sev-guest would
    echo "KEYBROKER_SEV_GUEST=/etc/keybroker/fw" >> "$W/etc-keybroker/initramfs.conf"
    cat > "$conf/hooks/e2e-snp-fw" <<HOOK
#!/bin/sh
case "\$1" in prereqs) exit 0 ;; esac
mkdir -p "\$DESTDIR/etc/keybroker/fw"
cp $W/fw/report.bin $W/fw/vcek.der $W/fw/vcek.key "\$DESTDIR/etc/keybroker/fw/"
HOOK
    chmod +x "$conf/hooks/e2e-snp-fw"
  fi
  if [ "$mode" != keyfile ]; then
    cp "$HOOKS/hooks/keybroker" "$conf/hooks/"
    cp "$HOOKS/scripts/local-top/keybroker" "$conf/scripts/local-top/"
    cat > "$conf/conf.d/keybroker" <<CONF
export KEYBROKER_KBUNLOCK=$KBUNLOCK
export KEYBROKER_CONFDIR=$W/etc-keybroker
CONF
    echo "cryptroot UUID=$UUID none luks,initramfs" > "$W/etc-upper/crypttab"
  fi
  if [ "$mode" != keybroker ]; then
    cp "$W/pass" "$W/etc-keybroker/root.key"
    echo "cryptroot UUID=$UUID $W/etc-keybroker/root.key luks,initramfs" > "$W/etc-upper/crypttab"
    mkdir -p "$W/etc-upper/cryptsetup-initramfs"
    { cat /etc/cryptsetup-initramfs/conf-hook 2>/dev/null
      echo "KEYFILE_PATTERN=\"$W/etc-keybroker/*.key\""; } > "$W/etc-upper/cryptsetup-initramfs/conf-hook"
  fi
  # The host's /etc stays untouched: crypttab comes from an overlay in this private namespace.
  log "building the initramfs with Debian's mkinitramfs and keybroker's hook ($mode)"
  mount -t overlay overlay -o "lowerdir=/etc,upperdir=$W/etc-upper,workdir=$W/etc-work" /etc
  mkinitramfs -d "$conf" -o "$W/initrd.zst" "$KVER" >"$W/mkinitramfs.log" 2>&1 ||
    { umount /etc; cat "$W/mkinitramfs.log"; fail "mkinitramfs failed"; }
  umount /etc
  zstd -q -d -f "$W/initrd.zst" -o "$W/initrd.raw"
}

# ---------------------------------------------------------------- initramfs (dracut + systemd)
# The real dracut (Debian's dracut-core, which coexists with initramfs-tools), the host's
# systemd 252 and systemd-cryptsetup, keybroker's dracut module and the token plugin. The module
# and the plugin come from the packages when KB_PACKAGE_ROOT is set, else the tree and the build.
build_dracut_initramfs() {  # build_dracut_initramfs CA_PEM
  local modules=/usr/lib/dracut/modules.d module=$SRC/initramfs/dracut/95keybroker
  local plugin=$BUILD/unlocker/token_plugin/libcryptsetup-token-keybroker.so add=(--add keybroker)
  mkdir -p "$W/etc-keybroker" "$W/dracut-conf.d" "$W/modules-upper" "$W/modules-work"
  if [ -n "${KB_PACKAGE_ROOT:-}" ]; then
    module=$KB_PACKAGE_ROOT$modules/95keybroker
    plugin=$KB_PACKAGE_ROOT/usr/lib/x86_64-linux-gnu/cryptsetup/libcryptsetup-token-keybroker.so
    # The package's own conf adds the module (no --add).
    cp "$KB_PACKAGE_ROOT/usr/lib/dracut/dracut.conf.d/95-keybroker.conf" "$W/dracut-conf.d/"
    add=()
  else
    strip --strip-unneeded -o "$W/plugin.so" "$plugin"; plugin=$W/plugin.so
  fi
  cp "$1" "$W/etc-keybroker/ca.pem"
  echo "KEYBROKER_TIMEOUT=${E2E_UNLOCK_TIMEOUT:-15}" > "$W/etc-keybroker/initramfs.conf"
  echo "cryptroot UUID=$UUID none luks,_netdev,x-initrd.attach" > "$W/crypttab"
  cp -r "$module" "$W/modules-upper/"
  # The module is seen by dracut in this private mount namespace only.
  mount -t overlay overlay -o "lowerdir=$modules,upperdir=$W/modules-upper,workdir=$W/modules-work" "$modules"
  log "building the initramfs with dracut $(dracut --version 2>/dev/null | cut -d' ' -f2), systemd and keybroker's module"
  KEYBROKER_TOKEN_PLUGIN=$plugin KEYBROKER_CONFDIR=$W/etc-keybroker \
    dracut --conf /dev/null --confdir "$W/dracut-conf.d" --no-hostonly --kver "$KVER" \
      "${add[@]}" --omit "plymouth lvm mdraid dmraid multipath iscsi nfs nbd fcoe btrfs" \
      --drivers "virtio_pci virtio_blk virtio_net ext4" --include "$W/crypttab" /etc/crypttab \
      --no-compress --force "$W/initrd.raw" >"$W/dracut.log" 2>&1 ||
    { umount "$modules"; tail -40 "$W/dracut.log"; fail "dracut failed"; }
  umount "$modules"
}

# ---------------------------------------------------------------- boot
boot() {  # boot NAME [extra qemu args...]
  local name=$1; shift
  local run=$W/run-$name
  mkdir -p "$run"
  local tpm=()
  if [ -z "${NO_TPM:-}" ]; then
    swtpm socket --tpm2 --tpmstate dir="$W/tpm" --ctrl type=unixio,path="$run/swtpm.sock" \
      --terminate 2>"$run/swtpm.log" &
    PIDS+=("$!")
    for _ in $(seq 50); do [ -S "$run/swtpm.sock" ] && break; sleep 0.1; done
    tpm=(-chardev "socket,id=chrtpm,path=$run/swtpm.sock" -tpmdev emulator,id=tpm0,chardev=chrtpm
         -device tpm-tis,tpmdev=tpm0)
  fi
  local append="console=ttyS0 root=/dev/mapper/cryptroot rootfstype=ext4 ro panic=-1 ${APPEND_MORE:-}"
  append+=" ipv6.disable=1 net.ifnames=0 printk.time=1 quiet"
  append+=" ip=10.0.2.15::10.0.2.2:255.255.255.0::eth0:off"
  local start=$SECONDS
  local with="with swtpm"
  [ -n "${NO_TPM:-}" ] && with="without a TPM"
  log "booting the guest ($name) under QEMU/TCG $with; guest network: restrict=on + guestfwd"
  qemu-system-x86_64 -nodefaults -no-user-config -machine pc -accel tcg -cpu max -smp 1 -m 512 \
    -display none -monitor none -serial "file:$run/serial.log" -no-reboot \
    -pidfile "$run/qemu.pid" -kernel "/boot/vmlinuz-$KVER" -initrd "$W/initrd.raw" \
    -append "$append" "${tpm[@]}" \
    -drive "file=$W/disk.img,if=virtio,format=raw" \
    -netdev "user,id=n0,ipv6=off,restrict=on,guestfwd=tcp:$GUEST_BROKER-cmd:socat - TCP:127.0.0.1:$PORT$GUESTFWD_MORE" \
    -device virtio-net-pci,netdev=n0,romfile= \
    -device isa-debug-exit,iobase=0xf4,iosize=0x04 "$@" &
  local qemu=$!
  PIDS+=("$qemu")
  # Wait for QEMU to exit, or (fallback scenarios) for the passphrase prompt, or the timeout.
  while kill -0 "$qemu" 2>/dev/null; do
    if [ $((SECONDS - start)) -ge "$BOOT_TIMEOUT" ]; then
      kill "$qemu"; tr -d '\r' < "$run/serial.log" | tail -30
      fail "boot did not finish within ${BOOT_TIMEOUT}s"
    fi
    if [ -n "${STOP_AT_PROMPT:-}" ] && grep -q "$PROMPT" "$run/serial.log" 2>/dev/null; then
      sleep 0.5; kill "$qemu"; break
    fi
    sleep 0.5
  done
  wait "$qemu" 2>/dev/null || true
  BOOT_SECONDS=$((SECONDS - start))
  CONSOLE=$W/console-$name.txt
  tr -d '\r' < "$run/serial.log" > "$CONSOLE"
  echo "---- guest console ($SCENARIO, boot '$name', ${BOOT_SECONDS}s) ----"
  grep -vE '^\s*$' "$CONSOLE" | grep -vE 'ima: Can not allocate' | tail -40
  echo "----"
}

expect_console() { grep -qE "$1" "$CONSOLE" || fail "console lacks: $1"; }
expect_no_console() { ! grep -qE "$1" "$CONSOLE" || fail "console shows: $1"; }
expect_root() {  # the real root filesystem was reached through /dev/mapper/cryptroot
  expect_console 'KB-E2E-ROOT-REACHED'
  expect_console 'KB-E2E-ROOT-MOUNT: /dev/mapper/cryptroot / ext4'
  expect_console "KB-E2E-MARKER: keybroker-e2e-root-$SCENARIO"
}
DATA_DRIVE=()
PROMPT="Please unlock disk"  # initramfs-tools' passphrase prompt

mark() { sed -n "s/^$1\\[\\([0-9.]*\\)\\]: $2.*/\\1/p" "$CONSOLE" | head -1; }

report_timing() {  # the unlock phase in guest time, from the guest's own uptime stamps
  local t0 t1 p0 p1
  p0=$(mark e2e-mark local-top); p1=$(mark e2e-mark local-premount)
  [ -n "$p0" ] && [ -n "$p1" ] &&
    echo "E2E TIMING $SCENARIO: local-top start -> root device open: $(awk "BEGIN{print $p1 - $p0}") s guest time"
  t0=$(mark keybroker starting); t1=$(mark keybroker 'cryptroot: unlocked')
  [ -n "$t0" ] && [ -n "$t1" ] &&
    echo "E2E TIMING $SCENARIO: keybroker script start -> volume opened: $(awk "BEGIN{print $t1 - $t0}") s guest time"
  echo "E2E SIZE $SCENARIO: initramfs $(stat -c %s "$W/initrd.raw") bytes uncompressed, $(stat -c %s "$W/initrd.zst") zstd"
}

# ---------------------------------------------------------------- scenarios
DATA=(-drive "file=$W/data.img,if=virtio,format=raw")
log "scenario $SCENARIO, kernel $KVER, work dir $W"
if [ "$SCENARIO" = snp-no-tpm ]; then
  log "making a software SEV-SNP platform (test AMD chain, VCEK, a real Milan report as template)"
  sh "$SRC/tests/fakes/make_fake_snp.sh" "$W/fw" >/dev/null
  BROKER_EXTRA='"amd_chain_file":"fw/amd_chain.pem",'
fi
if [ "$SCENARIO" = ha-postgres ]; then
  log "starting PostgreSQL (as the postgres user, Unix socket only) for two keybrokerd"
  start_postgres
  TOKEN_BROKERS=$GUEST_BROKER,10.0.2.100:$((PORT + 2))
  GUESTFWD_MORE=",guestfwd=tcp:10.0.2.100:$((PORT + 2))-cmd:socat - TCP:127.0.0.1:$((PORT + 2))"
fi
log "keybroker binaries from ${KB_PACKAGE_ROOT:+the packages unpacked in }${KB_PACKAGE_ROOT:-$BUILD}"
log "starting keybrokerd on 127.0.0.1:$PORT inside a private network namespace"
start_broker
[ "$SCENARIO" = ha-postgres ] && start_broker 2
log "building the guest root filesystem and LUKS2 disks (root + data)"
make_rootfs
make_disk
if [ "$SCENARIO" = snp-no-tpm ]; then
  log "enrolling the root with SEV-SNP evidence (key e2e-root; no TPM)"
  enroll_snp >/dev/null
else
  log "enrolling the disks with the broker (key e2e-root, e2e-data; machine e2e-vm; PCRs 0,7)"
  enroll >/dev/null
fi
PCR7=$(seabios_pcr)
case "$SCENARIO" in
  online)
    build_initramfs "$W/pki/ca.pem"
    boot 1 "${DATA[@]}"
    expect_root
    expect_console 'keybroker\[[0-9.]+\]: cryptroot: unlocked'
    expect_no_console 'Please unlock disk'
    expect_console 'KB-E2E-DATA: keybroker-e2e-data-online'
    report_timing
    ;;
  pcr-changed)
    set_policy 0000000000000000000000000000000000000000000000000000000000000000
    build_initramfs "$W/pki/ca.pem"
    STOP_AT_PROMPT=1 boot 1
    expect_console "denied by broker: .*pcr sha256:7 value"
    expect_console 'falling back to the passphrase'
    expect_console 'Please unlock disk cryptroot'
    expect_no_console 'KB-E2E-ROOT-REACHED'
    ;;
  wrong-ca)
    build_initramfs "$W/pki/other-ca.pem"
    STOP_AT_PROMPT=1 boot 1
    expect_console 'not the CA this volume was enrolled with'
    expect_console 'Please unlock disk cryptroot'
    expect_no_console 'KB-E2E-ROOT-REACHED'
    ;;
  broker-down)
    build_initramfs "$W/pki/ca.pem"
    stop_broker
    STOP_AT_PROMPT=1 boot 1
    expect_console 'broker unreachable'
    expect_console 'Please unlock disk cryptroot'
    expect_no_console 'KB-E2E-ROOT-REACHED'
    ;;
  offline-grace)
    set_policy "$PCR7" 2
    build_initramfs "$W/pki/ca.pem"
    boot online
    expect_root
    expect_console 'sealed an offline copy in the vTPM: 2 offline boots allowed'
    stop_broker
    boot offline-1
    expect_root
    expect_console 'opened from the vTPM-sealed copy; 1 offline boots left'
    ;;
  grace-exhausted)
    set_policy "$PCR7" 1
    build_initramfs "$W/pki/ca.pem"
    boot online
    expect_console 'sealed an offline copy in the vTPM: 1 offline boots allowed'
    stop_broker
    boot offline-1
    expect_root
    expect_console 'opened from the vTPM-sealed copy; 0 offline boots left'
    STOP_AT_PROMPT=1 boot offline-2
    expect_console 'offline copy: offline boot allowance used up'
    expect_console 'Please unlock disk cryptroot'
    expect_no_console 'KB-E2E-ROOT-REACHED'
    ;;
  rotation)
    build_initramfs "$W/pki/ca.pem"
    boot v1
    expect_root
    expect_console "with key 'e2e-root' version 1"
    ctl key rotate e2e-root
    boot reenrol
    expect_root
    expect_console "re-enrolling from version 1 to 2"
    expect_console 're-enrolled: keyslot [0-9]+ holds version 2'
    expect_console "confirmed to the broker: enrolled with key 'e2e-root' version 2"
    ctl key rotation-status e2e-root | tee "$W/rotation-status.txt"
    grep -Eq 'e2e-vm +2 +confirmed' "$W/rotation-status.txt" ||
      fail "rotation-status does not show version 2 confirmed"
    ctl key retire e2e-root 1
    boot v2
    expect_root
    expect_console "with key 'e2e-root' version 2"
    expect_no_console 're-enrolling'
    ;;
  ha-postgres)
    build_initramfs "$W/pki/ca.pem"
    stop_broker  # the first broker in the token; the second shares its database
    boot 1
    expect_root
    expect_console 'keybroker\[[0-9.]+\]: cryptroot: unlocked'
    expect_console "with key 'e2e-root' version 1 from 10.0.2.100:$((PORT + 2))"
    expect_no_console 'Please unlock disk'
    expect_no_console 'ssl_transport_security'  # no raw gRPC lines from the dead broker
    "$CTL" --addr "127.0.0.1:$((PORT + 3))" --ca "$W/pki/ca.pem" --cert "$W/pki/operator.pem" \
      --key "$W/pki/operator.key" audit list --key-id e2e-root --limit 3 | tee "$W/audit.txt"
    grep -Eq 'machine:e2e-vm +release +e2e-root/v1 +allow' "$W/audit.txt" ||
      fail "the second broker did not record the release"
    report_timing
    ;;
  no-token)
    cryptsetup token remove --token-id 0 "$W/disk.img"
    build_initramfs "$W/pki/ca.pem" both
    boot 1
    expect_root
    expect_console 'keybroker\[[0-9.]+\]: no volume with a keybroker token; nothing to do'
    expect_no_console 'IP-Config'  # the network was never brought up
    expect_no_console 'kbunlock'
    ;;
  snp-no-tpm)
    build_initramfs "$W/pki/ca.pem"
    lsinitramfs "$W/initrd.zst" > "$W/initrd.list"
    grep -q 'sev-guest.ko' "$W/initrd.list" || fail "the initramfs lacks sev-guest.ko"
    NO_TPM=1 boot 1
    expect_root
    expect_console 'keybroker\[[0-9.]+\]: cryptroot: unlocked'
    expect_console 'no TPM on this machine.*attesting with snp evidence only'
    expect_console "with key 'e2e-root' version 1"
    expect_no_console 'Please unlock disk'
    expect_no_console 'TPM \(/dev/tpmrm0\) did not appear'  # an snp token does not wait for a TPM
    ctl audit list --key-id e2e-root --limit 3 | tee "$W/audit.txt"
    grep -Eq "machine:snp-chip:$(cut -c1-16 "$W/fw/chip_id.hex").* +release +e2e-root/v1 +allow" \
      "$W/audit.txt" || fail "the broker did not record the SEV-SNP release"
    report_timing
    ;;
  dracut)  # one dracut initramfs, three boots: online, denied by policy, broker down
    build_dracut_initramfs "$W/pki/ca.pem"
    PROMPT="Please enter passphrase for disk"  # systemd-cryptsetup's fallback prompt
    APPEND_MORE="systemd.journald.forward_to_console=1 systemd.show_status=1 rd.shell=0"
    boot online
    expect_root
    expect_console "keybroker.*cryptroot|Finished.*systemd-cryptsetup@cryptroot"
    expect_no_console "$PROMPT"
    set_policy 0000000000000000000000000000000000000000000000000000000000000000
    STOP_AT_PROMPT=1 boot denied
    expect_console "denied by broker: .*pcr sha256:7 value"
    expect_console "$PROMPT"
    expect_no_console 'KB-E2E-ROOT-REACHED'
    set_policy "$PCR7"
    stop_broker
    STOP_AT_PROMPT=1 boot broker-down
    expect_console 'broker unreachable|no broker answered'
    expect_no_console 'ssl_transport_security'  # no raw gRPC lines from inside the plugin
    expect_console "$PROMPT"
    expect_no_console 'KB-E2E-ROOT-REACHED'
    ;;
  keyfile)
    build_initramfs "$W/pki/ca.pem" keyfile
    boot 1
    expect_root
    report_timing
    ;;
  *) fail "unknown scenario" ;;
esac
echo "E2E PASS $SCENARIO (last boot ${BOOT_SECONDS}s wall)"
