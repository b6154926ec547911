"""pytest-benchmark suites, one per backend (each C path separately), for regression tracking.

Run: pytest benchmarks/ --benchmark-json=bench.json   (HASHBENCH_BENCH_NONCES scales the work per round)
These time; they assert only correctness of what was timed (its range holds a real block's nonce, which must be
found), never a speed."""

from __future__ import annotations

import os

import pytest

from hashbench.backends import ScanJob, all_backends
from hashbench.backends.cython import CythonBackend
from hashbench.header import DIFF1_TARGET, NONCE_SPACE
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
    header = bench_header()
    job = ScanJob(header, DIFF1_TARGET)
    count = PYTHON_NONCES if backend.name == "python" else NONCES
    # The timed range holds the block's real nonce, whose hash meets the share target: a kernel that stops finding
    # shares fails here instead of timing well (the speed of a range does not depend on where it starts).
    start = min(max(header.nonce - count // 2, 0), NONCE_SPACE - count)
    backend.warm_up(backend.resolve_impl(impl))
    result = benchmark.pedantic(backend.scan, args=(job, start, count), kwargs={"impl": impl}, rounds=5,
                                warmup_rounds=1)
    benchmark.extra_info.update({"backend": backend.name, "impl": result.impl, "nonces": count})
    if benchmark.stats is not None:  # None under --benchmark-disable: the scan ran once, untimed
        benchmark.extra_info["hashrate"] = count / benchmark.stats.stats.median
    assert result.hashes == count
    assert header.nonce in [s.nonce for s in result.found]  # each one confirmed with hashlib by scan()
