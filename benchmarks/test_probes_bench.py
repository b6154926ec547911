"""pytest-benchmark suites for the AI probes: hashbench's GEMM path beside torch.matmul, and an LLM decode step.

Run: pytest benchmarks/test_probes_bench.py --benchmark-json=probes.json
The probes' own figures (the GEMM ratio to torch.matmul, the decode roofline fraction) go in extra_info; these
assert only that what was timed computed the right thing, never a speed (HASHBENCH_PROBE_DEVICE picks the device)."""

from __future__ import annotations

import os

import pytest

torch = pytest.importorskip("torch", reason="the AI probes need torch (pip install 'hashbench[ai]')")

from hashbench.energy import EnergyConfig, EnergyPlan  # noqa: E402
from hashbench.probes import ProbeSettings, run_probes  # noqa: E402
from hashbench.probes.device import resolve_device  # noqa: E402
from hashbench.probes.gemm import gemm_size, run_gemm  # noqa: E402

DEVICE = resolve_device(os.environ.get("HASHBENCH_PROBE_DEVICE") or None)
NO_ENERGY = EnergyPlan(EnergyConfig(mode="none"))


@pytest.mark.parametrize("dtype", DEVICE.native_dtypes())
def test_gemm_vs_torch_matmul(benchmark, dtype):
    n = gemm_size(DEVICE, quick=False)
    result = benchmark.pedantic(run_gemm, args=(DEVICE, dtype, n, 2.0, NO_ENERGY, 0.05), rounds=1, iterations=1)
    benchmark.extra_info.update(device=DEVICE.name, dtype=dtype, n=n, flops=result.value,
                                torch_matmul_flops=result.reference_value,
                                ratio_to_torch_matmul=result.reference_ratio)
    assert result.detail["max_relative_error"] < 0.05


def test_llm_decode_roofline(benchmark):
    settings = ProbeSettings(device=DEVICE.name, probes=("llm-decode",), seconds=2.0)
    run = benchmark.pedantic(run_probes, args=(settings, NO_ENERGY), rounds=1, iterations=1)
    decode = next(r for r in run.results if r.probe == "llm-decode")
    benchmark.extra_info.update(device=DEVICE.name, preset=decode.preset, tokens_per_s=decode.value,
                                ms_per_token=decode.ms_per_token, roofline_fraction=decode.roofline_fraction,
                                roofline_basis=decode.roofline_basis)
    assert decode.value > 0 and decode.roofline_fraction is not None
