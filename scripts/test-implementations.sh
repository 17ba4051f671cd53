#!/usr/bin/env bash
# scripts/test-implementations.sh: the suite on other OpenCL implementations than the default
# (docs/testing.md, "Every implementation"): PoCL's pthread device with another work-group method
# and PoCL's single-threaded basic device, each timed. Uses the build in BUILD_DIR (default
# build/, made by scripts/test.sh).
#   scripts/test-implementations.sh [IMPL...]
# IMPL: loopvec, workitemloops, cbs (pthread with that work-group method) or basic; default
# "cbs basic". A method is probed first (PoCL compiles a kernel with it and must not say
# "Unknown work group generation method"): Debian 12's PoCL 3.1 has no cbs (its methods are
# loopvec, workitemloops and workitemrepl), so there cbs is replaced, visibly, by
# workitemloops, the loop-based method without loopvec's vectoriser.
# Each run has caches of its own (shufflecl's programs and PoCL's kernels: PoCL's holds the
# work-group functions made for the method in force, which a shared one could hand to another
# method), the quick op shapes (SCL_TEST_QUICK=1; the network tests keep their small sizes, and
# the parity test its 224x224 case) and leaves out what does not depend on the implementation
# and takes minutes: the fault-injection runs (host error paths; the default run has them), the
# install tests, the pure-Python converter test and the bench report's structure (every_device.sh
# still benches each device). SCL_IMPL_FULL=1 runs everything, full size.
set -euo pipefail
cd "$(dirname "$0")/.."
build=$(cd "${BUILD_DIR:-build}" && pwd)
impls=("$@")
[ ${#impls[@]} -gt 0 ] || impls=(cbs basic)
default_cache=$build/tests/program-cache
# The ctests take their program cache from the build's configuration: point it at each run's own
# and put it back however the script ends.
restore() {
  cmake -S . -B "$build" -DSCL_TEST_CACHE_DIR="$default_cache" > /dev/null || true
}
trap restore EXIT
tool=$build/shufflecl
# probe_method METHOD: true when PoCL builds kernels with that work-group method (a small bench of
# one op family: it compiles a network's programs, into the cache the suite then reuses)
probe_method() {
  local out
  out=$(env "${env[@]}" POCL_WORK_GROUP_METHOD="$1" "$tool" bench v2_x0_5 --op head --batch 1 \
    --height 32 --width 32 2>&1) || { echo "$out" | tail -n 5 >&2; return 1; }
  ! grep -q "Unknown work group generation method" <<< "$out"
}
failed=()
for impl in "${impls[@]}"; do
  dir=$build/impl/$impl
  mkdir -p "$dir/pocl-cache" "$dir/program-cache"
  env=(POCL_CACHE_DIR="$dir/pocl-cache" SHUFFLECL_CACHE_DIR="$dir/program-cache")
  case $impl in
    loopvec | workitemloops | cbs)
      env+=(POCL_DEVICES=pthread) want=pthread method=$impl
      if ! probe_method "$method"; then
        [ "$impl" = cbs ] || { echo "== $impl: this PoCL has no $impl method" >&2; failed+=("$impl")
                               continue; }
        echo "== cbs: this PoCL has no cbs work-group method (it falls back to 'auto');" \
          "running workitemloops instead"
        method=workitemloops
        probe_method "$method" || { echo "== no workitemloops either" >&2; failed+=("$impl")
                                    continue; }
      fi
      env+=(POCL_WORK_GROUP_METHOD="$method") ;;
    basic) env+=(POCL_DEVICES=basic) want=basic ;;
    *) echo "test-implementations: unknown implementation '$impl'" \
         "(loopvec, workitemloops, cbs, basic)" >&2
       exit 2 ;;
  esac
  skip=()
  if [ "${SCL_IMPL_FULL:-0}" != 1 ]; then
    env+=(SCL_TEST_QUICK=1)
    skip=(-E '^(fault_injection_.*|install_.*|every_device|launch_count|test_tune|torch_test_(convert|bench_json|onnx|layouts|cli_errors|classify|parity_half))$')
  fi
  # the device the tests will see, to prove the setting took effect
  name=$(env "${env[@]}" "$tool" devices | sed -n '1s/^[0-9]*:[0-9]* (default) //p')
  echo "== $impl: ${env[*]}"
  echo "   device: $name"
  if [[ $name != "$want"-* ]]; then
    echo "test-implementations: $impl: expected a PoCL '$want' device, got '$name'" >&2
    failed+=("$impl")
    continue
  fi
  cmake -S . -B "$build" -DSCL_TEST_CACHE_DIR="$dir/program-cache" > /dev/null
  start=$SECONDS
  status=0
  (cd "$build" && env "${env[@]}" ctest --output-on-failure -j "$(nproc)" --timeout 1200 \
    "${skip[@]}") || status=$?
  echo "== $impl: $([ $status = 0 ] && echo passed || echo FAILED) in $((SECONDS - start)) s"
  # a case a test skips on this implementation says so in its output: shown here, not buried
  log=$build/Testing/Temporary/LastTest.log
  if grep -q "SKIPPED" "$log" 2> /dev/null; then
    echo "   skipped on $impl ($(grep -c SKIPPED "$log") cases):"
    grep -h "SKIPPED" "$log" | sed 's/^/     /'
  fi
  [ $status = 0 ] || failed+=("$impl")
done
if [ ${#failed[@]} -gt 0 ]; then
  echo "test-implementations: failed on: ${failed[*]}" >&2
  exit 1
fi
