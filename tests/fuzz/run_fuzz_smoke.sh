#!/bin/sh
# Builds the libFuzzer targets of the attestation parsers with clang-14 (ASan + UBSan + fuzzer)
# and runs each briefly on the real vectors as seeds. Fails on any crash, leak or sanitizer
# report. Registered with ctest under the label "fuzz"; FUZZ_SECONDS sets the time per target.
#
#   tests/fuzz/run_fuzz_smoke.sh SOURCE_DIR BUILD_DIR
set -eu
SRC=$(cd "${1:?source dir}" && pwd)
BUILD=$(cd "${2:?build dir}" && pwd)
SECONDS_EACH=${FUZZ_SECONDS:-8}
CXX=${FUZZ_CXX:-clang++-14}
command -v "$CXX" >/dev/null || { echo "FUZZ FAIL: $CXX not installed"; exit 1; }
OUT=$BUILD/fuzz
mkdir -p "$OUT"
cd "$SRC"

FLAGS="-std=c++20 -g -O1 -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=undefined
       -I. -I$BUILD/proto -I$BUILD/keybroker/verifiers/tdx/tdx_generated -I/usr/include/tss2"
LIBS="$BUILD/proto/libkb_proto.a -lprotobuf -lcrypto -ltss2-mu -lnghttp2
      $(pkg-config --libs absl_status absl_statusor absl_strings absl_str_format absl_time absl_cord)"
COMMON="keybroker/verifiers/api/check.cc common/crypto.cc common/ec_keys.cc common/openssl_util.cc
        common/tpm/tpm_structures.cc"
SNP="keybroker/verifiers/snp/snp_report.cc keybroker/verifiers/azure/azure_hcl.cc
     keybroker/verifiers/azure/azure_quote.cc"
TDX=$(ls keybroker/verifiers/tdx/*.cc | grep -v -e _evidence_verifier -e _claims -e _collateral_lookup)
TPM="keybroker/verifiers/tpm/tpm_quote_verifier.cc keybroker/verifiers/tpm/tpm_quote.cc
     keybroker/verifiers/tpm/tpm_certification.cc"
POLICY="keybroker/policy/release_policy.cc keybroker/policy/tee_policy.cc
        keybroker/policy/json_types.cc keybroker/verifiers/api/evidence_types.cc"
CONFIG="keybroker/config/broker_config.cc keybroker/service/roles.cc
        keybroker/service/distinguished_name.cc common/files.cc common/json/json_config.cc"
TOKEN="unlocker/volume/token_json.cc unlocker/cli/crypttab.cc"
H2="unlocker/unary_grpc/http2_connection.cc unlocker/unary_grpc/grpc_wire.cc common/logging.cc"

OBJ=$OUT/obj
rm -rf "$OBJ"
# Every source once, $(nproc) at a time (each target links the objects it needs).
# shellcheck disable=SC2086
printf '%s\n' $COMMON $SNP $TDX $TPM $POLICY $CONFIG $TOKEN $H2 tests/fuzz/*_fuzzer.cc | sort -u |
  CXX=$CXX FLAGS=$FLAGS OBJ=$OBJ xargs -P "$(nproc)" -n 1 sh -c \
    'o="$OBJ/${0%.cc}.o"; mkdir -p "${o%/*}"; $CXX $FLAGS -c "$0" -o "$o"' ||
  { echo "FUZZ FAIL: a source did not compile (above)"; exit 1; }
objects() {
  for s in "$@"; do printf '%s ' "$OBJ/${s%.cc}.o"; done
}
build() {  # build NAME SOURCES...
  name=$1; shift
  # shellcheck disable=SC2086
  $CXX $FLAGS $(objects "tests/fuzz/$name.cc" "$@" $COMMON) $LIBS -o "$OUT/$name"
}
run() {  # run NAME MAX_LEN SEEDS...
  name=$1; max=$2; shift 2
  corpus=$OUT/corpus-$name
  rm -rf "$corpus"; mkdir -p "$corpus"
  cp "$@" "$corpus/"
  echo "== $name: ${SECONDS_EACH}s"
  "$OUT/$name" -max_len="$max" -max_total_time="$SECONDS_EACH" -print_final_stats=1 \
    -artifact_prefix="$OUT/$name-" "$corpus" 2>"$OUT/$name.log" ||
    { tail -40 "$OUT/$name.log"; echo "FUZZ FAIL: $name"; exit 1; }
  grep -E 'stat::number_of_executed_units' "$OUT/$name.log" || true
}

# shellcheck disable=SC2086
build snp_report_fuzzer $SNP
# shellcheck disable=SC2086
build azure_hcl_fuzzer $SNP
# shellcheck disable=SC2086
build tdx_quote_fuzzer $TDX
# shellcheck disable=SC2086
build tdx_collateral_fuzzer $TDX
# shellcheck disable=SC2086
build release_request_fuzzer $TPM
# shellcheck disable=SC2086
build policy_json_fuzzer $POLICY
# shellcheck disable=SC2086
build config_fuzzer $CONFIG
# shellcheck disable=SC2086
build token_json_fuzzer $TOKEN
# shellcheck disable=SC2086
build grpc_response_fuzzer $H2
run snp_report_fuzzer 4096 tests/data/snp/*.bin
run azure_hcl_fuzzer 8192 tests/data/az-snp-vtpm/*.bin
run tdx_quote_fuzzer 16384 tests/data/tdx/*.dat tests/data/tdx/*.bin
run tdx_collateral_fuzzer 65536 tests/data/tdx/*.json
run release_request_fuzzer 8192 tests/fuzz/corpus/release_request/*
run policy_json_fuzzer 4096 tests/fuzz/corpus/policy_json/*
run config_fuzzer 4096 tests/fuzz/corpus/config/*
run token_json_fuzzer 4096 tests/fuzz/corpus/token_json/*
run grpc_response_fuzzer 4096 tests/fuzz/corpus/grpc_response/*
echo "FUZZ PASS"
