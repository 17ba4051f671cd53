"""The models as ONNX that OpenCV can read: constant-shape modules, checked bit-exact against
the PyTorch model before export."""


def export_onnx(model, name, x, path):
    """Exports `model` for a fixed input shape as ONNX that OpenCV 4.6 can read: the same math
    with every shape a constant. Returns (bit_exact, detail): the constant-shape module must give
    exactly the logits of the original on `x` (torch.equal) or it is not used."""
    import torch
    xt = torch.from_numpy(x)
    static = static_module(model, name, xt)
    with torch.no_grad():
        want, got = model(xt), static(xt)
    if not torch.equal(want, got):
        return False, f"constant-shape module differs by {float((want - got).abs().max()):.3g}"
    try:
        with torch.no_grad():
            torch.onnx.export(static, xt, path, opset_version=11, input_names=["input"],
                              output_names=["logits"], do_constant_folding=True)
    except Exception as e:
        return False, f"torch.onnx.export: {type(e).__name__}: {e}"
    return True, "bit-exact"


def static_module(model, name, x):
    """The model with channel_shuffle, chunk and every reshape written with the constant shapes of
    this input (recorded by forward hooks), so the ONNX graph has no Shape/Gather chains."""
    import torch
    import torch.nn as nn
    import torch.nn.functional as F

    def shapes(mods):
        rec = {}
        hooks = [m.register_forward_hook(
            lambda m, i, o: rec.__setitem__(id(m), (tuple(i[0].shape), tuple(o.shape)))) for m in mods]
        try:
            with torch.no_grad():
                model(x)
        finally:
            for h in hooks:
                h.remove()
        return rec

    class V2Block(nn.Module):      # torchvision's InvertedResidual
        def __init__(self, blk, ishape, oshape):
            super().__init__()
            self.blk, self.ishape, self.oshape = blk, ishape, oshape

        def forward(self, t):
            c = self.ishape[1]
            if self.blk.stride == 1:      # x.chunk(2, dim=1)
                out = torch.cat((t[:, :c // 2], self.blk.branch2(t[:, c // 2:])), 1)
            else:
                out = torch.cat((self.blk.branch1(t), self.blk.branch2(t)), 1)
            b, c, h, w = self.oshape      # channel_shuffle(out, 2)
            return out.reshape(b, 2, c // 2, h, w).transpose(1, 2).reshape(b, c, h, w)

    class V1Unit(nn.Module):       # shufflenet_ref.ShuffleV1Unit
        def __init__(self, u, mshape):
            super().__init__()
            self.u, self.mshape = u, mshape

        def forward(self, t):
            u = self.u
            main = u.branch_main_1(t)
            if u.groups > 1:
                b, c, h, w = self.mshape
                g = u.groups
                main = main.reshape(b, c // g, g, h, w).transpose(1, 2).reshape(b, c, h, w)
            main = u.branch_main_2(main)
            if u.stride == 1:
                return F.relu(main + t)
            return torch.cat((u.branch_proj(t), F.relu(main)), 1)

    if name.startswith("v2"):
        blocks = [b for s in (model.stage2, model.stage3, model.stage4) for b in s]
        rec = shapes(blocks)

        class V2(nn.Module):
            def __init__(self):
                super().__init__()
                self.m = model
                self.blocks = nn.Sequential(*[V2Block(b, *rec[id(b)]) for b in blocks])

            def forward(self, t):
                t = self.m.maxpool(self.m.conv1(t))
                t = self.m.conv5(self.blocks(t))
                return self.m.fc(t.mean((2, 3)))   # as torchvision: a ReduceMean, bit-exact
        return V2().eval()

    units = list(model.features)
    rec = shapes([u.branch_main_1 for u in units])

    class V1(nn.Module):
        def __init__(self):
            super().__init__()
            self.m = model
            self.units = nn.Sequential(*[V1Unit(u, rec[id(u.branch_main_1)][1]) for u in units])

        def forward(self, t):
            t = self.m.maxpool(self.m.first_conv(t))
            return self.m.classifier(self.units(t).mean(dim=(2, 3)))
    return V1().eval()
