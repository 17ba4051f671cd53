"""bench/compare's Markdown tables (the README's), rendered by `bench/compare --markdown-from` from
a small hand-made JSON document: the best engine of each column in bold, shufflecl against the
fastest other engine in words, unavailable and failed engines told apart, the versions in the
labels; and a document that is not bench/compare's refused with status 2. Needs neither the
network nor the PyPI engines (a full run does: see docs/compare.md); only the standard library."""

import json
import os
import subprocess
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
SCRIPT = os.path.join(os.path.dirname(os.path.dirname(HERE)), "bench", "compare")


def entry(b1, b32, warm, cold=None):
    o = {"processes": 3, "b1_median_ms": b1, "b1_min_ms": b1 * 0.9, "b8_images_per_s": 8e3 / b1,
         "b32_images_per_s": b32, "first_warm_ms": warm}
    o["first_cold_ms"] = cold if cold is not None else warm
    o["first_cold_same_as_warm"] = cold is None
    return o


DOC = {
    "schema": "shufflecl-compare", "schema_version": 2,
    "settings": {"frameworks": ["shufflecl", "onnxruntime", "mnn-opencl", "ncnn-cpu"]},
    "versions": {"venv:onnxruntime": "1.32.0", "venv:ncnn": "1.0.20261020", "venv:MNN": "3.6.1"},
    "unavailable": {"mnn-opencl": "this MNN wheel has no OpenCL backend"},
    "summary": {
        "v2_x1_0": {"shufflecl": entry(3.31, 431.0, 117.0, 13000.0),
                    "onnxruntime": entry(3.01, 303.0, 50.0), "mnn-opencl": None,
                    "ncnn-cpu": None},
    },
    "check": {"v2_x1_0": {"shufflecl": {"max_rel_err": 6.2e-7, "ok": True},
                          "onnxruntime": {"max_rel_err": 4.3e-7, "ok": True}}},
}


def render(doc_text):
    with tempfile.NamedTemporaryFile("w", suffix=".json", delete=False) as f:
        f.write(doc_text)
    try:
        return subprocess.run([sys.executable, SCRIPT, "--markdown-from", f.name],
                              capture_output=True, text=True, timeout=120)
    finally:
        os.unlink(f.name)


def main():
    passed = failed = 0

    def check(what, cond, detail=""):
        nonlocal passed, failed
        if cond:
            passed += 1
        else:
            failed += 1
            print(f"FAIL: {what} {detail}")

    p = render(json.dumps(DOC))
    check("status 0", p.returncode == 0, p.stderr)
    lines = p.stdout.splitlines()
    row = {l.split("|")[2].strip(): [c.strip() for c in l.split("|")[3:-1]]
           for l in lines if l.startswith("| ") and l.count("|") == 10}
    scl, ort = row.get("**shufflecl**"), row.get("ONNX Runtime 1.32.0")
    check("shufflecl row", scl is not None, p.stdout)
    check("ONNX Runtime row with its version", ort is not None, p.stdout)
    if scl and ort:
        # columns: rel err, b1 median, b1 min, b8, b32, first warm, first cold
        check("rel err shown", scl[0] == "6.2e-07" and ort[0] == "4.3e-07", str(scl + ort))
        check("fastest b1 median in bold", ort[1] == "**3.01**" and scl[1] == "3.31", str(ort))
        check("best b32 in bold", scl[4] == "**431**" and ort[4] == "303", str(scl))
        check("first inference warm", ort[5] == "**50 ms**", str(ort))
        check("cold over 10 s in seconds", scl[6] == "13.0 s", str(scl))
        check("no cache: cold marked *", ort[6] == "**50 ms***", str(ort))
    check("unavailable told", any("MNN OpenCL 3.6.1" in l and "| unavailable |" in l
                                  for l in lines), p.stdout)
    check("failed told", any("ncnn CPU" in l and "| failed |" in l for l in lines), p.stdout)
    check("reason of unavailable", "MNN OpenCL: unavailable: this MNN wheel has no OpenCL "
          "backend." in p.stdout, p.stdout)
    vs = [l for l in lines if l.startswith("| v2_x1_0 |") and "than" in l]
    check("shufflecl against the best", len(vs) == 1 and "1.10x slower than ONNX Runtime (3.31 "
          "against 3.01 ms)" in vs[0] and "1.42x faster than ONNX Runtime (431 against 303 "
          "img/s)" in vs[0], str(vs))

    p = render('{"schema": "something else"}')
    check("not a compare document: status 2", p.returncode == 2, f"{p.returncode} {p.stdout}")
    check("not a compare document: named", "not a bench/compare JSON document" in p.stderr,
          p.stderr)
    p = render("{")
    check("broken JSON: status 2", p.returncode == 2, str(p.returncode))

    print(f"{passed} passed, {failed} failed")
    return 0 if failed == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
