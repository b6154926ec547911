"""GEMM: hashbench's matmul path beside torch.matmul, same shapes, same process, timed in alternation.

hashbench's path is the one its LLM probes run: weights stored [out, in] (the nn.Linear / checkpoint layout) and
multiplied transposed into an output buffer allocated once, `torch.mm(a, w.t(), out=c)` — no allocation per call,
no copy of the weight. The reference is what a user writes, `torch.matmul(a, b)` with b already [in, out]. Blocks of
the two alternate (ABBA...) so both see the same clocks, temperature and neighbours on a shared machine.
"""

from __future__ import annotations

from ..energy import EnergyPlan
from .device import Device, calibrate, repeat, require_torch, timed, torch_dtype
from .result import ProbeResult

IMPL = "mm-out (x·Wᵀ into a preallocated buffer)"
REFERENCE = "torch.matmul"
_TOLERANCE = {"fp32": 1e-3, "bf16": 5e-2, "fp16": 1e-2}


def gemm_size(device: Device, quick: bool) -> int:
    if device.is_cuda:
        return 4096 if quick else 8192
    return 512 if quick else 1024


def run_gemm(device: Device, dtype: str, n: int, seconds: float, energy: EnergyPlan, block_s: float) -> ProbeResult:
    torch = require_torch()
    dt = torch_dtype(dtype)
    gen = torch.Generator(device=device.torch_device).manual_seed(0)
    # Scaled so outputs stay near 1: fp16 cannot overflow and no denormals slow a CPU down.
    a = torch.randn(n, n, generator=gen, device=device.torch_device).to(dt)
    w = (torch.randn(n, n, generator=gen, device=device.torch_device) / n ** 0.5).to(dt)  # [out, in]
    b = w.t().contiguous()  # [in, out] for torch.matmul
    c = torch.empty(n, n, dtype=dt, device=device.torch_device)

    def own() -> None:
        torch.mm(a, w.t(), out=c)

    def ref() -> object:
        return torch.matmul(a, b)  # allocates its output each call, as user code does

    with torch.inference_mode():
        own()
        # The path must compute the same product it is compared with, or the ratio means nothing.
        expect = ref().float()
        err = ((c.float() - expect).abs().max() / expect.abs().max()).item()
        if err > _TOLERANCE[dtype]:
            raise RuntimeError(f"gemm {dtype}: hashbench's path differs from torch.matmul (relative error {err:.2g})")
        inner = calibrate(own, device, block_s)
        flop = 2.0 * n ** 3 * inner
        own_rates: list[float] = []
        ref_rates: list[float] = []
        elapsed = 0.0
        with energy.meter(device.name) as meter:
            while elapsed < seconds or len(own_rates) < 3:
                order = ((own, own_rates), (ref, ref_rates))
                for fn, rates in order if len(own_rates) % 2 == 0 else reversed(order):
                    t = timed(repeat(fn, inner), device)
                    rates.append(flop / t)
                    elapsed += t
    reps = len(own_rates) + len(ref_rates)
    return ProbeResult(
        probe="gemm", device=device.name, preset=f"{n}x{n}x{n}", dtype=dtype, batch=None, unit="FLOP/s",
        samples=own_rates, reference_samples=ref_rates, impl=IMPL, reference_impl=REFERENCE,
        # Both paths ran inside the window, so the joules cover the FLOPs of both.
        work=flop * reps / 1e12, per="TFLOP", seconds=elapsed, energy=meter.reading(),
        detail={"m": n, "n": n, "k": n, "calls_per_block": inner, "max_relative_error": err,
                "energy_scope": "hashbench path and torch.matmul blocks, alternating",
                # fp32 on a GPU is true fp32 unless TF32 is allowed; say which was measured.
                "allow_tf32": tf32_matmul(torch) if device.is_cuda else None})


def tf32_matmul(torch: object) -> bool:
    """Whether cuBLAS may run fp32 matmuls in TF32. torch 2.9 added torch.backends.cuda.matmul.fp32_precision; once
    anything sets TF32 through it (or torch.backends.fp32_precision), reading the old allow_tf32 raises RuntimeError
    ("mix of the legacy and new APIs"): after the whole measurement, losing it. The new setting reads either way."""
    matmul = torch.backends.cuda.matmul
    precision = getattr(matmul, "fp32_precision", None)
    if precision is not None:
        return precision == "tf32"
    return bool(matmul.allow_tf32)
