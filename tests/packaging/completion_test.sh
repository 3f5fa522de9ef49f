#!/bin/bash
# The bash completions of keybrokerctl and kbunlock (packaging/bash-completion), run against the
# built binaries as bash would run them: the words typed so far in, the candidates out.
# usage: completion_test.sh SOURCE_DIR BINARY_DIR
set -euo pipefail
SRC=$1
BUILD=$2
CTL=$BUILD/keybroker/ctl/keybrokerctl
KBUNLOCK=$BUILD/unlocker/kbunlock
fail() { echo "FAIL: $*" >&2; exit 1; }

# candidates FILE FUNCTION WORD... : COMPREPLY for completing the last WORD.
candidates() {
  local file=$1 fn=$2
  shift 2
  (
    # shellcheck disable=SC1090
    source "$file"
    COMP_WORDS=("$@")
    COMP_CWORD=$((${#COMP_WORDS[@]} - 1))
    COMPREPLY=()
    "$fn"
    printf '%s\n' "${COMPREPLY[@]}"
  )
}
expect() {  # expect "WORDS" CANDIDATE... : every CANDIDATE is offered for WORDS
  local words=$1 got
  shift
  read -r -a argv <<< "$words"
  [[ $words == *" " ]] && argv+=("")
  case ${argv[0]} in
    keybrokerctl) argv[0]=$CTL; got=$(candidates "$SRC/packaging/bash-completion/keybrokerctl" _keybrokerctl "${argv[@]}") ;;
    kbunlock) argv[0]=$KBUNLOCK; got=$(candidates "$SRC/packaging/bash-completion/kbunlock" _kbunlock "${argv[@]}") ;;
  esac
  for want in "$@"; do
    grep -qx -- "$want" <<< "$got" || fail "'$words' does not offer '$want' (got: $(echo $got))"
  done
}
expect_not() {  # expect_not "WORDS" CANDIDATE
  local got
  read -r -a argv <<< "$1"
  [[ $1 == *" " ]] && argv+=("")
  argv[0]=$CTL
  got=$(candidates "$SRC/packaging/bash-completion/keybrokerctl" _keybrokerctl "${argv[@]}")
  ! grep -qx -- "$2" <<< "$got" || fail "'$1' offers '$2'"
}

expect "keybrokerctl " key policy audit machine
expect "keybrokerctl --addr 127.0.0.1:9443 k" key
expect "keybrokerctl key " create list show disable rotate retire rotation-status
expect "keybrokerctl key retire disk 1 --f" --force
expect "keybrokerctl --c" --config --ca --cert
expect "keybrokerctl policy set disk p.json --exp" --expected-version
expect_not "keybrokerctl key " policy
expect "keybrokerctl verify-evidence --type snp --col" --collateral
expect "kbunlock " enroll unlock rekey status attestation-key help
expect "kbunlock status --j" --json
expect "kbunlock unlock --dead" --deadline
expect "kbunlock enroll --evidence " auto tpm azure snp tdx
expect "kbunlock enroll --transfer-key r" rsa-2048 rsa-3072
echo "PASS: completions"
