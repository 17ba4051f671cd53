"""The worker side: one fresh process per measurement (bench/compare --worker SPEC), which
imports only what its framework needs, times the same loop for every framework and writes its
result as JSON."""

import json
import os
import statistics
import time


def worker_main(spec_path):
    t_start = time.perf_counter()
    with open(spec_path) as f:
        spec = json.load(f)
    fw = spec["framework"]
    result = {"framework": fw, "model": spec["model"], "mode": spec["mode"], "ok": False}
    try:
        import warnings
        warnings.filterwarnings("ignore")
        import numpy as np
        if fw == "shufflecl":
            from .fw_shufflecl import ShuffleclWorker
            api = ShuffleclWorker(spec, result)
        elif fw.startswith("opencv"):
            from .fw_opencv import OpenCVWorker
            api = OpenCVWorker(spec, result)
        elif fw == "onnxruntime":
            from .fw_onnx import OrtWorker
            api = OrtWorker(spec, result)
        elif fw == "openvino":
            from .fw_onnx import OpenVinoWorker
            api = OpenVinoWorker(spec, result)
        elif fw.startswith("mnn"):
            from .fw_mnn import MnnWorker
            api = MnnWorker(spec, result)
        elif fw.startswith("ncnn"):
            from .fw_ncnn import NcnnWorker
            api = NcnnWorker(spec, result)
        else:
            from .fw_torch import TorchWorker
            api = TorchWorker(spec, result)
        result["import_ms"] = 1e3 * (time.perf_counter() - t_start)
        inputs = {int(b): np.load(p) for b, p in spec["inputs"].items()}
        batches = spec["batches"]

        # First inference: load + first run of batch 1, nothing before it.
        t0 = time.perf_counter()
        runner = api.load(1, inputs[1])
        y = api.run(runner, inputs[1])
        result["first_inference_ms"] = 1e3 * (time.perf_counter() - t0)
        api.after_first(result)
        save = spec.get("logits_dir")
        if save:
            np.save(os.path.join(save, "b1.npy"), np.asarray(y, np.float32))

        if spec["mode"] == "time":
            result["batches"] = {}
            for b in batches:
                x = inputs[b]
                if b == 1:
                    r, done = runner, 1          # the first inference was its first run
                else:
                    r = api.load(b, x)
                    y = api.run(r, x)            # first run at this shape: compiles, allocates
                    if save:
                        np.save(os.path.join(save, f"b{b}.npy"), np.asarray(y, np.float32))
                    done = 1
                # Warm-up: `warmup` runs after the first, but no more once a run takes longer than
                # `seconds` (nothing left to warm), and never fewer than the framework needs.
                last = None
                while done < 1 + spec["warmup"] and (done < 1 + api.min_warmup or last is None
                                                     or last < spec["seconds"]):
                    a = time.perf_counter()
                    api.run(r, x)
                    last = time.perf_counter() - a
                    done += 1
                times = []
                t_begin = time.perf_counter()
                while True:
                    elapsed = time.perf_counter() - t_begin
                    if len(times) >= spec["min_iters"] and elapsed >= spec["seconds"]:
                        break
                    if len(times) >= 2 and elapsed >= spec["max_seconds"]:
                        break
                    if len(times) >= 100000:
                        break
                    a = time.perf_counter()
                    api.run(r, x)
                    times.append(1e3 * (time.perf_counter() - a))
                result["batches"][str(b)] = {
                    "iters": len(times),
                    "warmup_runs": done - 1,
                    "median_ms": statistics.median(times),
                    "min_ms": min(times),
                    "times_ms": [round(t, 4) for t in times],
                }
                r = None
        result["ok"] = True
    except Exception as e:  # reported to the parent, which prints it
        import traceback
        result["error"] = f"{type(e).__name__}: {e}"
        result["traceback"] = traceback.format_exc()
    with open(spec["out"], "w") as f:
        json.dump(result, f)
    return 0 if result["ok"] else 3
