#!/bin/bash
# KB_STATIC_KBUNLOCK: kbunlock needs none of the shared gRPC, protobuf or abseil libraries (and
# theirs) nor libstdc++, so that neither they nor their symbol resolution at start go into the
# initramfs; the statically linked binary still runs; and it holds no gRPC at all.
set -euo pipefail
kbunlock="$1/unlocker/kbunlock"
needed=$(readelf -d "$kbunlock" | sed -n 's/.*(NEEDED).*\[\(.*\)\]/\1/p')
if grep -E '^lib(grpc|gpr|upb|address_sorting|re2|cares|protobuf|absl_|stdc\+\+)' <<<"$needed"; then
  echo "FAIL: kbunlock still needs the shared libraries above" >&2
  exit 1
fi
grep -q '^libcryptsetup\.so' <<<"$needed" || { echo "FAIL: no libcryptsetup in: $needed" >&2; exit 1; }
"$kbunlock" --version | grep -q '^kbunlock ' || { echo "FAIL: kbunlock --version" >&2; exit 1; }
# The broker client is the guest's own (unlocker/unary_grpc over nghttp2): no gRPC at all.
left=$(nm -C "$kbunlock" | grep -cE 'grpc_core::|grpc_impl|gpr_log|grpc_init' || true)
if [ "$left" -gt 0 ]; then
  echo "FAIL: kbunlock links $left symbols of gRPC's library" >&2
  exit 1
fi
# With libgcc linked in, anything that unwinds a thread (pthread_exit, pthread_cancel, and
# getaddrinfo_a, whose helper threads end in pthread_exit) dlopens libgcc_s.so.1 and aborts
# where it is missing: a minimal root file system (the e2e guest's data volume once did).
unwinding=$(nm -D "$kbunlock" | grep -oE '\b(pthread_exit|pthread_cancel|getaddrinfo_a)\b' || true)
if [ -n "$unwinding" ]; then
  echo "FAIL: kbunlock calls $(echo $unwinding), which need libgcc_s.so.1 at run time" >&2
  exit 1
fi
grep -q '^libnghttp2\.so' <<<"$needed" || { echo "FAIL: no libnghttp2 in: $needed" >&2; exit 1; }
echo "PASS: kbunlock needs $(wc -l <<<"$needed") shared libraries, none of gRPC, protobuf, abseil, libstdc++;" \
  "no gRPC symbols"
