"""The session of one bench/compare run: its settings and state, the environment of each
framework's processes, the prepared models (weights, inputs, float64 reference, ONNX), and one
worker process run and checked."""

import json
import os
import platform
import re
import sys
import time

from .common import (BATCHES, CHECK_BASE, OCL_FALLBACK_PATTERNS, REF_DIR, SCRIPT, THREADS, log)
from .onnx_export import export_onnx

# Engines that read the constant-shape ONNX graphs (MNN and ncnn read them converted).
ONNX_READERS = ["opencv-ocl", "opencv-cpu", "onnxruntime", "openvino", "mnn-cpu", "mnn-opencl",
                "ncnn-cpu", "ncnn-vulkan"]
from .runner import LAST_RUN_OTHER_CPU, run_cmd, tail


class Session:
    def __init__(self, args):
        self.a = args
        self.models = args.models
        self.fws = args.frameworks
        self.work = args.workdir
        self.base_env = dict(os.environ)
        self.base_env.pop("SHUFFLECL_CL_DIR", None)
        self.data = {}          # model -> prepared files and reference
        self.results = {m: {fw: {"runs": [], "errors": [], "discarded": []} for fw in self.fws}
                        for m in self.models}
        self.check = {m: {} for m in self.models}
        self.cold = {m: {} for m in self.models}
        self.ocl_verify = {m: [] for m in self.models}
        self.bench_meta = None
        self.bench = {}
        self.check_infer = {}
        self.seq = 0
        self.waited = 0.0
        self.tuning = {}
        self.unavailable = {}   # framework -> why it cannot run here (reported, not a failure)
        self.versions = {}
        self.venv_py = None
        self.pnnx = None
        self.engine_probe = None
        self.scl_cache = os.path.join(self.work, "shufflecl_cache")
        os.makedirs(self.scl_cache, exist_ok=True)

    # ---- environment per framework ----------------------------------------------------------

    def env_for(self, fw, cold_dir=None):
        env = dict(self.base_env)
        env["OMP_NUM_THREADS"] = str(THREADS)
        if fw == "opencv-ocl":
            # Before cv2 is imported: OpenCV otherwise ignores CPU OpenCL devices, and its DNN
            # module refuses non-GPU devices and silently runs its CPU path.
            env["OPENCV_OPENCL_DEVICE"] = self.a.opencv_device
            env["OPENCV_DNN_OPENCL_ALLOW_ALL_DEVICES"] = "1"
            env["OPENCV_LOG_LEVEL"] = "DEBUG"
            if cold_dir:
                env["OPENCV_OPENCL_CACHE_DIR"] = cold_dir
                env["POCL_KERNEL_CACHE"] = "0"
        elif fw == "opencv-cpu":
            env["OPENCV_OPENCL_DEVICE"] = "disabled"
        elif fw == "ncnn-vulkan":
            env["LP_NUM_THREADS"] = str(THREADS)      # llvmpipe's threads (its default: every CPU)
            # Mesa keeps the shaders it compiled on disk: a cache of this run's own, empty when cold.
            env["MESA_SHADER_CACHE_DIR"] = cold_dir or os.path.join(self.work, "mesa_cache")
        elif fw == "mnn-opencl" and cold_dir:
            env["POCL_KERNEL_CACHE"] = "0"
        elif fw == "shufflecl":
            if cold_dir:
                env["SHUFFLECL_CACHE_DIR"] = cold_dir
                env["POCL_KERNEL_CACHE"] = "0"
            elif not self.a.user_cache:
                # A cache of our own: no tuning table or program binaries left by anything else.
                env["SHUFFLECL_CACHE_DIR"] = self.scl_cache
        return env

    def new_path(self, stem, ext):
        self.seq += 1
        return os.path.join(self.work, "runs", f"{self.seq:03d}_{stem}{ext}")

    # ---- preparation: weights, inputs, float64 reference, ONNX ------------------------------

    def prepare(self):
        import numpy as np
        import torch
        import warnings
        warnings.filterwarnings("ignore")
        sys.path.insert(0, REF_DIR)
        import shufflenet_ref as ref
        # One thread: a little slower on a quiet machine, but not stalled by a busy one (two
        # OpenMP threads wait for each other whenever another process holds a core).
        torch.set_num_threads(1)
        self.versions.update({
            "python": platform.python_version(), "torch": torch.__version__,
            "numpy": np.__version__,
        })
        import torchvision
        self.versions["torchvision"] = torchvision.__version__
        for name in self.models:
            t0 = time.perf_counter()
            d = os.path.join(self.work, name)
            os.makedirs(d, exist_ok=True)
            model = ref.build(name, self.a.seed)
            base = ref.make_input(self.a.seed, CHECK_BASE, 224, 224)
            with torch.no_grad():
                ref64 = model.double()(torch.from_numpy(base).double()).numpy()
            model.float()
            info = {"dir": d, "inputs": {}, "onnx": {}, "refs": {}, "export": {}}
            info["weights"] = os.path.join(d, f"{name}.safetensors")
            ref.save_safetensors(model.state_dict(), info["weights"],
                                 metadata={"model": name, "seed": self.a.seed})
            info["state_dict"] = os.path.join(d, f"{name}.pt")
            torch.save(model.state_dict(), info["state_dict"])
            for b in BATCHES:
                idx = [i % CHECK_BASE for i in range(b)]
                x = np.ascontiguousarray(base[idx])
                info["inputs"][b] = os.path.join(d, f"input_b{b}.npy")
                ref.write_npy(info["inputs"][b], x)
                info["refs"][b] = ref64[idx]
                if any(fw in self.fws for fw in ONNX_READERS):
                    path = os.path.join(d, f"{name}_b{b}.onnx")
                    ok, msg = export_onnx(model, name, x, path)
                    info["export"][b] = {"bit_exact": ok, "detail": msg}
                    if ok:
                        info["onnx"][b] = path
            self.data[name] = info
            self.convert_models(name, info)
            exports = ", ".join(f"b{b} {'bit-exact' if e['bit_exact'] else 'FAILED: ' + e['detail']}"
                                for b, e in info["export"].items())
            conv = ", ".join([f"MNN b{','.join(map(str, info['mnn']))}"] * bool(info["mnn"])
                             + ["ncnn"] * bool(info["ncnn"])
                             + [f"{k} FAILED" for k in info["convert_errors"]])
            log(f"  {name}: weights, inputs, float64 reference"
                + (f", ONNX ({exports})" if exports else "")
                + (f", converted: {conv}" if conv else "")
                + f" [{time.perf_counter() - t0:.1f} s]")

    # ---- one worker ------------------------------------------------------------------------

    def logits_dir(self, name, fw):
        d = os.path.join(self.data[name]["dir"], f"logits_{fw}")
        os.makedirs(d, exist_ok=True)
        return d

    def run_worker(self, fw, name, mode, cold_dir=None, save_logits=False):
        """mode "first": load + first batch-1 run only; "time": that, then every batch size timed.
        With save_logits, the first run's logits at each batch size go to logits_dir()."""
        info = self.data[name]
        if fw in self.unavailable:
            return {"ok": False, "unavailable": True, "error": "unavailable: " + self.unavailable[fw]}
        stem = f"{mode}_{name}_{fw}"
        spec = {
            "framework": fw, "model": name, "mode": mode, "batches": BATCHES,
            "inputs": {str(b): p for b, p in info["inputs"].items()},
            "onnx": {str(b): p for b, p in info["onnx"].items()},
            "mnn": {str(b): p for b, p in info.get("mnn", {}).items()},
            "ncnn": info.get("ncnn"),
            "state_dict": info["state_dict"], "weights": info["weights"],
            "scl_lib": self.a.shufflecl_lib, "device": self.a.device,
            "warmup": self.a.warmup, "min_iters": self.a.min_iters, "seconds": self.a.seconds,
            "max_seconds": self.a.max_seconds,
            "out": self.new_path(stem, ".result.json"),
        }
        if save_logits:
            spec["logits_dir"] = self.logits_dir(name, fw)
        if fw in ONNX_READERS and any(b not in info["onnx"] for b in BATCHES):
            return {"ok": False, "error": "no bit-exact ONNX export for every batch size"}
        if fw.startswith("mnn") and any(b not in info.get("mnn", {}) for b in BATCHES):
            return {"ok": False, "error": "no MNN model for every batch size: "
                    + info.get("convert_errors", {}).get("mnn", "not converted")}
        if fw.startswith("ncnn") and not info.get("ncnn"):
            return {"ok": False, "error": "no ncnn model: "
                    + info.get("convert_errors", {}).get("ncnn", "not converted")}
        spec_path = self.new_path(stem, ".spec.json")
        with open(spec_path, "w") as f:
            json.dump(spec, f)
        log_path = self.new_path(stem, ".log")
        rc, wall = run_cmd([self.interpreter_for(fw), SCRIPT, "--worker", spec_path],
                           self.env_for(fw, cold_dir), log_path)
        try:
            with open(spec["out"]) as f:
                res = json.load(f)
        except (OSError, ValueError):
            res = {"ok": False, "error": f"worker exited with status {rc}: {tail(log_path)}"}
        res["process_wall_ms"] = 1e3 * wall
        res["other_cpu_frac"] = LAST_RUN_OTHER_CPU[0]
        res["log"] = log_path
        if fw == "opencv-ocl" and res.get("ok"):
            self.verify_ocl(name, res, log_path, cold_dir)
        if save_logits and res.get("ok"):
            res["logits_dir"] = spec["logits_dir"]
        return res

    def verify_ocl(self, name, res, log_path, cold_dir):
        """The OpenCL worker counts only if OpenCV really ran on the OpenCL device: cv2.ocl says
        so, OpenCV's log names the device and reports no CPU fallback, and the device is the one
        shufflecl uses (checked once that is known)."""
        with open(log_path, errors="replace") as f:
            text = f.read()
        problems = []
        dev = (res.get("ocl_device") or {}).get("name", "")
        if not dev:
            problems.append("cv2.ocl.Device.getDefault() has no device")
        if not res.get("ocl_use_after"):
            problems.append("cv2.ocl.useOpenCL() is false after the first forward")
        m = re.search(r"OpenCL: device=(.*)", text)
        if not m:
            problems.append("OpenCV's log never reports an OpenCL device")
        elif dev and m.group(1).strip() != dev.strip():
            problems.append(f"log device {m.group(1).strip()!r} != cv2.ocl device {dev!r}")
        for pat in OCL_FALLBACK_PATTERNS:
            hit = re.search(r"^.*" + pat + r".*$", text, re.M)
            if hit:
                problems.append(f"OpenCV's log: {hit.group(0).strip()[:160]}")
        if cold_dir and f"cache directory: {cold_dir}" not in text.replace("//", "/") \
                and "cache directory" in text:
            problems.append("OpenCV did not use the empty cache directory given for the cold run")
        res["ocl_verified"] = not problems
        res["ocl_problems"] = problems
        if problems:
            res["ok"] = False
            res["error"] = "not verified on the OpenCL device: " + "; ".join(problems)
        self.ocl_verify[name].append({"device": dev, "problems": problems})
