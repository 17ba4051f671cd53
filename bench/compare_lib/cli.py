"""The command line of bench/compare: its options, and one run: the phases in order, then the
report."""

import argparse
import datetime
import os
import shutil
import sys
import tempfile
import time

from .check import Checks
from .common import DEFAULT_MODELS, FRAMEWORKS, LABELS, REF_DIR, REPO, VENV_FRAMEWORKS, log
from .engines import DEFAULT_VENV, Engines
from .phases import Phases
from .report import report
from .runner import CpuMeter
from .session import Session
from .summary import Summary
from .tool import ToolRuns
from .worker import worker_main


class Compare(Session, Engines, ToolRuns, Checks, Phases, Summary):
    """One run: the session's state with every part's methods."""


def parse_args(argv):
    """The options, checked (p.error exits with status 2 on a bad one)."""
    p = argparse.ArgumentParser(
        prog="bench/compare",
        description="shufflecl against ONNX Runtime, OpenVINO, MNN, ncnn (CPU and Vulkan), "
                    "TorchScript, PyTorch eager and OpenCV DNN (CPU and OpenCL): logits check, "
                    "batch-1 latency, images/s at batch 8 and 32, first inference; one table. "
                    "See docs/compare.md.")
    p.add_argument("models", nargs="*", metavar="MODEL",
                   help=f"models (default: {' '.join(DEFAULT_MODELS)})")
    p.add_argument("--shufflecl", default=os.path.join(REPO, "build", "shufflecl"),
                   help="the shufflecl tool (default: build/shufflecl)")
    p.add_argument("--shufflecl-lib", help="libshufflecl.so the timing worker calls (default: "
                                           "libshufflecl.so beside the tool)")
    p.add_argument("--device", help="shufflecl's device (default: the library's own default)")
    p.add_argument("--opencv-device", default=":CPU:",
                   help="OPENCV_OPENCL_DEVICE for the OpenCL worker (default ':CPU:', the PoCL CPU "
                        "device; use ':GPU:' on a GPU machine)")
    p.add_argument("--frameworks", default=",".join(FRAMEWORKS),
                   help=f"comma-separated subset of {','.join(FRAMEWORKS)} (shufflecl is the baseline "
                        "of the speed-ups)")
    p.add_argument("--rounds", type=int, help="fresh processes per framework and model (default 3, "
                                              "--quick 1)")
    p.add_argument("--seconds", type=float, help="timed seconds per batch size in each process "
                                                 "(default 1.0, --quick 0.3)")
    p.add_argument("--min-iters", type=int, help="timed runs per batch size at least (default 3, "
                                                 "--quick 2)")
    p.add_argument("--max-seconds", type=float, help="stop timing a batch size after this many "
                                                     "seconds once 2 runs are done (default 10, "
                                                     "--quick 4)")
    p.add_argument("--warmup", type=int, help="untimed runs per batch size after the first, fewer "
                                              "when a run takes longer than --seconds (default 2, "
                                              "--quick 1)")
    p.add_argument("--seed", type=int, default=0, help="weights and input seed (default 0)")
    p.add_argument("--cold", dest="cold", action="store_true", default=None,
                   help="measure first inference with empty kernel caches (default; not with --quick)")
    p.add_argument("--no-cold", dest="cold", action="store_false")
    p.add_argument("--no-tune", dest="tune", action="store_false",
                   help="skip `shufflecl tune MODEL` before measuring (default: tune, about 1-2 s "
                        "per model)")
    p.add_argument("--user-cache", action="store_true",
                   help="let shufflecl use the user's own cache directory (SHUFFLECL_CACHE_DIR or "
                        "~/.cache/shufflecl, with whatever tuning table it holds) instead of a fresh "
                        "one of this run's")
    p.add_argument("--wait-quiet", type=float, default=0, metavar="S",
                   help="before each timed process (and cold first inference), wait up to S seconds "
                        "for other processes to use under 10%% of the CPUs, and measure a process "
                        "again once if others used over 15%% during it (default 0: neither)")
    p.add_argument("--time-failed", action="store_true",
                   help="keep timing a framework whose logits check failed (its numbers are marked)")
    p.add_argument("--quick", action="store_true", help="one round, short timing, no cold first "
                                                        "inference (about 3 minutes on 2 quiet cores)")
    p.add_argument("--json", metavar="FILE", help="write every number measured as JSON")
    p.add_argument("--markdown", metavar="FILE", help="write the README's tables (Markdown)")
    p.add_argument("--markdown-from", metavar="JSON",
                   help="only print the Markdown tables of a saved --json FILE, and exit")
    p.add_argument("--venv", default=DEFAULT_VENV,
                   help="the virtual environment of the PyPI engines (default: %(default)s); "
                        "created, and the missing packages installed by pip, unless --no-install")
    p.add_argument("--no-install", dest="install", action="store_false",
                   help="install nothing (no pip into --venv, no apt-get for ncnn's Vulkan): an "
                        "engine that is missing is reported as unavailable")
    p.add_argument("--workdir", help="keep weights, ONNX, logits and logs here (default: a temporary "
                                     "directory, removed at the end)")
    a = p.parse_args(argv)
    if a.markdown_from:
        return a
    a.venv = os.path.abspath(os.path.expanduser(a.venv))
    a.models = a.models or DEFAULT_MODELS
    a.frameworks = [f.strip() for f in a.frameworks.split(",") if f.strip()]
    bad = [f for f in a.frameworks if f not in FRAMEWORKS]
    if bad:
        p.error(f"unknown framework(s): {', '.join(bad)}")
    a.frameworks = [f for f in FRAMEWORKS if f in a.frameworks]
    a.rounds = a.rounds or (1 if a.quick else 3)
    a.seconds = a.seconds if a.seconds is not None else (0.3 if a.quick else 1.0)
    a.min_iters = a.min_iters or (2 if a.quick else 3)
    a.warmup = a.warmup if a.warmup is not None else (1 if a.quick else 2)
    a.max_seconds = a.max_seconds if a.max_seconds is not None else (4.0 if a.quick else 10.0)
    a.cold = (not a.quick) if a.cold is None else a.cold
    if "shufflecl" in a.frameworks:
        a.shufflecl = os.path.abspath(a.shufflecl)
        if not os.access(a.shufflecl, os.X_OK):
            p.error(f"{a.shufflecl}: no shufflecl tool there (build it, or give --shufflecl)")
        a.shufflecl_lib = os.path.abspath(a.shufflecl_lib or os.path.join(
            os.path.dirname(a.shufflecl), "libshufflecl.so"))
        if not os.path.isfile(a.shufflecl_lib):
            p.error(f"{a.shufflecl_lib}: no shared library there (a static-only build? give "
                    "--shufflecl-lib)")
    sys.path.insert(0, REF_DIR)
    try:
        import shufflenet_ref
        unknown = [m for m in a.models if m not in shufflenet_ref.MODEL_NAMES]
    except ImportError as e:
        p.error(f"needs torch, torchvision and numpy ({e}); run with /usr/bin/python3")
    if unknown:
        p.error(f"unknown model(s): {', '.join(unknown)}")
    return a


def markdown_from(path):
    import json
    from .markdown import render
    try:
        with open(path) as f:
            doc = json.load(f)
        text = render(doc)
    except (OSError, ValueError, KeyError, TypeError) as e:
        print(f"bench/compare: {path}: not a bench/compare JSON document ({type(e).__name__}: {e})",
              file=sys.stderr)
        return 2
    sys.stdout.write(text)
    return 0


def main(argv=None):
    argv = sys.argv[1:] if argv is None else argv
    if len(argv) == 2 and argv[0] == "--worker":
        return worker_main(argv[1])
    if argv and argv[0] == "--venv-tool":
        from .venv_side import main as venv_main
        return venv_main(argv[1:])
    a = parse_args(argv)
    if a.markdown_from:
        return markdown_from(a.markdown_from)
    keep = a.workdir is not None
    a.workdir = os.path.abspath(a.workdir) if keep else tempfile.mkdtemp(prefix="shufflecl_compare_")
    os.makedirs(os.path.join(a.workdir, "runs"), exist_ok=True)
    started = datetime.datetime.now(datetime.timezone.utc)
    c = Compare(a)
    meter = CpuMeter()
    try:
        log(f"bench/compare: {' '.join(a.models)}; {', '.join(LABELS[f] for f in a.frameworks)}; "
            f"{a.rounds} round(s); work in {a.workdir}")
        phases = c.phase_s = {}

        def phase(key, text, fn):
            log(text)
            t0 = time.perf_counter()
            fn()
            phases[key] = time.perf_counter() - t0
            log(f"  [{phases[key]:.0f} s]")
        if any(fw in VENV_FRAMEWORKS for fw in a.frameworks):
            phase("engines", f"the PyPI engines' environment ({a.venv})...", c.setup_engines)
        phase("prepare", "preparing models (random weights, seed %d; ONNX, MNN, ncnn)..." % a.seed,
              c.prepare)
        if c.venv_py:
            phase("probe", "the PyPI engines' versions and backends...", c.probe_engines)
        if a.tune and "shufflecl" in a.frameworks:
            phase("tune", "shufflecl tune (batch 1) into shufflecl's cache...", c.phase_tune)
        if a.cold:
            phase("cold", "first inference with empty kernel caches (shufflecl, PoCL, OpenCV)...",
                  c.phase_cold)
        phase("prime", "shufflecl's logits, and filling the OpenCL kernel caches...", c.phase_prime)
        timing_meter = CpuMeter()
        phase("timing", "timing...", c.phase_time)
        timing_load = timing_meter.result()
        summary = c.summarize()
    finally:
        if not keep:
            shutil.rmtree(a.workdir, ignore_errors=True)
    total_load = meter.result()
    return report(c, a, argv, started, summary, timing_load, total_load)
