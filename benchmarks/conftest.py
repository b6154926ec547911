"""Stamp hashbench's host fingerprint into every pytest-benchmark JSON of this suite.

pytest-benchmark's own machine_info (py-cpuinfo) describes the CPU differently from `hashbench run`; with the
fingerprint embedded, CI's benchmark files and `hashbench run` results from the same machine land in the same
history series and pass `hashbench compare`'s same-machine check. Each benchmark also records what else the CPUs did
while it ran."""

from __future__ import annotations

import pytest


def pytest_benchmark_update_machine_info(config, machine_info):
    from hashbench.results.fingerprint import detect_fingerprint

    host = detect_fingerprint()
    machine_info["hashbench_host"] = host.to_json()
    machine_info["fingerprint"] = host.fingerprint


@pytest.fixture(autouse=True)
def _cpu_load(request):
    """Each benchmark's CPU load over its test, recorded as `hashbench run` records a window's (energy_reading's
    cpu_load in extra_info), so `hashbench compare` of two CI files says when one was measured while other work
    (another job on a shared runner) held the CPUs."""
    if "benchmark" not in request.fixturenames:
        yield
        return
    from hashbench.cpuload import CpuWatch

    benchmark = request.getfixturevalue("benchmark")
    with CpuWatch() as watch:
        yield
    if watch.load is not None:
        benchmark.extra_info["energy_reading"] = {"source": "none", "cpu_load": watch.load.to_json()}
