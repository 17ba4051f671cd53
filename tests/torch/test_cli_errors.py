"""Error paths of the shufflecl tool: malformed weights and inputs, unknown names, bad options.
Every failure must exit non-zero (not by a signal) with exactly one stderr line that starts with
"shufflecl: error: " and names the file, model or option and the problem; a failed infer
writes no output. Also: a Fortran-order input gives the same logits as the C-order one.

Run by CTest with SCL_TOOL (the shufflecl binary) and SCL_TEST_TMPDIR set."""

import io
import json
import os
import struct
import subprocess
import sys
import tempfile
import zlib

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import shufflenet_ref as ref  # noqa: E402
from clitest import Report, tool_from_env  # noqa: E402

MODEL = "v2_x0_5"  # the smallest V2: every run loads it in well under a second
PREFIX = "shufflecl: error: "


# ---- files -------------------------------------------------------------------------------------


def state_dict(model):
    """The model's state dict as numpy float32 arrays, in state_dict order, without
    num_batches_tracked; seeded random values (realistic enough: only errors are checked,
    plus Fortran vs C order, which needs finite logits)."""
    net = ref.build_uninitialized(model)
    rng = np.random.default_rng(3)
    out = {}
    for key, value in net.state_dict().items():
        if key.endswith("num_batches_tracked"):
            continue
        shape = tuple(value.shape)
        if key.endswith("running_var"):
            out[key] = rng.uniform(0.5, 2.0, shape).astype(np.float32)
        elif key.endswith("weight") and len(shape) > 1:
            fan_in = int(np.prod(shape[1:]))
            a = (3.0 / fan_in) ** 0.5
            out[key] = rng.uniform(-a, a, shape).astype(np.float32)
        else:
            out[key] = rng.uniform(-0.2, 0.2, shape).astype(np.float32)
    return out


def safetensors_bytes(tensors, header_edit=None):
    """A safetensors file as bytes, written by hand as shufflenet_ref.save_safetensors does.
    `tensors` maps name -> (dtype, shape, raw bytes); `header_edit(header)` may change the
    header dict before it is serialised (to corrupt offsets, dtypes or shapes)."""
    header, blobs, offset = {}, [], 0
    for name, (dtype, shape, raw) in tensors.items():
        header[name] = {"dtype": dtype, "shape": list(shape),
                        "data_offsets": [offset, offset + len(raw)]}
        offset += len(raw)
        blobs.append(raw)
    if header_edit:
        header_edit(header)
    text = json.dumps(header, separators=(",", ":")).encode()
    text += b" " * (-(8 + len(text)) % 8)
    return struct.pack("<Q", len(text)) + text + b"".join(blobs)


def f32_tensors(sd):
    return {k: ("F32", v.shape, v.astype("<f4").tobytes()) for k, v in sd.items()}


def write(path, data):
    with open(path, "wb") as f:
        f.write(data)
    return path


def npy_bytes(array, fortran=False):
    """A .npy as numpy.save writes it, optionally in Fortran order."""
    buf = io.BytesIO()
    np.save(buf, np.asfortranarray(array) if fortran else np.ascontiguousarray(array))
    return buf.getvalue()


def png_bytes(rgb):
    """A minimal 8-bit RGB PNG of an H x W x 3 array (zlib, no PIL needed)."""

    def chunk(kind, body):
        return (struct.pack(">I", len(body)) + kind + body
                + struct.pack(">I", zlib.crc32(kind + body) & 0xffffffff))
    h, w, _ = rgb.shape
    rows = b"".join(b"\0" + rgb[y].tobytes() for y in range(h))
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", w, h, 8, 2, 0, 0, 0))
            + chunk(b"IDAT", zlib.compress(rows)) + chunk(b"IEND", b""))


def png_bomb_bytes(w, h):
    """A PNG whose IHDR claims w x h RGB but whose IDAT holds one zero row: under a kilobyte."""

    def chunk(kind, body):
        return (struct.pack(">I", len(body)) + kind + body
                + struct.pack(">I", zlib.crc32(kind + body) & 0xffffffff))
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", w, h, 8, 2, 0, 0, 0))
            + chunk(b"IDAT", zlib.compress(b"\0" * (1 + 3 * w), 9)) + chunk(b"IEND", b""))


def jpeg_marker(data, lo, hi):
    """The offset of the first JPEG marker FF xx with lo <= xx <= hi, walking the segments."""
    pos = 2
    while pos + 4 <= len(data) and data[pos] == 0xff:
        if lo <= data[pos + 1] <= hi:
            return pos
        pos += 2 + struct.unpack(">H", data[pos + 2:pos + 4])[0]
    raise ValueError("marker not found")


# ---- running -----------------------------------------------------------------------------------


def run_tool(tool, args):
    return subprocess.run([tool] + args, capture_output=True, text=True, timeout=300)


def check_error(proc, needles, output=None):
    """None when `proc` failed as it should, else what is wrong."""
    if proc.returncode < 0:
        return f"killed by signal {-proc.returncode}"
    if proc.returncode == 0:
        return "exit status 0"
    lines = proc.stderr.splitlines()
    if len(lines) != 1:
        return f"{len(lines)} stderr lines: {proc.stderr!r}"
    line = lines[0]
    if not line.startswith(PREFIX):
        return f"stderr does not start with {PREFIX!r}: {line!r}"
    for needle in needles:
        if needle.lower() not in line.lower():
            return f"stderr lacks {needle!r}: {line!r}"
    if proc.stdout:
        return f"unexpected stdout: {proc.stdout!r}"
    if output and os.path.exists(output):
        return f"a failed run left {output}"
    return None


def main():
    tool = tool_from_env()
    if not tool:
        return 1
    report = Report()

    with tempfile.TemporaryDirectory(dir=os.environ.get("SCL_TEST_TMPDIR")) as tmp:
        def p(name):
            return os.path.join(tmp, name)

        sd = state_dict(MODEL)
        good_w = write(p("good.safetensors"), safetensors_bytes(f32_tensors(sd)))
        rng = np.random.default_rng(4)
        x = rng.standard_normal((2, 3, 37, 29)) + rng.normal(0, 0.5, (2, 3, 1, 1))
        x = x.astype(np.float32)
        good_x = write(p("x.npy"), npy_bytes(x))
        out = p("y.npy")

        def infer(weights=good_w, inp=good_x, model=MODEL, extra=()):
            return run_tool(tool, ["infer", model, "--weights", weights, "--input", inp,
                                   "--output", out, *extra])

        def case(name, proc, needles, output=out):
            report(name, check_error(proc, needles, output), proc)
            if os.path.exists(out):
                os.remove(out)

        # The good files work: the failures below are the corruption's doing.
        proc = infer()
        if proc.returncode != 0 or not os.path.exists(out):
            report("good files", f"infer failed ({proc.returncode}): {proc.stderr.strip()}")
            return report.done()
        want = np.load(out)
        os.remove(out)
        report("good files", None if np.isfinite(want).all() else "non-finite logits")

        # ---- malformed weights ----
        raw = open(good_w, "rb").read()
        w = write(p("hlen.safetensors"), struct.pack("<Q", len(raw) * 4) + raw[8:])
        case("header length beyond the file", infer(w), [w, "header"])

        w = write(p("huge.safetensors"), struct.pack("<Q", 2**64 - 1) + raw[8:])
        case("header length 2^64 - 1", infer(w), [w, "header"])

        w = write(p("short.safetensors"), raw[:5])
        case("file shorter than the length field", infer(w), [w])

        text = b'[1, 2, 3]     '
        w = write(p("array.safetensors"), struct.pack("<Q", len(text)) + text)
        case("header not a JSON object", infer(w), [w, "object"])

        text = b'{"conv1.0.weight":{"dtype":"F32","shape":[24,3,3,3],"data_offsets":[0,2592]'
        text += b" " * (-(8 + len(text)) % 8)
        w = write(p("json.safetensors"), struct.pack("<Q", len(text)) + text + b"\0" * 2592)
        case("malformed JSON header", infer(w), [w, "JSON"])

        def beyond(h):
            # the right size, but past the end of the data
            end = max(v["data_offsets"][1] for v in h.values())
            h["fc.bias"]["data_offsets"] = [end, end + 4000]
        w = write(p("beyond.safetensors"), safetensors_bytes(f32_tensors(sd), beyond))
        case("offsets outside the data", infer(w), [w, "fc.bias"])

        def resized(h):
            h["conv5.0.weight"]["data_offsets"][1] += 4096
        w = write(p("resized.safetensors"), safetensors_bytes(f32_tensors(sd), resized))
        case("offsets that do not fit the shape", infer(w), [w, "conv5.0.weight"])

        def bad_dtype(h):
            h["conv1.0.weight"]["dtype"] = "F99"
        w = write(p("dtype.safetensors"), safetensors_bytes(f32_tensors(sd), bad_dtype))
        case("unknown dtype", infer(w), [w, "conv1.0.weight", "F99"])

        def negative(h):
            h["conv1.1.bias"]["shape"] = [-24]
        w = write(p("negative.safetensors"), safetensors_bytes(f32_tensors(sd), negative))
        case("negative dimension", infer(w), [w, "conv1.1.bias"])

        def overlap(h):
            # conv1.1.weight takes the first bytes of conv1.0.weight's region
            h["conv1.1.weight"]["data_offsets"] = [0, 96]
        w = write(p("overlap.safetensors"), safetensors_bytes(f32_tensors(sd), overlap))
        case("overlapping offsets", infer(w), [w, "overlap"])

        t = f32_tensors(sd)
        v = sd["stage3.0.branch2.1.running_mean"]
        t["stage3.0.branch2.1.running_mean"] = ("I64", v.shape, np.zeros(v.shape, "<i8").tobytes())
        w = write(p("i64.safetensors"), safetensors_bytes(t))
        case("wrong dtype I64", infer(w), [w, "stage3.0.branch2.1.running_mean", "I64", "F32"])

        t = f32_tensors(sd)
        v = sd["conv5.0.weight"]  # 1024 x 192 x 1 x 1, stored as 192 x 1024 x 1 x 1
        t["conv5.0.weight"] = ("F32", (192, 1024, 1, 1), v.astype("<f4").tobytes())
        w = write(p("shape.safetensors"), safetensors_bytes(t))
        case("wrong shape", infer(w),
             [w, "conv5.0.weight", "[192, 1024, 1, 1]", "expected [1024, 192, 1, 1]"])

        t = f32_tensors(sd)
        del t["stage2.3.branch2.5.weight"], t["fc.bias"]
        w = write(p("missing.safetensors"), safetensors_bytes(t))
        case("missing tensors", infer(w),
             [w, "2 missing", "stage2.3.branch2.5.weight", "fc.bias"])

        t = f32_tensors(sd)
        t["stage5.0.branch2.0.weight"] = ("F32", (4,), np.ones(4, "<f4").tobytes())
        w = write(p("unexpected.safetensors"), safetensors_bytes(t))
        case("unexpected tensor", infer(w), [w, "1 unexpected", "stage5.0.branch2.0.weight"])

        t = f32_tensors(sd)
        v = sd["stage4.1.branch2.3.weight"].copy()
        v.flat[10] = np.nan
        t["stage4.1.branch2.3.weight"] = ("F32", v.shape, v.astype("<f4").tobytes())
        w = write(p("nan.safetensors"), safetensors_bytes(t))
        case("NaN in a weight", infer(w), [w, "stage4.1.branch2.3.weight", "NaN"])

        v1 = ref.build_uninitialized("v1_g3_x0_5").state_dict()
        v1 = {k: v.numpy() for k, v in v1.items() if not k.endswith("num_batches_tracked")}
        w = write(p("v1.safetensors"), safetensors_bytes(f32_tensors(v1)))
        case("weights of another family", infer(w), [w, MODEL, "missing", "unexpected"])

        case("weights file missing", infer(p("absent.safetensors")), [p("absent.safetensors")])
        case("weights path is a directory", infer(tmp), [tmp])

        # ---- malformed inputs ----
        good_npy = open(good_x, "rb").read()
        i = write(p("magic.npy"), b"\x93NUMPX" + good_npy[6:])
        case("npy bad magic", infer(inp=i), [i, "magic"])

        i = write(p("f64.npy"), npy_bytes(x.astype(np.float64)))
        case("npy float64", infer(inp=i), [i, "astype(np.float32)"])

        i = write(p("rank3.npy"), npy_bytes(x[0]))
        case("npy rank 3", infer(inp=i), [i, "N x 3 x H x W", "shape 3 x 37 x 29"])

        i = write(p("c4.npy"), npy_bytes(np.zeros((1, 4, 8, 8), np.float32)))
        case("npy with 4 channels", infer(inp=i), [i, "N x 3 x H x W", "shape 1 x 4 x 8 x 8"])

        i = write(p("trunc.npy"), good_npy[:-100])
        case("npy truncated data", infer(inp=i), [i, "truncated"])

        i = write(p("empty.npy"), npy_bytes(np.zeros((0, 3, 8, 8), np.float32)))
        case("npy empty batch", infer(inp=i), [i, "0 x 3 x 8 x 8", "empty"])

        case("input file missing", infer(inp=p("absent.npy")), [p("absent.npy")])

        # Fortran order: the reader transposes, so the logits must be the very same.
        i = write(p("fortran.npy"), npy_bytes(x, fortran=True))
        proc = infer(inp=i)
        if proc.returncode == 0:
            got = np.load(out)
            os.remove(out)
            same = got.shape == want.shape and np.array_equal(got, want)
            report("Fortran-order input", None if same else "logits differ from C order's", proc)
        else:
            # refusing is allowed, if clearly
            report("Fortran-order input (refused)", check_error(proc, [i, "Fortran"], out), proc)

        # ---- names and options ----
        case("unknown model", infer(model="v3_x1_0"), ["'v3_x1_0'", "unknown model", "v2_x1_0"])
        case("unknown option", infer(extra=["--batch", "2"]), ["'--batch'", "unknown option"])

        # ---- precision ----
        # half-storage runs, within the documented tolerance of float32 (docs/precision.md)
        proc = infer(extra=["--precision", "half-storage"])
        err = f"half-storage infer failed: {proc.stderr.strip()}" if proc.returncode else None
        if not err:
            got = np.load(out)
            rel = float(np.linalg.norm(got - want) / np.linalg.norm(want))
            err = None if 0 < rel < 5e-3 else f"half-storage vs float32: relative error {rel:.3g}"
            os.remove(out)
        report("half-storage infer", err, proc)
        case("16-bit arithmetic", infer(extra=["--precision", "half"]),
             ["precision = half", "half-storage"])
        case("unknown precision", infer(extra=["--precision", "f16"]),
             ["--precision f16", "float32, half-storage or half"])
        case("precision without a value", infer(extra=["--precision"]), ["--precision needs a value"])
        case("precision on info", run_tool(tool, ["info", MODEL, "--precision", "half-storage"]),
             ["--precision", "only infer, classify, bench and tune"])
        # ---- batches in blocks ----
        # the good input's batch one image at a time: the logits the whole batch gave
        proc = infer(extra=["--batch-block", "1"])
        err = f"infer in blocks failed: {proc.stderr.strip()}" if proc.returncode else None
        if not err:
            got = np.load(out)
            rel = float(np.linalg.norm(got - want) / np.linalg.norm(want))
            err = None if got.shape == want.shape and rel <= 1e-6 else f"blocks vs whole: {rel:.3g}"
            os.remove(out)
        report("infer in blocks of 1", err, proc)
        case("batch block 0", infer(extra=["--batch-block", "0"]),
             ["--batch-block 0", "whole number from 1 to 4096"])
        case("batch block without a value", infer(extra=["--batch-block"]),
             ["--batch-block needs a value"])
        case("batch block on info", run_tool(tool, ["info", MODEL, "--batch-block", "2"]),
             ["--batch-block", "only infer, classify and bench"])
        big = dict(sd)
        big["conv1.0.weight"] = sd["conv1.0.weight"].copy()
        big["conv1.0.weight"][0, 0, 0, 0] = 1e6
        w = write(p("big.safetensors"), safetensors_bytes(f32_tensors(big)))
        case("weight beyond the half range", infer(w, extra=["--precision", "half-storage"]),
             [w, "conv1.0.weight", "half range", "use float32"])
        proc = infer(w)
        report("the same weight at float32", None if proc.returncode == 0 else proc.stderr, proc)
        if os.path.exists(out):
            os.remove(out)
        proc = run_tool(tool, ["infer", MODEL, "--weights", good_w, "--input", good_x,
                               "--output"])
        case("missing option value", proc, ["--output", "value"])
        proc = run_tool(tool, ["infer", MODEL, "--weights", good_w, "--output", out])
        case("missing required option", proc, ["--input is required"])
        # MODEL may be left out with --weights (the architecture is the file's), not without
        proc = run_tool(tool, ["infer", "--input", good_x, "--output", out])
        case("no model", proc, ["model", "--weights"])
        proc = run_tool(tool, ["infer", "auto", "--input", good_x, "--output", out])
        case("auto without weights", proc, ["--weights is required"])
        proc = run_tool(tool, ["infer", "--weights", good_w, "--input", good_x, "--output", out])
        if proc.returncode == 0:
            got = np.load(out)
            os.remove(out)
            same = got.shape == want.shape and np.array_equal(got, want)
            report("no model: the file's architecture", None if same else "logits differ from "
                   f"{MODEL}'s", proc)
        else:
            report("no model: the file's architecture", f"exit {proc.returncode}", proc)
        bad_out = os.path.join(tmp, "no_such_dir", "y.npy")
        case("output not writable", infer(extra=["--output", bad_out]), [bad_out], bad_out)
        case("unknown device", infer(extra=["--device", "no-such-device-xyz"]),
             ["no-such-device-xyz"])

        case("info unknown model", run_tool(tool, ["info", "v2_x3_0"]), ["'v2_x3_0'", "unknown"])
        case("info unknown option", run_tool(tool, ["info", MODEL, "--jsn"]), ["'--jsn'"])
        case("info bad height", run_tool(tool, ["info", MODEL, "--height", "abc"]),
             ["--height", "'abc'"])
        case("info missing value", run_tool(tool, ["info", MODEL, "--width"]), ["--width"])
        case("info height over its bound", run_tool(tool, ["info", MODEL, "--height", "100000000"]),
             ["--height", "'100000000'", "16384"])
        case("info width 0", run_tool(tool, ["info", MODEL, "--width", "0"]), ["--width", "'0'", "16384"])
        case("info height past long", run_tool(tool, ["info", MODEL, "--height", "9" * 30]),
             ["--height", "16384"])
        case("bench height over its bound", run_tool(tool, ["bench", MODEL, "--height", "16385"]),
             ["--height", "'16385'", "16384"])
        tall = write(p("tall.npy"), npy_bytes(np.zeros((1, 3, 16385, 1), np.float32)))
        case("infer input taller than 16384", infer(inp=tall), [tall, "16384"])

        # ---- classify ----
        not_image = write(p("notes.txt"), b"this is not a picture\n" * 10)
        case("classify a non-image", run_tool(tool, ["classify", MODEL, "--weights", good_w,
                                                     not_image]), [not_image])
        png = png_bytes(np.zeros((40, 30, 3), np.uint8))
        cut = write(p("cut.png"), png[:len(png) // 2])
        case("classify a truncated PNG", run_tool(tool, ["classify", MODEL, "--weights", good_w,
                                                         cut]), [cut])
        try:
            from PIL import Image
            jpg = p("whole.jpg")
            Image.fromarray(rng.integers(0, 255, (64, 48, 3), dtype=np.uint8)).save(jpg)
            data = open(jpg, "rb").read()
            cut = write(p("cut.jpg"), data[:len(data) // 2])
            case("classify a truncated JPEG", run_tool(tool, ["classify", MODEL, "--weights",
                                                              good_w, cut]), [cut])
        except ImportError:
            print("skip classify a truncated JPEG: no PIL")
        case("classify a missing image", run_tool(tool, ["classify", MODEL, "--weights", good_w,
                                                         p("absent.png")]), [p("absent.png")])
        case("classify bad weights", run_tool(tool, ["classify", MODEL, "--weights",
                                                     p("nan.safetensors"), not_image]),
             ["nan.safetensors", "NaN"])
        case("classify unknown option", run_tool(tool, ["classify", MODEL, "--top", "3"]),
             ["'--top'"])

        # ---- decompression bombs and the pixel budget ----
        def classify(*args):
            return run_tool(tool, ["classify", MODEL, "--weights", good_w, *args])
        bomb = write(p("bomb.png"), png_bomb_bytes(60000, 60000))
        case("classify a PNG claiming 60000x60000", classify(bomb),
             [bomb, "60000x60000", "pixel budget of 67108864", "--max-pixels"])
        pic = write(p("pic300.png"), png_bytes(rng.integers(0, 255, (300, 300, 3), dtype=np.uint8)))
        case("classify over a lowered --max-pixels", classify("--max-pixels", "60000", pic),
             [pic, "pixel budget of 60000"])
        proc = classify("--max-pixels", "90000", pic)
        report("classify within a raised --max-pixels",
               None if proc.returncode == 0 and pic in proc.stdout else
               f"exit {proc.returncode}: {proc.stderr.strip()}", proc)
        case("classify --max-pixels not a number", classify("--max-pixels", "12abc", pic),
             ["--max-pixels", "'12abc'"])
        case("classify --max-pixels below a crop", classify("--max-pixels", "100", pic),
             ["--max-pixels", "50176", "4294836225"])
        try:
            from PIL import Image
            small = p("small.jpg")
            Image.fromarray(rng.integers(0, 255, (16, 16, 3), dtype=np.uint8)).save(small)
            data = bytearray(open(small, "rb").read())
            sof = jpeg_marker(data, 0xc0, 0xc2)
            data[sof + 5:sof + 9] = struct.pack(">HH", 60000, 60000)
            bomb = write(p("bomb.jpg"), bytes(data))
            case(f"classify a {len(data)}-byte JPEG claiming 60000x60000", classify(bomb),
                 [bomb, "pixel budget of 67108864"])
            data = open(jpg, "rb").read()
            sos = jpeg_marker(data, 0xda, 0xda)
            start = sos + 2 + struct.unpack(">H", data[sos + 2:sos + 4])[0]
            keep = data[:start + (len(data) - 2 - start) // 2].rstrip(b"\xff")
            cut = write(p("cut_eoi.jpg"), keep + b"\xff\xd9")
            case("classify a JPEG cut short but closed by EOI", classify(cut), [cut, "truncated"])
        except ImportError:
            print("skip classify a JPEG bomb: no PIL")

    return report.done()


if __name__ == "__main__":
    sys.exit(main())
