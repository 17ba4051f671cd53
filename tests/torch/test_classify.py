"""The README's checkpoint-to-answer path end to end: a torchvision ShuffleNet V2 checkpoint
(.pth, random weights here: no downloads) goes through scripts/convert_checkpoint.py, then
`shufflecl classify` on a PNG and a JPEG; its top-5 must equal PyTorch's on the same picture with
torchvision's own preprocessing (Resize(256), CenterCrop(224), ToTensor, Normalize)."""

import os
import subprocess
import sys
import tempfile

import numpy as np
import torch
import torchvision
from PIL import Image
from torchvision import transforms

HERE = os.path.dirname(os.path.abspath(__file__))
SRC = os.environ.get("SCL_SOURCE_DIR", os.path.join(HERE, "..", ".."))
sys.path.insert(0, HERE)
import shufflenet_ref as ref  # noqa: E402


def picture(path, seed):
    """A smooth synthetic picture (gradients and blobs), 320 x 257, so resizing matters."""
    rng = np.random.default_rng(seed)
    y, x = np.mgrid[0:257, 0:320].astype(np.float64)
    img = np.zeros((257, 320, 3))
    for c in range(3):
        for _ in range(4):
            cx, cy, r = rng.uniform(0, 320), rng.uniform(0, 257), rng.uniform(20, 90)
            img[..., c] += rng.uniform(60, 200) * np.exp(-((x - cx) ** 2 + (y - cy) ** 2) / (2 * r * r))
        img[..., c] += rng.uniform(0, 0.3) * x
    Image.fromarray(np.clip(img, 0, 255).astype(np.uint8)).save(path, quality=95)


def torch_top5(model, path):
    tf = transforms.Compose([transforms.Resize(256), transforms.CenterCrop(224), transforms.ToTensor(),
                             transforms.Normalize([0.485, 0.456, 0.406], [0.229, 0.224, 0.225])])
    x = tf(Image.open(path).convert("RGB")).unsqueeze(0).double()
    with torch.no_grad():
        logits = model.double()(x)[0]
    return [int(i) for i in torch.topk(logits, 5).indices]


def shufflecl_top5(out):
    """Class indices from the tool's top-5 lines: '   12.3%   417  balloon'."""
    rows = [line.split() for line in out.splitlines() if line.startswith("  ") and "%" in line]
    return [int(r[1]) for r in rows]


def main():
    tool = os.environ.get("SCL_TOOL")
    if not tool:
        print("SCL_TOOL is not set (run through ctest)")
        return 1
    torch.set_num_threads(1)
    passed = failed = 0
    with tempfile.TemporaryDirectory(dir=os.environ.get("SCL_TEST_TMPDIR")) as tmp:
        model = ref.build("v2_x0_5", 5)
        pth, st = os.path.join(tmp, "ckpt.pth"), os.path.join(tmp, "w.safetensors")
        torch.save(model.state_dict(), pth)
        conv = subprocess.run([sys.executable, os.path.join(SRC, "scripts", "convert_checkpoint.py"),
                               "--model", "v2_x0_5", pth, st], capture_output=True, text=True)
        if conv.returncode != 0:
            print("FAIL convert:", conv.stderr.strip())
            return 1
        for i, ext in enumerate(["png", "jpg"]):
            path = os.path.join(tmp, f"pic.{ext}")
            picture(path, 40 + i)
            proc = subprocess.run([tool, "classify", "v2_x0_5", "--weights", st, path],
                                  capture_output=True, text=True)
            got = shufflecl_top5(proc.stdout)
            want = torch_top5(model, path)
            ok = proc.returncode == 0 and got == want
            print(f"  {ext}: shufflecl {got}, PyTorch {want}: {'same' if ok else 'DIFFERENT'}")
            if not ok:
                print(proc.stdout, proc.stderr)
            passed, failed = passed + ok, failed + (not ok)
    print(f"{passed} passed, {failed} failed")
    return 0 if failed == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
