#!/usr/bin/env bash
# scripts/test.sh: configure, build and run the whole test suite (what CI runs; the README's
# second command). Set SHUFFLECL_WERROR=ON to fail on warnings, BUILD_DIR to choose the build.
set -euo pipefail
cd "$(dirname "$0")/.."
build=${BUILD_DIR:-build}
cmake -S . -B "$build" -DCMAKE_BUILD_TYPE=Release -DSHUFFLECL_WERROR="${SHUFFLECL_WERROR:-OFF}"
cmake --build "$build" -j "$(nproc)"
cd "$build"
ctest --output-on-failure -j "$(nproc)" --timeout 1200
