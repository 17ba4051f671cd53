#!/usr/bin/env bash
# scripts/fuzz.sh: builds the libFuzzer targets of tests/fuzz with clang (build-fuzz/) and runs
# them (docs/testing.md).
#   scripts/fuzz.sh --ci             every target for FUZZ_SECONDS (20) over its committed corpus:
#                                    CI's regression run; fails on any crash, leak or broken promise
#   scripts/fuzz.sh TARGET SECONDS   one target for as long as asked (hours, for a campaign)
#   scripts/fuzz.sh --build          build only
# New inputs go to build-fuzz/corpus/TARGET (the committed seeds are only read); crashes to
# build-fuzz/crash-*. FUZZ_FLAGS passes extra libFuzzer flags; CC chooses the clang.
set -euo pipefail
cd "$(dirname "$0")/.."
build=${BUILD_DIR:-build-fuzz}
targets=(fuzz_safetensors fuzz_npy fuzz_image fuzz_program_cache fuzz_tune fuzz_onnx)
cc=${CC:-$(command -v clang || command -v clang-14 || true)}
[ -n "$cc" ] || { echo "fuzz.sh: clang is needed (apt-get install clang libclang-rt-14-dev)" >&2; exit 1; }
mkdir -p "$build"
cmake -S . -B "$build" -DCMAKE_C_COMPILER="$cc" -DCMAKE_BUILD_TYPE=RelWithDebInfo -DSHUFFLECL_FUZZ=ON \
  -DSHUFFLECL_BUILD_TESTS=OFF -DSHUFFLECL_BUILD_TOOL=OFF -DSHUFFLECL_BUILD_SHARED=OFF > "$build/cmake.log" \
  || { cat "$build/cmake.log"; exit 1; }
cmake --build "$build" -j "$(nproc)" --target "${targets[@]}" > "$build/build.log" \
  || { tail -n 40 "$build/build.log"; exit 1; }
[ "${1:-}" = "--build" ] && exit 0

export ASAN_OPTIONS="detect_leaks=1:halt_on_error=1:allocator_may_return_null=0"
export UBSAN_OPTIONS="halt_on_error=1:print_stacktrace=1"
# run TARGET SECONDS: fuzz over the working corpus and the committed seeds
run() {
  local t=$1 secs=$2 work="$build/corpus/$1"
  mkdir -p "$work"
  # shellcheck disable=SC2086
  "$build/tests/fuzz/$t" -max_total_time="$secs" -timeout=10 -rss_limit_mb=2048 -print_final_stats=1 \
    -artifact_prefix="$build/crash-$t-" ${FUZZ_FLAGS:-} "$work" "tests/fuzz/corpus/$t" > "$build/$t.log" 2>&1
}
if [ "${1:-}" = "--ci" ]; then
  secs=${FUZZ_SECONDS:-20}
  failed=0
  for t in "${targets[@]}"; do
    if run "$t" "$secs"; then
      execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$build/$t.log")
      cov=$(grep -o 'cov: [0-9]*' "$build/$t.log" | tail -n 1)
      echo "$t: ${execs:-?} executions in ${secs} s, ${cov:-cov: ?}"
    else
      echo "$t: FAILED (log: $build/$t.log)"
      grep -E -A30 'ERROR|promise broken|SUMMARY' "$build/$t.log" | head -n 60
      failed=1
    fi
  done
  exit $failed
fi
[ $# -eq 2 ] || { echo "usage: scripts/fuzz.sh --ci | --build | TARGET SECONDS" >&2; exit 2; }
run "$1" "$2" || { tail -n 60 "$build/$1.log"; exit 1; }
tail -n 12 "$build/$1.log"
