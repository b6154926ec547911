"""pytest-benchmark suites, one per backend (each C path separately), for regression tracking.

Run: pytest benchmarks/ --benchmark-json=bench.json   (HASHBENCH_BENCH_NONCES scales the work per round)
These time; they assert only correctness of what was timed, never a speed."""

from __future__ import annotations

import os

import pytest

from hashbench.backends import ScanJob, all_backends
from hashbench.backends.cython import CythonBackend
from hashbench.header import DIFF1_TARGET
from hashbench.samples import bench_header

NONCES = int(os.environ.get("HASHBENCH_BENCH_NONCES", 1 << 21))
PYTHON_NONCES = max(1, NONCES >> 6)


def _cases() -> list:
    cases = []
    for backend in all_backends():
        ok, why = backend.available()
        if not ok:
            cases.append(pytest.param(backend, None, id=backend.name, marks=pytest.mark.skip(reason=why)))
        elif isinstance(backend, CythonBackend):
            cases += [pytest.param(backend, impl, id=f"cython-{impl}") for impl in backend.impls()]
        else:
            cases.append(pytest.param(backend, None, id=backend.name))
    return cases


@pytest.mark.parametrize("backend, impl", _cases())
def test_scan_difficulty1(benchmark, backend, impl):
    job = ScanJob(bench_header(), DIFF1_TARGET)
    count = PYTHON_NONCES if backend.name == "python" else NONCES
    backend.warm_up(backend.resolve_impl(impl))
    result = benchmark.pedantic(backend.scan, args=(job, 0, count), kwargs={"impl": impl}, rounds=5,
                                warmup_rounds=1)
    benchmark.extra_info.update({"backend": backend.name, "impl": result.impl, "nonces": count,
                                 "hashrate": count / benchmark.stats.stats.median})
    assert result.hashes == count
