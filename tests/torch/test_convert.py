"""Tests for scripts/convert_checkpoint.py and the safetensors files the project writes.

Run as `/usr/bin/python3 tests/torch/test_convert.py` (any working directory); prints one line
per failure and "N passed, M failed", exit status 0 only when everything passed. The
safetensors reader here is independent of both writers, so it checks the format itself.
"""

import importlib.util
import json
import os
import shutil
import struct
import subprocess
import sys
import tempfile
import traceback

import numpy as np
import torch
import torchvision

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
SCRIPT = os.path.join(ROOT, "scripts", "convert_checkpoint.py")

sys.path.insert(0, HERE)
import shufflenet_ref as ref  # noqa: E402


def _load_script():
    spec = importlib.util.spec_from_file_location("convert_checkpoint", SCRIPT)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


conv = _load_script()
TMP = tempfile.mkdtemp(prefix="test_convert.")


# ---- helpers ------------------------------------------------------------------------------------


def read_safetensors(path):
    """(tensors as numpy arrays, metadata) from a safetensors file, checking its layout."""
    with open(path, "rb") as f:
        blob = f.read()
    (n,) = struct.unpack("<Q", blob[:8])
    assert (8 + n) % 8 == 0, "data does not start 8-byte aligned"
    header = json.loads(blob[8:8 + n].decode("utf-8"))
    metadata = header.pop("__metadata__", {})
    data = blob[8 + n:]
    arrays, spans = {}, []
    for name, info in header.items():
        assert info["dtype"] == "F32", f"{name}: dtype {info['dtype']}"
        begin, end = info["data_offsets"]
        count = int(np.prod(info["shape"], dtype=np.int64))
        assert end - begin == 4 * count, f"{name}: {end - begin} bytes for {count} floats"
        arrays[name] = np.frombuffer(data[begin:end], dtype="<f4").reshape(info["shape"])
        spans.append((begin, end))
    # The tensors must tile the data section exactly: no gaps, overlaps or trailing bytes.
    spans.sort()
    pos = 0
    for begin, end in spans:
        assert begin == pos, f"gap or overlap at byte {begin}"
        pos = end
    assert pos == len(data), f"{len(data) - pos} trailing bytes"
    return arrays, metadata


def reference_arrays(state_dict):
    return {k: v.detach().float().numpy() for k, v in state_dict.items()
            if not k.endswith("num_batches_tracked")}


def assert_same(arrays, expected):
    assert list(arrays) == list(expected), (
        f"names differ: {sorted(set(arrays) ^ set(expected))[:5]}")
    for name, want in expected.items():
        assert arrays[name].shape == want.shape, f"{name}: shape {arrays[name].shape}"
        assert np.array_equal(arrays[name], want), f"{name}: values differ"


def run_script(*args, env=None):
    return subprocess.run([sys.executable, SCRIPT, *args], capture_output=True, text=True,
                          env=env)


def assert_fails(result, *words):
    assert result.returncode == 1, f"exit {result.returncode}, stderr {result.stderr!r}"
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, f"want a one-line error, got {result.stderr!r}"
    for word in words:
        assert word in lines[0], f"{word!r} not in {lines[0]!r}"


def tmp(name):
    return os.path.join(TMP, name)


# ---- tests --------------------------------------------------------------------------------------


def test_expected_shapes_match_reference_models():
    # The script's stand-alone table of shapes must agree with the models themselves.
    for name in ref.MODEL_NAMES:
        model = ref.build_uninitialized(name)
        have = {k: tuple(v.shape) for k, v in model.state_dict().items()
                if not k.endswith("num_batches_tracked")}
        want = dict(conv.expected_shapes(name))
        assert have == want, f"{name}: {sorted(set(have.items()) ^ set(want.items()))[:4]}"


def test_megvii_checkpoint():
    model = ref.build("v1_g3_x1_0", seed=5)
    sd = model.state_dict()
    ckpt = {"epoch": 240, "optimizer": {"lr": 0.1},
            "state_dict": {"module." + k: v for k, v in sd.items()}}
    torch.save(ckpt, tmp("megvii.pth.tar"))
    r = run_script("--model", "v1_g3_x1_0", tmp("megvii.pth.tar"), tmp("megvii.safetensors"))
    assert r.returncode == 0, r.stderr
    arrays, meta = read_safetensors(tmp("megvii.safetensors"))
    assert_same(arrays, reference_arrays(sd))
    assert meta.get("model") == "v1_g3_x1_0", meta


def test_torchvision_state_dict_is_identified():
    sd = ref.build("v2_x0_5", seed=2).state_dict()
    torch.save(sd, tmp("tv.pth"))
    r = run_script(tmp("tv.pth"), tmp("tv.safetensors"))
    assert r.returncode == 0, r.stderr
    assert "v2_x0_5" in r.stdout, r.stdout
    arrays, meta = read_safetensors(tmp("tv.safetensors"))
    assert_same(arrays, reference_arrays(sd))
    assert meta.get("model") == "v2_x0_5", meta


def test_custom_layouts_need_no_model_name():
    # a fine-tuned Megvii V2 checkpoint (DataParallel, 5 classes): converted without a name,
    # its layout written down; and the file runs in shufflecl as `auto`
    model = ref.build_custom("megvii_v2", [16, 32, 64, 128, 256], [1, 2, 1], 5, seed=4)
    sd = model.state_dict()
    torch.save({"epoch": 3, "state_dict": {"module." + k: v for k, v in sd.items()}}, tmp("mv2.pth.tar"))
    r = run_script(tmp("mv2.pth.tar"), tmp("mv2.safetensors"))
    assert r.returncode == 0, r.stderr
    assert "Megvii V2 layout, 5 classes" in r.stdout and "auto" in r.stdout, r.stdout
    arrays, meta = read_safetensors(tmp("mv2.safetensors"))
    assert_same(arrays, reference_arrays(sd))
    assert meta.get("layout") == "Megvii V2 layout, 5 classes" and "model" not in meta, meta
    tool = os.environ.get("SCL_TOOL")
    if tool:
        x = ref.make_input(9, 1, 40, 36)
        np.save(tmp("mv2_x.npy"), x)
        p = subprocess.run([tool, "infer", "auto", "--weights", tmp("mv2.safetensors"), "--input",
                            tmp("mv2_x.npy"), "--output", tmp("mv2_y.npy")], capture_output=True, text=True)
        assert p.returncode == 0, p.stderr
        with torch.no_grad():
            want = model.double()(torch.from_numpy(x).double()).numpy()
        got = np.load(tmp("mv2_y.npy"))
        rel = np.linalg.norm(got - want) / np.linalg.norm(want)
        assert rel < 1e-4, rel
    for layout, widths, groups, name in (("torchvision_v2", [16, 32, 64, 128, 256], None, "torchvision V2"),
                                         ("megvii_v1", [16, 32, 64, 128], 2, "Megvii V1")):
        sd = ref.build_custom(layout, widths, [1, 1, 1], 3, groups, seed=1).state_dict()
        torch.save(sd, tmp("c.pth"))
        r = run_script(tmp("c.pth"), tmp("c.safetensors"))
        assert r.returncode == 0 and f"{name} layout, 3 classes" in r.stdout, r.stdout + r.stderr


def test_whole_pickled_module():
    model = ref.build("v2_x1_0", seed=3)
    torch.save(model, tmp("whole.pth"))
    r = run_script("--model", "v2_x1_0", tmp("whole.pth"), tmp("whole.safetensors"))
    assert r.returncode == 0, r.stderr
    arrays, _ = read_safetensors(tmp("whole.safetensors"))
    assert_same(arrays, reference_arrays(model.state_dict()))


def test_other_float_types_become_float32():
    sd = ref.build("v1_g8_x0_5", seed=4).state_dict()
    mixed = {k: (v.half() if i % 3 == 0 else v.double() if i % 3 == 1 else v)
             for i, (k, v) in enumerate(sd.items())}
    torch.save(mixed, tmp("mixed.pth"))
    r = run_script(tmp("mixed.pth"), tmp("mixed.safetensors"))
    assert r.returncode == 0, r.stderr
    arrays, _ = read_safetensors(tmp("mixed.safetensors"))
    assert_same(arrays, reference_arrays(mixed))


def test_reference_writer_with_module_prefix():
    # What `shufflenet_ref.py case --module-prefix` writes, read back independently.
    sd = ref.build("v1_g1_x1_0", seed=6).state_dict()
    ref.save_safetensors(sd, tmp("prefixed.safetensors"), prefix="module.",
                         metadata={"model": "v1_g1_x1_0"})
    arrays, meta = read_safetensors(tmp("prefixed.safetensors"))
    expected = {"module." + k: v for k, v in reference_arrays(sd).items()}
    assert_same(arrays, expected)
    assert meta == {"model": "v1_g1_x1_0"}, meta


def test_rejects_integer_tensor():
    sd = dict(ref.build_uninitialized("v2_x0_5").state_dict())
    sd["conv1.0.weight"] = sd["conv1.0.weight"].to(torch.int32)
    torch.save(sd, tmp("int.pth"))
    assert_fails(run_script(tmp("int.pth"), tmp("int.safetensors")),
                 "conv1.0.weight", "torch.int32")
    assert not os.path.exists(tmp("int.safetensors"))


def test_rejects_wrong_model():
    sd = ref.build_uninitialized("v1_g3_x1_0").state_dict()
    torch.save(sd, tmp("g3.pth"))
    assert_fails(run_script("--model", "v1_g8_x1_0", tmp("g3.pth"), tmp("g3.safetensors")),
                 "does not match v1_g8_x1_0", "wrong shape")
    assert_fails(run_script("--model", "v2_x1_0", tmp("g3.pth"), tmp("g3.safetensors")),
                 "missing", "unexpected")


def test_rejects_bad_arguments_and_files():
    assert_fails(run_script("--model", "v3", tmp("g3.pth"), tmp("x.safetensors")),
                 "unknown model")
    assert_fails(run_script(tmp("absent.pth"), tmp("x.safetensors")), "no such file")
    with open(tmp("garbage.pth"), "w") as f:
        f.write("not a checkpoint\n")
    assert_fails(run_script(tmp("garbage.pth"), tmp("x.safetensors")), "not a PyTorch")
    assert_fails(run_script(tmp("g3.pth")), "output")
    assert_fails(run_script(), "required")
    torch.save({"epoch": 3, "best_acc": 0.5}, tmp("noweights.pth"))
    assert_fails(run_script(tmp("noweights.pth"), tmp("x.safetensors")), "found no weights")
    assert_fails(run_script(tmp("g3.pth"), os.path.join(TMP, "nodir", "x.safetensors")),
                 "no such directory")


def test_rejects_duplicate_after_prefix_strip():
    sd = ref.build_uninitialized("v2_x0_5").state_dict()
    dup = dict(sd)
    dup["module.fc.bias"] = sd["fc.bias"]
    torch.save(dup, tmp("dup.pth"))
    assert_fails(run_script(tmp("dup.pth"), tmp("dup.safetensors")), "fc.bias")


def test_from_torchvision_cache():
    env = dict(os.environ, TORCH_HOME=tmp("torch_home"))
    assert_fails(run_script("--from-torchvision", "v2_x1_0", tmp("hub.safetensors"), env=env),
                 "not in the local torch hub cache", "never downloads")
    assert_fails(run_script("--from-torchvision", "v1_g3_x1_0", tmp("hub.safetensors"),
                            env=env), "no ShuffleNet V1")
    # A stand-in for the cached download, under the file name torchvision would use.
    url = torchvision.models.ShuffleNet_V2_X1_0_Weights.IMAGENET1K_V1.url
    cache = os.path.join(tmp("torch_home"), "hub", "checkpoints")
    os.makedirs(cache)
    sd = ref.build("v2_x1_0", seed=7).state_dict()
    torch.save(sd, os.path.join(cache, os.path.basename(url)))
    r = run_script("--from-torchvision", "v2_x1_0", tmp("hub.safetensors"), env=env)
    assert r.returncode == 0, r.stderr
    arrays, meta = read_safetensors(tmp("hub.safetensors"))
    assert_same(arrays, reference_arrays(sd))
    assert meta.get("model") == "v2_x1_0", meta


def main():
    tests = [(k, v) for k, v in globals().items() if k.startswith("test_") and callable(v)]
    passed = failed = 0
    for name, fn in tests:
        try:
            fn()
            passed += 1
        except Exception as e:
            failed += 1
            where = traceback.extract_tb(e.__traceback__)[-1]
            print(f"FAIL {name}: {type(e).__name__}: {e} (line {where.lineno})")
    shutil.rmtree(TMP, ignore_errors=True)
    print(f"{passed} passed, {failed} failed")
    return 0 if failed == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
