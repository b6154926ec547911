"""What machine a measurement was taken on."""

from __future__ import annotations

import os
import platform
import sys
from dataclasses import asdict, dataclass, field

from . import __version__

# The CPU flags that decide which kernels can run (the rest of /proc/cpuinfo's list is noise here).
RELEVANT_FLAGS = ("sse4_1", "ssse3", "sha_ni", "avx", "avx2", "avx512f", "avx512vl", "avx512bw", "bmi2", "asimd",
                  "sha2")


@dataclass(frozen=True)
class Host:
    hostname: str
    system: str
    machine: str
    cpu_model: str
    cpu_flags: list[str]
    logical_cpus: int
    usable_cpus: int
    python: str
    hashbench: str
    cpu_impls: list[str] = field(default_factory=list)

    def to_json(self) -> dict:
        return asdict(self)


def _cpuinfo() -> tuple[str, list[str]]:
    model, flags = "", []
    try:
        with open("/proc/cpuinfo", encoding="utf-8", errors="replace") as fh:
            for line in fh:
                key, _, value = line.partition(":")
                key = key.strip()
                if key in ("model name", "Model", "Hardware") and not model:
                    model = value.strip()
                elif key in ("flags", "Features") and not flags:
                    flags = value.split()
    except OSError:
        pass
    return model or platform.processor() or "unknown", flags


def usable_cpus() -> int:
    try:
        return len(os.sched_getaffinity(0))
    except (AttributeError, OSError):
        return os.cpu_count() or 1


def detect_host() -> Host:
    from .backends import get_backend

    model, flags = _cpuinfo()
    cython = get_backend("cython", require_available=False)
    return Host(
        hostname=platform.node(),
        system=f"{platform.system()} {platform.release()}",
        machine=platform.machine(),
        cpu_model=model,
        cpu_flags=[f for f in RELEVANT_FLAGS if f in flags],
        logical_cpus=os.cpu_count() or 1,
        usable_cpus=usable_cpus(),
        python=sys.version.split()[0],
        hashbench=__version__,
        cpu_impls=cython.impls() if cython.available()[0] else [],
    )
