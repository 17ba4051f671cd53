#!/usr/bin/env bash
# scripts/check-format.sh: every C source and header in host/, include/, bench/ and tests/ (sub-folders
# included) is formatted as .clang-format says, by Debian's clang-format 14 (pinned: other versions
# format differently); and no C source is over 800 lines (generated tables aside).
# --fix rewrites the files instead of failing.
set -euo pipefail
cd "$(dirname "$0")/.."
fmt=${CLANG_FORMAT:-clang-format-14}
command -v "$fmt" > /dev/null || { echo "check-format: $fmt not found (apt-get install clang-format-14)"; exit 1; }
"$fmt" --version | grep -q 'version 14\.' || { echo "check-format: $fmt is not version 14"; exit 1; }
mapfile -t files < <(git ls-files 'host/*.[ch]' 'include/*.[ch]' 'bench/*.[ch]' 'tests/*.[ch]')
if [ "${1:-}" = "--fix" ]; then
  "$fmt" -i "${files[@]}"
  exit 0
fi
bad=0
for f in "${files[@]}"; do
  if ! "$fmt" --dry-run --Werror "$f" > /dev/null 2>&1; then
    echo "not formatted: $f (scripts/check-format.sh --fix)"
    bad=1
  fi
done
generated='host/cli/imagenet_classes.c'
for f in "${files[@]}"; do
  case " $generated " in *" $f "*) continue ;; esac
  n=$(wc -l < "$f")
  if [ "$n" -gt 800 ]; then
    echo "over 800 lines: $f ($n)"
    bad=1
  fi
done
[ "$bad" = 0 ] && echo "format: ${#files[@]} files clean"
exit "$bad"
