"""The shufflecl tool's own runs: `shufflecl infer` (its logits are checked), `shufflecl bench`
(its numbers go to the JSON) and `shufflecl tune` before measuring."""

import json
import os
import re

from .common import BATCHES, log
from .runner import LAST_RUN_OTHER_CPU, run_cmd, tail


class ToolRuns:
    """Mixed into the session (self.a, self.data, self.env_for, self.new_path, self.logits_dir)."""

    def shufflecl_infer(self, name, batch, out_npy, cold_dir=None):
        info = self.data[name]
        cmd = [self.a.shufflecl, "infer", name, "--weights", info["weights"],
               "--input", info["inputs"][batch], "--output", out_npy]
        if self.a.device:
            cmd += ["--device", self.a.device]
        log_path = self.new_path(f"infer_{name}_b{batch}", ".log")
        rc, wall = run_cmd(cmd, self.env_for("shufflecl", cold_dir), log_path)
        if rc != 0:
            return {"ok": False, "error": f"shufflecl infer exited with {rc}: {tail(log_path)}"}
        return {"ok": True, "first_inference_ms": 1e3 * wall, "process_wall_ms": 1e3 * wall}

    def shufflecl_check(self, name):
        d = self.logits_dir(name, "shufflecl-infer")
        for b in BATCHES:
            r = self.shufflecl_infer(name, b, os.path.join(d, f"b{b}.npy"))
            if not r["ok"]:
                return r
        return {"ok": True, "logits_dir": d}

    def shufflecl_bench(self, name):
        """`shufflecl bench` once per model (round 1): the tool's own numbers (device buffers, no
        transfers) for the JSON, and the device it ran on."""
        info = self.data[name]
        jpath = self.new_path(f"bench_{name}", ".json")
        cmd = [self.a.shufflecl, "bench", name, "--weights", info["weights"],
               "--batch", ",".join(map(str, BATCHES)), "--warmup", str(self.a.warmup),
               "--seconds", str(self.a.seconds), "--json", jpath]
        if self.a.device:
            cmd += ["--device", self.a.device]
        log_path = self.new_path(f"bench_{name}", ".log")
        rc, wall = run_cmd(cmd, self.env_for("shufflecl"), log_path)
        if rc != 0:
            return {"ok": False, "error": f"shufflecl bench exited with {rc}: {tail(log_path)}"}
        with open(jpath) as f:
            j = json.load(f)
        if self.bench_meta is None:
            self.bench_meta = {k: j.get(k) for k in ("tool", "device", "peak", "startup")}
        res = j["results"][0]
        batches = {}
        for bb in res["batches"]:
            batches[str(bb["batch"])] = {
                "iters": bb["iters"], "host_ms": bb["host_ms"], "device_ms": bb["device_ms"],
                "images_per_s": bb["images_per_s"],
            }
        return {"ok": True, "batches": batches, "startup": res.get("startup"), "json": jpath,
                "process_wall_ms": 1e3 * wall, "other_cpu_frac": LAST_RUN_OTHER_CPU[0]}

    def phase_tune(self):
        """`shufflecl tune MODEL` (batch 1) into shufflecl's cache, as its README says to use it."""
        for name in self.models:
            cmd = [self.a.shufflecl, "tune", name]
            if self.a.device:
                cmd += ["--device", self.a.device]
            log_path = self.new_path(f"tune_{name}", ".log")
            rc, wall = run_cmd(cmd, self.env_for("shufflecl"), log_path)
            with open(log_path, errors="replace") as f:
                text = f.read()
            m1 = re.search(r"(\d+) shapes, (\d+) candidates timed, (\d+) rejected.*?, (\d+) improved", text)
            m2 = re.search(r"default ([\d.]+) ms, tuned ([\d.]+) ms \(([\d.]+)x\)", text)
            t = {"ok": rc == 0, "seconds": wall}
            if m1:
                t.update(shapes=int(m1.group(1)), candidates=int(m1.group(2)),
                         rejected=int(m1.group(3)), improved=int(m1.group(4)))
            if m2:
                t.update(default_ms=float(m2.group(1)), tuned_ms=float(m2.group(2)),
                         gain=float(m2.group(3)))
            if rc != 0:
                t["error"] = f"shufflecl tune exited with {rc}: {tail(log_path)}"
            self.tuning[name] = t
            log(f"  {name:<11} " + (f"{t.get('improved', '?')} of {t.get('shapes', '?')} layer shapes "
                                    f"improved, sum of layer times {t.get('gain', '?')}x [{wall:.1f} s]"
                                    if rc == 0 else "FAILED: " + t["error"]))
