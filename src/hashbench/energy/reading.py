"""What an energy window measured, labelled with where the number came from."""

from __future__ import annotations

from dataclasses import dataclass, field

from ..cpuload import CpuLoad
from ..errors import HashbenchError

# Layers, from the smallest part of the machine to the whole of it: a GPU-board joule is not a node joule.
GPU_BOARD = "gpu board"
CPU_PACKAGE = "cpu package"
NODE = "node"
DECLARED = "declared"
NO_LAYER = "none"

COUNTER = "energy counter"
SAMPLED = "sampled power"
CONSTANT = "declared constant"


class EnergyUnavailable(HashbenchError):
    """An energy source that was asked for by name cannot be read here."""

    exit_code = 2


@dataclass(frozen=True)
class IdlePower:
    """Power drawn with no workload, measured with the same source just before the workload."""

    watts: float
    seconds: float
    samples: int
    source: str


@dataclass(frozen=True)
class EnergyReading:
    """Joules over one window: gross, and net of the idle power measured before it.

    `joules_gross` is None only for source "none": hashbench never invents a number."""

    source: str  # nvml | rapl | ipmi | redfish | declared | none
    layer: str  # gpu board | cpu package | node | declared | none
    method: str  # energy counter | sampled power | declared constant | ""
    window_s: float
    joules_gross: float | None
    idle_watts: float | None = None
    idle_seconds: float | None = None
    samples: int | None = None  # counter reads or power samples taken in the window
    update_period_s: float | None = None  # how often the counter moves (counters) or the sampling interval achieved
    detail: str = ""  # which device/domains/URL, or why there is no reading
    flags: tuple[str, ...] = field(default=())
    # What else the CPUs did over the same window (None where Linux's accounting is not readable); its note, when
    # other work shared them, is printed beside the figure: the rate, not the joules, is what it puts in doubt.
    cpu_load: CpuLoad | None = None

    @property
    def joules_net(self) -> float | None:
        """Gross less idle power × the workload's window. None when that is below zero: the workload's own joules
        are then lost in the baseline's noise or drift, and a negative J/TH or J/token is no measurement (the
        meter flags it; gross, idle watts and window stay in the record)."""
        if self.joules_gross is None or self.idle_watts is None:
            return None
        net = self.joules_gross - self.idle_watts * self.window_s
        return net if net >= 0 else None

    @property
    def watts(self) -> float | None:
        """Mean gross power over the window."""
        if self.joules_gross is None or self.window_s <= 0:
            return None
        return self.joules_gross / self.window_s

    @property
    def label(self) -> str:
        """Short provenance for tables and result files: "rapl (cpu package)", "declared 65 W", "none"."""
        if self.source == "none":
            return "none"
        if self.source == "declared":
            return f"declared {self.watts:g} W" if self.watts is not None else "declared"
        return f"{self.source} ({self.layer})"

    def per_unit(self, units: float, net: bool = False) -> float | None:
        """Joules per unit of work done inside the window (J/token, J/TFLOP, J/TH...)."""
        joules = self.joules_net if net else self.joules_gross
        if joules is None or not units > 0:
            return None
        return joules / units

    def to_json(self) -> dict:
        return {
            "source": self.source,
            "layer": self.layer,
            "method": self.method,
            "label": self.label,
            "provenance": None if self.source == "none" else DECLARED if self.source == "declared" else "measured",
            "joules": self.joules_gross,  # gross: the key result readers (runfile) look for first
            "joules_gross": self.joules_gross,
            "joules_net": self.joules_net,
            "idle_watts": self.idle_watts,
            "idle_seconds": self.idle_seconds,
            "watts": self.watts,
            "window_s": self.window_s,
            "samples": self.samples,
            "update_period_s": self.update_period_s,
            "detail": self.detail,
            "flags": list(self.flags),
            "cpu_load": self.cpu_load.to_json() if self.cpu_load else None,
        }


def no_reading(window_s: float, why: str, cpu_load: CpuLoad | None = None) -> EnergyReading:
    return EnergyReading(source="none", layer=NO_LAYER, method="", window_s=window_s, joules_gross=None, detail=why,
                         cpu_load=cpu_load)
