"""The Markdown tables of one bench/compare run (the README's), made from its JSON document alone,
so that a saved run can be rendered again (bench/compare --markdown-from FILE)."""

from .common import LABELS

COLUMNS = [  # key, header, format, the better direction
    ("b1_median_ms", "b1 median ms", "{:.2f}", "low"),
    ("b1_min_ms", "b1 min ms", "{:.2f}", "low"),
    ("b8_images_per_s", "b8 img/s", "{:.0f}", "high"),
    ("b32_images_per_s", "b32 img/s", "{:.0f}", "high"),
    ("first_warm_ms", "first inference, warm", "{:.0f} ms", "low"),
    ("first_cold_ms", "first inference, cold", "{:.0f} ms", "low"),
]


def fmt_ms(v):
    return f"{v / 1e3:.1f} s" if v >= 10000 else f"{v:.0f} ms"


def best_of(rows, key, better):
    vals = [(o[key], fw) for fw, o in rows if o and o.get(key) is not None]
    if not vals:
        return None
    return min(vals) if better == "low" else max(vals)


def value_text(o, key, fmt):
    v = o.get(key)
    if v is None:
        return "-"
    txt = fmt_ms(v) if key.startswith("first") else fmt.format(v)
    return txt + ("*" if key == "first_cold_ms" and o.get("first_cold_same_as_warm") else "")


def ratio_phrase(scl, other, better):
    """shufflecl against the best other engine, in words: '1.16x faster'."""
    r = other / scl if better == "low" else scl / other
    return f"{r:.2f}x faster" if r >= 1 else f"{1 / r:.2f}x slower"


def label(doc, fw):
    lab = LABELS.get(fw, fw)
    v = doc.get("versions", {})
    ver = {"onnxruntime": v.get("venv:onnxruntime"), "openvino": v.get("venv:openvino"),
           "mnn-cpu": v.get("venv:MNN"), "mnn-opencl": v.get("venv:MNN"),
           "ncnn-cpu": v.get("venv:ncnn"), "ncnn-vulkan": v.get("venv:ncnn"),
           "torch-script": v.get("torch"), "torch-eager": v.get("torch"),
           "opencv-cpu": v.get("opencv"), "opencv-ocl": v.get("opencv")}.get(fw)
    if ver:
        lab += f" {ver.split('-')[0].split('+')[0]}"
    return lab


def render(doc):
    """The speed table (one row per model and engine, the best of each column in bold), the table
    of shufflecl against the best other engine, and the notes (unavailable engines, versions)."""
    fws = doc["settings"]["frameworks"]
    unavailable = doc.get("unavailable", {})
    out = ["| model | engine | rel err | " + " | ".join(c[1] for c in COLUMNS) + " |",
           "|---|---|---|" + "---|" * len(COLUMNS)]
    vs = []
    for name, per in doc["summary"].items():
        rows = [(fw, per.get(fw)) for fw in fws]
        best = {k: best_of(rows, k, d) for k, _, _, d in COLUMNS}
        first = True
        for fw, o in rows:
            chk = doc.get("check", {}).get(name, {}).get(fw, {})
            err = f"{chk['max_rel_err']:.1e}" if "max_rel_err" in chk else "-"
            if o is None:
                why = "unavailable" if fw in unavailable else "failed"
                cells = [why] + ["-"] * (len(COLUMNS) - 1)
            else:
                cells = []
                for key, _, fmt, _ in COLUMNS:
                    txt = value_text(o, key, fmt)
                    b = best[key]
                    if b is not None and b[1] == fw and txt != "-":
                        txt = f"**{txt}**"
                    cells.append(txt)
            lab = f"**{label(doc, fw)}**" if fw == "shufflecl" else label(doc, fw)
            out.append(f"| {name if first else ''} | {lab} | {err} | " + " | ".join(cells) + " |")
            first = False
        scl = per.get("shufflecl")
        if scl:
            others = [(fw, o) for fw, o in rows if fw != "shufflecl"]
            cells = []
            for key, better in (("b1_median_ms", "low"), ("b32_images_per_s", "high")):
                b = best_of(others, key, better)
                if b is None or scl.get(key) is None:
                    cells.append("-")
                    continue
                unit = " ms" if better == "low" else " img/s"
                cells.append(f"{ratio_phrase(scl[key], b[0], better)} than {LABELS.get(b[1], b[1])} "
                             f"({scl[key]:.{2 if better == 'low' else 0}f} against "
                             f"{b[0]:.{2 if better == 'low' else 0}f}{unit})")
            vs.append(f"| {name} | " + " | ".join(cells) + " |")
    if vs:
        out += ["", "| model | shufflecl, b1 median, against the fastest other | "
                "shufflecl, b32 img/s, against the best other |", "|---|---|---|"] + vs
    notes = []
    if any(o and o.get("first_cold_same_as_warm") for per in doc["summary"].values()
           for o in per.values()):
        notes.append("\\* no on-disk kernel cache: the cold first inference is the warm one.")
    for fw in fws:
        if fw in unavailable:
            notes.append(f"{LABELS.get(fw, fw)}: unavailable: {unavailable[fw]}.")
    if notes:
        out += [""] + notes
    return "\n".join(out) + "\n"
