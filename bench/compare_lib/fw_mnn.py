"""MNN in a worker: its Module API on a model converted per batch size by MNN's own converter,
on the CPU or (when the wheel has it) its OpenCL backend."""

from .common import THREADS
from .venv_side import StderrCapture, mnn_backend_missing


class MnnWorker:
    """MNN.nn.load_module_from_file with a runtime manager of 2 threads, precision "normal" (its
    default: float32 on this CPU, which has no fp16 arithmetic; "low" would mean fp16 where
    supported). OpenCL: refused when MNN reports that the backend is missing (it would run the
    CPU backend under the OpenCL label)."""

    def __init__(self, spec, result):
        import MNN
        self.mnn = MNN
        self.min_warmup = 1
        self.backend = "OPENCL" if spec["framework"] == "mnn-opencl" else "CPU"
        self.models = {int(b): p for b, p in spec["mnn"].items()}
        self.rt = None
        result["mnn_version"] = MNN.version()

    def load(self, batch, x):
        nn = self.mnn.nn
        with StderrCapture() as cap:
            if self.rt is None:
                self.rt = nn.create_runtime_manager(({"backend": self.backend, "numThread": THREADS,
                                                      "precision": "normal"},))
            net = nn.load_module_from_file(self.models[batch], ["input"], ["logits"],
                                           runtime_manager=self.rt)
        if mnn_backend_missing(cap.text):
            raise RuntimeError(f"MNN has no {self.backend} backend here: {cap.text.strip()[:200]}")
        return net

    def run(self, net, x):
        expr = self.mnn.expr
        y = net.forward(expr.const(x, list(x.shape), expr.NCHW))
        import numpy as np
        return np.array(y.read()).reshape(x.shape[0], -1)

    def after_first(self, result):
        pass
