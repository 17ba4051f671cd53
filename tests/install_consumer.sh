#!/usr/bin/env bash
# install_consumer.sh: installs the built tree into a scratch prefix, then builds and runs a
# consumer with find_package(shufflecl) and another with pkg-config.
set -euo pipefail
src=${SCL_SOURCE_DIR:?} bin=${SCL_BINARY_DIR:?}
work=$(mktemp -d "${SCL_TEST_TMPDIR:-/tmp}/install.XXXXXX")
trap 'rm -rf "$work"' EXIT
cmake --install "$bin" --prefix "$work/prefix" > "$work/install.log"
test -x "$work/prefix/bin/shufflecl" || { echo "the tool was not installed"; exit 1; }
"$work/prefix/bin/shufflecl" --version

# a sanitized library needs its consumers built with the same runtime
san=${SCL_SANITIZE_FLAGS:-}
cmake -S "$src/tests/consumer" -B "$work/cmake-build" -DCMAKE_PREFIX_PATH="$work/prefix" \
    -DCMAKE_C_FLAGS="$san" -DCMAKE_EXE_LINKER_FLAGS="$san" > "$work/cmake.log"
cmake --build "$work/cmake-build" > "$work/build.log"
LD_LIBRARY_PATH="$work/prefix/lib:$work/prefix/lib/$(gcc -print-multiarch 2>/dev/null || true)" "$work/cmake-build/consumer"

libdir=$(dirname "$(find "$work/prefix" -name shufflecl.pc | head -n 1)")
export PKG_CONFIG_PATH="$libdir"
# shellcheck disable=SC2046,SC2086
gcc -std=c11 $san -o "$work/pc-consumer" "$src/tests/consumer/main.c" $(pkg-config --cflags --libs shufflecl)
LD_LIBRARY_PATH="$work/prefix/lib:$(dirname "$libdir")" "$work/pc-consumer"
echo "1 passed, 0 failed"
