#!/bin/bash
# KB_STATIC_KBUNLOCK: kbunlock needs none of the shared gRPC, protobuf or abseil libraries (and
# theirs), so that neither they nor their symbol resolution at start go into the initramfs; and
# the statically linked binary still runs.
set -euo pipefail
kbunlock="$1/unlocker/kbunlock"
needed=$(readelf -d "$kbunlock" | sed -n 's/.*(NEEDED).*\[\(.*\)\]/\1/p')
if grep -E '^lib(grpc|gpr|upb|address_sorting|re2|cares|protobuf|absl_)' <<<"$needed"; then
  echo "FAIL: kbunlock still needs the shared libraries above" >&2
  exit 1
fi
grep -q '^libcryptsetup\.so' <<<"$needed" || { echo "FAIL: no libcryptsetup in: $needed" >&2; exit 1; }
"$kbunlock" --version | grep -q '^kbunlock ' || { echo "FAIL: kbunlock --version" >&2; exit 1; }
echo "PASS: kbunlock needs $(wc -l <<<"$needed") shared libraries, none of gRPC, protobuf, abseil"
