"""ONNX import: torchvision's V2, Megvii's V1 and Megvii's V2 exported by torch.onnx.export at
opsets 9, 11, 13 and 17, with static and dynamic batch, run by `shufflecl infer auto` against a
float64 PyTorch forward pass (relative error < 1e-4, the same top-1); exports that keep their
BatchNormalization nodes, Megvii's AvgPool2d(7) head, and a graph rebuilt with onnx.helper whose
classifier is MatMul + Add, so that those paths really run. The imported graphs launch exactly
as many kernels as the same architecture built from its description (launch_count under the
OpenCL shim). Then malformed and unsupported files, each one clear error naming the file.

Run by CTest with SCL_TOOL, SCL_TEST_TMPDIR, SCL_LAUNCH_COUNT and SCL_SHIM set."""

import os
import subprocess
import sys
import tempfile
import warnings

import numpy as np
import onnx
import torch
import torch.nn as nn
import torch.nn.functional as F
import torchvision
from onnx import helper, numpy_helper

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import shufflenet_ref as ref  # noqa: E402
from clitest import Report, check_error, run_tool, tool_from_env  # noqa: E402

warnings.filterwarnings("ignore")

# (tag, layout, widths, repeats, classes, groups, height, width)
MODELS = {
    "tv": ("torchvision_v2", [16, 40, 72, 144, 320], [2, 3, 1], 37, None, 64, 80),
    "v1": ("megvii_v1", [24, 96, 192, 384], [3, 2, 2], 17, 4, 64, 64),
    "mv2": ("megvii_v2", [16, 64, 128, 256, 512], [2, 3, 2], 5, None, 48, 64),
    "mv2b": ("megvii_v2", [24, 48, 96, 192, 1024], [4, 8, 4], 1000, None, 64, 64),
}
# (model, opset, dynamic batch); torchvision's V2 does not export a dynamic batch at opset 9
EXPORTS = [("tv", 9, False), ("tv", 11, True), ("tv", 13, True), ("tv", 17, False),
           ("v1", 9, True), ("v1", 11, False), ("v1", 13, True), ("v1", 17, True),
           ("mv2", 9, False), ("mv2", 11, True), ("mv2", 13, False), ("mv2", 17, True),
           ("mv2b", 13, True)]


class Pool7(nn.Module):
    """Megvii's own head: AvgPool2d(7), view(-1, C), the classifier (V1 and V2)."""

    def __init__(self, net):
        super().__init__()
        self.net = net

    def forward(self, x):
        n = self.net
        x = n.features(n.maxpool(n.first_conv(x)))
        if hasattr(n, "conv_last"):
            x = n.conv_last(x)
        x = F.avg_pool2d(x, 7)
        return n.classifier(x.contiguous().view(-1, x.shape[1]))


def build(tag, seed):
    layout, widths, repeats, classes, groups, h, w = MODELS[tag]
    torch.manual_seed(seed)
    return ref.build_custom(layout, widths, repeats, classes, groups, seed), h, w


def export(net, path, opset, dynamic, h, w, batch=1, **kw):
    axes = {"x": {0: "N"}, "y": {0: "N"}} if dynamic else None
    if dynamic == "hw":
        axes = {"x": {0: "N", 2: "H", 3: "W"}, "y": {0: "N"}}
    torch.onnx.export(net.float(), torch.zeros(batch, 3, h, w), path, opset_version=opset,
                      input_names=["x"], output_names=["y"], dynamic_axes=axes, **kw)
    return path


def parity(tool, tmp, path, net, batch, h, w, seed, model=("auto",), extra=(), tol=1e-4):
    """None when shufflecl's logits for `path` match net's float64 ones (relative error < tol;
    `extra`: more tool arguments, e.g. --precision)."""
    x = ref.make_input(seed, batch, h, w)
    inp, out = os.path.join(tmp, "in.npy"), os.path.join(tmp, "out.npy")
    np.save(inp, x)
    if os.path.exists(out):
        os.remove(out)
    with torch.no_grad():
        want = net.double()(torch.from_numpy(x).double()).numpy()
    net.float()
    proc = run_tool(tool, ["infer", *model, "--weights", path, "--input", inp, "--output", out,
                           *extra])
    if proc.returncode != 0:
        return f"shufflecl infer failed ({proc.returncode}): {proc.stderr.strip()}"
    got = np.load(out)
    if got.shape != want.shape or got.dtype != np.float32 or not np.isfinite(got).all():
        return f"logits {got.shape} {got.dtype}, expected {want.shape} float32, finite"
    rel = float(np.linalg.norm(got.astype(np.float64) - want) / np.linalg.norm(want))
    print(f"       {os.path.basename(path)} {batch}x3x{h}x{w}: rel err {rel:.2e}")
    if rel >= tol:
        return f"relative error {rel:.3e} >= {tol:g}"
    if not (got.argmax(1) == want.argmax(1)).all():
        return "top-1 differs"
    return None


def op_types(path):
    return {n.op_type for n in onnx.load(path).graph.node}


def matmul_add(src, dst):
    """The graph of src (a torchvision V2 export, its classifier a Gemm) with the Gemm replaced
    by MatMul with the transposed weight, then Add of the bias."""
    m = onnx.load(src)
    g = m.graph
    gemm = next(n for n in g.node if n.op_type == "Gemm")
    inits = {t.name: t for t in g.initializer}
    w = numpy_helper.to_array(inits[gemm.input[1]])
    if any(a.name == "transB" and a.i == 1 for a in gemm.attribute):
        w = w.T
    g.initializer.append(numpy_helper.from_array(np.ascontiguousarray(w), "fc_wt"))
    mm = helper.make_node("MatMul", [gemm.input[0], "fc_wt"], ["fc_mm"], name="fc_matmul")
    add = helper.make_node("Add", ["fc_mm", gemm.input[2]], [gemm.output[0]], name="fc_bias")
    at = list(g.node).index(gemm)
    g.node.remove(gemm)
    g.node.insert(at, add)
    g.node.insert(at, mm)
    onnx.checker.check_model(m)
    onnx.save(m, dst)
    return dst


def parity_cases(tool, tmp, report, files):
    nets = {}
    for i, (tag, opset, dyn) in enumerate(EXPORTS):
        net, h, w = nets.get(tag) or build(tag, 300 + i)
        nets[tag] = (net, h, w)
        path = export(net, os.path.join(tmp, f"{tag}_op{opset}_{'dyn' if dyn else 'static'}.onnx"),
                      opset, dyn, h, w)
        batch = 2 if dyn else 1
        report(f"{tag} opset {opset} {'dynamic' if dyn else 'static'} batch, batch {batch}",
               parity(tool, tmp, path, net, batch, h, w, seed=400 + i))
        files.append(f"{path}:{batch}:{h}:{w}")

    # at half-precision storage, within its documented tolerance (docs/precision.md)
    for tag, opset in (("tv", 13), ("v1", 13)):
        net, h, w = nets[tag]
        path = os.path.join(tmp, f"{tag}_op{opset}_dyn.onnx")
        report(f"{tag} opset {opset} at --precision half-storage",
               parity(tool, tmp, path, net, 2, h, w, 11, extra=("--precision", "half-storage"),
                      tol=5e-3))

    # BatchNormalization kept as nodes (folded at load), each family
    for tag in ("tv", "v1", "mv2"):
        net, h, w = nets[tag]
        path = export(net, os.path.join(tmp, f"{tag}_bn.onnx"), 13, True, h, w,
                      do_constant_folding=False, training=torch.onnx.TrainingMode.PRESERVE)
        err = None if "BatchNormalization" in op_types(path) else "the export has no BatchNormalization"
        report(f"{tag} with BatchNormalization nodes", err or parity(tool, tmp, path, net, 2, h, w, 7))
        files.append(f"{path}:2:{h}:{w}")

    # the classifier as MatMul + Add, built with onnx.helper
    net, h, w = nets["tv"]
    path = matmul_add(os.path.join(tmp, "tv_op13_dyn.onnx"), os.path.join(tmp, "tv_matmul_add.onnx"))
    err = None if {"MatMul", "Add"} <= op_types(path) and "Gemm" not in op_types(path) else "no MatMul+Add"
    report("classifier as MatMul + Add", err or parity(tool, tmp, path, net, 2, h, w, 8))
    files.append(f"{path}:2:{h}:{w}")

    # every weight in the typed float_data field instead of raw_data
    def typed(m):
        for i, t in enumerate(m.graph.initializer):
            a = numpy_helper.to_array(t)
            if a.dtype == np.float32:
                t.CopyFrom(helper.make_tensor(t.name, onnx.TensorProto.FLOAT, a.shape, a.flatten().tolist()))
    path = edit(os.path.join(tmp, "v1_op13_dyn.onnx"), os.path.join(tmp, "v1_typed.onnx"), typed)
    err = None if not any(t.raw_data for t in onnx.load(path).graph.initializer
                          if t.data_type == onnx.TensorProto.FLOAT) else "raw_data left"
    net, h, w = nets["v1"]
    report("weights in typed fields (float_data)", err or parity(tool, tmp, path, net, 2, h, w, 10))

    # Megvii's AvgPool2d(7) head at 224 x 224 (V2 and V1), with H and W left dynamic
    for tag in ("mv2", "v1"):
        net = Pool7(nets[tag][0]).eval()
        path = export(net, os.path.join(tmp, f"{tag}_pool7.onnx"), 11, "hw", 224, 224)
        err = None if "AveragePool" in op_types(path) else "the export has no AveragePool"
        report(f"{tag} with AvgPool2d(7) at 224x224", err or parity(tool, tmp, path, net, 1, 224, 224, 9))
        if tag == "mv2":
            files.append(f"{path}:1:224:224")
            x = os.path.join(tmp, "x64.npy")
            np.save(x, ref.make_input(1, 1, 64, 64))
            proc = run_tool(tool, ["infer", "auto", "--weights", path, "--input", x, "--output",
                                   os.path.join(tmp, "o.npy")])
            report("AvgPool2d(7) at 64x64 refused, naming the node",
                   check_error(proc, [path, "AveragePool", "7x7", "2x2"]))
    return nets


def launch_counts(report, files):
    exe, shim = os.environ.get("SCL_LAUNCH_COUNT"), os.environ.get("SCL_SHIM")
    if not exe or not shim:
        report("launch counts", "SCL_LAUNCH_COUNT / SCL_SHIM not set (run through ctest)")
        return
    env = dict(os.environ, LD_PRELOAD=shim)
    proc = subprocess.run([exe, *files], capture_output=True, text=True, env=env)
    print("\n".join("       " + line for line in proc.stdout.strip().splitlines()[-6:]))
    report(f"launch counts of {len(files)} imported graphs equal their descriptions'",
           None if proc.returncode == 0 else proc.stdout[-2000:] + proc.stderr[-1000:])


def edit(src, dst, fn):
    m = onnx.load(src)
    fn(m)
    onnx.save(m, dst)
    return dst


def malformed(tool, tmp, report, nets):
    p = lambda name: os.path.join(tmp, name)  # noqa: E731
    good = p("tv_op13_dyn.onnx")
    static = p("tv_op9_static.onnx")
    x = p("x.npy")
    np.save(x, ref.make_input(2, 2, 64, 80))

    def infer(f, model=("auto",), inp=x):
        return run_tool(tool, ["infer", *model, "--weights", f, "--input", inp, "--output", p("o.npy")])

    data = open(good, "rb").read()
    f = p("truncated.onnx")
    open(f, "wb").write(data[: len(data) // 2])
    report("truncated ONNX", check_error(infer(f), [f, "truncated or malformed"]))

    resnet = torchvision.models.resnet18(num_classes=10).eval()
    f = export(resnet, p("resnet18.onnx"), 13, True, 64, 64)
    report("a ResNet-18", check_error(infer(f), [f, "Conv", "7x7", "not a ShuffleNet convolution"]))

    def sigmoid(m):
        next(n for n in m.graph.node if n.op_type == "Relu").op_type = "Sigmoid"
    f = edit(good, p("sigmoid.onnx"), sigmoid)
    report("an unsupported op", check_error(infer(f), [f, "(Sigmoid)", "op Sigmoid"]))

    def four_groups(m):  # the first shuffle's (1, 2, C/2, H, W) becomes (1, 4, C/4, H, W)
        g = m.graph
        consts = {n.output[0]: n for n in g.node if n.op_type == "Constant"}
        inits = {t.name: t for t in g.initializer}
        for n in g.node:
            if n.op_type != "Reshape":
                continue
            src = consts.get(n.input[1])
            t = src.attribute[0].t if src is not None else inits.get(n.input[1])
            shape = numpy_helper.to_array(t).copy()
            if len(shape) == 5 and shape[1] == 2:
                shape[1], shape[2] = 4, shape[2] // 2
                t.CopyFrom(numpy_helper.from_array(shape.astype(np.int64), t.name))
                return
        raise AssertionError("no shuffle reshape found")
    f = edit(static, p("shuffle4.onnx"), four_groups)
    x1 = p("x1.npy")
    np.save(x1, ref.make_input(2, 1, 64, 80))
    report("a shuffle with the wrong group count", check_error(infer(f, inp=x1), [f, "channels do not flow"]))

    f = p("external.onnx")
    m = onnx.load(good)
    onnx.save(m, f, save_as_external_data=True, all_tensors_to_one_file=True, location="external.bin",
              size_threshold=64)
    report("external data", check_error(infer(f), [f, "external file"]))

    def nan_weight(m):
        t = max(m.graph.initializer, key=lambda t: len(t.raw_data))
        a = numpy_helper.to_array(t).copy()
        a.flat[3] = np.nan
        t.CopyFrom(numpy_helper.from_array(a, t.name))
    f = edit(good, p("nan.onnx"), nan_weight)
    report("a NaN weight", check_error(infer(f), [f, "not a finite float"]))

    def huge_weight(m):  # finite, but past the half range once stored in 16 bits
        t = max(m.graph.initializer, key=lambda t: len(t.raw_data))
        a = numpy_helper.to_array(t).copy()
        a.flat[3] = 1e6
        t.CopyFrom(numpy_helper.from_array(a, t.name))
    f = edit(good, p("huge.onnx"), huge_weight)
    proc = run_tool(tool, ["infer", "auto", "--weights", f, "--input", x, "--output", p("o.npy"),
                           "--precision", "half-storage"])
    report("a weight beyond the half range at half-storage",
           check_error(proc, [f, "layer", "half range", "use float32"]))

    def short_raw(m):
        t = max(m.graph.initializer, key=lambda t: len(t.raw_data))
        t.raw_data = t.raw_data[:-4]
    f = edit(good, p("short_raw.onnx"), short_raw)
    report("raw_data shorter than its dims", check_error(infer(f), [f, "holds", "its dims say"]))

    def no_classifier(m):
        g = m.graph
        gemm = next(n for n in g.node if n.op_type == "Gemm")
        g.output[0].name = gemm.input[0]
        g.node.remove(gemm)
    f = edit(good, p("features.onnx"), no_classifier)
    report("output is not logits", check_error(infer(f), [f, "not a classifier's logits"]))

    def undefined(m):
        n = next(n for n in m.graph.node if n.op_type == "Relu")
        n.input[0] = "nowhere"
    f = edit(good, p("undefined.onnx"), undefined)
    report("an undefined input", check_error(infer(f), [f, "'nowhere' is not defined"]))

    def dilated(m):
        n = next(n for n in m.graph.node if n.op_type == "Conv" and any(
            a.name == "kernel_shape" and a.ints[0] == 3 for a in n.attribute) and any(
            a.name == "group" and a.i > 1 for a in n.attribute))
        for a in n.attribute:
            if a.name == "dilations":
                a.ints[:] = [2, 2]
    f = edit(good, p("dilated.onnx"), dilated)
    report("a dilated depthwise conv", check_error(infer(f), [f, "Conv", "not supported"]))

    def dangling(m):
        g = m.graph
        conv = next(n for n in g.node if n.op_type == "Conv" and any(
            a.name == "kernel_shape" and a.ints[0] == 1 for a in n.attribute) and any(
            a.name == "group" and a.i == 1 for a in n.attribute))
        g.node.append(helper.make_node("Conv", [conv.input[0], conv.input[1]], ["unused"], name="extra",
                                       kernel_shape=[1, 1]))
    f = edit(good, p("dangling.onnx"), dangling)
    report("a layer whose output is unused", check_error(infer(f), [f, "never used"]))

    def old_opset(m):
        m.opset_import[0].version = 6
    f = edit(good, p("opset6.onnx"), old_opset)
    report("opset 6", check_error(infer(f), [f, "opset 6"]))

    def two_inputs(m):
        m.graph.input.append(helper.make_tensor_value_info("x2", onnx.TensorProto.FLOAT, [1, 3, 8, 8]))
    f = edit(good, p("two_inputs.onnx"), two_inputs)
    report("two graph inputs", check_error(infer(f), [f, "one input"]))

    def count_exclude_pad(m):  # V1's shortcut averaged without the border
        g = m.graph
        pad = next(n for n in g.node if n.op_type == "Pad")
        pool = next(n for n in g.node if n.op_type == "AveragePool" and n.input[0] == pad.output[0])
        pool.input[0] = pad.input[0]
        for a in pool.attribute:
            if a.name == "pads":
                a.ints[:] = [1, 1, 1, 1]
    f = edit(p("v1_op11_static.onnx"), p("exclude_pad.onnx"), count_exclude_pad)
    report("an average pool that does not count the border",
           check_error(infer(f), [f, "AveragePool", "count_include_pad"]))

    report("a static-shape model at another size",
           check_error(infer(static), [static, "declared 1 x 3 x 64 x 80", "2 x 3 x 64 x 80"]))

    f = p("garbage.onnx")
    open(f, "wb").write(b"\x08\x07" + bytes(range(256)) * 4)
    report("protobuf-like garbage", check_error(infer(f), [f, "ONNX"]))

    mv2 = p("mv2_op13_static.onnx")
    report("a preset with an ONNX file of another architecture",
           check_error(infer(mv2, ("v2_x0_5",)), [mv2, "Megvii V2", "'auto'"]))


def preprocessing(tool, tmp, report, nets):
    p = lambda name: os.path.join(tmp, name)  # noqa: E731
    net, h, w = nets["tv"]
    anysize = export(net, p("tv_hw.onnx"), 13, "hw", h, w)

    def info(f):
        proc = run_tool(tool, ["info", "--weights", f])
        return proc.stdout.splitlines()[-1] if proc.returncode == 0 else proc.stderr.strip()

    folded = anysize  # constant folding renames every initializer
    kept = p("tv_bn.onnx")          # ... without it, torchvision's names remain
    mv2 = p("mv2_bn.onnx")
    tagged = edit(folded, p("tagged.onnx"), lambda m: m.metadata_props.append(
        onnx.StringStringEntryProto(key="shufflecl.preprocess", value="megvii")))
    for name, f, want in (("no names, no metadata", folded, "unknown"), ("torchvision's names", kept, "torchvision"),
                          ("Megvii's names", mv2, "megvii"), ("metadata_props", tagged, "megvii")):
        line = info(f)
        report(f"preprocessing from {name}: {want}", None if f"preprocessing: {want}" in line else line)
    img = p("pic.ppm")
    rng = np.random.default_rng(3)
    with open(img, "wb") as fh:
        fh.write(b"P6\n40 30\n255\n" + rng.integers(0, 256, (30, 40, 3), dtype=np.uint8).tobytes())
    report("classify asks for --preprocess",
           check_error(run_tool(tool, ["classify", "auto", "--weights", folded, img]), [folded, "--preprocess"]))
    proc = run_tool(tool, ["classify", "auto", "--weights", folded, "--preprocess", "torchvision", img])
    report("classify --preprocess torchvision", None if proc.returncode == 0 and proc.stdout.count("%") == 5
           else f"{proc.returncode}: {proc.stdout}{proc.stderr}")


def commands(tool, tmp, report):
    """bench and tune take an ONNX file with MODEL left out (the architecture read from it)."""
    f = os.path.join(tmp, "tv_op13_dyn.onnx")
    h, w = MODELS["tv"][5], MODELS["tv"][6]
    proc = run_tool(tool, ["bench", "--weights", f, "--batch", "1", "--iters", "2", "--warmup", "0",
                           "--height", str(h), "--width", str(w)])
    report("bench --weights FILE.onnx (MODEL left out)",
           None if proc.returncode == 0 and "images/s" in proc.stdout
           else f"{proc.returncode}: {proc.stdout[-500:]}{proc.stderr[-500:]}")
    env = dict(os.environ, SHUFFLECL_CACHE_DIR=os.path.join(tmp, "tune-cache"))
    proc = subprocess.run([tool, "tune", "--weights", f, "--ops", "pool", "--height", str(h), "--width", str(w)],
                          capture_output=True, text=True, env=env)
    report("tune --weights FILE.onnx (MODEL left out)",
           None if proc.returncode == 0 else f"{proc.returncode}: {proc.stdout[-500:]}{proc.stderr[-500:]}")


def main():
    tool = tool_from_env()
    if not tool:
        return 1
    torch.set_num_threads(1)
    report = Report()

    with tempfile.TemporaryDirectory(dir=os.environ.get("SCL_TEST_TMPDIR")) as tmp:
        files = []
        nets = parity_cases(tool, tmp, report, files)
        launch_counts(report, files)
        malformed(tool, tmp, report, nets)
        preprocessing(tool, tmp, report, nets)
        commands(tool, tmp, report)
    return report.done()


if __name__ == "__main__":
    sys.exit(main())
