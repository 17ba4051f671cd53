#!/usr/bin/env python3
"""Convert a PyTorch ShuffleNet checkpoint to the safetensors file that shufflecl reads.

Accepts torchvision ShuffleNet V2 state_dicts, Megvii ShuffleNet-Series checkpoints (a dict
whose 'state_dict' holds `module.`-prefixed keys) and whole pickled models. The output holds
float32 tensors only, with the `module.` prefix stripped and BN's num_batches_tracked dropped.

  convert_checkpoint.py [--model NAME] INPUT.pth OUTPUT.safetensors
  convert_checkpoint.py --from-torchvision NAME OUTPUT.safetensors

With --model the tensor names and shapes are checked against that model; without it the
model is identified from them when possible. --from-torchvision exports torchvision's
ImageNet weights for a V2 model, from the local torch hub cache only (it never downloads).

This file is self-contained (torch is the only dependency; torchvision only for
--from-torchvision), so it works when installed on its own.
"""

import argparse
import json
import os
import re
import struct
import sys
import tempfile
from collections import OrderedDict

import torch

# Stage widths, duplicated from the project's spec so that this script stands alone.
# V2: [C1, S2, S3, S4, C5]; V1: [C1, S2, S3, S4] by (groups, width).
V2_WIDTHS = {
    "0_5": [24, 48, 96, 192, 1024],
    "1_0": [24, 116, 232, 464, 1024],
    "1_5": [24, 176, 352, 704, 1024],
    "2_0": [24, 244, 488, 976, 2048],
}
V1_WIDTHS = {
    (1, "1_0"): [24, 144, 288, 576],
    (2, "1_0"): [24, 200, 400, 800],
    (3, "1_0"): [24, 240, 480, 960],
    (4, "1_0"): [24, 272, 544, 1088],
    (8, "1_0"): [24, 384, 768, 1536],
    (3, "0_5"): [12, 120, 240, 480],
    (3, "1_5"): [24, 360, 720, 1440],
    (3, "2_0"): [48, 480, 960, 1920],
    (8, "0_5"): [16, 192, 384, 768],
    (8, "1_5"): [24, 576, 1152, 2304],
    (8, "2_0"): [48, 768, 1536, 3072],
}
V2_NAMES = ["v2_x" + w for w in V2_WIDTHS]
V1_NAMES = [f"v1_g{g}_x{w}" for g, w in V1_WIDTHS]
MODEL_NAMES = V2_NAMES + V1_NAMES
STAGE_REPEATS = [4, 8, 4]
NUM_CLASSES = 1000


class ConvertError(Exception):
    """A problem with the user's input, reported as one line without a traceback."""


# ---- what each model's state_dict holds ---------------------------------------------------------


def _bn(shapes, prefix, n):
    for field in ("weight", "bias", "running_mean", "running_var"):
        shapes[prefix + field] = (n,)


def _v2_shapes(widths):
    c1, s2, s3, s4, c5 = widths
    shapes = OrderedDict()
    shapes["conv1.0.weight"] = (c1, 3, 3, 3)
    _bn(shapes, "conv1.1.", c1)
    cin = c1
    for stage, (repeats, cout) in enumerate(zip(STAGE_REPEATS, (s2, s3, s4)), start=2):
        half = cout // 2
        for u in range(repeats):
            p = f"stage{stage}.{u}."
            if u == 0:
                shapes[p + "branch1.0.weight"] = (cin, 1, 3, 3)
                _bn(shapes, p + "branch1.1.", cin)
                shapes[p + "branch1.2.weight"] = (half, cin, 1, 1)
                _bn(shapes, p + "branch1.3.", half)
            # Stride-1 units feed branch2 only the second half of their input.
            shapes[p + "branch2.0.weight"] = (half, cin if u == 0 else half, 1, 1)
            _bn(shapes, p + "branch2.1.", half)
            shapes[p + "branch2.3.weight"] = (half, 1, 3, 3)
            _bn(shapes, p + "branch2.4.", half)
            shapes[p + "branch2.5.weight"] = (half, half, 1, 1)
            _bn(shapes, p + "branch2.6.", half)
            cin = cout
    shapes["conv5.0.weight"] = (c5, s4, 1, 1)
    _bn(shapes, "conv5.1.", c5)
    shapes["fc.weight"] = (NUM_CLASSES, c5)
    shapes["fc.bias"] = (NUM_CLASSES,)
    return shapes


def _v1_shapes(groups, widths):
    c1 = widths[0]
    shapes = OrderedDict()
    shapes["first_conv.0.weight"] = (c1, 3, 3, 3)
    _bn(shapes, "first_conv.1.", c1)
    cin, k = c1, 0
    for stage, (repeats, cout) in enumerate(zip(STAGE_REPEATS, widths[1:])):
        mid = cout // 4
        for u in range(repeats):
            p = f"features.{k}."
            # The first unit of stage 2 has a dense first 1x1 conv.
            g1 = 1 if stage == 0 and u == 0 else groups
            out_main = cout - cin if u == 0 else cout
            shapes[p + "branch_main_1.0.weight"] = (mid, cin // g1, 1, 1)
            _bn(shapes, p + "branch_main_1.1.", mid)
            shapes[p + "branch_main_1.3.weight"] = (mid, 1, 3, 3)
            _bn(shapes, p + "branch_main_1.4.", mid)
            shapes[p + "branch_main_2.0.weight"] = (out_main, mid // groups, 1, 1)
            _bn(shapes, p + "branch_main_2.1.", out_main)
            cin, k = cout, k + 1
    shapes["classifier.0.weight"] = (NUM_CLASSES, cin)
    return shapes


def expected_shapes(name):
    """{tensor name: shape} of a model's weights (without num_batches_tracked)."""
    if name.startswith("v2_x") and name[4:] in V2_WIDTHS:
        return _v2_shapes(V2_WIDTHS[name[4:]])
    m = re.fullmatch(r"v1_g(\d)_x(\d_\d)", name)
    if m and (int(m.group(1)), m.group(2)) in V1_WIDTHS:
        groups = int(m.group(1))
        return _v1_shapes(groups, V1_WIDTHS[(groups, m.group(2))])
    raise ConvertError(f"unknown model {name!r} (known: {', '.join(MODEL_NAMES)})")


def check_against(state_dict, name):
    """Raise ConvertError unless the tensors are exactly those of model `name`."""
    want = expected_shapes(name)
    have = {k: tuple(v.shape) for k, v in state_dict.items()}
    problems = []
    missing = [k for k in want if k not in have]
    extra = [k for k in have if k not in want]
    wrong = [f"{k} {list(have[k])} (want {list(want[k])})"
             for k in want if k in have and have[k] != want[k]]
    for label, items in (("missing", missing), ("unexpected", extra), ("wrong shape", wrong)):
        if items:
            more = f" and {len(items) - 3} more" if len(items) > 3 else ""
            problems.append(f"{len(items)} {label}: {', '.join(items[:3])}{more}")
    if problems:
        raise ConvertError(f"checkpoint does not match {name}: {'; '.join(problems)}")


def identify(state_dict):
    """The model name whose tensors these are exactly, or None."""
    for name in MODEL_NAMES:
        try:
            check_against(state_dict, name)
            return name
        except ConvertError:
            pass
    return None


def identify_layout(state_dict):
    """'torchvision V2', 'Megvii V1' or 'Megvii V2' by the key names shufflecl recognises (with
    its class count), or None."""
    def classes(key):
        t = state_dict.get(key)
        return f", {t.shape[0]} classes" if t is not None and t.dim() == 2 else ""
    if "conv1.0.weight" in state_dict:
        return "torchvision V2 layout" + classes("fc.weight")
    if "first_conv.0.weight" in state_dict and "features.0.branch_main_1.0.weight" in state_dict:
        return "Megvii V1 layout" + classes("classifier.0.weight")
    if "first_conv.0.weight" in state_dict and "features.0.branch_main.0.weight" in state_dict:
        return "Megvii V2 layout" + classes("classifier.0.weight")
    return None


# ---- reading checkpoints ------------------------------------------------------------------------


def _find_state_dict(obj):
    """The mapping of tensors inside whatever torch.load returned."""
    if isinstance(obj, torch.nn.Module):
        return obj.state_dict()
    if not isinstance(obj, dict):
        raise ConvertError(f"checkpoint holds a {type(obj).__name__}, not a state_dict or model")
    if obj and all(torch.is_tensor(v) for v in obj.values()):
        return obj
    # Training checkpoints wrap the weights next to epoch counters and optimizer state.
    for key in ("state_dict", "model_state_dict", "model"):
        if key in obj and isinstance(obj[key], (dict, torch.nn.Module)):
            return _find_state_dict(obj[key])
    if not any(torch.is_tensor(v) for v in obj.values()):
        keys = ", ".join(map(repr, list(obj)[:8]))
        raise ConvertError(f"found no weights in the checkpoint (its top-level keys: {keys})")
    return obj


def load_checkpoint(path):
    """Read a .pth / .pth.tar file into an OrderedDict of float32 tensors with clean names."""
    if not os.path.isfile(path):
        raise ConvertError(f"{path}: no such file")
    try:
        obj = torch.load(path, map_location="cpu")
    except (ModuleNotFoundError, AttributeError) as e:
        raise ConvertError(f"{path}: it pickles a whole model whose class cannot be imported "
                           f"here ({e}); save model.state_dict() instead") from None
    except Exception as e:  # torch raises many types for a file that is not a checkpoint
        raise ConvertError(f"{path}: not a PyTorch checkpoint ({type(e).__name__}: {e})"
                           .replace("\n", " ")) from None

    tensors = OrderedDict()
    for key, value in _find_state_dict(obj).items():
        if not torch.is_tensor(value):
            raise ConvertError(f"{path}: entry {key!r} is not a tensor "
                               f"({type(value).__name__})")
        # Checkpoints saved from nn.DataParallel prefix every name with 'module.'.
        name = key[len("module."):] if key.startswith("module.") else key
        if name.endswith("num_batches_tracked"):
            continue  # a training counter, meaningless at inference
        if not value.is_floating_point():
            raise ConvertError(f"{path}: tensor {key!r} has dtype {value.dtype}; "
                               "only floating-point weights can be converted")
        if name in tensors:
            raise ConvertError(f"{path}: tensor {name!r} appears both with and without "
                               "the 'module.' prefix")
        tensors[name] = value.detach().to(torch.float32).contiguous()
    if not tensors:
        raise ConvertError(f"{path}: no tensors found")
    return tensors


def torchvision_cache_path(name):
    """Where torch.hub keeps torchvision's ImageNet weights for V2 model `name`."""
    if name not in V2_NAMES:
        raise ConvertError(f"--from-torchvision takes one of {', '.join(V2_NAMES)}, "
                           f"not {name!r} (torchvision has no ShuffleNet V1)")
    try:
        import torchvision.models as tvm
    except ImportError:
        raise ConvertError("--from-torchvision needs torchvision, which is not "
                           "installed") from None
    enum = getattr(tvm, "ShuffleNet_V2_X" + name[4:].upper() + "_Weights", None)
    weights = getattr(enum, "IMAGENET1K_V1", None)
    if weights is None:
        raise ConvertError(f"this torchvision has no ImageNet weights for {name}")
    path = os.path.join(torch.hub.get_dir(), "checkpoints", os.path.basename(weights.url))
    if not os.path.isfile(path):
        raise ConvertError(f"torchvision weights for {name} are not in the local torch hub "
                           f"cache (expected {path}); this script never downloads: fetch "
                           f"{weights.url} elsewhere and copy it there, or convert that "
                           "file directly")
    return path


# ---- writing safetensors ------------------------------------------------------------------------


def write_safetensors(tensors, path, metadata=None):
    """Write F32 tensors as safetensors, atomically (a failure leaves no partial file)."""
    header, offset = OrderedDict(), 0
    for name, t in tensors.items():
        nbytes = t.numel() * 4
        header[name] = {"dtype": "F32", "shape": list(t.shape),
                        "data_offsets": [offset, offset + nbytes]}
        offset += nbytes
    if metadata:
        header["__metadata__"] = {str(k): str(v) for k, v in metadata.items()}
    text = json.dumps(header, separators=(",", ":")).encode("utf-8")
    # Spaces pad the header so that the data starts 8-byte aligned in the file.
    text += b" " * (-(8 + len(text)) % 8)

    directory = os.path.dirname(os.path.abspath(path))
    if not os.path.isdir(directory):
        raise ConvertError(f"{directory}: no such directory")
    fd, tmp = tempfile.mkstemp(prefix=".convert-", dir=directory)
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(struct.pack("<Q", len(text)))
            f.write(text)
            for t in tensors.values():
                f.write(t.numpy().astype("<f4", copy=False).tobytes())
        os.replace(tmp, path)
    except BaseException:
        os.unlink(tmp)
        raise


# ---- command line -------------------------------------------------------------------------------


def convert(src, dst, model=None):
    """Convert checkpoint `src` to safetensors `dst`; returns (model name or None, tensors)."""
    tensors = load_checkpoint(src)
    if model is not None:
        check_against(tensors, model)
    else:
        model = identify(tensors)
    metadata = {"source": os.path.basename(src)}
    if model:
        metadata["model"] = model
    layout = None if model else identify_layout(tensors)
    if layout:
        metadata["layout"] = layout
    write_safetensors(tensors, dst, metadata)
    return model or layout, tensors


def main(argv=None):
    parser = argparse.ArgumentParser(
        description="Convert a PyTorch ShuffleNet checkpoint to shufflecl's safetensors.",
        usage="%(prog)s [--model NAME] INPUT.pth OUTPUT.safetensors\n"
              "       %(prog)s --from-torchvision NAME OUTPUT.safetensors")
    parser.add_argument("paths", nargs="+", metavar="PATH",
                        help="INPUT.pth OUTPUT.safetensors, or only OUTPUT with "
                             "--from-torchvision")
    parser.add_argument("--model", metavar="NAME",
                        help="check the tensors against this model: " + ", ".join(MODEL_NAMES))
    parser.add_argument("--from-torchvision", metavar="NAME",
                        help="export torchvision's cached ImageNet weights for a V2 model")
    prog = parser.prog

    def usage_error(message):
        # One line and exit status 1, like every other error of this script.
        print(f"{prog}: error: {message} (see --help)", file=sys.stderr)
        sys.exit(1)

    parser.error = usage_error
    args = parser.parse_args(argv)
    try:
        if args.from_torchvision:
            if len(args.paths) != 1:
                raise ConvertError("with --from-torchvision give only the output path")
            if args.model and args.model != args.from_torchvision:
                raise ConvertError("--model and --from-torchvision name different models")
            src, dst = torchvision_cache_path(args.from_torchvision), args.paths[0]
            model = args.from_torchvision
        else:
            if len(args.paths) != 2:
                raise ConvertError("give an input checkpoint and an output path")
            (src, dst), model = args.paths, args.model
        if model is not None:
            expected_shapes(model)  # rejects an unknown name before the slow load
        model, tensors = convert(src, dst, model)
    except ConvertError as e:
        print(f"{prog}: error: {e}", file=sys.stderr)
        return 1
    except OSError as e:
        print(f"{prog}: error: {e.filename or ''}: {e.strerror or e}", file=sys.stderr)
        return 1
    params = sum(t.numel() for t in tensors.values())
    what = (f"{model}; run it with `shufflecl ... auto`" if model and "layout" in model else model) or \
        "unrecognised model: shapes not checked"
    print(f"wrote {dst}: {len(tensors)} tensors, {params} values ({what})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
