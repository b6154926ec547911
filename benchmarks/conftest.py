"""Stamp hashbench's host fingerprint into every pytest-benchmark JSON of this suite.

pytest-benchmark's own machine_info (py-cpuinfo) describes the CPU differently from `hashbench run`; with the
fingerprint embedded, CI's benchmark files and `hashbench run` results from the same machine land in the same
history series and pass `hashbench compare`'s same-machine check."""

from __future__ import annotations


def pytest_benchmark_update_machine_info(config, machine_info):
    from hashbench.results.fingerprint import detect_fingerprint

    host = detect_fingerprint()
    machine_info["hashbench_host"] = host.to_json()
    machine_info["fingerprint"] = host.fingerprint
