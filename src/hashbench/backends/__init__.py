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
    for backend in _REGISTRY.values():
        if isinstance(backend, GpuBackend):
            backend.use_devices(ids)
    return ids


def get_backend(name: str, *, require_available: bool = True) -> Backend:
    try:
        backend = _REGISTRY[name]
    except KeyError:
        raise InputError(f"unknown backend {name!r} (known: {', '.join(_REGISTRY)})") from None
    if require_available:
        ok, why = backend.available()
        if not ok:
            raise BackendUnavailable(f"backend {name!r} is not available: {why}")
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
