#!/bin/sh
# The keybroker demo on one machine: a broker, a guest TPM (swtpm), a LUKS2 disk image.
# Each step is printed. Everything lives in a temporary directory that is removed at the end.
set -eu
cd "$(dirname "$0")/.."
./scripts/build.sh >/dev/null
bin=${KB_BUILD_DIR:-build}
root=$(pwd)
work=$(mktemp -d /tmp/keybroker-demo.XXXXXX)
broker_pid=""; swtpm_pid=""
cleanup() {
  [ -n "$broker_pid" ] && kill "$broker_pid" 2>/dev/null || true
  [ -n "$swtpm_pid" ] && kill "$swtpm_pid" 2>/dev/null || true
  rm -rf "$work"
}
trap cleanup EXIT INT TERM
step() { printf '\n\033[1m== %s\033[0m\n' "$*"; }
run() { printf '$ %s\n' "$*"; "$@"; }

free_port() {  # a free TCP port on 127.0.0.1 below 32768
  python3 -c 'import socket,random
while True:
  p=random.randint(20000,32000); s=socket.socket()
  try: s.bind(("127.0.0.1",p)); s.close(); print(p); break
  except OSError: pass'
}

step "1. A throwaway PKI: broker CA + server cert, operator CA + client cert"
sh tests/integration/make_pki.sh "$work/pki"
ls "$work/pki"

step "2. Start keybrokerd (release listener: TLS; admin listener: mutual TLS)"
head -c 32 /dev/urandom > "$work/kek"; chmod 600 "$work/kek"
rport=$(free_port); aport=$(free_port)
cat > "$work/broker.json" <<JSON
{"release_listen": "127.0.0.1:$rport", "admin_listen": "127.0.0.1:$aport",
 "tls_cert_file": "pki/server.pem", "tls_key_file": "pki/server.key",
 "operator_ca_file": "pki/operator-ca.pem", "database_path": "broker.db", "kek_file": "kek",
 "operator_roles": [{"identity": "operator-alice", "roles": ["admin"]}]}
JSON
cat "$work/broker.json"
"$bin/keybroker/keybrokerd" --config "$work/broker.json" 2> "$work/broker.log" &
broker_pid=$!
for _ in $(seq 50); do grep -q "serving" "$work/broker.log" 2>/dev/null && break; sleep 0.1; done
cat "$work/broker.log"

step "3. Start the guest's TPM (swtpm)"
tport=$(free_port)
mkdir -p "$work/tpm"
swtpm socket --tpm2 --tpmstate dir="$work/tpm" --flags not-need-init,startup-clear \
  --server type=tcp,port="$tport",bindaddr=127.0.0.1 \
  --ctrl type=tcp,port=$((tport + 1)),bindaddr=127.0.0.1 &
swtpm_pid=$!
sleep 0.5
tcti="swtpm:host=127.0.0.1,port=$tport"

ctl() {
  printf '$ keybrokerctl %s\n' "$*"
  "$bin/keybroker/ctl/keybrokerctl" --addr "127.0.0.1:$aport" --ca "$work/pki/ca.pem" \
    --cert "$work/pki/operator.pem" --key "$work/pki/operator.key" "$@"
}

step "4. Operator: create a disk key (the broker generates it; its bytes never leave)"
ctl key create demo-root --description "demo root disk"

step "5. Guest: export its attestation key; operator registers it for machine demo-vm"
run "$bin/unlocker/kbunlock" attestation-key --out "$work/ak.pub" --tcti "$tcti"
ctl ak register --machine demo-vm --ak-public "$work/ak.pub"

step "6. Operator: release policy: machine demo-vm with this boot state (PCR 7)"
pcr7=0000000000000000000000000000000000000000000000000000000000000000
cat > "$work/policy.json" <<JSON
{"allow": [{"name": "demo-boot", "evidence_types": ["tpm"], "machines": ["demo-vm"],
            "pcrs": [{"bank": "sha256", "index": 7, "allowed": ["$pcr7"]}]}]}
JSON
cat "$work/policy.json"
ctl policy set demo-root "$work/policy.json"

step "7. A LUKS2 disk image with a passphrase"
truncate -s 32M "$work/disk.img"
printf 'demo passphrase' > "$work/pass"
run cryptsetup luksFormat --type luks2 --batch-mode --pbkdf pbkdf2 \
  --pbkdf-force-iterations 1000 "$work/disk.img" "$work/pass"

step "8. Guest: enrol the disk with the broker (attest, receive the wrapped key, add a keyslot)"
run "$bin/unlocker/kbunlock" enroll --device "$work/disk.img" \
  --broker "127.0.0.1:$rport" --ca "$work/pki/ca.pem" --key-id demo-root \
  --passphrase-file "$work/pass" --pcrs 0,7 --tcti "$tcti"
run "$bin/unlocker/kbunlock" status --device "$work/disk.img"

step "9. Guest: unlock (this host has no device-mapper, so --test checks the key against the keyslot)"
run "$bin/unlocker/kbunlock" unlock --device "$work/disk.img" --test \
  --ca "$work/pki/ca.pem" --tcti "$tcti"

step "10. The audit trail"
ctl audit list --limit 10
printf '\nDemo complete.\n'
