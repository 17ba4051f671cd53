"""The summary of the timed runs (medians over processes, shufflecl's speed-ups) and the speed
table printed from it."""

import statistics

from .common import BATCHES, COLD_FRAMEWORKS, LABELS


class Summary:
    """Mixed into the session (self.results, self.cold, self.check, self.models, self.fws)."""

    def summarize(self):
        s = {}
        for name in self.models:
            s[name] = {}
            for fw in self.fws:
                runs = self.results[name][fw]["runs"]
                if not runs:
                    s[name][fw] = None
                    continue
                out = {"processes": len(runs)}
                for b in BATCHES:
                    meds = [r["batches"][str(b)]["median_ms"] for r in runs]
                    mins = [r["batches"][str(b)]["min_ms"] for r in runs]
                    out[f"b{b}_median_ms"] = statistics.median(meds)
                    out[f"b{b}_min_ms"] = min(mins)
                    out[f"b{b}_images_per_s"] = b * 1e3 / statistics.median(meds)
                firsts = [r["first_inference_ms"] for r in runs]
                out["first_warm_ms"] = statistics.median(firsts)
                cold = self.cold[name].get(fw)
                if fw in COLD_FRAMEWORKS:
                    out["first_cold_ms"] = cold["first_inference_ms"] if cold and cold.get("ok") else None
                    out["first_cold_same_as_warm"] = False
                else:
                    out["first_cold_ms"] = out["first_warm_ms"]
                    out["first_cold_same_as_warm"] = True
                s[name][fw] = out
            base = s[name].get("shufflecl")
            for fw in self.fws:
                o = s[name][fw]
                if not o or not base or fw == "shufflecl":
                    continue
                sp = {}
                for key in ("b1_median_ms", "b1_min_ms", "first_warm_ms", "first_cold_ms"):
                    if o.get(key) and base.get(key):
                        sp[key] = o[key] / base[key]
                for b in BATCHES:
                    key = f"b{b}_images_per_s"
                    sp[key] = base[key] / o[key]
                o["shufflecl_speedup"] = sp
        return s

    def table(self, summary):
        lines = []

        def cell(o, key, fmt, fw):
            if o is None:
                if key != "b1_median_ms":
                    return "-"
                return "unavailable" if fw in self.unavailable else "failed"
            v = o.get(key)
            if v is None:
                return "-"
            sp = o.get("shufflecl_speedup", {}).get(key)
            txt = fmt.format(v)
            if o.get("first_cold_same_as_warm") and key == "first_cold_ms":
                txt += "*"
            return txt + (f" ({ratio_text(sp)}x)" if sp is not None else "")

        hdr = ["model", "framework", "b1 median ms", "b1 min ms", "b8 img/s", "b32 img/s",
               "first warm ms", "first cold ms"]
        rows = []
        for name in self.models:
            for i, fw in enumerate(self.fws):
                o = summary[name][fw]
                ok = self.check[name].get(fw, {}).get("ok") or fw in self.unavailable
                label = LABELS[fw] + ("" if ok else " (!)")
                rows.append([name if i == 0 else "", label] + [
                    cell(o, key, fmt, fw) for key, fmt in (
                        ("b1_median_ms", "{:.2f}"), ("b1_min_ms", "{:.2f}"),
                        ("b8_images_per_s", "{:.1f}"), ("b32_images_per_s", "{:.1f}"),
                        ("first_warm_ms", "{:.0f}"), ("first_cold_ms", "{:.0f}"))])
        widths = [max(len(r[i]) for r in rows + [hdr]) for i in range(len(hdr))]
        fmt_row = lambda r: "  ".join(c.ljust(widths[i]) if i < 2 else c.rjust(widths[i])
                                      for i, c in enumerate(r)).rstrip()
        lines.append(fmt_row(hdr))
        lines.append("  ".join("-" * x for x in widths))
        prev = None
        for r in rows:
            if r[0] and prev is not None:
                lines.append("")
            lines.append(fmt_row(r))
            prev = r
        return lines


def ratio_text(r):
    return f"{r:.2f}" if r >= 0.095 else f"{r:.2g}"
