"""The pytest-benchmark suite in benchmarks/ records each benchmark's CPU load (benchmarks/conftest.py), so that
`hashbench compare` of two CI benchmark files says when one was measured on CPUs other work shared."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

pytest.importorskip("pytest_benchmark", reason="the benchmark suite runs under pytest-benchmark")

from hashbench.results.pbjson import parse_result  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]


@pytest.mark.skipif(not Path("/proc/stat").exists(), reason="no /proc/stat (not Linux): no CPU load is recorded")
def test_each_benchmark_of_the_suite_carries_its_cpu_load_into_the_result(tmp_path):
    out = tmp_path / "bench.json"
    env = {**os.environ, "HASHBENCH_BENCH_NONCES": str(1 << 14)}
    done = subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "-k", "python",
                           str(ROOT / "benchmarks" / "test_sha256d_bench.py"), f"--benchmark-json={out}"],
                          cwd=ROOT, env=env, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-2000:]
    [m] = parse_result(json.loads(out.read_text()), str(out)).measurements
    load = m.cpu_load
    assert load is not None and load["window_s"] > 0 and load["cpus"] == len(os.sched_getaffinity(0))
    assert set(load) >= {"others_cpus", "steal_cpus", "idle_cpus", "shared", "note"}
