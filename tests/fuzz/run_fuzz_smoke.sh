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
# Whole modules: every source of each directory, so that a file added to one is compiled here
# too. All of them go into one archive, and each target is linked against it: the linker takes
# only the objects the target needs, so no target keeps a list of its own.
MODULES="common common/tpm common/json keybroker/verifiers/api keybroker/verifiers/snp
         keybroker/verifiers/azure keybroker/verifiers/tdx keybroker/verifiers/tpm
         keybroker/policy keybroker/config unlocker/unary_grpc"
# From directories whose other sources need more than the fuzzers link (gRPC, cryptsetup).
SINGLE="keybroker/service/roles.cc keybroker/service/distinguished_name.cc
        unlocker/volume/token_json.cc unlocker/cli/crypttab.cc"

OBJ=$OUT/obj
rm -rf "$OBJ" "$OUT/libparsers.a"
# shellcheck disable=SC2086
SOURCES=$(for d in $MODULES; do ls "$d"/*.cc; done; printf '%s\n' $SINGLE)
# Every source once, $(nproc) at a time.
# shellcheck disable=SC2086
SOURCES=$(printf '%s\n' $SOURCES | sort -u)
# shellcheck disable=SC2086
printf '%s\n' $SOURCES tests/fuzz/*_fuzzer.cc |
  CXX=$CXX FLAGS=$FLAGS OBJ=$OBJ xargs -P "$(nproc)" -n 1 sh -c \
    'o="$OBJ/${0%.cc}.o"; mkdir -p "${o%/*}"; $CXX $FLAGS -c "$0" -o "$o"' ||
  { echo "FUZZ FAIL: a source did not compile (above)"; exit 1; }
# shellcheck disable=SC2046,SC2086
ar rcs "$OUT/libparsers.a" $(for s in $SOURCES; do printf '%s ' "$OBJ/${s%.cc}.o"; done)
build() {  # build NAME
  # shellcheck disable=SC2086
  $CXX $FLAGS "$OBJ/tests/fuzz/$1.o" "$OUT/libparsers.a" $LIBS -o "$OUT/$1" ||
    { echo "FUZZ FAIL: $1 did not link (above)"; exit 1; }
}
RAN=""
run() {  # run NAME MAX_LEN SEEDS...
  name=$1; max=$2; shift 2
  RAN="$RAN $name"
  corpus=$OUT/corpus-$name
  rm -rf "$corpus"; mkdir -p "$corpus"
  cp "$@" "$corpus/"
  echo "== $name: ${SECONDS_EACH}s"
  "$OUT/$name" -max_len="$max" -max_total_time="$SECONDS_EACH" -print_final_stats=1 \
    -artifact_prefix="$OUT/$name-" "$corpus" 2>"$OUT/$name.log" ||
    { tail -40 "$OUT/$name.log"; echo "FUZZ FAIL: $name"; exit 1; }
  grep -E 'stat::number_of_executed_units' "$OUT/$name.log" || true
}

for f in tests/fuzz/*_fuzzer.cc; do
  name=${f##*/}
  build "${name%.cc}"
done
run snp_report_fuzzer 4096 tests/data/snp/*.bin
run azure_hcl_fuzzer 8192 tests/data/az-snp-vtpm/*.bin
run tdx_quote_fuzzer 16384 tests/data/tdx/*.dat tests/data/tdx/*.bin
run tdx_collateral_fuzzer 65536 tests/data/tdx/*.json
run release_request_fuzzer 8192 tests/fuzz/corpus/release_request/*
run policy_json_fuzzer 4096 tests/fuzz/corpus/policy_json/*
run config_fuzzer 4096 tests/fuzz/corpus/config/*
run token_json_fuzzer 4096 tests/fuzz/corpus/token_json/*
run grpc_response_fuzzer 4096 tests/fuzz/corpus/grpc_response/*
# A target added without a run line above would be built and never run.
for f in tests/fuzz/*_fuzzer.cc; do
  name=${f##*/}
  case " $RAN " in
    *" ${name%.cc} "*) ;;
    *) echo "FUZZ FAIL: ${name%.cc} is built but has no run line in this script"; exit 1 ;;
  esac
done
echo "FUZZ PASS"
