#!/usr/bin/env bash
# scripts/oclgrind-quick.sh: "Oclgrind quick" (docs/testing.md): the op tests with SCL_TEST_QUICK=1
# and v2_x0_5 (float32, half-storage, a batch in blocks) and v1_g3_x0_5 inferences at 32x32 with
# random weights, each under
# `oclgrind --check-api --data-races`; fails on a failing test or on anything Oclgrind reports.
# Uses the build in BUILD_DIR (default build/, made by scripts/test.sh).
set -euo pipefail
cd "$(dirname "$0")/.."
build=$(cd "${BUILD_DIR:-build}" && pwd)
command -v oclgrind > /dev/null || { echo "oclgrind-quick: oclgrind is not installed" >&2; exit 1; }
work=$(mktemp -d "${TMPDIR:-/tmp}/oclgrind-quick.XXXXXX")
trap 'rm -rf "$work"' EXIT
# a program cache of its own: Oclgrind compiles each program once, not once per test case
export SCL_TEST_QUICK=1 SHUFFLECL_CACHE_DIR="$work/cache" SCL_TEST_TMPDIR="$work" SCL_SOURCE_DIR="$PWD"
export SCL_BINARY_DIR="$build" CK_DEFAULT_TIMEOUT=1200
failed=0
# What Oclgrind prints for an error: kernel errors name their work-item ("Entity:"), API errors
# say so. (Its --log file misses what the forked Check test cases report, so read the output.)
reports='Invalid (read|write)|data race|OpenCL runtime error|Work-group divergence|[Uu]ninitiali[sz]ed|Unaligned|^[[:space:]]+Entity: '
# run NAME COMMAND...: under Oclgrind; fails on a failing command or on any report
run() {
  local name=$1 start=$SECONDS
  shift
  if ! oclgrind --check-api --data-races "$@" > "$work/$name.out" 2>&1; then
    echo "$name: FAILED"; tail -n 30 "$work/$name.out"; failed=1
  elif grep -E -q "$reports" "$work/$name.out"; then
    echo "$name: Oclgrind reported:"; grep -E -B2 -A6 "$reports" "$work/$name.out" | head -n 40; failed=1
  else
    echo "$name: clean ($((SECONDS - start)) s)"
  fi
}
for t in test_pointwise test_depthwise test_stem_head test_pool test_unit test_half; do
  run "$t" "$build/tests/$t"
done

# random torchvision weights and a random 1 x 3 x 32 x 32 input
/usr/bin/python3 - "$work" <<'PY'
import json, struct, sys
import numpy as np, torch, torchvision
torch.manual_seed(0)
sd = torchvision.models.shufflenet_v2_x0_5().state_dict()
tensors = {k: v.detach().float().numpy() for k, v in sd.items() if not k.endswith("num_batches_tracked")}
header, blobs, off = {}, [], 0
for k, a in tensors.items():
    b = np.ascontiguousarray(a, dtype="<f4").tobytes()
    header[k] = {"dtype": "F32", "shape": list(a.shape), "data_offsets": [off, off + len(b)]}
    blobs.append(b)
    off += len(b)
h = json.dumps(header).encode()
h += b" " * (-len(h) % 8)
with open(sys.argv[1] + "/w.safetensors", "wb") as f:
    f.write(struct.pack("<Q", len(h)) + h + b"".join(blobs))
np.save(sys.argv[1] + "/x.npy", np.random.default_rng(1).standard_normal((1, 3, 32, 32), dtype=np.float32))
PY
run infer_v2_x0_5 "$build/shufflecl" infer v2_x0_5 --weights "$work/w.safetensors" --input "$work/x.npy" \
  --output "$work/y.npy"
# and at half-precision storage (every kernel built with SCL_HALF=1), within the documented
# tolerance of the float32 result (docs/precision.md)
run infer_v2_x0_5_half "$build/shufflecl" infer v2_x0_5 --weights "$work/w.safetensors" \
  --input "$work/x.npy" --output "$work/yh.npy" --precision half-storage
if [ -f "$work/y.npy" ] && [ -f "$work/yh.npy" ]; then
  /usr/bin/python3 -c "import numpy as np, sys; y = np.load(sys.argv[1]); h = np.load(sys.argv[2]); \
assert y.shape == (1, 1000) and np.isfinite(y).all(), y.shape; \
r = float(np.linalg.norm(h - y) / np.linalg.norm(y)); print('half-storage vs float32: %.2e' % r); \
assert r < 5e-3, r" "$work/y.npy" "$work/yh.npy" || failed=1
else
  failed=1
fi

# a batch of 3 in blocks of 2 (scl_network_options.batch_block): the images through a sub-buffer
# (12288 bytes an image: aligned), the logits through a copy (8000 bytes a block: not), a
# shorter last block; the logits those of the whole batch
/usr/bin/python3 -c "import numpy as np, sys; \
np.save(sys.argv[1], np.random.default_rng(2).standard_normal((3, 3, 32, 32), dtype=np.float32))" \
  "$work/x3.npy"
run infer_v2_x0_5_whole "$build/shufflecl" infer v2_x0_5 --weights "$work/w.safetensors" \
  --input "$work/x3.npy" --output "$work/y3.npy"
run infer_v2_x0_5_blocks "$build/shufflecl" infer v2_x0_5 --weights "$work/w.safetensors" \
  --input "$work/x3.npy" --output "$work/y3b.npy" --batch-block 2
if [ -f "$work/y3.npy" ] && [ -f "$work/y3b.npy" ]; then
  /usr/bin/python3 -c "import numpy as np, sys; y = np.load(sys.argv[1]); b = np.load(sys.argv[2]); \
assert y.shape == (3, 1000) and np.isfinite(y).all(), y.shape; \
r = float(np.linalg.norm(b - y) / np.linalg.norm(y)); print('blocks of 2 vs whole: %.2e' % r); \
assert r <= 1e-6, r" "$work/y3.npy" "$work/y3b.npy" || failed=1
else
  failed=1
fi

# V1's fused units (grouped convs, residual, pool shortcut): v1_g3_x0_5, random weights, same input
/usr/bin/python3 - "$work" <<'PY'
import sys
sys.path.insert(0, "tests/torch")
import shufflenet_ref
shufflenet_ref.save_safetensors(shufflenet_ref.build("v1_g3_x0_5").state_dict(),
                                sys.argv[1] + "/w1.safetensors")
PY
run infer_v1_g3_x0_5 "$build/shufflecl" infer v1_g3_x0_5 --weights "$work/w1.safetensors" \
  --input "$work/x.npy" --output "$work/y1.npy"
if [ -f "$work/y1.npy" ]; then
  /usr/bin/python3 -c "import numpy as np, sys; y = np.load(sys.argv[1]); \
assert y.shape == (1, 1000) and np.isfinite(y).all(), y.shape" "$work/y1.npy" || failed=1
fi
exit $failed
