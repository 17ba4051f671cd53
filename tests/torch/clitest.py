"""clitest.py: what the file-format tests (test_layouts.py, test_onnx.py) share to run the
shufflecl tool and judge its refusals: one error line, prefixed, naming what it must."""

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
