"""Any ShuffleNet from its own file: torchvision V2 fine-tuned to 10 and 37 classes (custom
repeats and widths, a non-224 input), Megvii V1 with 4 groups and custom widths, and Megvii's
V2 at two widths, each saved as safetensors and run by `shufflecl infer auto` (and with MODEL
left out), against a float64 PyTorch forward pass: relative error < 1e-4 and the same top-1.
`shufflecl info` must count them as PyTorch does. Then malformed and foreign files, each one
clear error naming the file; a preset given a file of another architecture; and classify's
--labels. Also a hand-computed check of Megvii's even/odd split, on which the reference rests.

Run by CTest with SCL_TOOL (the shufflecl binary) and SCL_TEST_TMPDIR set."""

import json
import os
import sys
import tempfile
import time

import numpy as np
import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import shufflenet_ref as ref  # noqa: E402
from clitest import Report, check_error, run_tool, tool_from_env  # noqa: E402


# (tag, layout, widths, repeats, classes, groups, batch, height, width, module prefix)
CASES = [
    ("tv_v2_10", "torchvision_v2", [24, 48, 96, 192, 1024], [4, 8, 4], 10, None, 2, 64, 64, False),
    ("tv_v2_37", "torchvision_v2", [16, 40, 72, 144, 320], [2, 3, 1], 37, None, 2, 57, 71, True),
    ("megvii_v1_g4", "megvii_v1", [24, 96, 192, 384], [3, 2, 2], 17, 4, 2, 65, 47, False),
    ("megvii_v2_x0_5", "megvii_v2", [24, 48, 96, 192, 1024], [4, 8, 4], 1000, None, 2, 64, 64, False),
    ("megvii_v2_custom", "megvii_v2", [16, 64, 128, 256, 512], [2, 3, 2], 5, None, 1, 57, 71, True),
]


def run_case(tool, tmp, tag, layout, widths, repeats, classes, groups, batch, height, width, prefix, seed):
    torch.manual_seed(seed)
    net = ref.build_custom(layout, widths, repeats, classes, groups, seed)
    weights = os.path.join(tmp, f"{tag}.safetensors")
    ref.save_safetensors(net.state_dict(), weights, prefix="module." if prefix else "")
    x = ref.make_input(seed, batch, height, width)
    with torch.no_grad():
        want = net.double()(torch.from_numpy(x).double()).numpy()
    inp, out = os.path.join(tmp, "in.npy"), os.path.join(tmp, "out.npy")
    np.save(inp, x)
    t0 = time.time()
    # 'auto' for the V2s, MODEL left out for the others: both read the file's architecture
    model = ["auto"] if layout != "megvii_v1" else []
    proc = run_tool(tool, ["infer", *model, "--weights", weights, "--input", inp, "--output", out])
    if proc.returncode != 0:
        return f"shufflecl infer failed ({proc.returncode}): {proc.stderr.strip()}"
    got = np.load(out)
    os.remove(out)
    if got.shape != want.shape or got.dtype != np.float32:
        return f"logits {got.shape} {got.dtype}, expected {want.shape} float32"
    rel = float(np.linalg.norm(got.astype(np.float64) - want) / np.linalg.norm(want))
    top_ok = bool((got.argmax(1) == want.argmax(1)).all())
    print(f"  {tag:17s} {batch}x3x{height}x{width}{' module.' if prefix else ''}: rel err {rel:.2e}, "
          f"top-1 {'same' if top_ok else 'DIFFERENT'} ({time.time() - t0:.1f} s)")
    if not np.isfinite(got).all():
        return "non-finite logits"
    if rel >= 1e-4:
        return f"relative error {rel:.3e} >= 1e-4"
    if not top_ok:
        return "top-1 differs"
    # the counts PyTorch gives for the same model
    proc = run_tool(tool, ["info", "--weights", weights, "--json", "--height", str(height),
                           "--width", str(width)])
    if proc.returncode != 0:
        return f"shufflecl info failed: {proc.stderr.strip()}"
    info = json.loads(proc.stdout)
    params, macs = ref.count(net.float(), height, width)
    if (info["params"], info["macs"]) != (params, macs):
        return f"info counts {info['params']} params, {info['macs']} MACs; PyTorch {params}, {macs}"
    return None


def tensors(tag, **kw):
    """A state dict of a small torchvision V2 (or Megvii V2) as numpy arrays."""
    layout = kw.get("layout", "torchvision_v2")
    net = ref.build_custom(layout, [8, 16, 32, 64, 96], [1, 2, 1], 6, None, 5)
    return {k: v.detach().numpy() for k, v in net.state_dict().items() if not k.endswith("num_batches_tracked")}


def save(path, sd):
    ref.save_safetensors({k: torch.from_numpy(np.ascontiguousarray(v)) for k, v in sd.items()}, path)
    return path


def malformed(tool, tmp, report):
    x = os.path.join(tmp, "x.npy")
    np.save(x, ref.make_input(7, 1, 33, 35))
    out = os.path.join(tmp, "y.npy")

    def infer(w, model=("auto",)):
        return run_tool(tool, ["infer", *model, "--weights", w, "--input", x, "--output", out])

    p = lambda name: os.path.join(tmp, name)  # noqa: E731
    sd = tensors("tv")
    good = save(p("small_tv.safetensors"), sd)
    proc = infer(good)
    report("small torchvision V2 loads", None if proc.returncode == 0 else proc.stderr.strip(), proc)

    bad = dict(sd)
    w = bad["stage3.1.branch2.0.weight"]
    bad["stage3.1.branch2.0.weight"] = np.zeros((w.shape[0], w.shape[1] + 2, 1, 1), np.float32)
    f = save(p("inconsistent.safetensors"), bad)
    report("inconsistent width between two units", check_error(infer(f), [f, "stage3.1.branch2.0.weight"]))

    bad = dict(sd)
    bad["fc.weight"] = np.zeros((0, sd["fc.weight"].shape[1]), np.float32)
    bad["fc.bias"] = np.zeros((0,), np.float32)
    f = save(p("zero_classes.safetensors"), bad)
    report("zero classes", check_error(infer(f), [f, "classes = 0"]))

    resnet = {"conv1.weight": np.zeros((64, 3, 7, 7), np.float32), "bn1.weight": np.ones(64, np.float32),
              "layer1.0.conv1.weight": np.zeros((64, 64, 3, 3), np.float32)}
    f = save(p("resnet.safetensors"), resnet)
    report("unknown layout (a ResNet)", check_error(infer(f), [f, "'conv1.weight' of shape [64, 3, 7, 7]",
                                                                "expected", "Megvii"]))

    mv2 = tensors("mv2", layout="megvii_v2")
    del mv2["features.2.branch_main.3.weight"]
    f = save(p("missing.safetensors"), mv2)
    report("a missing tensor", check_error(infer(f), [f, "features.2.branch_main.3.weight", "missing"]))

    f = p("model.onnx")
    with open(f, "wb") as fh:  # a ModelProto's start: ir_version 8, producer_name "pytorch"
        fh.write(b"\x08\x08\x12\x07pytorch\x1a\x052.0.1" + b"\x00" * 32)
    report("a broken ONNX file", check_error(infer(f), [f, "not a valid ONNX model"]))

    f = p("notes.txt")
    with open(f, "wb") as fh:
        fh.write(b"these are not weights\n" * 4)
    report("neither format", check_error(infer(f), [f, "safetensors", "ONNX"]))

    mv2 = save(p("megvii_v2_small.safetensors"), tensors("mv2", layout="megvii_v2"))
    report("a preset with a file of another architecture",
           check_error(infer(mv2, ("v2_x0_5",)), [mv2, "Megvii V2", "'auto'"]))
    report("info: a preset with a file of another architecture",
           check_error(run_tool(tool, ["info", "v1_g3_x1_0", "--weights", mv2]), [mv2, "Megvii V2", "'auto'"]))


def classify(tool, tmp, report):
    p = lambda name: os.path.join(tmp, name)  # noqa: E731
    img = p("pic.ppm")
    rng = np.random.default_rng(3)
    with open(img, "wb") as fh:
        fh.write(b"P6\n40 30\n255\n" + rng.integers(0, 256, (30, 40, 3), dtype=np.uint8).tobytes())
    w = save(p("six.safetensors"), tensors("tv"))  # 6 classes
    labels = p("labels.txt")
    with open(labels, "w") as fh:
        fh.write("".join(f"kind-{k}\n" for k in range(6)))
    proc = run_tool(tool, ["classify", "auto", "--weights", w, "--labels", labels, img])
    ok = proc.returncode == 0 and "kind-" in proc.stdout and proc.stdout.count("%") == 5
    report("classify --labels", None if ok else f"{proc.returncode}: {proc.stdout}{proc.stderr}", proc)
    proc = run_tool(tool, ["classify", "auto", "--weights", w, img])
    ok = proc.returncode == 0 and "kind-" not in proc.stdout and proc.stdout.count("%") == 5
    report("classify without labels (indices)", None if ok else f"{proc.returncode}: {proc.stdout}", proc)
    short = p("short.txt")
    with open(short, "w") as fh:
        fh.write("a\nb\n")
    report("labels: wrong count", check_error(run_tool(tool, ["classify", "auto", "--weights", w, "--labels",
                                                              short, img]), [short, "2 line(s)", "6 classes"]))
    long_line = p("long.txt")
    with open(long_line, "w") as fh:
        fh.write("x" * 5000 + "\n")
    report("labels: a line too long", check_error(run_tool(tool, ["classify", "auto", "--weights", w,
                                                                  "--labels", long_line, img]),
                                                  [long_line, "longer than"]))
    report("classify needs MODEL", check_error(run_tool(tool, ["classify", "--weights", w, img]), ["MODEL"]))


def main():
    tool = tool_from_env()
    if not tool:
        return 1
    torch.set_num_threads(1)
    report = Report()

    try:
        ref.check_megvii_split()
        report("Megvii's even/odd split, by hand", None)
    except AssertionError as e:
        report("Megvii's even/odd split, by hand", f"got {e}")
    with tempfile.TemporaryDirectory(dir=os.environ.get("SCL_TEST_TMPDIR")) as tmp:
        for i, case in enumerate(CASES):
            report(case[0], run_case(tool, tmp, *case, seed=200 + i))
        malformed(tool, tmp, report)
        classify(tool, tmp, report)
    return report.done()


if __name__ == "__main__":
    sys.exit(main())
