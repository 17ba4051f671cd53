"""The process runner of the parent side: a command run with its output to a log and its wall
time, the share of the machine other processes used meanwhile, and waiting for a quiet machine."""

import os
import subprocess
import time

from .common import WORKER_TIMEOUT


class CpuMeter:
    """Busy CPU time of the whole machine against this process and its children, to tell how much
    of the machine something else used while we measured."""

    def __init__(self):
        self.tck = os.sysconf("SC_CLK_TCK")
        self.ncpu = os.cpu_count() or 1
        self.t0, self.busy0, self.own0 = time.time(), self._busy(), self._own()
        self.load0 = os.getloadavg()

    def _busy(self):
        try:
            with open("/proc/stat") as f:
                v = [int(x) for x in f.readline().split()[1:]]
            # user nice system idle iowait irq softirq steal
            return (v[0] + v[1] + v[2] + v[5] + v[6] + (v[7] if len(v) > 7 else 0)) / self.tck
        except OSError:
            return None

    def _own(self):
        t = os.times()
        return t.user + t.system + t.children_user + t.children_system

    def result(self):
        wall = time.time() - self.t0
        busy = self._busy()
        out = {"wall_s": wall, "cpus": self.ncpu, "loadavg_start": self.load0,
               "loadavg_end": os.getloadavg()}
        if busy is not None and self.busy0 is not None and wall > 0:
            own = self._own() - self.own0
            other = max(0.0, (busy - self.busy0) - own)
            out["own_cpu_s"] = own
            out["other_cpu_s"] = other
            out["other_cpu_frac"] = other / (wall * self.ncpu)
        return out


LAST_RUN_OTHER_CPU = [None]   # share of the machine other processes used during the last run_cmd


def run_cmd(cmd, env, log_path, timeout=WORKER_TIMEOUT):
    """Runs a command with stdout and stderr to a log file; returns (rc, wall seconds)."""
    meter = CpuMeter()
    t0 = time.perf_counter()
    with open(log_path, "wb") as f:
        try:
            rc = subprocess.run(cmd, env=env, stdout=f, stderr=subprocess.STDOUT,
                                stdin=subprocess.DEVNULL, timeout=timeout).returncode
        except subprocess.TimeoutExpired:
            rc = 124
    wall = time.perf_counter() - t0
    LAST_RUN_OTHER_CPU[0] = meter.result().get("other_cpu_frac")
    return rc, wall


def wait_quiet(max_wait, threshold=0.10, window=0.5):
    """Waits (at most max_wait seconds) until other processes use less than `threshold` of the
    machine over `window` seconds. Returns the seconds waited."""
    t0 = time.time()
    while True:
        m = CpuMeter()
        time.sleep(window)
        frac = m.result().get("other_cpu_frac")
        if frac is None or frac < threshold or time.time() - t0 >= max_wait:
            return time.time() - t0


def tail(path, n=6):
    try:
        with open(path, errors="replace") as f:
            lines = [l.rstrip() for l in f if l.strip()]
        return " | ".join(lines[-n:])
    except OSError:
        return ""
