"""Whether other work shared the CPUs while a measurement ran: Linux's per-CPU time accounting around the window.

A rate measured while other processes (or a hypervisor's other guests) held the CPUs is lower than what the machine
does alone, and nothing in the rate says so: on a 2-core Zen 5 machine where two other jobs kept the CPUs busy, a quick
run's fp32 GEMM probe read 16.8 GFLOP/s, and the prefill probe, whose short windows fell between the other jobs'
bursts, read 334 % of that "roof"; nothing printed said why.

Each measurement window records, as means over its wall time, in CPUs (1.0 = one CPU for the whole window):
  - others: CPUs busy with work that is not this process's: /proc/stat's busy time on the CPUs this process may run
    on, less this process's own CPU time (getrusage, all its threads);
  - steal: CPUs a hypervisor gave to other guests while this machine's virtual CPUs wanted to run;
  - idle: CPUs that ran nothing.
/proc/stat counts in clock ticks (10 ms on most kernels), so a short window's figures are coarse. Where there is no
/proc/stat (not Linux) nothing is recorded: None, never a guess.
"""

from __future__ import annotations

import os
import resource
import time
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType
from typing import Self

PROC_STAT = Path("/proc/stat")
# Flagged when other work averaged a quarter of a CPU or more while fewer than half a CPU stood idle (the
# scheduler had nowhere else to put it), or a hypervisor took a tenth of a CPU.
OTHERS_CPUS = 0.25
IDLE_CPUS = 0.5
STEAL_CPUS = 0.1


@dataclass(frozen=True)
class CpuTimes:
    """Seconds since boot summed over the CPUs this process may run on, and this process's own CPU seconds."""

    cpus: int
    busy: float  # user, nice, system, irq, softirq (guest time is inside user)
    idle: float  # idle and iowait
    steal: float
    own: float

    @classmethod
    def read(cls, proc_stat: Path = PROC_STAT, cpus: set[int] | None = None) -> CpuTimes | None:
        try:
            text = proc_stat.read_text()
        except OSError:
            return None
        if cpus is None:
            cpus = os.sched_getaffinity(0) if hasattr(os, "sched_getaffinity") else None
        tick = os.sysconf("SC_CLK_TCK") if hasattr(os, "sysconf") else 100
        busy = idle = steal = 0
        seen = 0
        for line in text.splitlines():
            name, _, rest = line.partition(" ")
            if not (name.startswith("cpu") and name[3:].isdigit()) or (cpus is not None and int(name[3:]) not in cpus):
                continue
            fields = [int(f) for f in rest.split()] + [0] * 8  # older kernels print fewer columns
            user, nice, system, idle_t, iowait, irq, softirq, steal_t = fields[:8]
            busy += user + nice + system + irq + softirq
            idle += idle_t + iowait
            steal += steal_t
            seen += 1
        if not seen:
            return None
        usage = resource.getrusage(resource.RUSAGE_SELF)
        return cls(seen, busy / tick, idle / tick, steal / tick, usage.ru_utime + usage.ru_stime)


@dataclass(frozen=True)
class CpuLoad:
    """What the CPUs did over one window, in mean CPUs; see the module's docstring."""

    cpus: int
    window_s: float
    others: float
    steal: float
    idle: float

    @classmethod
    def between(cls, start: CpuTimes, end: CpuTimes, window_s: float) -> CpuLoad | None:
        if window_s <= 0 or start.cpus != end.cpus:
            return None
        others = (end.busy - start.busy) - (end.own - start.own)
        return cls(end.cpus, window_s, max(others, 0.0) / window_s, (end.steal - start.steal) / window_s,
                   (end.idle - start.idle) / window_s)

    @property
    def shared(self) -> bool:
        return self.steal >= STEAL_CPUS or (self.others >= OTHERS_CPUS and self.idle < IDLE_CPUS)

    def note(self) -> str | None:
        """One line when the CPUs were shared during the window, else None."""
        if not self.shared:
            return None
        parts = []
        if self.others >= OTHERS_CPUS and self.idle < IDLE_CPUS:
            parts.append(f"other work kept {self.others:.1f} of the {self.cpus} CPUs busy")
        if self.steal >= STEAL_CPUS:
            parts.append(f"the hypervisor gave {self.steal:.1f} of the {self.cpus} CPUs to other guests")
        return (f"CPUs shared while it was measured: {' and '.join(parts)} (means over its {self.window_s:.2f} s); "
                "the figure may be below what this machine does alone")

    def to_json(self) -> dict:
        return {"cpus": self.cpus, "window_s": self.window_s, "others_cpus": round(self.others, 3),
                "steal_cpus": round(self.steal, 3), "idle_cpus": round(self.idle, 3), "shared": self.shared,
                "note": self.note()}


class CpuWatch:
    """Context manager: the CPUs' load over the `with` block; `load` is None until it ends, or where there is no
    /proc/stat."""

    def __init__(self, proc_stat: Path = PROC_STAT) -> None:
        self.proc_stat = proc_stat
        self.load: CpuLoad | None = None
        self._start: CpuTimes | None = None
        self._t0 = 0.0

    def __enter__(self) -> Self:
        self._start = CpuTimes.read(self.proc_stat)
        self._t0 = time.monotonic()
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        window = time.monotonic() - self._t0
        end = CpuTimes.read(self.proc_stat) if self._start is not None else None
        self.load = CpuLoad.between(self._start, end, window) if end is not None else None


def _span(values: list[float]) -> str:
    low, high = f"{min(values):.1f}", f"{max(values):.1f}"
    return low if low == high else f"{low}–{high}"


def shared_note(records: list[tuple[str, dict | None]], noun: str) -> str | None:
    """One line for the records (label, cpu_load JSON) measured on shared CPUs, or None when none was: which ones,
    and the spread of what else took the CPUs. `noun` names them all ("benches", "probes")."""
    shared = [(label, load) for label, load in records if load and load.get("shared")]
    if not shared:
        return None
    measured = sum(1 for _, load in records if load)
    if len(shared) == measured > 1:
        names = f"all {measured} {noun} were"
    else:
        names = ", ".join(label for label, _ in shared) + (" were" if len(shared) > 1 else " was")
    others = [load["others_cpus"] for _, load in shared
              if load["others_cpus"] >= OTHERS_CPUS and load["idle_cpus"] < IDLE_CPUS]
    steal = [load["steal_cpus"] for _, load in shared if load["steal_cpus"] >= STEAL_CPUS]
    cpus = max(load["cpus"] for _, load in shared)
    parts = [f"other work kept {_span(others)} of the {cpus} CPUs busy"] if others else []
    if steal:
        parts.append(f"the hypervisor gave {_span(steal)} of them to other guests")
    return (f"CPUs shared while {names} measured: {' and '.join(parts)} (window means); "
            f"{'their figures' if len(shared) > 1 else 'its figure'} may be below what this machine does alone")
