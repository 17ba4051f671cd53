#!/usr/bin/env bash
# every_device.sh: the commands that go over every device. `shufflecl devices` lists without
# building a program, `devices --check` builds and passes on each device and fails on a device
# whose kernels are wrong (a kernel source with a bug, through SHUFFLECL_CL_DIR), and
# `bench MODEL --device all` benches each device and ends in one table of them all. On PoCL two
# devices (pthread and basic) unless POCL_DEVICES says otherwise.
set -euo pipefail
tool=${SCL_TOOL:?} src=${SCL_SOURCE_DIR:?} bin=${SCL_BINARY_DIR:?}
work=$(mktemp -d "${SCL_TEST_TMPDIR:-/tmp}/every-device.XXXXXX")
trap 'rm -rf "$work"' EXIT
passed=0
fail() { echo "FAIL: $*"; echo "$passed passed, 1 failed"; exit 1; }
ok() { echo "ok: $*"; passed=$((passed + 1)); }
export POCL_DEVICES=${POCL_DEVICES:-pthread basic}
# the shim counts OpenCL calls (docs/testing.md); after a sanitizer runtime if there is one
export ASAN_OPTIONS=${ASAN_OPTIONS:+$ASAN_OPTIONS:}verify_asan_link_order=0
shim=$bin/tests/libclshim.so
[ -f "$shim" ] || fail "no $shim"
count() { awk -v k="call.$2" '$1 == k {print $2; f = 1} END {if (!f) print 0}' "$1"; }

SCL_SHIM_REPORT=$work/list.txt LD_PRELOAD=$shim "$tool" devices > "$work/list.out" ||
  fail "devices: $(cat "$work/list.out")"
n=$(grep -c '^[0-9]*:[0-9]*' "$work/list.out")
[ "$n" -ge 1 ] || fail "devices lists none"
[ "$(count "$work/list.txt" clBuildProgram)" = 0 ] && [ "$(count "$work/list.txt" clCreateContext)" = 0 ] ||
  fail "a plain listing made a context or built a program: $(grep call. "$work/list.txt" | tr '\n' ' ')"
ok "devices lists $n devices, no context, no build"

SCL_SHIM_REPORT=$work/check.txt LD_PRELOAD=$shim "$tool" devices --check > "$work/check.out" 2>&1 ||
  fail "devices --check: $(cat "$work/check.out")"
[ "$(grep -c ' passed, relative error ' "$work/check.out")" = "$n" ] ||
  fail "devices --check: not $n passes: $(cat "$work/check.out")"
[ "$(count "$work/check.txt" clCreateContext)" = "$n" ] ||
  fail "devices --check: $(count "$work/check.txt" clCreateContext) contexts for $n devices"
ok "devices --check passes on each of the $n devices"

# A bug in one kernel (the pool skips each window's top row): every device must fail the check.
cp -r "$src/cl" "$work/cl"
sed -i 's/if (iy < 0 || iy >= H) continue;/if (iy < 0 || iy >= H || r == 0) continue;/' "$work/cl/pool.cl"
grep -q 'r == 0) continue;' "$work/cl/pool.cl" || fail "cl/pool.cl changed: the bug is not planted"
status=0
SHUFFLECL_CL_DIR=$work/cl "$tool" devices --check > "$work/bad.out" 2>&1 || status=$?
[ "$status" = 1 ] && [ "$(grep -c 'FAILED: relative error' "$work/bad.out")" = "$n" ] &&
  grep -q "devices --check: $n of $n devices failed" "$work/bad.out" ||
  fail "devices --check with a wrong pool kernel: exit $status: $(cat "$work/bad.out")"
ok "devices --check fails on each device with a wrong kernel"

"$tool" bench v2_x0_5 --device all --batch 1,2 --height 32 --width 32 --iters 2 --warmup 0 \
  > "$work/bench.out" 2>&1 || fail "bench --device all: $(tail -n 20 "$work/bench.out")"
[ "$(grep -c '^=== device ' "$work/bench.out")" = "$n" ] || fail "bench --device all: not $n reports"
# the table: one row per device and batch, each device's name, positive times
rows=$(sed -n '/^every device: v2_x0_5, input 32x32/,$p' "$work/bench.out" | grep -E '^  [0-9]+:[0-9]+ ')
[ "$(wc -l <<< "$rows")" = $((2 * n)) ] || fail "bench --device all: table rows: $rows"
while read -r spec; do
  name=$(grep "^=== device $spec: " "$work/bench.out" | sed 's/^=== device [^ ]* //' | cut -c1-20)
  [ "$(grep -c -F "  $spec" <<< "$rows")" = 2 ] && grep -q -F "$name" <<< "$rows" ||
    fail "bench --device all: device $spec ($name) not in the table: $rows"
done < <(grep -o '^[0-9]*:[0-9]*' "$work/list.out")
awk '{ if (!($(NF-2) > 0 && $(NF-1) > 0 && $NF > 0)) exit 1 }' <<< "$rows" ||
  fail "bench --device all: a time or rate is not positive: $rows"
ok "bench --device all: $n reports and one table"
status=0
"$tool" bench v2_x0_5 --device all --json "$work/x.json" > "$work/json.out" 2>&1 || status=$?
[ "$status" = 1 ] && grep -q 'shufflecl: error: bench: --device all' "$work/json.out" ||
  fail "bench --device all --json: exit $status: $(cat "$work/json.out")"
ok "bench --device all refuses --json"
echo "$passed passed, 0 failed"
