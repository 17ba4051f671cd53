"""PyTorch reference for shufflecl: builds every ShuffleNet the library supports, with seeded
random weights, and produces the weights, inputs and logits its tests compare against.

V2 is torchvision's own model; V1 and Megvii's V2 are written here to the structure and
state_dict keys of Megvii's ShuffleNet-Series release, as the project's spec, shufflenet.md,
describes them (any widths, repeats, groups and class counts: build_custom).

Importable (build, count, make_input, save_safetensors, write_npy, MODEL_NAMES,
EXPECTED_COUNTS) and a CLI:

  shufflenet_ref.py case MODEL [--seed S] [--batch N] [--height H] [--width W]
                    --weights W.safetensors --input IN.npy --logits REF.npy [--module-prefix]
  shufflenet_ref.py counts
  shufflenet_ref.py compare REF.npy OUT.npy

Run it with an interpreter that has torch, torchvision and numpy (/usr/bin/python3 here).
"""

import argparse
import json
import math
import re
import struct
import sys

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F
import torchvision

V2_NAMES = ["v2_x0_5", "v2_x1_0", "v2_x1_5", "v2_x2_0"]
V1_NAMES = [
    "v1_g1_x1_0", "v1_g2_x1_0", "v1_g3_x1_0", "v1_g4_x1_0", "v1_g8_x1_0",
    "v1_g3_x0_5", "v1_g3_x1_5", "v1_g3_x2_0",
    "v1_g8_x0_5", "v1_g8_x1_5", "v1_g8_x2_0",
]
MODEL_NAMES = V2_NAMES + V1_NAMES

# What PyTorch's own counting gives at 1x3x224x224: (parameters, multiply-accumulates).
EXPECTED_COUNTS = {
    "v2_x0_5": (1366792, 40476448),
    "v2_x1_0": (2278604, 144907992),
    "v2_x1_5": (3503624, 295759392),
    "v2_x2_0": (7393996, 583253464),
    "v1_g1_x1_0": (1530936, 143078976),
    "v1_g2_x1_0": (1732848, 140836512),
    "v1_g3_x1_0": (1864728, 137460672),
    "v1_g4_x1_0": (1967344, 134339776),
    "v1_g8_x1_0": (2433768, 138365952),
    "v1_g3_x0_5": (717324, 37589856),
    "v1_g3_x1_5": (3441168, 292443552),
    "v1_g3_x2_0": (5449776, 524045184),
    "v1_g8_x0_5": (1010448, 40469760),
    "v1_g8_x1_5": (4268952, 290188800),
    "v1_g8_x2_0": (6521232, 521942016),
}

# V1 widths [C1, S2, S3, S4] by (groups, width multiplier); the 1.0x row is the paper's
# Table 1, the others are the sizes Megvii released.
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
STAGE_REPEATS = [4, 8, 4]


# ---- ShuffleNet V1 ---------------------------------------------------------------------------


class ShuffleV1Unit(nn.Module):
    """One V1 unit. Attribute names are the state_dict keys of Megvii's checkpoints."""

    def __init__(self, in_ch, out_ch, groups, stride, first_groups):
        super().__init__()
        self.groups = groups
        self.stride = stride
        mid = out_ch // 4
        # At stride 2 the pooled input fills the first in_ch channels of the concat.
        out_main = out_ch - in_ch if stride == 2 else out_ch
        self.branch_main_1 = nn.Sequential(
            nn.Conv2d(in_ch, mid, 1, bias=False, groups=first_groups),
            nn.BatchNorm2d(mid),
            nn.ReLU(inplace=True),
            nn.Conv2d(mid, mid, 3, stride, 1, bias=False, groups=mid),
            nn.BatchNorm2d(mid),
        )
        self.branch_main_2 = nn.Sequential(
            nn.Conv2d(mid, out_main, 1, bias=False, groups=groups),
            nn.BatchNorm2d(out_main),
        )
        if stride == 2:
            # count_include_pad=True (the default): border averages still divide by 9.
            self.branch_proj = nn.AvgPool2d(3, 2, 1)

    def shuffle(self, x):
        # View the channels as (mid/g, g) and transpose, so that shuffled channel k*n + j is
        # x[j*g + k] (n = mid/g): the order Megvii's released weights were trained with.
        b, c, h, w = x.shape
        g = self.groups
        return x.reshape(b, c // g, g, h, w).transpose(1, 2).reshape(b, c, h, w)

    def forward(self, x):
        main = self.branch_main_1(x)
        if self.groups > 1:
            main = self.shuffle(main)
        main = self.branch_main_2(main)
        if self.stride == 1:
            return F.relu(main + x)
        return torch.cat((self.branch_proj(x), F.relu(main)), 1)


class ShuffleNetV1(nn.Module):
    """ShuffleNet V1 with g groups and stage widths [C1, S2, S3, S4], Megvii's key names."""

    def __init__(self, groups, widths, num_classes=1000, repeats=None):
        super().__init__()
        c1 = widths[0]
        repeats = repeats or STAGE_REPEATS
        self.first_conv = nn.Sequential(
            nn.Conv2d(3, c1, 3, 2, 1, bias=False),
            nn.BatchNorm2d(c1),
            nn.ReLU(inplace=True),
        )
        self.maxpool = nn.MaxPool2d(3, 2, 1)
        units = []
        in_ch = c1
        for stage, (count, out_ch) in enumerate(zip(repeats, widths[1:])):
            for i in range(count):
                # The first unit of stage 2 reads the stem's few C1 channels; Megvii keeps its
                # first 1x1 conv dense (one group) rather than split them g ways.
                first_groups = 1 if stage == 0 and i == 0 else groups
                units.append(ShuffleV1Unit(in_ch, out_ch, groups, 2 if i == 0 else 1,
                                           first_groups))
                in_ch = out_ch
        self.features = nn.Sequential(*units)
        self.classifier = nn.Sequential(nn.Linear(in_ch, num_classes, bias=False))

    def forward(self, x):
        x = self.maxpool(self.first_conv(x))
        x = self.features(x)
        # Mean over whatever spatial size is left (7x7 at 224), so any input size works.
        x = x.mean(dim=(2, 3))
        return self.classifier(x)


# ---- ShuffleNet V2, Megvii's layout --------------------------------------------------------------


def megvii_channel_shuffle(x):
    """Megvii's own split (ShuffleNetV2/blocks.py), written as they write it: the reshape to
    (B*C/2, 2, H*W) and the permute give x[:, 0::2] and x[:, 1::2]; check_megvii_split checks
    that by hand, so that this reference and the library cannot share a mistake."""
    b, c, h, w = x.shape
    x = x.reshape(b * c // 2, 2, h * w)
    x = x.permute(1, 0, 2)
    x = x.reshape(2, -1, c // 2, h, w)
    return x[0], x[1]


def check_megvii_split():
    """The even/odd split on numbers worked out by hand; raises AssertionError if not."""
    x = torch.arange(16, dtype=torch.float32).reshape(2, 8, 1, 1)  # image b, channel c: 8b + c
    proj, main = megvii_channel_shuffle(x)
    assert proj.flatten().tolist() == [0, 2, 4, 6, 8, 10, 12, 14], proj.flatten().tolist()
    assert main.flatten().tolist() == [1, 3, 5, 7, 9, 11, 13, 15], main.flatten().tolist()
    # planes stay whole: channel c, pixel p holds 10c + p
    x = torch.tensor([[[[0.0], [1.0]], [[10.0], [11.0]], [[20.0], [21.0]], [[30.0], [31.0]]]])
    proj, main = megvii_channel_shuffle(x)
    assert proj.flatten().tolist() == [0, 1, 20, 21], proj.flatten().tolist()
    assert main.flatten().tolist() == [10, 11, 30, 31], main.flatten().tolist()


class MegviiV2Block(nn.Module):
    """One unit of Megvii's V2: stride 1 is concat(x_proj, branch_main(x)) of the split above,
    stride 2 concat(branch_proj(x), branch_main(x)); no shuffle after the concat."""

    def __init__(self, inp, oup, mid, stride):
        super().__init__()
        self.stride = stride
        out = oup - inp
        self.branch_main = nn.Sequential(
            nn.Conv2d(inp, mid, 1, bias=False), nn.BatchNorm2d(mid), nn.ReLU(inplace=True),
            nn.Conv2d(mid, mid, 3, stride, 1, groups=mid, bias=False), nn.BatchNorm2d(mid),
            nn.Conv2d(mid, out, 1, bias=False), nn.BatchNorm2d(out), nn.ReLU(inplace=True),
        )
        if stride == 2:
            self.branch_proj = nn.Sequential(
                nn.Conv2d(inp, inp, 3, stride, 1, groups=inp, bias=False), nn.BatchNorm2d(inp),
                nn.Conv2d(inp, inp, 1, bias=False), nn.BatchNorm2d(inp), nn.ReLU(inplace=True),
            )

    def forward(self, x):
        if self.stride == 1:
            x_proj, x = megvii_channel_shuffle(x)
            return torch.cat((x_proj, self.branch_main(x)), 1)
        return torch.cat((self.branch_proj(x), self.branch_main(x)), 1)


class MegviiShuffleNetV2(nn.Module):
    """Megvii's ShuffleNetV2 (network.py) with widths [C1, S2, S3, S4, C5], any repeats."""

    def __init__(self, widths, repeats=None, num_classes=1000, dropout=False):
        super().__init__()
        c1 = widths[0]
        self.first_conv = nn.Sequential(nn.Conv2d(3, c1, 3, 2, 1, bias=False), nn.BatchNorm2d(c1),
                                        nn.ReLU(inplace=True))
        self.maxpool = nn.MaxPool2d(3, 2, 1)
        units, inp = [], c1
        for count, oup in zip(repeats or STAGE_REPEATS, widths[1:4]):
            for i in range(count):
                if i == 0:
                    units.append(MegviiV2Block(inp, oup, oup // 2, 2))
                else:
                    units.append(MegviiV2Block(inp // 2, oup, oup // 2, 1))
                inp = oup
        self.features = nn.Sequential(*units)
        self.conv_last = nn.Sequential(nn.Conv2d(inp, widths[4], 1, bias=False),
                                       nn.BatchNorm2d(widths[4]), nn.ReLU(inplace=True))
        self.dropout = nn.Dropout(0.2) if dropout else nn.Identity()  # the 2.0x's; inert in eval
        self.classifier = nn.Sequential(nn.Linear(widths[4], num_classes, bias=False))

    def forward(self, x):
        x = self.conv_last(self.features(self.maxpool(self.first_conv(x))))
        # Megvii's AvgPool2d(7) is this mean at 224 x 224; the mean serves any size
        x = self.dropout(x.mean(dim=(2, 3)))
        return self.classifier(x)


# ---- building and random weights -------------------------------------------------------------


def parse_name(name):
    """('v2', width) or ('v1', groups, width) from a model name; ValueError if unknown."""
    if name in V2_NAMES:
        return ("v2", name[4:])
    m = re.fullmatch(r"v1_g(\d)_x(\d_\d)", name)
    if m and (int(m.group(1)), m.group(2)) in V1_WIDTHS:
        return ("v1", int(m.group(1)), m.group(2))
    raise ValueError(f"unknown model {name!r}; known: {', '.join(MODEL_NAMES)}")


def build_uninitialized(name):
    """The model with PyTorch's default initialisation, in eval mode."""
    kind = parse_name(name)
    if kind[0] == "v2":
        model = getattr(torchvision.models, "shufflenet_v2_x" + kind[1])(weights=None)
    else:
        model = ShuffleNetV1(kind[1], V1_WIDTHS[(kind[1], kind[2])])
    return model.eval()


def make_input(seed, batch, height, width):
    """Seeded float32 images: normal noise with a random scale per image and a random offset
    per image and channel. Plain i.i.d. noise would give every image nearly the same pooled
    features (the global average pool washes the noise out), so the logits would hardly
    depend on the input; with these the input-dependent part is about a quarter of them."""
    # Its own stream (not torch's), so the input never depends on how the weights were drawn.
    rng = np.random.default_rng([seed, 1])
    noise = rng.standard_normal((batch, 3, height, width))
    scale = rng.uniform(0.5, 2.0, (batch, 1, 1, 1))
    offset = rng.normal(0.0, 0.5, (batch, 3, 1, 1))
    return (noise * scale + offset).astype(np.float32)


@torch.no_grad()
def randomize(model, seed):
    """Seeded random weights that keep activations O(1) through the whole network.

    BN statistics and affine terms are random but near identity, so that the BN folding a
    loader does is exercised on every channel. Conv weights are normal, scaled in two steps:
    1/sqrt(fan_in) first, then each conv by the power of two that brings its output RMS
    nearest 1 on a calibration batch (layer-sequential, as in LSUV initialisation). He
    scaling alone is not enough for V1, whose unnormalised residual sums grow the
    activations at every unit (to about 90 at the last one); V1's residual branches are
    therefore aimed at RMS 1/2. Rounding the factors to powers of two makes last-bit
    differences in the calibration pass (thread count, CPU) almost never change the weights.
    """
    gen = torch.Generator().manual_seed(seed)

    def normal(shape, std):
        return torch.randn(shape, generator=gen, dtype=torch.float32) * std

    def uniform(shape, lo, hi):
        return lo + (hi - lo) * torch.rand(shape, generator=gen, dtype=torch.float32)

    # named_modules() has a fixed order, so a seed always gives the same weights.
    for _, m in model.named_modules():
        if isinstance(m, nn.Conv2d):
            m.weight.copy_(normal(m.weight.shape, m.weight[0].numel() ** -0.5))
            if m.bias is not None:
                m.bias.copy_(normal(m.bias.shape, 0.1))
        elif isinstance(m, nn.BatchNorm2d):
            n = m.num_features
            m.weight.copy_(uniform(n, 0.5, 1.5))
            m.bias.copy_(normal(n, 0.1))
            m.running_mean.copy_(normal(n, 0.1))
            m.running_var.copy_(uniform(n, 0.5, 2.0))
        elif isinstance(m, nn.Linear):
            m.weight.copy_(normal(m.weight.shape, m.in_features ** -0.5))
            if m.bias is not None:
                m.bias.copy_(normal(m.bias.shape, 0.1))

    targets = {}
    for m in model.modules():
        if isinstance(m, ShuffleV1Unit) and m.stride == 1:
            targets[id(m.branch_main_2[0])] = 0.5

    def rescale(conv, inputs, output):
        rms = output.pow(2).mean().sqrt().item()
        factor = 2.0 ** round(math.log2(targets.get(id(conv), 1.0) / rms))
        conv.weight.mul_(factor)
        if conv.bias is not None:
            conv.bias.mul_(factor)
        # Later layers must see what the rescaled conv computes.
        return output * factor

    hooks = [m.register_forward_hook(rescale) for m in model.modules()
             if isinstance(m, nn.Conv2d)]
    try:
        model.eval()(torch.from_numpy(make_input(seed, 2, 64, 64)))
    finally:
        for h in hooks:
            h.remove()
    return model


def build(name, seed=0):
    """The named model with seeded random weights, float32, in eval mode."""
    return randomize(build_uninitialized(name), seed).eval()


def build_custom(layout, widths, repeats, classes, groups=None, seed=0):
    """Any ShuffleNet with seeded random weights, eval mode. layout: "torchvision_v2" (widths
    [C1, S2, S3, S4, C5]), "megvii_v1" ([C1, S2, S3, S4], groups) or "megvii_v2" (five widths)."""
    if layout == "torchvision_v2":
        model = torchvision.models.ShuffleNetV2(repeats, widths, num_classes=classes)
    elif layout == "megvii_v1":
        model = ShuffleNetV1(groups, widths, classes, repeats)
    elif layout == "megvii_v2":
        model = MegviiShuffleNetV2(widths, repeats, classes)
    else:
        raise ValueError(f"unknown layout {layout!r}")
    return randomize(model.eval(), seed).eval()


# ---- counting --------------------------------------------------------------------------------


@torch.no_grad()
def count(model, height=224, width=224):
    """(params, MACs) as PyTorch counts them: every parameter's numel, and the conv and linear
    multiply-accumulates of one 3 x height x width image (taken from forward hooks)."""
    params = sum(p.numel() for p in model.parameters())
    macs = 0

    def conv_hook(m, inputs, output):
        nonlocal macs
        kh, kw = m.kernel_size
        macs += output.numel() * (m.in_channels // m.groups) * kh * kw

    def linear_hook(m, inputs, output):
        nonlocal macs
        macs += output.numel() * m.in_features

    hooks = []
    for m in model.modules():
        if isinstance(m, nn.Conv2d):
            hooks.append(m.register_forward_hook(conv_hook))
        elif isinstance(m, nn.Linear):
            hooks.append(m.register_forward_hook(linear_hook))
    try:
        model.eval()(torch.zeros(1, 3, height, width))
    finally:
        for h in hooks:
            h.remove()
    return params, macs


# ---- file formats ----------------------------------------------------------------------------


def save_safetensors(state_dict, path, prefix="", metadata=None):
    """Write tensors as a safetensors file of F32 tensors, each key prefixed with `prefix`.

    BN's num_batches_tracked counters are dropped (no inference use); anything else that is
    not floating point is an error, since shufflecl only reads F32.
    """
    names, blobs, header = [], [], {}
    offset = 0
    for key, value in state_dict.items():
        if key.endswith("num_batches_tracked"):
            continue
        if not torch.is_tensor(value) or not value.is_floating_point():
            raise ValueError(f"{key}: not a floating-point tensor")
        data = value.detach().to("cpu", torch.float32).contiguous().numpy().astype("<f4")
        raw = data.tobytes()
        name = prefix + key
        if name in header:
            raise ValueError(f"duplicate tensor name {name!r}")
        header[name] = {
            "dtype": "F32",
            "shape": list(data.shape),
            "data_offsets": [offset, offset + len(raw)],
        }
        offset += len(raw)
        names.append(name)
        blobs.append(raw)
    if metadata:
        header["__metadata__"] = {str(k): str(v) for k, v in metadata.items()}
    text = json.dumps(header, separators=(",", ":")).encode("utf-8")
    # Pad with spaces so the data begins 8-byte aligned (the 8 is the length field itself).
    text += b" " * (-(8 + len(text)) % 8)
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(text)))
        f.write(text)
        for raw in blobs:
            f.write(raw)


def write_npy(path, array):
    """Save an array as .npy, C-ordered and little-endian, which is what shufflecl reads."""
    array = np.asarray(array)
    np.save(path, np.ascontiguousarray(array, dtype=array.dtype.newbyteorder("<")))


# ---- CLI -------------------------------------------------------------------------------------


def cmd_case(args):
    model = build(args.model, args.seed)
    x = make_input(args.seed, args.batch, args.height, args.width)
    with torch.no_grad():
        logits = model.double()(torch.from_numpy(x).double()).numpy()
    model.float()
    if not np.all(np.isfinite(logits)):
        print("error: logits are not finite", file=sys.stderr)
        return 1
    if logits.std() <= 0.1:
        print(f"error: degenerate logits (std {logits.std():.3g})", file=sys.stderr)
        return 1
    prefix = "module." if args.module_prefix else ""
    save_safetensors(model.state_dict(), args.weights, prefix=prefix,
                     metadata={"model": args.model, "seed": args.seed})
    write_npy(args.input, x)
    write_npy(args.logits, logits.astype(np.float32))
    return 0


def cmd_counts(args):
    results, bad = {}, []
    for name in MODEL_NAMES:
        params, macs = count(build_uninitialized(name))
        results[name] = {"params": params, "macs": macs}
        if (params, macs) != EXPECTED_COUNTS[name]:
            bad.append(name)
    print(json.dumps(results, indent=2))
    for name in bad:
        p, m = EXPECTED_COUNTS[name]
        print(f"mismatch: {name}: got {results[name]['params']} params / "
              f"{results[name]['macs']} MACs, expected {p} / {m}", file=sys.stderr)
    return 1 if bad else 0


def cmd_compare(args):
    ref = np.load(args.ref).astype(np.float64)
    out = np.load(args.out).astype(np.float64)
    if ref.shape != out.shape:
        print(f"error: shape {out.shape} differs from reference {ref.shape}", file=sys.stderr)
        return 1
    ref2 = ref.reshape(ref.shape[0], -1) if ref.ndim > 1 else ref.reshape(1, -1)
    out2 = out.reshape(ref2.shape)
    if not np.all(np.isfinite(out2)):
        print("error: output contains NaN or Inf", file=sys.stderr)
        return 1
    rel = np.linalg.norm(out2 - ref2) / max(np.linalg.norm(ref2), 1e-30)
    max_abs = np.abs(out2 - ref2).max()
    print(f"relative error {rel:.3e}  max abs error {max_abs:.3e}")
    ok = rel < 1e-4
    for i, (r, o) in enumerate(zip(ref2, out2)):
        top_r, top_o = int(r.argmax()), int(o.argmax())
        # The reference's margin to its runner-up says how robust its top-1 is.
        margin = r[top_r] - np.partition(r, -2)[-2] if r.size > 1 else float("inf")
        same = top_r == top_o
        ok = ok and same
        print(f"row {i}: top-1 ref {top_r} out {top_o} {'agree' if same else 'DIFFER'} "
              f"(ref margin {margin:.3e})")
    print("PASS" if ok else "FAIL")
    return 0 if ok else 1


def positive_int(text):
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be at least 1, not {value}")
    return value


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    sub = parser.add_subparsers(dest="command", required=True)

    p = sub.add_parser("case", help="random weights, input and float64 reference logits")
    p.add_argument("model", choices=MODEL_NAMES)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--batch", type=positive_int, default=1)
    p.add_argument("--height", type=positive_int, default=224)
    p.add_argument("--width", type=positive_int, default=224)
    p.add_argument("--weights", required=True, help="output .safetensors")
    p.add_argument("--input", required=True, help="output .npy, float32 N x 3 x H x W")
    p.add_argument("--logits", required=True, help="output .npy, float32 N x 1000")
    p.add_argument("--module-prefix", action="store_true",
                   help="prefix every key with 'module.' as DataParallel checkpoints do")
    p.set_defaults(func=cmd_case)

    p = sub.add_parser("counts", help="print params and MACs of every model, check the table")
    p.set_defaults(func=cmd_counts)

    p = sub.add_parser("compare", help="compare logits with a reference")
    p.add_argument("ref")
    p.add_argument("out")
    p.set_defaults(func=cmd_compare)

    args = parser.parse_args(argv)
    return args.func(args)


if __name__ == "__main__":
    sys.exit(main())
