"""The reference check: every framework's logits against PyTorch float64 on the same inputs,
the OpenCL target's logits against the CPU target's, and the table of results."""

import os

from .common import BATCHES, LABELS, REL_TOL, log


class Checks:
    """Mixed into the session (self.data, self.check, self.check_infer, self.models, self.fws)."""

    def evaluate_check(self, name, fw, r, infer=False):
        """Logits of one framework (r: a worker's result with logits_dir) against float64.
        infer: shufflecl's logits from the `shufflecl infer` tool (kept apart)."""
        import numpy as np
        refs = self.data[name]["refs"]
        c = {"ok": False, "per_batch": {}}
        if r.get("unavailable"):
            c.update(unavailable=True, error=r["error"])
        elif not r.get("ok") or not r.get("logits_dir"):
            c["error"] = r.get("error", "failed")
        else:
            ok = True
            for b in BATCHES:
                y = np.load(os.path.join(r["logits_dir"], f"b{b}.npy")).astype(np.float64)
                ref = refs[b]
                if y.shape != ref.shape or not np.all(np.isfinite(y)):
                    c["per_batch"][b] = {"ok": False, "error": f"shape {y.shape} or non-finite"}
                    ok = False
                    continue
                rel = float(np.linalg.norm(y - ref) / np.linalg.norm(ref))
                agree = int((y.argmax(1) == ref.argmax(1)).sum())
                bok = rel < REL_TOL and agree == b
                ok = ok and bok
                c["per_batch"][b] = {"rel_err": rel, "max_abs_err": float(np.abs(y - ref).max()),
                                     "top1_agree": agree, "rows": b, "ok": bok}
            c["ok"] = ok
            c["max_rel_err"] = max(v.get("rel_err", float("inf")) for v in c["per_batch"].values())
            c["top1_agree"] = sum(v.get("top1_agree", 0) for v in c["per_batch"].values())
            c["rows"] = sum(BATCHES)
            c["logits_dir"] = r["logits_dir"]
        if infer:
            self.check_infer[name] = c
        else:
            self.check[name][fw] = c
        log(f"  {'check':<9} {name:<11} {(LABELS[fw] + (' infer' if infer else '')):<14} "
            + (f"rel err {c['max_rel_err']:.2e}, top-1 {c['top1_agree']}/{c['rows']}: "
               f"{'PASS' if c['ok'] else 'FAIL'}" if "max_rel_err" in c
               else c["error"] if c.get("unavailable") else "FAILED: " + c["error"]))

    def cross_check_ocl(self, name):
        """The OpenCL logits must not be bit-identical to the CPU target's: identical logits would
        mean OpenCV ran its CPU path under the OpenCL label."""
        import numpy as np
        co, cc = self.check[name].get("opencv-ocl"), self.check[name].get("opencv-cpu")
        if co and cc and co.get("logits_dir") and cc.get("logits_dir"):
            same = all(np.array_equal(np.load(os.path.join(co["logits_dir"], f"b{b}.npy")),
                                      np.load(os.path.join(cc["logits_dir"], f"b{b}.npy")))
                       for b in BATCHES)
            co["identical_to_cpu_target"] = same
            if same:
                co["ok"] = False
                co["error"] = "logits bit-identical to the CPU target's: the CPU path ran"
                log(f"  {'check':<9} {name:<11} OpenCV OpenCL  FAILED: {co['error']}")

    def check_table(self):
        lines = [f"{'model':<11}  {'framework':<14}  {'max rel err':>11}  {'top-1':>7}  result"]
        for name in self.models:
            for fw in self.fws:
                c = self.check[name].get(fw, {})
                if "max_rel_err" in c:
                    lines.append(f"{name:<11}  {LABELS[fw]:<14}  {c['max_rel_err']:11.2e}  "
                                 f"{c['top1_agree']:>3}/{c['rows']:<3}  "
                                 + ("PASS" if c["ok"] else "FAIL" + (": " + c["error"] if c.get("error") else "")))
                elif c.get("unavailable"):
                    lines.append(f"{name:<11}  {LABELS[fw]:<14}  {'-':>11}  {'-':>7}  {c['error']}")
                else:
                    lines.append(f"{name:<11}  {LABELS[fw]:<14}  {'-':>11}  {'-':>7}  FAILED: {c.get('error', '?')}")
        return lines
