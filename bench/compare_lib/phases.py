"""The measurement phases: cold first inference (empty kernel caches), priming the caches, and
the timed round-robin of fresh worker processes."""

import shutil
import tempfile
import time

from .common import COLD_FRAMEWORKS, LABELS, NOISY_FRAC, log
from .runner import wait_quiet


class Phases:
    """Mixed into the session; uses its workers, tool runs and checks."""

    def phase_cold(self):
        """First inference with every on-disk kernel cache empty (shufflecl's, OpenCV's, PoCL's,
        Mesa's). The CPU engines keep no kernel cache: their cold number is their warm one."""
        for name in self.models:
            for fw in COLD_FRAMEWORKS:
                if fw not in self.fws or fw in self.unavailable:
                    continue
                cold_dir = tempfile.mkdtemp(prefix=f"cold_{fw}_", dir=self.work)
                if self.a.wait_quiet:
                    self.waited += wait_quiet(self.a.wait_quiet)
                r = self.run_worker(fw, name, "first", cold_dir)
                shutil.rmtree(cold_dir, ignore_errors=True)
                self.cold[name][fw] = r
                log(f"  {name:<11} {LABELS[fw]:<14} "
                    + (f"{r['first_inference_ms']:9.0f} ms" if r.get("ok") else "FAILED: " + r["error"]))

    def phase_prime(self):
        """shufflecl's logits (`shufflecl infer` at each batch size) and one first inference of
        each engine with a kernel cache: fills the caches the warm first inference is meant to find."""
        for name in self.models:
            if "shufflecl" in self.fws:
                self.evaluate_check(name, "shufflecl", self.shufflecl_check(name), infer=True)
            for fw in COLD_FRAMEWORKS:
                if fw not in self.fws or fw in self.unavailable:
                    continue
                r = self.run_worker(fw, name, "first")
                log(f"  {'prime':<9} {name:<11} {LABELS[fw]:<14} "
                    + (f"first inference {r['first_inference_ms']:.0f} ms" if r.get("ok")
                       else "FAILED: " + r.get("error", "?")))

    def timed(self, fw, name, save_logits):
        return self.run_worker(fw, name, "time", save_logits=save_logits)

    def phase_time(self):
        """Round-robin: every round runs each model's frameworks once, each in a fresh process, a
        different framework first each time. The first round's workers also save their logits
        (the first run at each batch size) for the check."""
        rounds = self.a.rounds
        for r in range(rounds):
            for mi, name in enumerate(self.models):
                k = (r + mi) % len(self.fws)
                order = self.fws[k:] + self.fws[:k]
                for fw in order:
                    slot = self.results[name][fw]
                    if fw in self.unavailable:
                        if r == 0:
                            self.evaluate_check(name, fw, self.run_worker(fw, name, "time"))
                        continue
                    if r > 0 and not self.check[name].get(fw, {}).get("ok") and not self.a.time_failed:
                        continue          # its check failed in round 1: its speed means nothing
                    save = r == 0
                    tries = 1 + (1 if self.a.wait_quiet else 0)
                    for attempt in range(tries):
                        if self.a.wait_quiet:
                            self.waited += wait_quiet(self.a.wait_quiet)
                        t0 = time.perf_counter()
                        res = self.timed(fw, name, save)
                        oc = res.get("other_cpu_frac")
                        noisy = oc is not None and oc > NOISY_FRAC
                        if res.get("ok") and noisy and attempt + 1 < tries:
                            slot["discarded"].append(res)
                            log(f"  round {r + 1}/{rounds} {name:<11} {LABELS[fw]:<14} others used "
                                f"{100 * oc:.0f}% of the CPUs: measuring again")
                            continue
                        break
                    if res.get("ok"):
                        slot["runs"].append(res)
                        b1 = res["batches"]["1"]
                        log(f"  round {r + 1}/{rounds} {name:<11} {LABELS[fw]:<14} "
                            f"b1 {b1['median_ms']:8.2f} ms, first {res['first_inference_ms']:7.0f} ms "
                            f"[{time.perf_counter() - t0:.0f} s"
                            + (f", others used {100 * oc:.0f}% of the CPUs" if oc is not None else "")
                            + "]")
                    else:
                        slot["errors"].append(res.get("error", "failed"))
                        log(f"  round {r + 1}/{rounds} {name:<11} {LABELS[fw]:<14} FAILED: {res.get('error')}")
                    if save:
                        self.evaluate_check(name, fw, res)
                if r == 0 and "shufflecl" in self.fws:
                    if self.a.wait_quiet:
                        self.waited += wait_quiet(self.a.wait_quiet)
                    b = self.shufflecl_bench(name)
                    self.bench[name] = b
                    log(f"  {'bench':<9} {name:<11} " + (
                        "shufflecl bench (device buffers): b1 median "
                        f"{b['batches']['1']['host_ms']['median']:.2f} ms, "
                        + ", ".join(f"b{k} {v['images_per_s']:.1f} img/s"
                                    for k, v in b["batches"].items() if k != "1")
                        if b.get("ok") else "FAILED: " + b.get("error", "?")))
                if r == 0:
                    self.cross_check_ocl(name)
                    for fw in self.fws:
                        c = self.check[name].get(fw, {})
                        slot = self.results[name][fw]
                        if not c.get("ok") and not self.a.time_failed and slot["runs"]:
                            slot["errors"].append("timed once, not reported: its logits check "
                                                  "failed (" + c.get("error", "see above") + ")")
                            slot["failed_check_runs"] = slot["runs"]
                            slot["runs"] = []
