"""The device a probe runs on (cpu or cuda:N) through torch, which is an optional extra: imported only here."""

from __future__ import annotations

import os
import re
import time
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType
from typing import Any

from ..errors import HashbenchError, InputError

DTYPE_NAMES = ("fp32", "bf16", "fp16")
_ELEMENT_BYTES = {"fp32": 4, "bf16": 2, "fp16": 2}


class ProbeUnavailable(HashbenchError):
    """The probes cannot run here at all (no torch)."""

    exit_code = 2


def require_torch() -> ModuleType:
    try:
        import torch
    except ImportError:
        raise ProbeUnavailable("the AI probes need torch: pip install 'hashbench[ai]'") from None
    return torch


def torch_dtype(name: str) -> Any:
    torch = require_torch()
    table = {"fp32": torch.float32, "bf16": torch.bfloat16, "fp16": torch.float16}
    if name not in table:
        raise InputError(f"--dtype must be one of {', '.join(DTYPE_NAMES)}, got {name!r}")
    return table[name]


def element_bytes(name: str) -> int:
    return _ELEMENT_BYTES[name]


def _cpu_flags() -> set[str]:
    try:
        with open("/proc/cpuinfo", encoding="utf-8", errors="replace") as fh:
            for line in fh:
                key, _, value = line.partition(":")
                if key.strip() in ("flags", "Features"):
                    return set(value.split())
    except OSError:
        pass
    return set()


def _size(text: str) -> int:
    match = re.match(r"(\d+)\s*([KMG]?)", text.strip())
    if not match:
        return 0
    return int(match.group(1)) * {"": 1, "K": 1 << 10, "M": 1 << 20, "G": 1 << 30}[match.group(2)]


def cpu_last_level_cache(sysfs: Path = Path("/sys/devices/system/cpu")) -> int | None:
    """Bytes of last-level cache on the whole machine: every distinct instance summed. One EPYC has a 32 MB L3 per
    CCX, twelve of them a socket; cpu0's alone would size a 'beyond the cache' buffer that the others' L3s still
    hold. Instances are told apart by the CPUs that share them."""
    instances: dict[tuple[int, str], int] = {}
    for index in sysfs.glob("cpu[0-9]*/cache/index[0-9]*"):
        try:
            kind = (index / "type").read_text().strip()
            if kind == "Instruction":
                continue
            level = int((index / "level").read_text())
            size = _size((index / "size").read_text())
            shared = (index / "shared_cpu_list").read_text().strip()
        except (OSError, ValueError):
            continue
        instances[(level, shared or str(index.parent.parent))] = size
    if not instances:
        return None
    top = max(level for level, _ in instances)
    return sum(size for (level, _), size in instances.items() if level == top) or None


def cpu_available_memory() -> int:
    try:
        with open("/proc/meminfo", encoding="utf-8") as fh:
            for line in fh:
                if line.startswith("MemAvailable:"):
                    return int(line.split()[1]) * 1024
    except (OSError, ValueError, IndexError):
        pass
    return os.sysconf("SC_AVPHYS_PAGES") * os.sysconf("SC_PAGE_SIZE")


@dataclass(frozen=True)
class Device:
    name: str  # "cpu" or "cuda:N"
    torch_device: Any

    @property
    def is_cuda(self) -> bool:
        return self.name.startswith("cuda")

    def sync(self) -> None:
        """Wait for queued GPU work: a timer read without it measures the launch, not the kernel."""
        if self.is_cuda:
            require_torch().cuda.synchronize(self.torch_device)

    def free_memory(self) -> int:
        if self.is_cuda:
            return require_torch().cuda.mem_get_info(self.torch_device)[0]
        return cpu_available_memory()

    def last_level_cache(self) -> int | None:
        if self.is_cuda:
            props = require_torch().cuda.get_device_properties(self.torch_device)
            return getattr(props, "L2_cache_size", None) or None
        return cpu_last_level_cache()

    def model_name(self) -> str:
        if self.is_cuda:
            return require_torch().cuda.get_device_name(self.torch_device)
        from ..host import _cpuinfo

        return _cpuinfo()[0]

    def native_dtypes(self) -> list[str]:
        """Precisions the hardware computes natively: a bf16 GEMM emulated in fp32 is no figure to plan a site on."""
        torch = require_torch()
        if self.is_cuda:
            major, _ = torch.cuda.get_device_capability(self.torch_device)
            return ["bf16", "fp16", "fp32"] if major >= 8 else ["fp16", "fp32"]
        flags = _cpu_flags()
        names = ["fp32"]
        if flags & {"avx512_bf16", "amx_bf16", "bf16"}:  # x86 AVX-512/AMX, Arm BF16
            names.append("bf16")
        if flags & {"avx512_fp16", "amx_fp16", "fphp", "asimdhp"}:
            names.append("fp16")
        return names

    def default_llm_dtype(self) -> str:
        return ("bf16" if "bf16" in self.native_dtypes() else "fp16") if self.is_cuda else "fp32"

    def runs_dtype(self, name: str) -> bool:
        """Whether this torch has kernels here for every op the Llama decoder uses in `name` (torch 2.13's CPU build
        has them for bf16 and fp16, computed through fp32 where the CPU has no such instructions; older builds lacked
        some, a half-precision GEMM or SDPA on CPU among them)."""
        torch = require_torch()
        F = torch.nn.functional
        dt = torch_dtype(name)
        try:
            x = torch.ones(1, 2, 3, 8, device=self.torch_device, dtype=dt)
            mask = torch.zeros(1, 1, 1, 3, device=self.torch_device, dtype=dt)  # decode's additive mask
            F.scaled_dot_product_attention(x, x, x, attn_mask=mask)
            F.scaled_dot_product_attention(x, x, x, is_causal=True)  # prefill's
            F.silu(F.linear(F.rms_norm(x, (8,), torch.ones(8, device=self.torch_device, dtype=dt), 1e-5), x[0, 0]))
        except (RuntimeError, NotImplementedError):
            return False
        return True


def available_devices() -> list[str]:
    """Every device the probes can run on here: the CPU, then each CUDA GPU torch sees. Raises ProbeUnavailable
    without torch (for `hashbench run`, which then records the reason and goes on)."""
    torch = require_torch()
    return ["cpu"] + [f"cuda:{i}" for i in range(torch.cuda.device_count() if torch.cuda.is_available() else 0)]


def resolve_device(name: str | None) -> Device:
    """"cpu", "cuda", "cuda:N", or None for the first GPU when torch sees one, else the CPU."""
    torch = require_torch()
    if name is None:
        name = "cuda:0" if torch.cuda.is_available() else "cpu"
    name = name.strip().lower()
    if name == "cpu":
        return Device("cpu", torch.device("cpu"))
    match = re.fullmatch(r"cuda(?::(\d+))?", name)
    if not match:
        raise InputError(f"--device must be cpu or cuda:N, got {name!r}")
    if not torch.cuda.is_available():
        raise InputError(f"--device {name}: torch sees no CUDA GPU (torch {torch.__version__})")
    index = int(match.group(1) or 0)
    if index >= torch.cuda.device_count():
        raise InputError(f"--device {name}: only {torch.cuda.device_count()} CUDA device(s) visible")
    torch.cuda.init()  # so the energy meter can match this GPU to NVML by UUID
    return Device(f"cuda:{index}", torch.device("cuda", index))


def timed(fn: Any, device: Device) -> float:
    """Seconds one call takes, the device's queue drained before and after."""
    device.sync()
    start = time.perf_counter()
    fn()
    device.sync()
    return time.perf_counter() - start


def repeat(fn: Any, count: int) -> Any:
    """`count` back-to-back calls, each result dropped at once (a list of results would hold every output alive
    and charge the allocations and cache misses to whichever path returns a tensor)."""
    def run() -> None:
        for _ in range(count):
            fn()
    return run


def calibrate(fn: Any, device: Device, target_s: float, cap: int = 1 << 16) -> int:
    """How many back-to-back calls make one timed block of about `target_s`, so a block dwarfs the sync cost."""
    count = 1
    while count < cap:
        elapsed = timed(repeat(fn, count), device)
        if elapsed >= target_s:
            break
        count = min(cap, max(count * 2, int(count * target_s / max(elapsed, 1e-9) * 1.1)))
    return count
