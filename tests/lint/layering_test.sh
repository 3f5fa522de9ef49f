#!/bin/sh
# The layering check passes on the tree, and fails, naming the violation, on copies of the tree
# with a forbidden include, a gRPC include in a verifier, and a folder the table does not know.
set -eu
src=$1
check=$src/scripts/check_layering.py
python3 "$check" "$src"

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
expect_failure() {  # expect_failure WHAT PATTERN
  if out=$(python3 "$check" "$tmp/tree" 2>&1); then
    echo "FAIL: $1 was not caught"; exit 1
  fi
  echo "$out" | grep -q "$2" || { echo "FAIL: $1: expected '$2' in:"; echo "$out"; exit 1; }
  echo "ok: $1"
}
fresh() {
  rm -rf "$tmp/tree"; mkdir -p "$tmp/tree"
  cp -r "$src/common" "$src/keybroker" "$src/unlocker" "$tmp/tree/"
}

fresh
echo '#include "keybroker/server/broker_server.h"' >>"$tmp/tree/keybroker/store/audit_log.h"
expect_failure "store including server" "keybroker/store may not include keybroker/server"

fresh
echo '#include "kb/v1/release.grpc.pb.h"' >>"$tmp/tree/keybroker/verifiers/snp/snp_report.h"
expect_failure "gRPC in a verifier" "gRPC outside the adapters and clients"

fresh
echo '#include "tests/fakes/software_tpm.h"' >>"$tmp/tree/unlocker/flow/rekey.h"
expect_failure "test code in production" "production code includes test code"

fresh
mkdir -p "$tmp/tree/keybroker/newthing" && echo '' >"$tmp/tree/keybroker/newthing/x.h"
expect_failure "an unplaced folder" "keybroker/newthing/: a module folder not in"

fresh
echo '#include "unlocker/flow/rekey.h"' >>"$tmp/tree/unlocker/evidence/evidence_source.h"
expect_failure "evidence including flow" "unlocker/evidence may not include unlocker/flow"
echo "layering_test: all cases behaved"
