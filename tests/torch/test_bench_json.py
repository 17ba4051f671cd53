"""`shufflecl bench` end to end: a short profiled run of v2_x0_5 at 64 x 64 writes JSON and SVG;
the JSON is checked against the schema of docs/bench.md (written out by hand below: required
keys and types), its numbers for sanity (ordered statistics, rates that agree with times, the
profile against the measured device time, MACs and bytes against `shufflecl info` and the
library's own counts), and the SVG parsed as XML. Option errors are checked too.

Run by CTest with SCL_TOOL (the shufflecl binary) and SCL_TEST_TMPDIR set. Needs only the
standard library."""

import json
import math
import os
import re
import subprocess
import sys
import tempfile
import xml.etree.ElementTree as ET

MODEL, BATCHES, SIZE = "v2_x0_5", [1, 2], 64

# ---- the schema, as types: a dict is an object with exactly these required keys (more are
# allowed), [T] a list of T, Opt(T) T or null, MapOf(T) an object of any keys whose values are T.


class Opt:
    def __init__(self, t):
        self.t = t


class MapOf:
    def __init__(self, t):
        self.t = t


NUM, INT, STR, BOOL = "number", "integer", "string", "boolean"

STATS = {"median": NUM, "min": NUM, "p90": NUM}
RATES = {"ms": NUM, "macs": INT, "bytes": NUM, "gflops": NUM, "gflops_frac": NUM, "gbps": NUM,
         "gbps_frac": NUM, "share": NUM}
LAUNCH = {**RATES, "layer": STR, "op": STR, "kind": STR, "kernel": Opt(STR), "global": Opt([INT]),
          "local": Opt([INT]), "input": [INT], "output": [INT], "weight_bytes": INT}
BATCH = {
    "batch": INT, "iters": INT, "launches": INT, "host_ms": STATS, "device_ms": STATS, "images_per_s": NUM,
    "gflops": NUM, "gflops_frac": NUM,
    "memory": {"activation_bytes": INT, "bytes_moved_per_image": NUM, "moved_over_min": NUM},
    "profile": Opt([LAUNCH]), "profile_sum_ms": Opt(NUM), "profile_runs": Opt(INT),
    "totals_by_kind": Opt(MapOf({**RATES, "launches": INT})),
}
SCHEMA = {
    "schema": STR, "schema_version": INT,
    "tool": {"name": STR, "version": STR, "git_commit": STR},
    "date": STR,
    "device": {"name": STR, "vendor": STR, "type": STR, "driver_version": STR,
               "device_version": STR, "platform": STR, "platform_version": STR,
               "compute_units": INT, "clock_mhz": INT, "global_mem_bytes": INT},
    "peak": {"gflops": NUM, "gbps": NUM, "fma_gflops_by_width": MapOf(NUM), "read_gbps": NUM,
             "copy_gbps": NUM, "cached": BOOL, "cache_file": Opt(STR)},
    "settings": {"model": STR, "batches": [INT], "iters": Opt(INT), "seconds": Opt(NUM),
                 "warmup": INT, "height": INT, "width": INT, "weights": Opt(STR), "seed": INT,
                 "profile": BOOL, "explicit_shuffle": BOOL, "precision": STR},
    "startup": {"context_ms": NUM, "driver_cache": STR},
    "results": [{
        "model": STR, "params": INT, "macs_per_image": INT, "launches": INT, "tuned_ops": INT,
        "startup": {"build_cold_ms": NUM, "build_warm_ms": NUM, "first_inference_ms": NUM,
                    "cold_start_ms": NUM, "cold_start_cpu_ms": NUM, "context_cold_ms": NUM,
                    "first_inference_cold_ms": NUM,
                    "save_ms": NUM, "cold_compiles": INT, "warm_disk_hits": INT,
                    "warm_compiles": INT},
        "memory": {"weight_bytes": INT, "min_bytes_moved_per_image": INT},
        "batches": [BATCH],
    }],
}


def validate(value, schema, path="$"):
    """Every mismatch between value and schema, as 'path: problem' strings."""
    if isinstance(schema, Opt):
        return [] if value is None else validate(value, schema.t, path)
    if isinstance(schema, MapOf):
        if not isinstance(value, dict):
            return [f"{path}: expected an object"]
        return [e for k, v in value.items() for e in validate(v, schema.t, f"{path}.{k}")]
    if isinstance(schema, dict):
        if not isinstance(value, dict):
            return [f"{path}: expected an object"]
        errors = []
        for key, sub in schema.items():
            if key not in value:
                errors.append(f"{path}: missing key '{key}'")
            else:
                errors += validate(value[key], sub, f"{path}.{key}")
        return errors
    if isinstance(schema, list):
        if not isinstance(value, list):
            return [f"{path}: expected a list"]
        return [e for i, v in enumerate(value) for e in validate(v, schema[0], f"{path}[{i}]")]
    ok = {
        NUM: isinstance(value, (int, float)) and not isinstance(value, bool)
        and math.isfinite(value),
        INT: isinstance(value, int) and not isinstance(value, bool),
        STR: isinstance(value, str),
        BOOL: isinstance(value, bool),
    }[schema]
    return [] if ok else [f"{path}: expected a {schema}, got {value!r}"]


# ---- checks ----

passed = failed = 0


def check(name, cond, detail=""):
    global passed, failed
    if cond:
        passed += 1
    else:
        failed += 1
        print(f"FAIL {name}{': ' + detail if detail else ''}")
    return cond


def close(a, b, rel=1e-6):
    return abs(a - b) <= rel * max(abs(a), abs(b), 1e-12)


def run(args, timeout=600):
    return subprocess.run(args, capture_output=True, text=True, timeout=timeout)


def check_option_errors(tool):
    bad = [(["--batch", "1,x"], "bad batch list"), (["--iters", "0"], "zero iters"),
           (["--frobnicate"], "unknown option"),
           (["--iters", "3", "--seconds", "1"], "iters and seconds")]
    for args, why in bad:
        p = run([tool, "bench", MODEL] + args)
        check(f"option error: {why}",
              p.returncode != 0 and p.stderr.startswith("shufflecl: error: "),
              f"rc {p.returncode}, stderr {p.stderr.strip()!r}")
    p = run([tool, "bench", "no_such_model"])
    check("unknown model refused", p.returncode != 0 and "shufflecl: error: " in p.stderr,
          p.stderr)
    p = run([tool, "bench", "--help"])
    check("--help", p.returncode == 0 and "usage: shufflecl bench" in p.stdout, p.stderr)


def rates_agree(p):
    return (close(p["gflops"], 2 * p["macs"] / (p["ms"] * 1e6), 1e-5)
            and close(p["gbps"], p["bytes"] / (p["ms"] * 1e6), 1e-5))


def check_profile(tag, b, r, info):
    prof = b["profile"]
    check(f"{tag} one row per launch", len(prof) == r["launches"] == info["launches"],
          f"{len(prof)} rows, {r['launches']} launches, info says {info['launches']}")
    # every layer is covered, in order: a layer may take several launches (the two-phase head)
    covered = [p["layer"] for i, p in enumerate(prof) if i == 0 or prof[i - 1]["layer"] != p["layer"]]
    check(f"{tag} launches cover info's layers in order",
          covered == [layer["name"] for layer in info["layers"]])
    check(f"{tag} every launch names its kernel", all(p.get("kernel") for p in prof))
    check(f"{tag} launch times >= 0", all(p["ms"] >= 0 for p in prof))
    total = sum(p["ms"] for p in prof)
    check(f"{tag} profile_sum_ms is the sum", close(total, b["profile_sum_ms"], 1e-4),
          f"{total} vs {b['profile_sum_ms']}")
    dev = b["device_ms"]["median"]
    ratio = total / dev
    print(f"  batch {b['batch']}: profile sum {total:.3f} ms, device median {dev:.3f} ms "
          f"({ratio:.2f}x), host median {b['host_ms']['median']:.3f} ms")
    # Structure only, never a timing ratio (a loaded machine makes any ratio flaky): the sum is
    # positive and finite, and each row is part of it.
    check(f"{tag} profile sum is positive and finite", 0 < total < float("inf") and dev > 0,
          f"{total} ms over {dev} ms")
    check(f"{tag} shares sum to 1", close(sum(p["share"] for p in prof), 1.0, 1e-3))
    macs = sum(p["macs"] for p in prof)
    check(f"{tag} MACs = info's x batch", macs == info["macs"] * b["batch"],
          f"{macs} vs {info['macs']} x {b['batch']}")
    for p in prof:
        if p["ms"] > 0 and not check(f"{tag} {p['layer']} rates agree with ms", rates_agree(p),
                                     str(p)):
            break
    # V2 adds no residuals: its activations alone must be the library's zero-copy minimum
    # (plus, for a two-phase head, the N x C means the pool writes and the FC reads back)
    want = r["memory"]["min_bytes_moved_per_image"]
    want += sum(2 * 4 * layer["cin"] for layer in info["layers"] if layer["op"] == "gap_fc"
                and sum(p["layer"] == layer["name"] for p in prof) == 2)
    act = sum(p["bytes"] - p["weight_bytes"] for p in prof) / b["batch"]
    check(f"{tag} activation bytes = min_bytes_moved", close(act, want, 1e-6), f"{act} vs {want}")
    weights = sum(p["weight_bytes"] for p in prof)
    check(f"{tag} weight bytes add up", weights == r["memory"]["weight_bytes"],
          f"{weights} vs {r['memory']['weight_bytes']}")
    kinds = b["totals_by_kind"]
    for k in ("stem", "pool", "pointwise", "depthwise", "head"):
        check(f"{tag} kind {k} present", k in kinds and kinds[k]["launches"] > 0, str(list(kinds)))
    check(f"{tag} kinds cover every launch",
          sum(k["launches"] for k in kinds.values()) == len(prof))
    check(f"{tag} kind times add up", close(sum(k["ms"] for k in kinds.values()), total, 1e-4))
    check(f"{tag} kind MACs add up", sum(k["macs"] for k in kinds.values()) == macs)


def check_batch(b, r, peak, info):
    tag = f"batch {b['batch']}"
    for kind in ("host_ms", "device_ms"):
        s = b[kind]
        check(f"{tag} {kind} positive", s["min"] > 0, str(s))
        check(f"{tag} {kind} min <= median <= p90", s["min"] <= s["median"] <= s["p90"], str(s))
    check(f"{tag} iters", b["iters"] == 3, str(b["iters"]))
    median_s = b["host_ms"]["median"] / 1e3
    check(f"{tag} images/s = batch / median", close(b["images_per_s"], b["batch"] / median_s),
          f"{b['images_per_s']} vs {b['batch']} / {median_s} s")
    check(f"{tag} gflops_frac", close(b["gflops_frac"], b["gflops"] / peak["gflops"]))
    mem, least = b["memory"], r["memory"]["min_bytes_moved_per_image"]
    check(f"{tag} activation bytes", mem["activation_bytes"] > 0)
    check(f"{tag} moved >= zero-copy minimum", mem["bytes_moved_per_image"] >= least,
          f"{mem['bytes_moved_per_image']} < {least}")
    if check(f"{tag} profiled", b["profile"] is not None):
        check_profile(tag, b, r, info)


def bench(tool, *args):
    return run([tool, "bench", MODEL, "--height", str(SIZE), "--width", str(SIZE)] + list(args))


def check_explicit(tool, tmp, d, info):
    """The ablation: the same network with its shuffles, splits and concats as copy launches."""
    path = os.path.join(tmp, "explicit.json")
    p = bench(tool, "--explicit-shuffle", "--batch", "1", "--iters", "1", "--warmup", "0",
              "--profile", "--json", path)
    if not check("bench --explicit-shuffle runs", p.returncode == 0, p.stderr):
        return
    with open(path) as f:
        e = json.load(f)
    errors = validate(e, SCHEMA)
    check("explicit: schema", not errors, "\n  ".join(errors[:20]))
    if errors:
        return
    r, base = e["results"][0], d["results"][0]
    b, b0 = r["batches"][0]["memory"], base["batches"][0]["memory"]
    check("explicit: setting recorded",
          e["settings"]["explicit_shuffle"] is True and d["settings"]["explicit_shuffle"] is False)
    copies = r["batches"][0]["totals_by_kind"].get("shuffle", {}).get("launches", 0)
    check("explicit: copy launches added",
          copies > 0 and r["launches"] == base["launches"] + copies,
          f"{r['launches']} launches, {copies} copies, {base['launches']} without")
    check("explicit: same MACs", r["macs_per_image"] == info["macs"])
    check("explicit: moves more bytes", b["bytes_moved_per_image"] > b0["bytes_moved_per_image"],
          f"{b['bytes_moved_per_image']} vs {b0['bytes_moved_per_image']}")


def check_report(d, info):
    check("schema name and version", d["schema"] == "shufflecl-bench" and d["schema_version"] == 1)
    check("date is ISO 8601 UTC",
          re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ", d["date"]) is not None, d["date"])
    peak = d["peak"]
    check("peak positive", peak["gflops"] > 0 and peak["gbps"] > 0, str(peak))
    check("peak is the best width",
          close(peak["gflops"], max(peak["fma_gflops_by_width"].values())))
    s = d["settings"]
    check("settings echo the options",
          s["model"] == MODEL and s["batches"] == BATCHES and s["iters"] == 3 and s["warmup"] == 1
          and s["height"] == SIZE and s["width"] == SIZE and s["profile"] is True, str(s))
    check("context time", d["startup"]["context_ms"] > 0)
    check("one result", len(d["results"]) == 1 and d["results"][0]["model"] == MODEL)
    r = d["results"][0]
    check("MACs = shufflecl info's", r["macs_per_image"] == info["macs"],
          f"{r['macs_per_image']} vs {info['macs']}")
    check("params = shufflecl info's", r["params"] == info["params"])
    check("tuned ops counted", 0 <= r["tuned_ops"] <= r["launches"], str(r["tuned_ops"]))
    st = r["startup"]
    check("start-up times positive",
          min(st["build_cold_ms"], st["build_warm_ms"], st["first_inference_ms"],
              st["first_inference_cold_ms"], st["context_cold_ms"]) > 0, str(st))
    check("cold start is its parts' sum",
          abs(st["cold_start_ms"] - st["context_cold_ms"] - st["build_cold_ms"]
              - st["first_inference_cold_ms"]) < 1e-6 * max(1.0, st["cold_start_ms"]), str(st))
    check("cold start took CPU time", st["cold_start_cpu_ms"] > 0, str(st))
    check("cold build compiles", st["cold_compiles"] > 0, str(st))
    check("warm build reads the disk cache only",
          st["warm_disk_hits"] > 0 and st["warm_compiles"] == 0, str(st))
    check("batches in order", [b["batch"] for b in r["batches"]] == BATCHES)
    for b in r["batches"]:
        check_batch(b, r, peak, info)
    acts = [b["memory"]["activation_bytes"] for b in r["batches"]]
    check("activations grow with the batch", acts == sorted(acts), str(acts))


def check_op(tool, info):
    """`bench --op FAMILY`: every sampled configuration of each distinct layer shape is timed,
    the device default first; an unknown family is refused naming the known ones."""
    for family, kinds in (("pointwise", ("pointwise",)), ("depthwise", ("depthwise",)),
                          ("pool", ("maxpool", "avgpool")), ("head", ("gap_fc",)),
                          ("unit", ("pointwise",))):
        p = bench(tool, "--op", family, "--batch", "1")
        rows = [line.split() for line in p.stdout.splitlines() if line.endswith("(default)")]
        layers = [layer for layer in info["layers"] if layer["op"] in kinds]
        shapes = {(layer["op"], layer["cin"], layer["cout"], layer["groups"], layer["stride"])
                  for layer in layers}
        if family == "unit":  # three stages, each a stride-2 unit and stride-1 ones
            shapes = {(stage, stride) for stage in (2, 3, 4) for stride in (1, 2)}
        check(f"--op {family} runs", p.returncode == 0, p.stderr)
        # one default row per distinct shape (shapes also differ by input size, so at least)
        check(f"--op {family}: a default row per shape", len(rows) >= len(shapes) > 0,
              f"{len(rows)} default rows, {len(shapes)} shapes")
        timed = [line for line in p.stdout.splitlines() if line.strip().endswith("x") or
                 line.endswith("(default)")]
        check(f"--op {family}: more than the default timed", len(timed) > len(rows),
              f"{len(timed)} rows")
    p = bench(tool, "--op", "nope")
    check("--op unknown refused", p.returncode != 0 and "pointwise" in p.stderr, p.stderr)


def check_fused(tool, tmp, d, info):
    """The default: each V2 unit one fused launch (the main run above is --no-fuse, so that every
    layer is a launch of its own). One launch per unit and per other layer, the same MACs and
    weights, and fewer activation bytes: a unit's intermediates never leave the work-group."""
    path = os.path.join(tmp, "fused.json")
    p = bench(tool, "--batch", "1", "--iters", "1", "--warmup", "0", "--profile", "--json", path)
    if not check("bench (fused) runs", p.returncode == 0, p.stderr):
        return
    with open(path) as f:
        e = json.load(f)
    errors = validate(e, SCHEMA)
    check("fused: schema", not errors, "\n  ".join(errors[:20]))
    if errors:
        return
    r, base = e["results"][0], d["results"][0]
    prof = r["batches"][0]["profile"]
    kinds = r["batches"][0]["totals_by_kind"]
    units = kinds.get("unit", {}).get("launches", 0)
    check("fused: 16 unit launches", units == 16, str(kinds))
    check("fused: launches", r["launches"] == base["launches"] - 38 and r["launches"] <= 22,
          f"{r['launches']} fused, {base['launches']} layer by layer")
    check("fused: every MAC reported", sum(p["macs"] for p in prof) == info["macs"])
    check("fused: every weight reported",
          sum(p["weight_bytes"] for p in prof) == base["memory"]["weight_bytes"])
    act = sum(p["bytes"] - p["weight_bytes"] for p in prof)
    moved = sum(p["bytes"] - p["weight_bytes"] for p in base["batches"][0]["profile"])
    check("fused: fewer activation bytes", 0 < act < moved, f"{act} vs {moved}")


def check_svg(path):
    ns = "{http://www.w3.org/2000/svg}"
    root = ET.parse(path).getroot()
    check("SVG root is <svg>", root.tag == ns + "svg", root.tag)
    texts = " ".join(t.text or "" for t in root.iter(ns + "text"))
    check("SVG has the layer panel", "device time per launch" in texts)
    check("SVG has the throughput panel", root.find(f".//{ns}polyline") is not None)


def main():
    tool = os.environ.get("SCL_TOOL")
    if not tool:
        print("SCL_TOOL is not set (CTest sets it to the shufflecl binary)")
        return 1
    tmp = tempfile.mkdtemp(prefix="bench-", dir=os.environ.get("SCL_TEST_TMPDIR") or None)
    check_option_errors(tool)

    p = run([tool, "info", MODEL, "--json", "--height", str(SIZE), "--width", str(SIZE),
             "--no-fuse"])
    if not check("shufflecl info", p.returncode == 0, p.stderr):
        return 1
    info = json.loads(p.stdout)

    jpath, spath = os.path.join(tmp, "r.json"), os.path.join(tmp, "r.svg")
    p = bench(tool, "--batch", ",".join(map(str, BATCHES)), "--iters", "3", "--warmup", "1",
              "--profile", "--json", jpath, "--svg", spath, "--no-fuse")
    print(p.stdout[:4000])
    if not check("bench runs", p.returncode == 0, p.stderr):
        return 1
    check("nothing on stderr but warnings",
          all(line.startswith("shufflecl: warning") for line in p.stderr.splitlines()), p.stderr)
    with open(jpath) as f:
        d = json.load(f)  # invalid JSON fails the test here
    errors = validate(d, SCHEMA)
    check("schema", not errors, "\n  ".join(errors[:20]))
    if errors:
        return 1
    check_report(d, info)
    check_explicit(tool, tmp, d, info)
    check_fused(tool, tmp, d, info)
    check_svg(spath)
    check_op(tool, info)
    return 0


if __name__ == "__main__":
    rc = main()
    print(f"{passed} passed, {failed} failed")
    sys.exit(1 if rc or failed else 0)
