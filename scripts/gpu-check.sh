#!/usr/bin/env bash
# scripts/gpu-check.sh: the GPU check (docs/gpu-check.md). Two steps:
#   scripts/gpu-check.sh --prepare DIR   here: DIR gets the built tool, tests and library, the
#                                        ocl-icd loader, an .icd naming libnvidia-opencl.so.1 and
#                                        every shared library they need beyond glibc
#   DIR/gpu-check.sh [--out RESULTS]     on the GPU machine: the suite, the benches and a tune,
#                                        within GPU_CHECK_SECONDS (350); RESULTS (default
#                                        DIR/results) gets summary.txt and results.tar.gz
# GPU_CHECK_ICD=pocl runs on PoCL instead of the NVIDIA driver, to prove the whole thing here.
set -euo pipefail

# glibc's own libraries: the one thing the bundle takes from the machine it runs on
glibc_re='^(linux-vdso|ld-linux|libc|libm|libdl|libpthread|librt|libresolv|libutil|libmvec)[.-]'

die() {
  echo "gpu-check: $*" >&2
  exit 1
}

# ---- --prepare DIR ---------------------------------------------------------------------------

# copy_deps FILE...: every library they load (by ldd), glibc's excepted, into $dir/lib
copy_deps() {
  local f lib path
  for f in "$@"; do
    while read -r lib path; do
      [[ $lib =~ $glibc_re ]] && continue
      [ -n "$path" ] && [ -f "$path" ] || die "prepare: $f needs $lib, which ldd does not find"
      # the build's own library is copied by name below; everything else as found
      [ -e "$dir/lib/$lib" ] || cp -L "$path" "$dir/lib/$lib"
    done < <(ldd "$f" | awk '$2 == "=>" {print $1, $3} $2 != "=>" && $1 !~ /^\// {print $1, ""}')
  done
}

prepare() {
  dir=$1
  cd "$(dirname "$0")/.."
  local src=$PWD build
  build=$(cd "${BUILD_DIR:-build}" 2> /dev/null && pwd) ||
    die "prepare: no build in ${BUILD_DIR:-build}/ (run scripts/test.sh first)"
  [ -x "$build/shufflecl" ] || die "prepare: $build/shufflecl is not built"
  rm -rf "$dir"
  mkdir -p "$dir/bin" "$dir/tests" "$dir/lib" "$dir/icd" "$dir/src/tests" "$dir/src/scripts"
  cp "$build/shufflecl" "$dir/bin/"
  local t
  for t in "$build"/tests/test_* "$build/tests/launch_count" "$build/tests/libclshim.so"; do
    [ -f "$t" ] && [ -x "$t" ] && cp "$t" "$dir/tests/"
  done
  # the library (shared build), then what anything needs; ocl-icd's loader comes with them
  cp -a "$build"/libshufflecl.so* "$dir/lib/" 2> /dev/null || true
  copy_deps "$dir/bin/shufflecl" "$dir"/tests/* "$dir"/lib/*
  [ -f "$dir/lib/libOpenCL.so.1" ] || die "prepare: the tool does not load libOpenCL.so.1"
  grep -q -a OCL_ICD_VENDORS "$dir/lib/libOpenCL.so.1" ||
    die "prepare: $dir/lib/libOpenCL.so.1 is not ocl-icd's loader (no OCL_ICD_VENDORS in it)"
  echo "libnvidia-opencl.so.1" > "$dir/icd/nvidia.icd"
  # the parity scripts and what they read from the source tree
  cp -r "$src/tests/torch" "$dir/src/tests/"
  rm -rf "$dir/src/tests/torch/__pycache__"
  cp "$src/scripts/convert_checkpoint.py" "$dir/src/scripts/"
  cp "$src/scripts/gpu-check.sh" "$dir/gpu-check.sh"
  # the newest glibc symbol version anything needs, checked against the machine's at run time
  local need
  need=$(objdump -T "$dir/bin/shufflecl" "$dir"/tests/* "$dir"/lib/* 2> /dev/null |
    grep -o 'GLIBC_[0-9.]*' | sort -t. -k1,1 -k2,2n -k3,3n -u | tail -n 1)
  {
    echo "commit $(git -C "$src" describe --always --dirty 2> /dev/null || echo unknown)"
    echo "prepared $(date -u +%Y-%m-%dT%H:%M:%SZ) on $(uname -m)"
    echo "glibc ${need#GLIBC_}"
  } > "$dir/manifest.txt"
  # proof that DIR stands alone: with only DIR/lib added, nothing is missing
  if LD_LIBRARY_PATH="$dir/lib" ldd "$dir/bin/shufflecl" "$dir"/tests/* "$dir"/lib/* |
    grep 'not found'; then
    die "prepare: libraries missing from $dir/lib (above)"
  fi
  local size
  size=$(du -sm "$dir" | cut -f1)
  [ "$size" -lt 64 ] || die "prepare: $dir is $size MiB, over the 64 MiB limit"
  echo "gpu-check: prepared $dir ($size MiB, $(ls "$dir/lib" | wc -l) libraries, needs glibc" \
    "${need#GLIBC_}); on the GPU machine run: $dir/gpu-check.sh"
}

# ---- the run -----------------------------------------------------------------------------------

# Where the NVIDIA driver put its OpenCL library: the first directory holding it.
find_nvidia() {
  local d
  local IFS=:
  for d in ${LD_LIBRARY_PATH:-}; do
    [ -n "$d" ] && [ -e "$d/libnvidia-opencl.so.1" ] && { echo "$d"; return 0; }
  done
  unset IFS
  local hit
  hit=$(ldconfig -p 2> /dev/null | awk '/libnvidia-opencl\.so\.1 / {print $NF; exit}')
  [ -n "$hit" ] && { dirname "$hit"; return 0; }
  hit=$(find /usr/lib* /usr/local/nvidia /usr/local/lib* /run/nvidia /opt -maxdepth 5 \
    -name 'libnvidia-opencl.so.1' 2> /dev/null | head -n 1)
  [ -n "$hit" ] && { dirname "$hit"; return 0; }
  return 1
}

budget=350 budget_end=0
# step NAME CAP COMMAND...: runs COMMAND for at most CAP seconds and what is left of the budget;
# its output goes to $work/NAME.log and one line to the summary
step() {
  local name=$1 cap=$2 left start status
  shift 2
  # the caps are shares of the default 350 s budget: a larger budget scales them
  cap=$((cap * budget / 350))
  left=$((budget_end - SECONDS))
  if [ "$left" -lt 5 ]; then
    echo "$name: not run (the time budget is spent)" | tee -a "$summary"
    failures=$((failures + 1))
    return 0
  fi
  [ "$cap" -lt "$left" ] || cap=$left
  start=$SECONDS
  status=0
  # a function of this script runs in a fresh copy of it, which timeout can start and stop
  [ "$(type -t "$1")" = function ] && set -- "$dir/gpu-check.sh" --step "$@"
  timeout -k 5 "$cap" "$@" > "$work/$name.log" 2>&1 || status=$?
  local took=$((SECONDS - start)) line
  case $status in
    0) line="$name: ok ($took s)" ;;
    124 | 137) line="$name: TIMED OUT after $took s (cap $cap s)" ;;
    *) line="$name: FAILED, exit status $status ($took s)"$'\n'$(tail -n 15 "$work/$name.log" |
         sed 's/^/    /') ;;
  esac
  [ "$status" = 0 ] || failures=$((failures + 1))
  echo "$line" | tee -a "$summary"
}

# Check programs side by side: each mostly waits on the device; up to 8, no more than CPUs.
jobs_default() {
  local n
  n=$(nproc)
  echo $((n < 8 ? n : 8))
}

# The C tests, side by side, each its own log; one summary line per test.
run_c_tests() {
  local t
  for t in "$dir"/tests/test_*; do
    [ -x "$t" ] && basename "$t"
  done | xargs -P "${GPU_CHECK_JOBS:-$(jobs_default)}" -I{} sh -c \
    '"$0/tests/{}" > "$1/test-{}.log" 2>&1 && echo "{}: passed" || echo "{}: FAILED ($?)"' \
    "$dir" "$work" | sort > "$work/c-tests.txt"
  LD_PRELOAD="$dir/tests/libclshim.so" "$dir/tests/launch_count" > "$work/test-launch_count.log" \
    2>&1 && echo "launch_count: passed" >> "$work/c-tests.txt" ||
    echo "launch_count: FAILED" >> "$work/c-tests.txt"
  cat "$work/c-tests.txt"
  ! grep -q FAILED "$work/c-tests.txt"
}

# The PyTorch parity scripts, where a Python with torch and numpy is found; a script whose
# imports are missing there (torchvision, PIL) says so and is counted as not run, not passed.
run_py_tests() {
  local py=${GPU_CHECK_PYTHON:-python3} s name rc=0
  if ! "$py" -c 'import torch, numpy' 2> /dev/null; then
    echo "NOT RUN: $py has no torch and numpy (set GPU_CHECK_PYTHON)"
    return 0
  fi
  for s in test_parity test_layouts test_cli_errors test_classify test_bench_json; do
    name=py-$s
    if "$py" "$dir/src/tests/torch/$s.py" > "$work/$name.log" 2>&1; then
      echo "$s: passed"
    elif grep -q 'ModuleNotFoundError' "$work/$name.log"; then
      echo "$s: NOT RUN ($(grep -o "No module named '[^']*'" "$work/$name.log" | head -n 1))"
    else
      echo "$s: FAILED"
      rc=1
    fi
  done
  return $rc
}

bench() {
  "$dir/bin/shufflecl" bench "$@" --batch 1,8,32 --seconds "${GPU_CHECK_BENCH_SECONDS:-1}" \
    --height "${GPU_CHECK_SIZE:-224}" --width "${GPU_CHECK_SIZE:-224}"
}

run_check() {
  dir=$(cd "$(dirname "$0")" && pwd)
  local out=$dir/results
  while [ $# -gt 0 ]; do
    case $1 in
      --out) [ $# -ge 2 ] || die "--out needs a directory"; out=$2; shift 2 ;;
      *) die "unknown argument '$1' (usage: gpu-check.sh [--out DIR]; --prepare DIR)" ;;
    esac
  done
  [ -f "$dir/manifest.txt" ] && [ -x "$dir/bin/shufflecl" ] ||
    die "$dir is not a prepared directory (make one with scripts/gpu-check.sh --prepare DIR)"
  mkdir -p "$out"
  out=$(cd "$out" && pwd)
  work=$(mktemp -d "${TMPDIR:-/tmp}/gpu-check.XXXXXX")
  summary=$work/summary.txt
  failures=0
  budget=${GPU_CHECK_SECONDS:-350}
  [[ $budget =~ ^[0-9]+$ ]] && [ "$budget" -ge 60 ] || die "GPU_CHECK_SECONDS must be >= 60"
  budget_end=$((SECONDS + budget))
  local icd=${GPU_CHECK_ICD:-nvidia} vendors
  case $icd in
    nvidia)
      local nv
      nv=$(find_nvidia) || die "no libnvidia-opencl.so.1 found (searched LD_LIBRARY_PATH," \
        "ldconfig, /usr/lib*, /usr/local/nvidia, /usr/local/lib*, /run/nvidia, /opt): is the" \
        "NVIDIA driver mounted? Set LD_LIBRARY_PATH to the folder that holds it."
      export LD_LIBRARY_PATH="$dir/lib:$nv${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}"
      vendors=$dir/icd
      echo "driver: $nv/libnvidia-opencl.so.1" > "$summary" ;;
    pocl)
      vendors=$(ls /etc/OpenCL/vendors/pocl.icd 2> /dev/null) ||
        die "GPU_CHECK_ICD=pocl: no /etc/OpenCL/vendors/pocl.icd here"
      export LD_LIBRARY_PATH="$dir/lib${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}"
      echo "driver: PoCL ($vendors), standing in for the GPU" > "$summary" ;;
    *) die "GPU_CHECK_ICD is '$icd': nvidia (default) or pocl" ;;
  esac
  # ocl-icd reads only these vendors; the tests and tools find everything else in DIR
  export OCL_ICD_VENDORS=$vendors
  export SHUFFLECL_CACHE_DIR=$work/cache SCL_TEST_TMPDIR=$work/tmp SCL_SOURCE_DIR=$dir/src
  export SCL_TOOL=$dir/bin/shufflecl SCL_BINARY_DIR=$dir GPU_CHECK_DIR=$dir GPU_CHECK_WORK=$work
  [ "${GPU_CHECK_QUICK:-0}" = 1 ] && export SCL_TEST_QUICK=1
  mkdir -p "$SHUFFLECL_CACHE_DIR" "$SCL_TEST_TMPDIR"
  local need have
  need=$(sed -n 's/^glibc //p' "$dir/manifest.txt")
  have=$(getconf GNU_LIBC_VERSION 2> /dev/null | awk '{print $2}')
  {
    cat "$dir/manifest.txt"
    echo "machine glibc ${have:-unknown}, $(nproc) CPUs, $(uname -r)"
  } >> "$summary"
  if [ -n "$have" ] && [ "$(printf '%s\n%s\n' "$need" "$have" | sort -V | head -n 1)" != "$need" ]
  then
    die "this machine's glibc is $have, the bundle needs $need: build there instead" \
      "(docs/gpu-check.md)"
  fi
  "$dir/bin/shufflecl" devices > "$work/devices.txt" 2>&1 ||
    die "shufflecl devices failed: $(cat "$work/devices.txt")"
  head -n 1 "$work/devices.txt" | sed 's/^/device: /' >> "$summary"
  cat "$summary"
  # untuned numbers first (the tuning file lands in the cache folder); then the suite, the tune
  # and the bench after it
  local size=${GPU_CHECK_SIZE:-224}
  step bench-v2_x1_0 45 bench v2_x1_0 --json "$work/bench-v2_x1_0.json"
  # layer by layer, for the fused units' gain on this device (most fit 48 KiB only unstaged)
  step bench-v2_x1_0-nofuse 25 bench v2_x1_0 --no-fuse --json "$work/bench-v2_x1_0-nofuse.json"
  step bench-v2_x0_5 35 bench v2_x0_5 --json "$work/bench-v2_x0_5.json"
  step bench-v1_g3_x1_0 35 bench v1_g3_x1_0 --json "$work/bench-v1_g3_x1_0.json"
  # half-precision storage: half the bytes, the point on a bandwidth-bound GPU
  step bench-v2_x1_0-half 30 bench v2_x1_0 --precision half-storage \
    --json "$work/bench-v2_x1_0-half.json"
  step devices-check 20 "$dir/bin/shufflecl" devices --check
  step c-tests 75 run_c_tests
  step py-tests 50 run_py_tests
  step tune-v2_x1_0 45 "$dir/bin/shufflecl" tune v2_x1_0 --height "$size" --width "$size"
  step bench-v2_x1_0-tuned 35 bench v2_x1_0 --json "$work/bench-v2_x1_0-tuned.json"
  # batch 32 in blocks of 1 to 16 against the whole batch: whether blocks pay on this device
  step tune-block-v2_x1_0 30 "$dir/bin/shufflecl" tune v2_x1_0 --batch 32 --ops block \
    --height "$size" --width "$size"
  {
    echo
    echo "tests:"
    cat "$work/c-tests.txt" "$work/py-tests.log" 2> /dev/null | sed 's/^/    /'
    echo "benches at batch 1, 8 and 32 (columns as in shufflecl bench: host ms, device ms, ...):"
    local f
    for f in "$work"/bench-*.log; do
      echo "$(basename "$f" .log):"
      grep -E '^ *(batch +iters|1|8|32) ' "$f" | sed 's/^/    /' || true
    done
    echo "failures: $failures"
  } >> "$summary"
  cp "$summary" "$out/summary.txt"
  tar -C "$work" -czf "$out/results.tar.gz" --exclude=cache --exclude=tmp .
  rm -rf "$work"
  sed -n '/^tests:/,$p' "$out/summary.txt"
  echo "gpu-check: results in $out (summary.txt, results.tar.gz)"
  [ "$failures" = 0 ]
}

if [ "${1:-}" = "--step" ]; then
  # one step of a run, started by step(): the run's folders come through the environment
  dir=${GPU_CHECK_DIR:?} work=${GPU_CHECK_WORK:?}
  shift
  "$@"
elif [ "${1:-}" = "--prepare" ]; then
  [ $# = 2 ] || die "usage: scripts/gpu-check.sh --prepare DIR"
  mkdir -p "$2"
  prepare "$(cd "$2" && pwd)"
else
  run_check "$@"
fi
