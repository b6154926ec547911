"""The machine a result was measured on: the parts that decide speed, and the conditions worth a warning.

Two results may be compared only when their *fingerprint* matches: the same CPU model (and, where recorded, its
family, model and stepping numbers), the kernel-relevant CPU flags, the logical CPU count, the architecture and the
GPU models. Hostnames are left out on purpose (CI runners on identical hardware get new names every job) and so are
software versions (comparing those is the point). Conditions that change speed without changing the machine (CPU
governor, turbo, GPU driver, Python and package versions) are recorded and reported as differences, not refused."""

from __future__ import annotations

import hashlib
import json
import subprocess
from dataclasses import dataclass, field, fields, replace
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path

# Packages whose versions can move a measurement (kernels, JIT, GPU stack, the CLI itself).
TRACKED_PACKAGES = ("hashbench", "numpy", "numba", "llvmlite", "cuda-core", "cuda-bindings", "nvidia-cuda-nvrtc",
                    "pycuda", "torch", "click", "rich")
GIT_TIMEOUT_S = 5.0
NVIDIA_SMI_TIMEOUT_S = 10.0


@dataclass(frozen=True)
class GpuInfo:
    model: str
    driver: str = ""
    memory_mib: int | None = None

    def to_json(self) -> dict:
        return {"model": self.model, "driver": self.driver, "memory_mib": self.memory_mib}

    @classmethod
    def from_json(cls, data: dict) -> GpuInfo:
        return cls(str(data.get("model", "")), str(data.get("driver", "") or ""), data.get("memory_mib"))


@dataclass(frozen=True)
class HostFingerprint:
    """Everything known about the machine and the software it ran; `fingerprint` hashes the machine part."""

    hostname: str = ""
    system: str = ""
    machine: str = ""
    cpu_model: str = "unknown"
    cpu_id: str = ""  # host.cpu_id(): "" in records written before it was read, and where the OS does not say
    cpu_flags: tuple[str, ...] = ()
    logical_cpus: int = 0
    usable_cpus: int = 0
    python: str = ""
    hashbench: str = ""
    cpu_impls: tuple[str, ...] = ()
    gpus: tuple[GpuInfo, ...] = ()
    packages: dict[str, str] = field(default_factory=dict)
    git_commit: str | None = None
    git_dirty: bool | None = None
    git_branch: str | None = None
    cpu_governor: str | None = None
    turbo: bool | None = None

    def machine_key(self) -> dict:
        key = {"machine": self.machine, "cpu_model": self.cpu_model, "cpu_flags": sorted(self.cpu_flags),
               "logical_cpus": self.logical_cpus, "gpus": sorted(g.model for g in self.gpus)}
        if self.cpu_id:  # only where read, so every record written before keeps its fingerprint
            key["cpu_id"] = self.cpu_id
        return key

    @property
    def fingerprint(self) -> str:
        text = json.dumps(self.machine_key(), sort_keys=True, separators=(",", ":"))
        return hashlib.sha256(text.encode()).hexdigest()[:16]

    @property
    def label(self) -> str:
        gpus = f", {len(self.gpus)}× {self.gpus[0].model}" if self.gpus else ""
        # the numbers without the vendor, which the model name already says: "AMD EPYC" alone names five generations
        ident = self.cpu_id.removeprefix("GenuineIntel ").removeprefix("AuthenticAMD ")
        return f"{self.cpu_model} ({ident + ', ' if ident else ''}{self.logical_cpus} CPUs{gpus})"

    def machine_differences(self, other: HostFingerprint) -> list[str]:
        a, b = self.machine_key(), other.machine_key()

        def shown(key: dict, name: str) -> str:
            return repr(key[name]) if name in key else "not recorded"

        return [f"{k}: {shown(a, k)} vs {shown(b, k)}" for k in (*a, *(k for k in b if k not in a))
                if a.get(k) != b.get(k)]

    def unmatched_cpu_id(self, other: HostFingerprint) -> bool:
        """The same machine by every part both records hold, but only one of them knows the CPU's family, model
        and stepping (the other is older, or its OS hid them): nothing says whether the CPUs are the same."""
        return bool(self.cpu_id) != bool(other.cpu_id) and (
            replace(self, cpu_id="").fingerprint == replace(other, cpu_id="").fingerprint)

    def condition_differences(self, other: HostFingerprint) -> list[str]:
        """Same machine, different conditions: each one a reason a difference may not be the code's."""
        out = []
        for name in ("cpu_governor", "turbo", "usable_cpus", "python", "system"):
            a, b = getattr(self, name), getattr(other, name)
            if a != b and _known(a) and _known(b):
                out.append(f"{name}: {a!r} vs {b!r}")
        # a driver nobody read ("" in an older or hand-made host record) is no difference, as for the rest
        drivers = ({g.driver for g in self.gpus if g.driver}, {g.driver for g in other.gpus if g.driver})
        if drivers[0] and drivers[1] and drivers[0] != drivers[1]:
            out.append(f"GPU driver: {sorted(drivers[0])} vs {sorted(drivers[1])}")
        for pkg in sorted(set(self.packages) & set(other.packages)):
            if pkg != "hashbench" and self.packages[pkg] != other.packages[pkg]:
                out.append(f"{pkg}: {self.packages[pkg]} vs {other.packages[pkg]}")
        return out

    def to_json(self) -> dict:
        data = {f.name: getattr(self, f.name) for f in fields(self)}
        data["cpu_flags"], data["cpu_impls"] = list(self.cpu_flags), list(self.cpu_impls)
        data["gpus"] = [g.to_json() for g in self.gpus]
        data["packages"] = dict(self.packages)
        data["fingerprint"] = self.fingerprint
        return data

    @classmethod
    def from_json(cls, data: dict) -> HostFingerprint:
        """Tolerant of older files: missing keys keep their defaults, unknown keys are ignored."""
        kwargs = {}
        for f in fields(cls):
            value = data.get(f.name)
            if value is None:  # absent, or unknown when it was recorded: the default says the same
                continue
            if f.name in ("cpu_flags", "cpu_impls"):
                value = tuple(str(v) for v in value)
            elif f.name == "gpus":
                value = tuple(GpuInfo.from_json(g) for g in value if isinstance(g, dict))
            elif f.name == "packages":
                value = {str(k): str(v) for k, v in dict(value).items()}
            elif f.name in ("logical_cpus", "usable_cpus"):
                value = int(value)
            elif f.name in ("git_dirty", "turbo"):
                if not isinstance(value, bool):
                    raise TypeError(f"host {f.name} is {value!r}, not true or false")
            elif not isinstance(value, str):  # the rest are text: a number there is a damaged file
                raise TypeError(f"host {f.name} is {value!r}, not text")
            kwargs[f.name] = value
        return cls(**kwargs)


def _known(value: object) -> bool:
    """Recorded at all: None, "" and a CPU count of 0 mean "could not read" (False is a reading: turbo off)."""
    return value is not None and value != "" and not (type(value) is int and value == 0)


# --- detection -------------------------------------------------------------------------------------------------------

def _read(path: str) -> str | None:
    try:
        return Path(path).read_text(encoding="utf-8").strip()
    except OSError:
        return None


def cpu_governor() -> str | None:
    return _read("/sys/devices/system/cpu/cpu0/cpufreq/scaling_governor")


def turbo() -> bool | None:
    """intel_pstate says no_turbo; acpi-cpufreq and amd-pstate say boost. None where neither is readable
    (containers and VMs often hide both)."""
    no_turbo = _read("/sys/devices/system/cpu/intel_pstate/no_turbo")
    if no_turbo in ("0", "1"):
        return no_turbo == "0"
    boost = _read("/sys/devices/system/cpu/cpufreq/boost")
    if boost in ("0", "1"):
        return boost == "1"
    return None


def gpus() -> tuple[GpuInfo, ...]:
    """NVIDIA GPUs from nvidia-smi (present wherever the driver is); none when it is absent or fails."""
    try:
        done = subprocess.run(["nvidia-smi", "--query-gpu=name,driver_version,memory.total",
                               "--format=csv,noheader,nounits"], capture_output=True, text=True,
                              timeout=NVIDIA_SMI_TIMEOUT_S, check=False)
    except (OSError, subprocess.SubprocessError):
        return ()
    if done.returncode != 0:
        return ()
    out = []
    for line in done.stdout.splitlines():
        parts = [p.strip() for p in line.split(",")]
        if len(parts) >= 2 and parts[0]:
            mem = int(float(parts[2])) if len(parts) > 2 and parts[2].replace(".", "", 1).isdigit() else None
            out.append(GpuInfo(parts[0], parts[1], mem))
    return tuple(out)


def packages() -> dict[str, str]:
    found = {}
    for name in TRACKED_PACKAGES:
        try:
            found[name] = version(name)
        except PackageNotFoundError:
            pass
    return found


def _git(args: list[str], cwd: Path) -> str | None:
    try:
        done = subprocess.run(["git", *args], cwd=cwd, capture_output=True, text=True, timeout=GIT_TIMEOUT_S,
                              check=False)
    except (OSError, subprocess.SubprocessError):
        return None
    return done.stdout.strip() if done.returncode == 0 else None


def git_state(where: Path | None = None) -> tuple[str | None, bool | None, str | None]:
    """(commit, dirty, branch) of the checkout hashbench's own code runs from; all None for an installed wheel,
    whose code belongs to no checkout (the current directory's commit would describe some other project)."""
    where = where or Path(__file__).resolve().parent
    commit = _git(["rev-parse", "HEAD"], where)
    if not commit:
        return None, None, None
    status = _git(["status", "--porcelain", "--untracked-files=no"], where)
    branch = _git(["rev-parse", "--abbrev-ref", "HEAD"], where)
    return commit, (bool(status) if status is not None else None), (branch if branch != "HEAD" else None)


def detect_fingerprint(host=None) -> HostFingerprint:
    """The running machine. `host` (a hashbench.host.Host) saves detecting the CPU twice."""
    from ..host import detect_host

    host = host or detect_host()
    commit, dirty, branch = git_state()
    return HostFingerprint(
        hostname=host.hostname, system=host.system, machine=host.machine, cpu_model=host.cpu_model, cpu_id=host.cpu_id,
        cpu_flags=tuple(host.cpu_flags), logical_cpus=host.logical_cpus, usable_cpus=host.usable_cpus,
        python=host.python, hashbench=host.hashbench, cpu_impls=tuple(host.cpu_impls), gpus=gpus(),
        packages=packages(), git_commit=commit, git_dirty=dirty, git_branch=branch, cpu_governor=cpu_governor(),
        turbo=turbo())


def from_pytest_machine_info(machine_info: dict, commit_info: dict | None = None) -> HostFingerprint:
    """Best effort for pytest-benchmark files hashbench did not write: py-cpuinfo's fields under `cpu`."""
    from ..host import RELEVANT_FLAGS, cpu_id

    embedded = machine_info.get("hashbench_host")
    commit_info = commit_info or {}
    if isinstance(embedded, dict):
        fp = HostFingerprint.from_json(embedded)
    else:
        cpu = machine_info.get("cpu") if isinstance(machine_info.get("cpu"), dict) else {}
        flags = cpu.get("flags") or []
        fp = HostFingerprint(
            hostname=str(machine_info.get("node", "")),
            system=f"{machine_info.get('system', '')} {machine_info.get('release', '')}".strip(),
            machine=str(machine_info.get("machine", "")),
            cpu_model=str(cpu.get("brand_raw") or machine_info.get("processor") or "unknown"),
            # py-cpuinfo's numbers, spelt as hashbench spells /proc/cpuinfo's: the same CPU, the same fingerprint
            cpu_id=cpu_id(vendor=str(cpu.get("vendor_id_raw") or ""), family=cpu.get("family"),
                          model=cpu.get("model"), stepping=cpu.get("stepping")),
            cpu_flags=tuple(f for f in RELEVANT_FLAGS if f in flags),
            logical_cpus=int(cpu.get("count") or 0),
            python=str(machine_info.get("python_version", "")))
    commit = commit_info.get("id")
    if isinstance(commit, str) and commit not in ("", "unversioned", "unknown") and not fp.git_commit:
        branch, dirty = commit_info.get("branch"), commit_info.get("dirty")
        fp = replace(fp, git_commit=commit, git_dirty=dirty if isinstance(dirty, bool) else None,
                     git_branch=branch if isinstance(branch, str) and branch and not branch.startswith("(") else None)
    return fp

