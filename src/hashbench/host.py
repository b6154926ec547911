"""What machine a measurement was taken on."""

from __future__ import annotations

import os
import platform
import subprocess
import sys
from dataclasses import asdict, dataclass, field
from typing import NamedTuple

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
    cpu_id: str = ""

    def to_json(self) -> dict:
        return asdict(self)


class CpuInfo(NamedTuple):
    model: str
    flags: list[str]
    cpu_id: str  # family/model/stepping (x86) or implementer/part/revision (Arm); "" where the OS does not say


def cpu_id(*, vendor: str = "", family: object = None, model: object = None, stepping: object = None,
           implementer: str = "", part: str = "", variant: str = "", revision: object = None) -> str:
    """The CPU's identity below its marketing name, one spelling for /proc/cpuinfo and py-cpuinfo alike.

    A brand string is not enough to tell machines apart: cloud VMs report "AMD EPYC" for Zen 1 and Zen 5 alike, and
    Skylake and Cascade Lake Xeons differ only in stepping. "" when the family and model (or the Arm part) are not
    known, so a record without them keeps the fingerprint it always had."""
    def text(value: object) -> str:
        return "" if value is None or isinstance(value, bool) else str(value).strip()

    if text(family) and text(model):
        out = [text(vendor), f"family {text(family)}", f"model {text(model)}"]
        if text(stepping):
            out.append(f"stepping {text(stepping)}")
        return " ".join(p for p in out if p)
    if text(implementer) and text(part):
        rev = f"r{int(text(variant), 0)}p{text(revision)}" if text(variant) and text(revision) else ""
        return " ".join(p for p in (f"implementer {text(implementer)}", f"part {text(part)}", rev) if p)
    return ""


def _cpuinfo(path: str = "/proc/cpuinfo") -> CpuInfo:
    """The first CPU's entries in /proc/cpuinfo (x86 and Arm spell them differently)."""
    first: dict[str, str] = {}
    try:
        with open(path, encoding="utf-8", errors="replace") as fh:
            for line in fh:
                key, sep, value = line.partition(":")
                if sep:
                    first.setdefault(key.strip(), value.strip())
    except OSError:
        pass
    model = first.get("model name") or first.get("Model") or first.get("Hardware") or ""
    flags = (first.get("flags") or first.get("Features") or "").split()
    try:
        ident = cpu_id(vendor=first.get("vendor_id", ""), family=first.get("cpu family"), model=first.get("model"),
                       stepping=first.get("stepping"), implementer=first.get("CPU implementer", ""),
                       part=first.get("CPU part", ""), variant=first.get("CPU variant", ""),
                       revision=first.get("CPU revision"))
    except ValueError:  # a variant that is no number: say nothing rather than something wrong
        ident = ""
    return CpuInfo(model or _sysctl_brand() or platform.processor() or "unknown", flags, ident)


def _sysctl_brand() -> str:
    """The CPU's name where there is no /proc/cpuinfo (macOS: "Apple M3 Max"): platform.processor() says only "arm"
    there, which would give an M1 and an M3 of the same core count one fingerprint."""
    if platform.system() != "Darwin":
        return ""
    try:
        done = subprocess.run(["sysctl", "-n", "machdep.cpu.brand_string"], capture_output=True, text=True,
                              timeout=5, check=False)
    except (OSError, subprocess.TimeoutExpired):
        return ""
    return done.stdout.strip() if done.returncode == 0 else ""


def usable_cpus() -> int:
    try:
        return len(os.sched_getaffinity(0))
    except (AttributeError, OSError):
        return os.cpu_count() or 1


def detect_host() -> Host:
    from .backends import get_backend

    model, flags, ident = _cpuinfo()
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
        cpu_id=ident,
    )
