#!/usr/bin/python3
"""fuzz-seeds.py: writes the seed corpora of the fuzz targets (tests/fuzz/corpus/<target>/): a
handful of tiny, valid files per reader, each exercising another branch of its format. Run with
Debian's /usr/bin/python3 (numpy and PIL). Rerun after a format change; the files are committed.
Inputs that once found a bug (regression-*) are kept beside the seeds and never rewritten here."""
import hashlib
import io
import json
import os
import struct
import sys

import numpy as np
from PIL import Image

ROOT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "tests", "fuzz", "corpus")


def put(target, name, data):
    d = os.path.join(ROOT, target)
    os.makedirs(d, exist_ok=True)
    with open(os.path.join(d, name), "wb") as f:
        f.write(data)


def safetensors(tensors, metadata=None):
    """tensors: (name, dtype, shape, raw bytes) in data order."""
    header, off = {}, 0
    for name, dtype, shape, raw in tensors:
        header[name] = {"dtype": dtype, "shape": shape, "data_offsets": [off, off + len(raw)]}
        off += len(raw)
    if metadata:
        header["__metadata__"] = metadata
    h = json.dumps(header, separators=(",", ":")).encode()
    h += b" " * (-len(h) % 8)
    return struct.pack("<Q", len(h)) + h + b"".join(t[3] for t in tensors)


def seeds_safetensors():
    f32 = np.arange(6, dtype="<f4") - 2.5
    put("fuzz_safetensors", "f32", safetensors([("w", "F32", [2, 3], f32.tobytes())], {"format": "pt"}))
    put("fuzz_safetensors", "f16-bf16", safetensors([
        ("a", "F16", [3], np.array([1.0, -0.5, 6e-8], dtype="<f2").tobytes()),
        ("b", "BF16", [2], (np.array([1.0, -3.0], dtype="<f4").view("<u4") >> 16).astype("<u2").tobytes()),
    ]))
    put("fuzz_safetensors", "scalar-empty", safetensors([
        ("s", "F32", [], np.array([7.0], dtype="<f4").tobytes()),
        ("e", "F32", [0, 4], b""),
        ("i", "I64", [1], struct.pack("<q", 3)),
    ]))
    put("fuzz_safetensors", "header-only", safetensors([]))


def npy(arr, version=(1, 0), descr=None, fortran=False):
    d = descr or arr.dtype.str
    h = "{'descr': '%s', 'fortran_order': %s, 'shape': %s, }" % (d, fortran, tuple(arr.shape))
    lenfmt = "<H" if version[0] == 1 else "<I"
    pre = 6 + 2 + struct.calcsize(lenfmt)
    h = h.encode("latin1")
    h += b" " * (-(pre + len(h) + 1) % 64) + b"\n"
    body = arr.tobytes(order="F" if fortran else "C")
    return b"\x93NUMPY" + bytes(version) + struct.pack(lenfmt, len(h)) + h + body


def seeds_npy():
    a = (np.arange(24, dtype="<f4") * 0.25).reshape(2, 3, 4)
    put("fuzz_npy", "c-order", npy(a))
    put("fuzz_npy", "big-endian", npy(a.astype(">f4")))
    put("fuzz_npy", "fortran", npy(np.asfortranarray(a), fortran=True))
    put("fuzz_npy", "v2-scalar", npy(np.array(1.5, dtype="<f4"), version=(2, 0)))
    put("fuzz_npy", "v3-empty", npy(np.zeros((0, 5), dtype="<f4"), version=(3, 0)))


def pil(img, fmt, **kw):
    b = io.BytesIO()
    img.save(b, fmt, **kw)
    return b.getvalue()


def seeds_image():
    rgb = Image.frombytes("RGB", (3, 2), bytes(range(0, 18 * 13, 13)))
    put("fuzz_image", "rgb.png", pil(rgb, "PNG"))
    put("fuzz_image", "gray-alpha.png", pil(rgb.convert("LA"), "PNG"))
    put("fuzz_image", "palette-interlaced.png", pil(rgb.convert("P"), "PNG", interlace=1))
    put("fuzz_image", "baseline.jpg", pil(rgb, "JPEG", quality=90))
    put("fuzz_image", "progressive-gray.jpg", pil(rgb.convert("L"), "JPEG", progressive=True))
    put("fuzz_image", "cmyk.jpg", pil(rgb.convert("CMYK"), "JPEG"))
    put("fuzz_image", "p6.ppm", b"P6\n3 2\n255\n" + rgb.tobytes())
    put("fuzz_image", "p3-16bit.ppm", b"P3\n# comment\n2 1\n65535\n0 1000 65535 40000 2 3\n")
    put("fuzz_image", "p5.pgm", b"P5 2 2 15 " + bytes([0, 5, 10, 15]))
    put("fuzz_image", "p2.pgm", b"P2\n1 2\n7\n3\n7\n")


def seeds_program_cache():
    key = b"shufflecl fuzz key, 32 bytes...\0"  # fuzz_program_cache.c's key
    binary = b"\x7fELF fake device binary"
    header = b"SCLPROG\0" + struct.pack("<II", 1, 0) + key + struct.pack("<Q", len(binary))
    good = header + binary + hashlib.sha256(binary).digest()
    put("fuzz_program_cache", "valid", b"\x00" + good)
    put("fuzz_program_cache", "fix-key-length-sum", b"\x07" + good[:16] + b"\0" * 32 + good[48:])
    put("fuzz_program_cache", "bad-sum", b"\x00" + good[:-1] + b"\0")
    put("fuzz_program_cache", "short", b"\x01" + good[:40])


def seeds_tune():
    # mode byte 1: fuzz_tune.c puts the valid "shufflecl-tune 2" and "source <hash>" lines first
    entries = (b"device PoCL | 3.1 | OpenCL 3.0\n"
               b"pointwise f32 28x28 : 0 116 116 1 1 1 : 16 12 # 0.0310 0.0281\n"
               b"pointwise f32 * : 0 24 58 1 1 0 : 8 4\n"
               b"depthwise f32 * : 0 58 58 58 1 0 : 8 4 0 1 0 0\n"
               b"head f32 7x7 : 0 1024 1000 1 1 0 : 1 16 4 4 1 0 0\n")
    put("fuzz_tune", "entries", b"\x01" + entries)
    put("fuzz_tune", "comments", b"\x01# a comment\n\npointwise f32 * : 0 1 2 1 1 0 : 1 1\n")
    put("fuzz_tune", "bad-values", b"\x01pointwise f32 * : 0 24 24 1 1 0 : -1 -1\n"
        b"pointwise f32 99999999999x1 : 0 : 3\ndepthwise f32 * : : \n")
    put("fuzz_tune", "raw-header", b"\x00shufflecl-tune 2\nsource 00\n" + entries)
    put("fuzz_tune", "stale-format", b"\x00shufflecl-tune 1\n")


def seeds_onnx():
    """Tiny ShuffleNets exported by torch.onnx.export: each family, static and dynamic batch,
    BN folded and kept."""
    import tempfile
    import warnings

    import torch
    sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "tests", "torch"))
    import shufflenet_ref as ref
    warnings.filterwarnings("ignore")
    cases = [("tv", "torchvision_v2", [4, 8, 16, 32, 32], 3, None, 13, True, True),
             ("v1", "megvii_v1", [6, 12, 24, 48], 3, 3, 9, False, True),
             ("mv2", "megvii_v2", [4, 16, 32, 64, 32], 3, None, 11, True, True),
             ("tv_bn", "torchvision_v2", [4, 8, 16, 32, 32], 3, None, 17, True, False)]
    for tag, layout, widths, classes, groups, opset, dyn, fold in cases:
        net = ref.build_custom(layout, widths, [1, 1, 1], classes, groups, 1)
        with tempfile.TemporaryDirectory() as tmp:
            path = os.path.join(tmp, "m.onnx")
            kw = {} if fold else dict(do_constant_folding=False, training=torch.onnx.TrainingMode.PRESERVE)
            torch.onnx.export(net, torch.zeros(1, 3, 32, 32), path, opset_version=opset, input_names=["x"],
                              output_names=["y"], dynamic_axes={"x": {0: "N"}, "y": {0: "N"}} if dyn else None,
                              **kw)
            put("fuzz_onnx", f"{tag}_opset{opset}.onnx", open(path, "rb").read())


def main():
    for fn in (seeds_safetensors, seeds_npy, seeds_image, seeds_program_cache, seeds_tune, seeds_onnx):
        fn()
    print("seed corpora written under", os.path.normpath(ROOT), file=sys.stderr)


if __name__ == "__main__":
    main()
