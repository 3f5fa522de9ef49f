#!/bin/bash
# KB_STATIC_KBUNLOCK: kbunlock needs none of the shared gRPC, protobuf or abseil libraries (and
# theirs) nor libstdc++, so that neither they nor their symbol resolution at start go into the
# initramfs; the statically linked binary still runs; it holds no gRPC at all; and its relocations
# are packed only when KB_KBUNLOCK_DT_RELR says so.
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
# KB_KBUNLOCK_DT_RELR ($2, 1 or 0): packed relative relocations, and the glibc >= 2.36 they need
# (GLIBC_ABI_DT_RELR, which dpkg-shlibdeps turns into the package's libc6 dependency), or neither.
relr=$(readelf -d "$kbunlock" | grep -c '(RELR)' || true)
abi=$(readelf -V "$kbunlock" | grep -c 'GLIBC_ABI_DT_RELR' || true)
if [ "${2:-1}" = 1 ] && { [ "$relr" -eq 0 ] || [ "$abi" -eq 0 ]; }; then
  echo "FAIL: KB_KBUNLOCK_DT_RELR is on but kbunlock has no DT_RELR (or no GLIBC_ABI_DT_RELR)" >&2
  exit 1
fi
if [ "${2:-1}" = 0 ] && [ $((relr + abi)) -gt 0 ]; then
  echo "FAIL: KB_KBUNLOCK_DT_RELR is off but kbunlock needs DT_RELR support" >&2
  exit 1
fi
echo "PASS: kbunlock needs $(wc -l <<<"$needed") shared libraries, none of gRPC, protobuf, abseil, libstdc++;" \
  "no gRPC symbols"
