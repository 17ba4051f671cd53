"""clitest.py: what the tool's tests (test_layouts.py, test_onnx.py, test_cli_errors.py) share:
the tool from the environment, running it, judging its refusals (one error line, prefixed,
naming what it must) and counting the cases."""

import os
import subprocess

PREFIX = "shufflecl: error: "


def run_tool(tool, args):
    return subprocess.run([tool, *args], capture_output=True, text=True)


def check_error(proc, needles):
    """None when proc failed cleanly with one error line holding every needle."""
    print(f"       {proc.stderr.strip()[:400]}")
    if proc.returncode <= 0:
        return f"exit status {proc.returncode} (expected a failure)"
    lines = proc.stderr.strip().splitlines()
    if len(lines) != 1 or not lines[0].startswith(PREFIX):
        return f"stderr is not one '{PREFIX}' line: {proc.stderr!r}"
    missing = [n for n in needles if n not in lines[0]]
    return f"stderr lacks {missing}: {lines[0]!r}" if missing else None


def tool_from_env():
    """The shufflecl binary ctest passes in SCL_TOOL, or None (said)."""
    tool = os.environ.get("SCL_TOOL")
    if not tool:
        print("SCL_TOOL is not set (run through ctest)")
    return tool


class Report:
    """Each case's verdict: report(name, err, proc=None) prints `ok` (with proc's stderr when
    given) or `FAIL` and why, and counts; done() prints the totals and gives the exit status."""

    def __init__(self):
        self.passed = self.failed = 0

    def __call__(self, name, err, proc=None):
        if err:
            self.failed += 1
            print(f"FAIL {name}: {err}")
        else:
            self.passed += 1
            line = proc.stderr.strip() if proc is not None else ""
            print(f"ok   {name}{': ' + line if line else ''}")

    def done(self):
        print(f"{self.passed} passed, {self.failed} failed")
        return 0 if self.failed == 0 else 1
