"""The report of one bench/compare run: the logits check and speed tables with their notes on
stdout, and (--json) every number measured."""

import json
import os
import platform
import subprocess
import sys

from .common import BATCHES, COLD_FRAMEWORKS, LABELS, REL_TOL, SCRIPT, THREADS
from .markdown import render


def machine_info():
    cpu = ""
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    cpu = line.split(":", 1)[1].strip()
                    break
    except OSError:
        pass
    return {"cpu": cpu, "cpus": os.cpu_count(), "kernel": platform.release(),
            "hostname": platform.node()}


def cv2_version():
    try:
        out = subprocess.run([sys.executable, "-c", "import cv2; print(cv2.__version__)"],
                             capture_output=True, text=True, timeout=60,
                             env={**os.environ, "OPENCV_OPENCL_DEVICE": "disabled"})
        return out.stdout.strip() or None
    except (OSError, subprocess.TimeoutExpired):
        return None


def drop_other_device(c, a, summary):
    """OpenCV's OpenCL numbers do not count when it ran on another device than shufflecl."""
    scl_dev = (c.bench_meta or {}).get("device") or {}
    for name in a.models:
        for v in c.ocl_verify[name]:
            if scl_dev.get("name") and v["device"] and v["device"].strip() != scl_dev["name"].strip():
                for fw_slot in (c.results[name].get("opencv-ocl"),):
                    if fw_slot is not None and summary[name].get("opencv-ocl") is not None:
                        summary[name]["opencv-ocl"] = None
                        fw_slot["errors"].append(f"OpenCV ran on {v['device']!r}, shufflecl on "
                                                 f"{scl_dev['name']!r}: not the same device")
    return scl_dev


def text_report(c, a, started, summary, timing_load, total_load, scl_dev, cv_version, mi):
    """The lines printed: versions, device, the logits check, the speed table, the notes."""
    out = []
    tool = (c.bench_meta or {}).get("tool") or {}
    out.append(f"bench/compare {started.strftime('%Y-%m-%d %H:%M UTC')}: "
               f"shufflecl {tool.get('version', '?')} ({tool.get('git_commit', '?')}), "
               f"OpenCV {cv_version}, "
               f"PyTorch {c.versions.get('torch')}, torchvision {c.versions.get('torchvision')}")
    v = c.versions
    if any(k.startswith("venv:") for k in v):
        out.append(f"from PyPI (in {a.venv}, Python {v.get('venv:python')}): "
                   f"ONNX Runtime {v.get('venv:onnxruntime')}, OpenVINO {v.get('venv:openvino')}, "
                   f"MNN {v.get('venv:MNN')}, ncnn {v.get('venv:ncnn')}, pnnx {v.get('venv:pnnx')}, "
                   f"numpy {v.get('venv:numpy')}")
    if "deb:mesa-vulkan-drivers" in v:
        devs = (c.engine_probe or {}).get("vulkan_devices") or ["none"]
        out.append(f"Vulkan for ncnn: {', '.join(devs)} (Debian libvulkan1 "
                   f"{v.get('deb:libvulkan1')}, mesa-vulkan-drivers {v.get('deb:mesa-vulkan-drivers')})")
    if scl_dev:
        out.append(f"device: {scl_dev.get('name')} ({scl_dev.get('platform')}, driver "
                   f"{scl_dev.get('driver_version')}, {scl_dev.get('compute_units')} compute units); "
                   f"host {mi['cpu']}, {mi['cpus']} CPUs; every CPU engine uses {THREADS} threads")
    ocl_devs = sorted({v["device"] for n in a.models for v in c.ocl_verify[n] if v["device"]})
    if "opencv-ocl" in a.frameworks:
        ok_all = all(not v["problems"] for n in a.models for v in c.ocl_verify[n])
        out.append("OpenCV OpenCL ran on: " + (", ".join(repr(d) for d in ocl_devs) or "no device")
                   + (" (verified: cv2.ocl device, OpenCV's log, no CPU fallback, logits not the CPU "
                      "target's)" if ok_all and ocl_devs else " (NOT verified, see below)"))
    out.append(f"{a.rounds} fresh process(es) per framework and model, round-robin; per process "
               f"and batch size: a first run, up to {a.warmup} warm-up run(s), then >= {a.min_iters} "
               f"timed runs and >= {a.seconds:g} s (at most {a.max_seconds:g} s once 2 are done)")
    out.append("")
    out.append("Logits against PyTorch float64 on the same inputs, batches 1, 8 and 32 (round 1's "
               f"first run at each batch size); pass: rel err < {REL_TOL:g} and the same top-1 on "
               "every row:")
    out += c.check_table()
    if c.check_infer:
        ci = c.check_infer.values()
        out.append("`shufflecl infer` (the tool) on the same inputs: max rel err "
                   + (f"{max(x.get('max_rel_err', float('inf')) for x in ci):.2e}, "
                      if all("max_rel_err" in x for x in ci) else "-, ")
                   + ("PASS" if all(x["ok"] for x in ci) else "FAIL: " + "; ".join(
                       f"{n}: {x.get('error', 'FAIL')}" for n, x in c.check_infer.items() if not x["ok"])))
    out.append("")
    out.append("Speed (median over processes of each process's median; min over all runs). "
               "(Nx) = shufflecl's speed-up: N > 1, shufflecl is faster; N < 1, slower.")
    out += c.table(summary)
    notes = []
    if any(fw in COLD_FRAMEWORKS for fw in a.frameworks):
        notes.append("first warm: load + first batch-1 run in a fresh process after its imports, "
                     "kernel caches filled. "
                     "first cold: the same with shufflecl's, OpenCV's, PoCL's and Mesa's kernel "
                     "caches empty"
                     + ("" if a.cold else " (not measured: --quick / --no-cold)")
                     + "; * = no kernel cache, the warm number.")
    for name in a.models:
        for fw in a.frameworks:
            for e in dict.fromkeys(c.results[name][fw]["errors"]):
                notes.append(f"{name} {LABELS[fw]}: {e}")
    frac = timing_load.get("other_cpu_frac")
    if frac is not None:
        notes.append(f"other processes used {100 * frac:.0f}% of the {timing_load['cpus']} CPUs while "
                     f"timing (load average {timing_load['loadavg_start'][0]:.2f} at the start, "
                     f"{timing_load['loadavg_end'][0]:.2f} at the end)"
                     + ("; WARNING: a busy machine, the numbers are noisy" if frac > 0.05 else ""))
    for fw, why in c.unavailable.items():
        notes.append(f"{LABELS[fw]}: unavailable: {why}")
    if any(not c.check[n].get(fw, {}).get("ok") for n in a.models for fw in a.frameworks
           if fw not in c.unavailable):
        notes.append("(!) = its logits check failed (see above): its speed is not comparable")
    for name, b in c.bench.items():
        if b.get("ok"):
            bb = b["batches"]
            notes.append(f"`shufflecl bench` (device buffers, no host transfers, one process): {name} "
                         f"b1 median {bb['1']['host_ms']['median']:.2f} ms, min "
                         f"{bb['1']['host_ms']['min']:.2f} ms; "
                         + ", ".join(f"b{k} {v['images_per_s']:.1f} img/s" for k, v in bb.items()
                                     if k != "1"))
        else:
            notes.append(f"`shufflecl bench` {name}: FAILED: {b.get('error')}")
    if c.tuning:
        notes.append("shufflecl tuned first (`shufflecl tune MODEL`, batch 1): " + "; ".join(
            f"{n} {t.get('improved', '?')}/{t.get('shapes', '?')} layer shapes improved "
            f"({t.get('gain', '?')}x)" if t["ok"] else f"{n} tune FAILED" for n, t in c.tuning.items()))
    elif "shufflecl" in a.frameworks:
        notes.append("shufflecl untuned (--no-tune): default kernel configurations"
                     + (" or the user's tuning table (--user-cache)" if a.user_cache else ""))
    if c.waited:
        notes.append(f"waited {c.waited:.0f} s in all for the machine to be quiet (--wait-quiet)")
    notes.append(f"total {total_load['wall_s'] / 60:.1f} min")
    out.append("")
    out += notes
    return out


def build_doc(c, a, argv, started, summary, timing_load, total_load, cv_version, mi):
    """Every number measured (schema: docs/compare.md)."""
    return {
        "schema": "shufflecl-compare", "schema_version": 2,
        "date": started.strftime("%Y-%m-%dT%H:%M:%SZ"),
        "command": " ".join([os.path.relpath(SCRIPT, os.getcwd())] + argv),
        "machine": mi, "versions": {**c.versions, "opencv": cv_version},
        "shufflecl": c.bench_meta,
        "shufflecl_bench": c.bench,
        "shufflecl_infer_check": {n: {k: v for k, v in x.items() if k != "logits_dir"}
                                  for n, x in c.check_infer.items()},
        "settings": {"models": a.models, "frameworks": a.frameworks, "batches": BATCHES,
                     "rounds": a.rounds, "seconds": a.seconds, "min_iters": a.min_iters,
                     "warmup": a.warmup, "max_seconds": a.max_seconds, "seed": a.seed,
                     "cold": a.cold, "threads": THREADS,
                     "opencv_opencl_device": a.opencv_device, "rel_tol": REL_TOL,
                     "tune": a.tune, "user_cache": a.user_cache, "wait_quiet": a.wait_quiet,
                     "venv": a.venv},
        "unavailable": c.unavailable,
        "engine_probe": c.engine_probe,
        "load": {"timing": timing_load, "total": total_load, "waited_quiet_s": c.waited},
        "phase_seconds": c.phase_s,
        "tuning": c.tuning,
        "summary": summary,
        "check": {n: {fw: {k: v for k, v in chk.items() if k != "logits_dir"}
                      for fw, chk in c.check[n].items()} for n in a.models},
        "cold": c.cold,
        "ocl_verify": c.ocl_verify,
        "exports": {n: {str(b): e for b, e in c.data[n]["export"].items()} for n in a.models},
        "runs": {n: {fw: c.results[n][fw] for fw in a.frameworks} for n in a.models},
    }


def report(c, a, argv, started, summary, timing_load, total_load):
    """Prints the report, writes the JSON; returns the exit status (1: a logits check failed)."""
    scl_dev = drop_other_device(c, a, summary)
    cv_version = cv2_version()
    mi = machine_info()
    out = text_report(c, a, started, summary, timing_load, total_load, scl_dev, cv_version, mi)
    print("\n".join(out))
    doc = build_doc(c, a, argv, started, summary, timing_load, total_load, cv_version, mi)
    if a.json:
        with open(a.json, "w") as f:
            json.dump(doc, f, indent=1, default=str)
    if a.markdown:
        # Through JSON and back: the same document --markdown-from reads.
        with open(a.markdown, "w") as f:
            f.write(render(json.loads(json.dumps(doc, default=str))))
    failed = any(not c.check[n].get(fw, {}).get("ok") for n in a.models for fw in a.frameworks
                 if fw not in c.unavailable) \
        or any(not x.get("ok") for x in c.check_infer.values())
    return 1 if failed else 0


