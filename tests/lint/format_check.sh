#!/bin/sh
# Every C++ file of the project is clang-formatted (.clang-format at the root; Debian's
# clang-format 14). Prints the files that are not, with the first differences.
set -eu
cd "$1"
files=$(find common keybroker unlocker tests bench -name '*.h' -o -name '*.cc' | sort)
# shellcheck disable=SC2086
if ! clang-format --dry-run --Werror $files 2>"${TMPDIR:-/tmp}/kb-format.log"; then
  grep -E '^[^ ].*: error:' "${TMPDIR:-/tmp}/kb-format.log" | cut -d: -f1 | sort -u |
    sed 's/^/not clang-formatted: /'
  head -30 "${TMPDIR:-/tmp}/kb-format.log"
  echo "fix with: clang-format -i <file>"
  exit 1
fi
echo "format: $(echo "$files" | wc -l) files clang-formatted"
