#!/bin/bash
# Linker launcher for kbunlock (KB_STATIC_KBUNLOCK, unlocker/CMakeLists.txt). CMake runs the
# link command through it; it runs that command with every shared gRPC, protobuf and abseil
# library (and those libraries' own dependencies: upb, re2, c-ares, address_sorting) replaced by
# the static archive Debian ships beside it (the -dev packages' lib*.a). zlib stays shared
# (Debian policy: no embedded zlib; it is in every initramfs) and is named after the group,
# where the archives' references to it are resolved. The archives
# go into one --start-group at the place of the first library replaced, so their order does not
# matter; all of abseil's archives are offered, and the linker takes only the members it needs.
# libstdc++ and libgcc are linked statically by unlocker/CMakeLists.txt's -static-libstdc++: no
# initramfs has libstdc++.so (0.70 MB zstd), and kbunlock takes 0.2 MB of it. The system
# libraries that stay shared (libc, OpenSSL, tpm2-tss, libcryptsetup) are already in an
# initramfs, needed by libcryptsetup anyway, or updated for security on their own.
set -euo pipefail

static_name='^lib(grpc\+\+|grpc|gpr|upb|address_sorting|re2|cares|protobuf|absl_[a-z0-9_]+)$'
archive_dir=""
archives=()
command=()
group_at=-1

replace() {  # replace DIR NAME: queue DIR/NAME.a for the group instead of the shared library
  local archive="$1/$2.a"
  if [[ ! -f $archive ]]; then
    echo "link_static_grpc.sh: $archive is missing: install the -dev package that ships it," \
      "or configure with -DKB_STATIC_KBUNLOCK=OFF" >&2
    exit 1
  fi
  archive_dir="$1"
  archives+=("$archive")
  ((group_at >= 0)) || group_at=${#command[@]}
}

for arg in "$@"; do
  case "$arg" in
    /*.so | /*.so.*)
      name="${arg##*/}"
      name="${name%%.so*}"
      if [[ $name =~ $static_name ]]; then
        replace "${arg%/*}" "$name"
        continue
      fi
      ;;
    -l*)
      if [[ lib${arg#-l} =~ $static_name ]]; then
        replace "${archive_dir:-/usr/lib/$(gcc -dumpmachine)}" "lib${arg#-l}"
        continue
      fi
      ;;
  esac
  command+=("$arg")
done

if ((group_at < 0)); then
  exec "${command[@]}"
fi
for archive in "$archive_dir"/libabsl_*.a; do
  [[ " ${archives[*]} " == *" $archive "* ]] || archives+=("$archive")
done
exec "${command[@]:0:group_at}" -Wl,--start-group "${archives[@]}" -Wl,--end-group -lz \
  "${command[@]:group_at}"
