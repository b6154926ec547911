"""One probe's measurement: the rate, the work done inside the energy window, the energy, the roofline."""

from __future__ import annotations

import statistics
from dataclasses import dataclass, field

from ..energy import EnergyReading

Scalar = float | int | str | None


@dataclass
class ProbeResult:
    probe: str  # gemm | membw | llm-prefill | llm-decode
    device: str
    preset: str
    dtype: str | None
    batch: int | None
    unit: str  # FLOP/s | B/s | tokens/s
    samples: list[float]  # the rate of each timed repetition; value is their median
    work: float  # units of `per` done inside the energy window (TFLOP, GB, tokens)
    per: str  # what joules_per_unit is per: "TFLOP", "GB", "token"
    seconds: float  # timed seconds inside the energy window
    energy: EnergyReading
    impl: str = ""
    reference_samples: list[float] = field(default_factory=list)  # gemm: torch.matmul, timed alongside
    reference_impl: str = ""
    roofline_fraction: float | None = None
    roofline_basis: str = ""
    # llm-decode: the median step's time, which makes one token for each sequence of the batch (each sequence's
    # ms/token; batch × 1000 ÷ it is tokens/s). llm-prefill: the median prefill's time ÷ its batch × prompt tokens.
    ms_per_token: float | None = None
    detail: dict[str, Scalar] = field(default_factory=dict)  # shapes and derived figures (flop_per_s, bytes...)
    flags: list[str] = field(default_factory=list)

    @property
    def value(self) -> float:
        return statistics.median(self.samples)

    @property
    def reference_value(self) -> float | None:
        return statistics.median(self.reference_samples) if self.reference_samples else None

    @property
    def reference_ratio(self) -> float | None:
        """value ÷ reference as the median of per-pair ratios: each pair of blocks ran back to back, so a neighbour's
        load on a shared machine slows both sides of a pair alike and cancels, where it would not between medians."""
        if not self.reference_samples:
            return None
        if len(self.reference_samples) != len(self.samples):
            return self.value / statistics.median(self.reference_samples)
        return statistics.median(a / b for a, b in zip(self.samples, self.reference_samples, strict=True))

    @property
    def joules_per_unit(self) -> float | None:
        return self.energy.per_unit(self.work)

    @property
    def label(self) -> str:
        parts = [self.probe, self.preset, self.dtype or ""]
        if self.batch is not None:
            parts.append(f"batch {self.batch}")
        return " ".join(p for p in parts if p) + f" on {self.device}"

    def to_json(self) -> dict:
        ref = self.reference_value
        return {
            "probe": self.probe,
            "device": self.device,
            "preset": self.preset,
            "dtype": self.dtype,
            "batch": self.batch,
            "value": self.value,
            "unit": self.unit,
            "roofline_fraction": self.roofline_fraction,
            "roofline_basis": self.roofline_basis,
            "energy_j": self.energy.joules_gross,
            "energy_j_net": self.energy.joules_net,
            "joules_per_unit": self.joules_per_unit,
            "joules_per_unit_net": self.energy.per_unit(self.work, net=True),
            "per": self.per,
            "work": self.work,
            "power_source": self.energy.label,
            "impl": self.impl,
            "reference_value": ref,
            "reference_impl": self.reference_impl or None,
            "reference_ratio": self.reference_ratio,
            "ms_per_token": self.ms_per_token,
            "seconds": self.seconds,
            "samples": self.samples,
            "value_min": min(self.samples),
            "value_max": max(self.samples),
            "energy": self.energy.to_json(),
            "detail": self.detail,
            "flags": self.flags,
        }
