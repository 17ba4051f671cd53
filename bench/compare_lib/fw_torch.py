"""The PyTorch framework in a worker: eager, or traced and optimised TorchScript."""

import sys

from .common import REF_DIR, THREADS


class TorchWorker:
    """PyTorch on the CPU: eager, or torch.jit.optimize_for_inference(torch.jit.trace(...))
    traced at each batch size (a bare torch.jit.freeze re-specialises and is far slower)."""

    def __init__(self, spec, result):
        import torch
        sys.path.insert(0, REF_DIR)
        import shufflenet_ref
        self.torch = torch
        self.ref = shufflenet_ref
        self.spec = spec
        self.script = spec["framework"] == "torch-script"
        # The profiling executor runs a new shape once to profile it, once more to optimise.
        self.min_warmup = 2 if self.script else 1
        torch.set_num_threads(THREADS)
        torch.set_grad_enabled(False)
        result["torch_version"] = torch.__version__
        result["torch_threads"] = torch.get_num_threads()
        self.model = None

    def load(self, batch, x):
        torch = self.torch
        if self.model is None:
            model = self.ref.build_uninitialized(self.spec["model"])
            model.load_state_dict(torch.load(self.spec["state_dict"]))
            self.model = model.eval()
        if not self.script:
            return self.model
        example = torch.from_numpy(x)
        return torch.jit.optimize_for_inference(torch.jit.trace(self.model, example))

    def run(self, model, x):
        return model(self.torch.from_numpy(x)).numpy()

    def after_first(self, result):
        pass
