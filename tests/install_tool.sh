#!/usr/bin/env bash
# install_tool.sh: the tool is an ordinary client of the library. Installs the built tree into a
# scratch prefix; checks that the shared library exports only scl_ names (no scl__ internals);
# runs the installed tool without LD_LIBRARY_PATH (its RPATH finds the library); then builds the
# tool's own sources (host/cli and bench, copied alone, away from the library's headers) against
# the installed package and runs that build.
set -euo pipefail
src=${SCL_SOURCE_DIR:?} bin=${SCL_BINARY_DIR:?}
work=$(mktemp -d "${SCL_TEST_TMPDIR:-/tmp}/install-tool.XXXXXX")
trap 'rm -rf "$work"' EXIT
fail() { echo "FAIL: $*"; echo "0 passed, 1 failed"; exit 1; }
cmake --install "$bin" --prefix "$work/prefix" > "$work/install.log"

lib=$(find "$work/prefix" -name 'libshufflecl.so' | head -n 1)
if [ -n "$lib" ]; then
  bad=$(nm -D --defined-only "$lib" | awk 'NF == 3 {print $3}' | grep -v '^scl_[a-z]' || true)
  [ -z "$bad" ] || fail "exported symbols outside scl_: $bad"
  internal=$(nm -D --defined-only "$lib" | awk 'NF == 3 {print $3}' | grep '^scl__' || true)
  [ -z "$internal" ] || fail "internal symbols exported: $internal"
  echo "exports: $(nm -D --defined-only "$lib" | awk 'NF == 3' | wc -l) symbols, all scl_"
fi

env -u LD_LIBRARY_PATH "$work/prefix/bin/shufflecl" models > "$work/models.txt" ||
  fail "the installed tool does not run without LD_LIBRARY_PATH"
grep -q '^v2_x1_0$' "$work/models.txt" || fail "installed tool: models lists no v2_x1_0"

mkdir -p "$work/src/host"
cp -r "$src/host/cli" "$work/src/host/cli"
cp -r "$src/bench" "$work/src/bench"
# a sanitized library needs its clients built with the same runtime (scripts/test.sh --sanitize)
san=${SCL_SANITIZE_FLAGS:-}
cmake -S "$work/src/host/cli" -B "$work/tool-build" -DCMAKE_PREFIX_PATH="$work/prefix" \
  -DCMAKE_BUILD_TYPE=Release -DCMAKE_C_FLAGS="$san" -DCMAKE_EXE_LINKER_FLAGS="$san" > "$work/cmake.log" ||
  { cat "$work/cmake.log"; fail "configure"; }
cmake --build "$work/tool-build" -j 2 > "$work/build.log" 2>&1 || { cat "$work/build.log"; fail "build"; }
env -u LD_LIBRARY_PATH "$work/tool-build/shufflecl" info v2_x0_5 --height 64 --width 64 > "$work/info.txt" ||
  fail "the tool built against the installed package does not run"
grep -q 'launches per inference' "$work/info.txt" || fail "info printed no launch count"
echo "1 passed, 0 failed"
