"""The three shapes an energy source comes in: a cumulative counter, a power reading, a declared wattage."""

from __future__ import annotations

from abc import ABC, abstractmethod

from .reading import CONSTANT, COUNTER, DECLARED, SAMPLED


class EnergySource:
    """What every source has; close() and window_flags() are optional hooks, so this base is not abstract: the
    shapes that must read something (CounterSource, PowerSource) are."""

    name: str = ""
    layer: str = ""
    method: str = ""
    detail: str = ""

    def close(self) -> None:
        """Release handles (NVML shutdown, sessions). Safe to call twice."""

    def window_flags(self, window_s: float) -> list[str]:
        """Warnings this source attaches to a window of that length."""
        return []


class CounterSource(EnergySource, ABC):
    """A cumulative energy counter (NVML total energy, RAPL energy_uj): the difference of two reads is the energy."""

    method = COUNTER
    # Polled this often during a window so every wraparound is seen (RAPL package counters wrap every few minutes).
    poll_interval_s: float = 1.0
    update_period_s: float | None = None
    # A read that went backwards in a way no wraparound explains (driver reload, counter restart) adds nothing and is
    # counted here, with why: the energy across it is unknown, so a window spanning one has no reading.
    resets: int = 0
    reset_why: str = ""

    @abstractmethod
    def read_joules(self) -> float:
        """Joules since an arbitrary origin, monotone as long as reads come at least once per wrap period."""


class PowerSource(EnergySource, ABC):
    """An instantaneous power reading, sampled on a background thread and integrated over time."""

    method = SAMPLED
    interval_s: float = 0.05

    @abstractmethod
    def read_watts(self) -> float:
        ...


class DeclaredSource(EnergySource):
    """A wattage the user stated (--watts or config): labelled declared, never presented as measured."""

    name = "declared"
    layer = DECLARED
    method = CONSTANT

    def __init__(self, watts: float, idle_watts: float | None = None) -> None:
        self.watts = watts
        self.idle_watts = idle_watts
        self.detail = f"declared {watts:g} W" + (f", idle {idle_watts:g} W" if idle_watts is not None else "")

    def window_flags(self, window_s: float) -> list[str]:
        return ["declared power, not measured"]


class _Summed:
    """Several sources of one layer read as one (every GPU a backend hashes on): the parts' sum, their details
    joined, each part's flags once, every part closed."""

    parts: list

    def _take(self, parts: list) -> None:
        self.parts = parts
        self.name, self.layer = parts[0].name, parts[0].layer
        self.detail = " + ".join(p.detail for p in parts)

    def window_flags(self, window_s: float) -> list[str]:
        return list(dict.fromkeys(f for p in self.parts for f in p.window_flags(window_s)))

    def close(self) -> None:
        for p in self.parts:
            p.close()


class SumCounterSource(_Summed, CounterSource):
    """Counters summed: the joules of every part."""

    def __init__(self, parts: list[CounterSource]) -> None:
        self._take(parts)
        self.poll_interval_s = min(p.poll_interval_s for p in parts)
        periods = [p.update_period_s for p in parts if p.update_period_s]
        self.update_period_s = max(periods) if periods else None

    def read_joules(self) -> float:
        return sum(p.read_joules() for p in self.parts)

    @property
    def resets(self) -> int:  # type: ignore[override]
        return sum(p.resets for p in self.parts)

    @property
    def reset_why(self) -> str:  # type: ignore[override]
        return "; ".join(p.reset_why for p in self.parts if p.reset_why)


class SumPowerSource(_Summed, PowerSource):
    """Power readings summed at each sample."""

    def __init__(self, parts: list[PowerSource]) -> None:
        self._take(parts)
        self.interval_s = max(p.interval_s for p in parts)

    def read_watts(self) -> float:
        return sum(p.read_watts() for p in self.parts)
