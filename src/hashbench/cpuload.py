"""Whether other work shared the CPUs while a measurement ran: Linux's per-CPU time accounting around the window.

A rate measured while other processes (or a hypervisor's other guests) held the CPUs is lower than what the machine
does alone, and nothing in the rate says so: on a 2-core Zen 5 machine where two other jobs kept the CPUs busy, a quick
run's fp32 GEMM probe read 16.8 GFLOP/s, and the prefill probe, whose short windows fell between the other jobs'
bursts, read 334 % of that "roof"; nothing printed said why.

Each measurement window records, as means over its wall time, in CPUs (1.0 = one CPU for the whole window):
  - others: CPUs busy with work that is not this process's: /proc/stat's busy time on the CPUs this process may run
    on, less this process's own CPU time (getrusage, all its threads);
  - steal: CPUs a hypervisor gave to other guests while this machine's virtual CPUs wanted to run;
  - idle: CPUs that ran nothing;
  - throttled: CPUs' worth of time this process's cgroup (a container's, a systemd unit's) was held off the CPUs for
    having spent its CPU quota (cpu.max, or cpu.cfs_quota_us on cgroup v1): a 4-core container limited to 1.5 CPUs
    measures 1.5 CPUs' speed, however idle the machine, and /proc/stat's idle time does not show it. The quota itself
    is recorded too (the tightest one on the way from this process's cgroup up to the root it can see).
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
PROC_CGROUP = Path("/proc/self/cgroup")
PROC_MOUNTINFO = Path("/proc/self/mountinfo")
# Flagged when other work averaged a quarter of a CPU or more while fewer than half a CPU stood idle (the
# scheduler had nowhere else to put it), or a hypervisor took a tenth of a CPU.
OTHERS_CPUS = 0.25
IDLE_CPUS = 0.5
STEAL_CPUS = 0.1
THROTTLED_CPUS = 0.1


@dataclass(frozen=True)
class Cgroup:
    """The CPU controller's directories for this process: its own cgroup first, then each parent up to the mount's
    root (a quota on any of them holds it back), and whether they are cgroup v2's files or v1's."""

    dirs: tuple[Path, ...]
    v2: bool

    @classmethod
    def find(cls, proc_cgroup: Path = PROC_CGROUP, mountinfo: Path = PROC_MOUNTINFO) -> Cgroup | None:
        """From /proc/self/cgroup (which cgroup, per hierarchy) and /proc/self/mountinfo (where each hierarchy is
        mounted, and which of its subtrees: a container sees its own cgroup as the mount's root)."""
        try:
            memberships = proc_cgroup.read_text().splitlines()
            mounts = mountinfo.read_text().splitlines()
        except OSError:
            return None
        paths: dict[str, str] = {}  # "cpu" for the v1 hierarchy holding the cpu controller, "" for v2
        for line in memberships:
            _, _, rest = line.partition(":")
            controllers, _, path = rest.partition(":")
            if controllers == "":
                paths[""] = path
            elif "cpu" in controllers.split(","):
                paths["cpu"] = path
        found: dict[str, tuple[Path, str]] = {}
        for line in mounts:
            before, sep, after = line.partition(" - ")  # ID PARENT MAJ:MIN ROOT MOUNTPOINT ... - TYPE SOURCE OPTIONS
            fields, tail = before.split(), after.split()
            if not sep or len(fields) < 5 or len(tail) < 3:
                continue
            root, mountpoint = fields[3], fields[4]
            fstype, options = tail[0], tail[2]
            if fstype == "cgroup2":
                found.setdefault("", (Path(mountpoint), root))
            elif fstype == "cgroup" and "cpu" in options.split(","):
                found.setdefault("cpu", (Path(mountpoint), root))
        kind = "cpu" if "cpu" in found and "cpu" in paths else "" if "" in found and "" in paths else None
        if kind is None:
            return None
        mountpoint, root = found[kind]
        path = paths[kind]
        if root != "/":  # only a subtree is mounted: the path below it, else (a namespace's "/") the mount itself
            path = path[len(root):] if path == root or path.startswith(root + "/") else "/"
        own = mountpoint / path.strip("/")  # the mount itself for "/" (a Path joined with "" is unchanged)
        if not own.is_dir():
            own = mountpoint
        dirs = [own]
        while dirs[-1] != mountpoint and mountpoint in dirs[-1].parents:
            dirs.append(dirs[-1].parent)
        return cls(tuple(dirs), kind == "")

    def throttled(self) -> tuple[float, ...]:
        """Seconds each directory's cgroup has been throttled (cpu.stat), 0.0 where it does not say."""
        key, scale = ("throttled_usec", 1e-6) if self.v2 else ("throttled_time", 1e-9)
        return tuple(_stat_field(d / "cpu.stat", key) * scale for d in self.dirs)

    def quota(self) -> float | None:
        """The tightest CPU quota on the way up, in CPUs; None when none is set (or none is readable)."""
        quotas = []
        for d in self.dirs:
            try:
                if self.v2:
                    limit, period = ((d / "cpu.max").read_text().split() + ["100000"])[:2]  # "max 100000"
                    if limit != "max":
                        quotas.append(int(limit) / int(period))
                else:
                    limit = int((d / "cpu.cfs_quota_us").read_text())
                    if limit > 0:
                        quotas.append(limit / int((d / "cpu.cfs_period_us").read_text()))
            except (OSError, ValueError, ZeroDivisionError):
                continue
        return min(quotas) if quotas else None


def _stat_field(path: Path, key: str) -> float:
    try:
        for line in path.read_text().splitlines():
            name, _, value = line.partition(" ")
            if name == key:
                return float(value)
    except (OSError, ValueError):
        pass
    return 0.0


@dataclass(frozen=True)
class CpuTimes:
    """Seconds since boot summed over the CPUs this process may run on, and this process's own CPU seconds."""

    cpus: int
    busy: float  # user, nice, system, irq, softirq (guest time is inside user)
    idle: float  # idle and iowait
    steal: float
    own: float
    throttled: tuple[float, ...] = ()  # seconds throttled, per cgroup directory (Cgroup.dirs)

    @classmethod
    def read(cls, proc_stat: Path = PROC_STAT, cpus: set[int] | None = None,
             cgroup: Cgroup | None = None) -> CpuTimes | None:
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
        return cls(seen, busy / tick, idle / tick, steal / tick, usage.ru_utime + usage.ru_stime,
                   cgroup.throttled() if cgroup else ())


@dataclass(frozen=True)
class CpuLoad:
    """What the CPUs did over one window, in mean CPUs; see the module's docstring."""

    cpus: int
    window_s: float
    others: float
    steal: float
    idle: float
    throttled: float = 0.0
    quota: float | None = None

    @classmethod
    def between(cls, start: CpuTimes, end: CpuTimes, window_s: float, quota: float | None = None) -> CpuLoad | None:
        """The load from two readings `window_s` apart; `quota` is the cgroup's (Cgroup.quota), read once."""
        if window_s <= 0 or start.cpus != end.cpus:
            return None
        others = (end.busy - start.busy) - (end.own - start.own)
        # The cgroup held back hardest (a parent's quota throttles every child, and shows in the parent's own file).
        throttled = max((b - a for a, b in zip(start.throttled, end.throttled, strict=True)), default=0.0)
        return cls(end.cpus, window_s, max(others, 0.0) / window_s, (end.steal - start.steal) / window_s,
                   (end.idle - start.idle) / window_s, max(throttled, 0.0) / window_s, quota)

    @classmethod
    def from_json(cls, data: dict) -> CpuLoad:
        """Back from to_json (records written before the cgroup figures were read have none: 0 and None)."""
        return cls(data["cpus"], data["window_s"], data["others_cpus"], data["steal_cpus"], data["idle_cpus"],
                   data.get("throttled_cpus", 0.0), data.get("quota_cpus"))

    # What makes a window shared, one property per cause; the notes name the causes that hold.
    @property
    def crowded(self) -> bool:
        return self.others >= OTHERS_CPUS and self.idle < IDLE_CPUS

    @property
    def stolen(self) -> bool:
        return self.steal >= STEAL_CPUS

    @property
    def held_back(self) -> bool:
        return self.throttled >= THROTTLED_CPUS

    @property
    def shared(self) -> bool:
        return self.crowded or self.stolen or self.held_back

    def note(self) -> str | None:
        """One line when the CPUs were shared during the window, else None."""
        if not self.shared:
            return None
        parts = []
        if self.crowded:
            parts.append(f"other work kept {self.others:.1f} of the {self.cpus} CPUs busy")
        if self.stolen:
            parts.append(f"the hypervisor gave {self.steal:.1f} of the {self.cpus} CPUs to other guests")
        if self.held_back:
            parts.append(f"its cgroup's CPU quota{_quota(self.quota)} held it off {self.throttled:.1f} CPUs")
        return (f"CPUs shared while it was measured: {' and '.join(parts)} (means over its {self.window_s:.2f} s); "
                "the figure may be below what this machine does alone")

    def to_json(self) -> dict:
        return {"cpus": self.cpus, "window_s": self.window_s, "others_cpus": round(self.others, 3),
                "steal_cpus": round(self.steal, 3), "idle_cpus": round(self.idle, 3),
                "throttled_cpus": round(self.throttled, 3),
                "quota_cpus": round(self.quota, 3) if self.quota is not None else None,
                "shared": self.shared, "note": self.note()}


def _quota(cpus: float | None) -> str:
    return f" of {cpus:g} CPUs" if cpus is not None else ""


class CpuWatch:
    """Context manager: the CPUs' load over the `with` block; `load` is None until it ends, or where there is no
    /proc/stat."""

    def __init__(self, proc_stat: Path = PROC_STAT, cgroup: Cgroup | None | bool = True) -> None:
        """`cgroup`: True to find this process's (Cgroup.find), or the one to read, or None for none."""
        self.proc_stat = proc_stat
        self.cgroup = Cgroup.find() if cgroup is True else cgroup or None
        self.load: CpuLoad | None = None
        self._start: CpuTimes | None = None
        self._t0 = 0.0

    def __enter__(self) -> Self:
        self._start = CpuTimes.read(self.proc_stat, cgroup=self.cgroup)
        self._t0 = time.monotonic()
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        window = time.monotonic() - self._t0
        end = CpuTimes.read(self.proc_stat, cgroup=self.cgroup) if self._start is not None else None
        quota = self.cgroup.quota() if self.cgroup else None
        self.load = CpuLoad.between(self._start, end, window, quota) if end is not None else None


def _span(values: list[float]) -> str:
    low, high = f"{min(values):.1f}", f"{max(values):.1f}"
    return low if low == high else f"{low}–{high}"


def shared_note(records: list[tuple[str, dict | None]], noun: str) -> str | None:
    """One line for the records (label, cpu_load JSON) measured on shared CPUs, or None when none was: which ones,
    and the spread of what else took the CPUs. `noun` names them all ("benches", "probes")."""
    # The verdict each record was written with; its figures, read back, say why.
    shared = [(label, CpuLoad.from_json(load)) for label, load in records if load and load.get("shared")]
    if not shared:
        return None
    measured = sum(1 for _, load in records if load)
    if len(shared) == measured > 1:
        names = f"all {measured} {noun} were"
    else:
        names = ", ".join(label for label, _ in shared) + (" were" if len(shared) > 1 else " was")
    loads = [load for _, load in shared]
    others = [load.others for load in loads if load.crowded]
    steal = [load.steal for load in loads if load.stolen]
    cpus = max(load.cpus for load in loads)
    parts = [f"other work kept {_span(others)} of the {cpus} CPUs busy"] if others else []
    if steal:
        parts.append(f"the hypervisor gave {_span(steal)} of them to other guests")
    throttled = [load.throttled for load in loads if load.held_back]
    if throttled:
        quotas = [load.quota for load in loads if load.quota is not None]
        parts.append(f"the cgroup's CPU quota{_quota(min(quotas) if quotas else None)} held it off "
                     f"{_span(throttled)} CPUs")
    return (f"CPUs shared while {names} measured: {' and '.join(parts)} (window means); "
            f"{'their figures' if len(shared) > 1 else 'its figure'} may be below what this machine does alone")
