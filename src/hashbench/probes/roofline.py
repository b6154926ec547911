"""How close each probe came to its roof, using roofs measured on the same device in the same run.

gemm and llm-prefill are compute-bound: FLOP/s ÷ the best GEMM rate measured on the device (same precision when it
was measured). llm-decode is bandwidth-bound: the bytes a step must move (every weight once, the KV cache read)
at the measured copy bandwidth give the shortest possible step; the fraction is that ÷ the measured step.
membw (the copy) is compared with the device's nominal peak where NVML knows it, else with the better of the copy
and the read-only stream measured beside it; the decode roof is that better stream too."""

from __future__ import annotations

from collections.abc import Mapping

from ..units import format_si
from .result import ProbeResult


def best_gemm(results: list[ProbeResult]) -> dict[tuple[str, str | None], tuple[float, str]]:
    """(device, dtype) -> (best FLOP/s from hashbench's path or torch.matmul, which one)."""
    best: dict[tuple[str, str | None], tuple[float, str]] = {}
    for r in results:
        if r.probe != "gemm":
            continue
        for rate, impl in ((r.value, r.impl), (r.reference_value, r.reference_impl)):
            key = (r.device, r.dtype)
            if rate and rate > best.get(key, (0.0, ""))[0]:
                best[key] = (rate, f"{impl} {r.preset}")
    return best


def apply_rooflines(results: list[ProbeResult],
                    nominal_bandwidth: Mapping[str, tuple[float, str]] | None = None) -> None:
    """Sets roofline_fraction and roofline_basis on every result (None with the reason where no roof was measured)."""
    nominal_bandwidth = nominal_bandwidth or {}
    gemm_roof = best_gemm(results)
    bandwidth: dict[str, tuple[float, str]] = {}  # device -> (best B/s, which stream)
    for r in results:
        if r.probe != "membw":
            continue
        for rate, impl in ((r.value, "copy"), (r.reference_value, "read-only")):
            if rate and rate > bandwidth.get(r.device, (0.0, ""))[0]:
                bandwidth[r.device] = (rate, impl)
    for r in results:
        if r.probe in ("gemm", "llm-prefill"):
            rate = r.value if r.probe == "gemm" else float(r.detail["flop_per_s"])
            roof = gemm_roof.get((r.device, r.dtype))
            precision = r.dtype
            if roof is None:  # no GEMM in this precision: the best of any precision, said so
                same_device = [(v, k[1]) for k, v in gemm_roof.items() if k[0] == r.device]
                if same_device:
                    roof, precision = max(same_device)
            if roof is None:
                r.roofline_basis = f"no GEMM measured on {r.device}"
                continue
            r.roofline_fraction = rate / roof[0]
            r.roofline_basis = (f"{format_si(rate, 'FLOP/s')} ÷ best {precision} GEMM measured on {r.device}: "
                                f"{format_si(roof[0], 'FLOP/s')} ({roof[1]})")
            if r.probe == "llm-prefill" and r.roofline_fraction > 1:
                # A compute roof no cache raises: the GEMM that set it ran below what this device does (other work
                # on its CPUs, a shape it runs less well), so the fraction says little.
                r.flags.append(f"above its roof ({r.roofline_fraction:.0%}): the best {precision} GEMM measured here "
                               f"({format_si(roof[0], 'FLOP/s')}) ran below what this prefill reached, so that GEMM "
                               "measured less than the device does (CPUs shared while it ran?): the fraction says "
                               "little")
        elif r.probe == "llm-decode":
            if r.device not in bandwidth:
                r.roofline_basis = f"no memory bandwidth measured on {r.device}"
                continue
            bw, stream = bandwidth[r.device]
            per_step = float(r.detail["bytes_per_step"])
            ideal_ms = per_step / bw * 1e3
            r.roofline_fraction = float(r.detail["bytes_per_s"]) / bw
            r.roofline_basis = (f"(weights + KV cache read) {per_step / 1e6:.1f} MB per step ÷ measured {stream} "
                                f"{format_si(bw, 'B/s')} = {ideal_ms:.3f} ms ideal vs {r.ms_per_token:.3f} ms measured")
        elif r.probe == "membw":
            nominal = nominal_bandwidth.get(r.device)
            if nominal:
                r.roofline_fraction = r.value / nominal[0]
                r.roofline_basis = nominal[1]
            else:
                best, stream = bandwidth[r.device]
                r.roofline_fraction = r.value / best
                r.roofline_basis = (f"copy ÷ the best stream measured here ({stream} {format_si(best, 'B/s')}); no "
                                    "nominal peak known for this device")
