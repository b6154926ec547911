"""The backend registry: every way hashbench can hash, and why one cannot run here."""

from __future__ import annotations

from dataclasses import dataclass

from ..errors import BackendUnavailable, InputError
from .base import Backend, ScanJob, ScanResult, Share
from .cuda import CudaBackend
from .cython import CythonBackend
from .numba import NumbaBackend
from .pycuda import PycudaBackend
from .python import PythonBackend

__all__ = ["Backend", "BackendInfo", "ScanJob", "ScanResult", "Share", "all_backends", "describe", "get_backend",
           "select_gpus"]

_REGISTRY: dict[str, Backend] = {b.name: b for b in (CythonBackend(), NumbaBackend(), CudaBackend(), PycudaBackend(),
                                                      PythonBackend())}


def all_backends() -> list[Backend]:
    return list(_REGISTRY.values())


def select_gpus(text: str) -> list[int]:
    """`--devices 0,2`: the GPUs every GPU backend (cuda, pycuda) hashes on, each its own sub-range."""
    from .cuda_launch import GpuBackend, parse_device_list

    ids = parse_device_list(text, "--devices")
    gpu_backends = [b for b in _REGISTRY.values() if isinstance(b, GpuBackend)]
    for backend in gpu_backends:
        backend.use_devices(ids)
    # A GPU the machine lacks is refused here: left to available(), it made the GPU backends unavailable, and
    # commands that take every available backend (bench, run) went on without them, without a word.
    why_not = []
    for backend in gpu_backends:
        try:
            count = backend.gpu_count()
        except BackendUnavailable as exc:
            why_not.append(str(exc))
            continue
        missing = [i for i in ids if i >= count]
        if missing:
            raise InputError(f"--devices {text}: no CUDA GPU {missing[0]} (this machine has {count})")
        return ids
    raise InputError(f"--devices {text}: no CUDA GPU can be used here ({why_not[0] if why_not else 'no GPU backend'})")


def get_backend(name: str, *, require_available: bool = True) -> Backend:
    try:
        backend = _REGISTRY[name]
    except KeyError:
        raise InputError(f"unknown backend {name!r} (known: {', '.join(_REGISTRY)})") from None
    if require_available:
        ok, why = backend.available()
        if not ok:
            others = [n for n, b in _REGISTRY.items() if n != name and b.available()[0]]
            raise BackendUnavailable(f"backend {name!r} is not available: {why}"
                                     + (f" (available here: {', '.join(others)})" if others else ""))
    return backend


@dataclass(frozen=True)
class BackendInfo:
    name: str
    available: bool
    reason: str
    impls: list[str]
    default_impl: str | None

    def to_json(self) -> dict:
        return {"name": self.name, "available": self.available, "reason": self.reason,
                "impls": self.impls, "default_impl": self.default_impl}


def describe() -> list[BackendInfo]:
    out = []
    for b in _REGISTRY.values():
        ok, why = b.available()
        impls = b.impls() if ok else []
        out.append(BackendInfo(b.name, ok, why, impls, impls[0] if impls else None))
    return out
