#!/bin/bash
# KB_STATIC_KBUNLOCK: kbunlock needs none of the shared gRPC, protobuf or abseil libraries (and
# theirs) nor libstdc++, so that neither they nor their symbol resolution at start go into the
# initramfs; the statically linked binary still runs; and gRPC's xDS and friends are not in it.
set -euo pipefail
kbunlock="$1/unlocker/kbunlock"
needed=$(readelf -d "$kbunlock" | sed -n 's/.*(NEEDED).*\[\(.*\)\]/\1/p')
if grep -E '^lib(grpc|gpr|upb|address_sorting|re2|cares|protobuf|absl_|stdc\+\+)' <<<"$needed"; then
  echo "FAIL: kbunlock still needs the shared libraries above" >&2
  exit 1
fi
grep -q '^libcryptsetup\.so' <<<"$needed" || { echo "FAIL: no libcryptsetup in: $needed" >&2; exit 1; }
"$kbunlock" --version | grep -q '^kbunlock ' || { echo "FAIL: kbunlock --version" >&2; exit 1; }
# unlocker/grpc_trim.cc keeps gRPC's xDS, RBAC and unused LB policies (and re2) out; a gRPC whose
# registration functions were renamed would link them back in silently.
left=$(nm -C "$kbunlock" | grep -cE 'XdsResolver|XdsClient|re2::RE2|RbacFilter|RlsLb::' || true)
if [ "$left" -gt 0 ]; then
  echo "FAIL: kbunlock links $left xDS/RBAC/re2/rls symbols; grpc_trim.cc no longer replaces" \
    "gRPC's registrations" >&2
  exit 1
fi
echo "PASS: kbunlock needs $(wc -l <<<"$needed") shared libraries, none of gRPC, protobuf, abseil, libstdc++;" \
  "no xDS, RBAC, re2 or rls"
