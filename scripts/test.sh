#!/usr/bin/env bash
# scripts/test.sh: configure, build and run the whole test suite (what CI runs; the README's
# second command). Set SHUFFLECL_WERROR=ON to fail on warnings, BUILD_DIR to choose the build.
# --sanitize: the same suite built with ASan + UBSan in build-sanitize/ (docs/testing.md), leak
# checking on, suppressions only for the OpenCL implementation's own frames; any report fails.
set -euo pipefail
cd "$(dirname "$0")/.."
if [ "${1:-}" = "--sanitize" ]; then
  build=${BUILD_DIR:-build-sanitize}
  supp=$PWD/tests/sanitizer
  # Every report also goes to a file, so that one in a child whose exit status a test does not
  # look at (the tool run by the Python tests) still fails the job.
  logs=$PWD/$build/sanitizer-reports
  rm -rf "$logs" && mkdir -p "$logs"
  # use_sigaltstack=0: on some kernels (seen on 6.18, a Zen 3 VM) ASan's runtime cannot unmap
  # a thread's alternate signal stack when the thread exits, and aborts every test whose own
  # threads finish (test_threads, test_cachefiles). A stack overflow still fails the test.
  export ASAN_OPTIONS="detect_leaks=1:halt_on_error=1:exitcode=86:use_sigaltstack=0:log_path=$logs/asan"
  export LSAN_OPTIONS="suppressions=$supp/lsan.supp:print_suppressions=0"
  export UBSAN_OPTIONS="halt_on_error=1:exitcode=86:print_stacktrace=1:log_path=$logs/ubsan"
  export SCL_FAULT_MAX_N=${SCL_FAULT_MAX_N:-3} # each run is several times slower under ASan
  # the op tests' small shapes take every host path; the full sizes run in the plain suite
  export SCL_TEST_QUICK=${SCL_TEST_QUICK:-1}
  # The kernels are the same as the plain build's: reuse its program cache when there is one
  # (device code is not what the sanitizers check; the fault test makes its own caches).
  cache=()
  [ -d build/tests/program-cache ] && cache=(-DSCL_TEST_CACHE_DIR="$PWD/build/tests/program-cache")
  # no -Werror here: instrumentation changes what gcc's flow warnings see (the plain build has it)
  cmake -S . -B "$build" -DCMAKE_BUILD_TYPE=RelWithDebInfo -DSHUFFLECL_SANITIZE=ON -DSHUFFLECL_WERROR=OFF \
    "${cache[@]}"
  cmake --build "$build" -j "$(nproc)"
  cd "$build"
  status=0
  # torch_test_convert is left out: it is pure Python (the converter script), no compiled code
  ctest --output-on-failure -j "$(nproc)" --timeout 1200 -E '^torch_test_convert$' || status=$?
  if [ -n "$(ls -A "$logs")" ]; then
    echo "sanitizer reports:"
    for f in "$logs"/*; do echo "== $f"; head -n 60 "$f"; done
    status=1
  fi
  exit $status
elif [ $# -gt 0 ]; then
  echo "usage: scripts/test.sh [--sanitize]" >&2
  exit 2
fi
build=${BUILD_DIR:-build}
cmake -S . -B "$build" -DCMAKE_BUILD_TYPE=Release -DSHUFFLECL_WERROR="${SHUFFLECL_WERROR:-OFF}"
cmake --build "$build" -j "$(nproc)"
cd "$build"
ctest --output-on-failure -j "$(nproc)" --timeout 1200
