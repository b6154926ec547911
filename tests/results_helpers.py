"""Shared pieces of the results tests: a fake host, runs with chosen samples, the real CLI in this process."""

from __future__ import annotations

import io
import random
from contextlib import redirect_stderr, redirect_stdout
from dataclasses import replace

from hashbench.results.fingerprint import GpuInfo, HostFingerprint
from hashbench.results.schema import HASHRATE, Measurement, RunResult, measurement_from_bench, measurement_from_probe

HOST = HostFingerprint(hostname="ci-1", system="Linux 6.1", machine="x86_64", cpu_model="Test CPU 9000",
                       cpu_flags=("avx2", "sha_ni"), logical_cpus=2, usable_cpus=2, python="3.11.7",
                       hashbench="0.1.0", cpu_impls=("sha-ni", "avx2", "portable"),
                       gpus=(GpuInfo("NVIDIA H100 80GB HBM3", "580.65", 81559),),
                       packages={"hashbench": "0.1.0", "numpy": "2.1.0"}, git_commit="a" * 40, git_dirty=False,
                       git_branch="main", cpu_governor="performance", turbo=True)
OTHER_HOST = replace(HOST, cpu_model="Other CPU 1000", hostname="ci-2")


def noisy(center: float, n: int, seed: int, cv: float = 0.02) -> tuple[float, ...]:
    rng = random.Random(seed)
    return tuple(center * (1 + rng.gauss(0, cv)) for _ in range(n))


def hash_measurement(samples, impl: str = "avx2", threads: int = 1, energy_j: float | None = None) -> Measurement:
    data = {"backend": "cython", "impl": impl, "threads": threads, "samples": list(samples),
            "hashes": int(sum(samples) * 0.1), "seconds": 0.1 * len(samples)}
    if energy_j is not None:
        data.update(energy_j=energy_j, power_source="rapl")
    return measurement_from_bench(data)


def probe_records() -> list[dict]:
    return [
        {"probe": "llm-decode", "device": "cuda:0", "preset": "llama-3.1-8b", "dtype": "fp8", "batch": 64,
         "value": 5000.0, "unit": "tokens/s", "roofline_fraction": 0.41, "energy_j": 36000.0,
         "joules_per_unit": 0.12, "power_source": "nvml"},
        {"probe": "llm-prefill", "device": "cuda:0", "preset": "llama-3.1-8b", "dtype": "fp8", "batch": 64,
         "value": 50000.0, "unit": "tokens/s", "roofline_fraction": 0.6, "energy_j": 30000.0,
         "joules_per_unit": 0.010, "power_source": "nvml"},
        {"probe": "gemm", "device": "cuda:0", "preset": "", "dtype": "bf16", "batch": None, "value": 7e14,
         "unit": "FLOP/s", "roofline_fraction": 0.7, "energy_j": None, "joules_per_unit": None,
         "power_source": "nvml"},
    ]


def with_cpu_load(m: Measurement, load: float | dict | None) -> Measurement:
    """`m` as recorded with its window's CPU load: the cpu_load JSON given, or, for a number, a window on 2 CPUs in
    which other work kept that many busy (0: measured alone, an idle CPU beside it)."""
    if isinstance(load, int | float):
        from hashbench.cpuload import CpuLoad

        load = CpuLoad(2, 3.0, load, 0.0, 0.1 if load else 1.0).to_json()
    return replace(m, extra={**m.extra, "energy_reading": {"source": "none", "cpu_load": load}})


def make_run(measurements: list[Measurement] | None = None, *, host: HostFingerprint = HOST,
             started: str = "2025-11-20T10:00:00+00:00", probes: bool = False, **kwargs) -> RunResult:
    ms = list(measurements) if measurements is not None else [
        hash_measurement(noisy(2.0e7, 12, 1), energy_j=3.0),
        hash_measurement(noisy(4.0e6, 12, 2), impl="portable"),
        hash_measurement(noisy(3.9e7, 12, 3), threads=2)]
    if probes:
        ms += [measurement_from_probe(p) for p in probe_records()]
    return RunResult(host=host, started=started, measurements=ms, finished=started, complete=True, **kwargs)


def rate(name: str, samples) -> Measurement:
    return Measurement(name=name, kind=HASHRATE, unit="H/s", samples=tuple(samples))


def run_cli(*args: str) -> tuple[int, str, str]:
    """`hashbench ARGS` in this process through the real entry point: (exit code, stdout, stderr)."""
    from hashbench.cli import main

    out, err = io.StringIO(), io.StringIO()
    with redirect_stdout(out), redirect_stderr(err):
        try:
            main(list(args))
            code = 0
        except SystemExit as exc:
            code = exc.code if isinstance(exc.code, int) else 0
    return code, out.getvalue(), err.getvalue()

