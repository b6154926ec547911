"""`hashbench run` as a real process, stopped by a signal once it has something to keep."""

from __future__ import annotations

import json
import subprocess
import sys
import time
from pathlib import Path


def run_until_first_benchmark(args: list[str], out: Path, timeout_s: float) -> subprocess.Popen:
    """Starts `python -m hashbench run ARGS` and returns once its result file `out` holds a benchmark (or after
    `timeout_s`), the process still running."""
    proc = subprocess.Popen([sys.executable, "-m", "hashbench", "run", *args], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        time.sleep(0.1)
        try:
            if json.loads(out.read_text())["benchmarks"]:
                break
        except (OSError, ValueError):
            pass
    return proc
