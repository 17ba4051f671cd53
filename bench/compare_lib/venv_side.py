"""What bench/compare runs inside its virtual environment besides the workers (bench/compare
--venv-tool probe|convert-mnn ...): the installed versions and backends, and MNN's converter
called in-process (its `mnnconvert` command would install packages and send telemetry). Only the
standard library is imported at module level: this file also loads under Debian's Python."""

import json
import os
import sys

PACKAGES = ["onnxruntime", "openvino", "MNN", "ncnn", "pnnx", "numpy"]


def c_fflush():
    import ctypes
    ctypes.CDLL(None).fflush(None)


class StderrCapture:
    """Captures what C code prints to file descriptors 1 and 2 (MNN tells a missing backend only
    there, with printf), and passes it on to stderr afterwards."""

    def __enter__(self):
        import tempfile
        sys.stdout.flush()
        sys.stderr.flush()
        c_fflush()
        self.tmp = tempfile.TemporaryFile()
        self.saved = [os.dup(1), os.dup(2)]
        os.dup2(self.tmp.fileno(), 1)
        os.dup2(self.tmp.fileno(), 2)
        return self

    def __exit__(self, *exc):
        c_fflush()
        for fd, saved in zip((1, 2), self.saved):
            os.dup2(saved, fd)
            os.close(saved)
        self.tmp.seek(0)
        self.text = self.tmp.read().decode(errors="replace")
        self.tmp.close()
        sys.stderr.write(self.text)
        return False


def mnn_backend_missing(text):
    """MNN's message when the backend asked for is not in this build (it then runs the CPU)."""
    return "Can't Find type=" in text


def probe_mnn_opencl(model_path):
    """Whether MNN's wheel has its OpenCL backend: a session asked for OpenCL on a real model."""
    import MNN
    with StderrCapture() as cap:
        it = MNN.Interpreter(model_path)
        it.createSession({"numThread": 2, "backend": "OPENCL"})
    if mnn_backend_missing(cap.text):
        return False, ("this MNN wheel has no OpenCL backend (MNN: "
                       + " ".join(cap.text.split("\n")[0].split()) + ")")
    return True, "OpenCL backend present"


def probe_ncnn_vulkan():
    import ncnn
    n = ncnn.get_gpu_count()
    if n <= 0:
        return False, "ncnn finds no Vulkan device (libvulkan1 and mesa-vulkan-drivers installed?)", []
    names = [ncnn.get_gpu_info(i).device_name() for i in range(n)]
    return True, "Vulkan device " + ", ".join(names), names


def probe(mnn_model):
    import importlib.metadata
    out = {"python": sys.version.split()[0], "executable": sys.executable, "versions": {}}
    for p in PACKAGES:
        try:
            out["versions"][p] = importlib.metadata.version(p)
        except importlib.metadata.PackageNotFoundError:
            out["versions"][p] = None
    out["mnn_opencl"] = list(probe_mnn_opencl(mnn_model)) if mnn_model else None
    ok, why, names = probe_ncnn_vulkan()
    out["ncnn_vulkan"] = [ok, why]
    out["vulkan_devices"] = names
    return out


def convert_mnn(src, dst):
    """ONNX -> .mnn with MNN's own converter, in this process: the same call its command line
    makes, without the command line's package installs and usage report."""
    import _tools
    _tools.mnnconvert(["mnnconvert", "-f", "ONNX", "--modelFile", src, "--MNNModel", dst,
                       "--bizCode", "shufflecl-compare"])
    if not os.path.isfile(dst) or os.path.getsize(dst) == 0:
        raise RuntimeError(f"MNN's converter wrote no {dst}")


def main(argv):
    """argv: probe OUT.json [MNN_MODEL] | convert-mnn SRC.onnx DST.mnn"""
    if argv[0] == "probe":
        res = probe(argv[2] if len(argv) > 2 else None)
        with open(argv[1], "w") as f:
            json.dump(res, f)
        return 0
    if argv[0] == "convert-mnn":
        convert_mnn(argv[1], argv[2])
        return 0
    print(f"unknown --venv-tool command {argv[0]!r}", file=sys.stderr)
    return 2
