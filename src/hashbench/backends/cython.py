"""The C kernels (kernels/*.c) through the Cython extension: portable C, 128-bit generic SIMD (SSE2 / NEON),
SHA-NI, AVX2, AVX-512, and the Armv8 SHA-256 instructions (arm-sha2).

The path is picked at run time from CPUID and the OS's saved vector state (XGETBV) on x86, from the kernel's
AT_HWCAP (sysctl on macOS) on AArch64; `impl` or the HASHBENCH_CPU_IMPL environment variable overrides it."""

from __future__ import annotations

import os

from ..errors import InputError
from .base import Backend, ScanJob

ENV_IMPL = "HASHBENCH_CPU_IMPL"
# Fastest first: the order the dispatcher prefers.
# sha-ni and arm-sha2 never meet on one CPU: each is its architecture's SHA-instruction path.
PREFERENCE = ("avx512", "sha-ni", "arm-sha2", "avx2", "simd128", "portable")

try:
    from .. import _cpu
except ImportError as exc:  # pragma: no cover - only when the extension was not built
    _cpu = None
    _IMPORT_ERROR = str(exc)
else:
    _IMPORT_ERROR = ""


class CythonBackend(Backend):
    name = "cython"
    chunk = 1 << 23

    def available(self) -> tuple[bool, str]:
        if _cpu is None:
            # A plain `pip install hashbench` again finds it installed and builds nothing; pip shows the build's
            # warning only with -v.
            return False, (f"the C extension was not built ({_IMPORT_ERROR}): it needs a C compiler at install "
                           "time (gcc or clang); install one and reinstall (pip install --force-reinstall -v "
                           "hashbench, or pip install -e . in a checkout; -v shows the build's output)")
        return True, ""

    def impls(self) -> list[str]:
        if _cpu is None:
            return []
        return [name for name in PREFERENCE if _cpu.supported(name)]

    def all_impls(self) -> list[str]:
        """Every path, supported here or not."""
        return list(PREFERENCE)

    def default_impl(self) -> str:
        forced = os.environ.get(ENV_IMPL, "").strip()
        if forced:
            if forced not in self.impls():
                raise InputError(
                    f"{ENV_IMPL}={forced!r} is not a CPU implementation this machine runs "
                    f"(available: {', '.join(self.impls())})"
                )
            return forced
        return _cpu.best()

    def _scan_part(self, job: ScanJob, impl: str, start: int, count: int, max_found: int,
                   threads: int) -> tuple[int, list[int]]:
        return _cpu.scan(impl, job.midstate, job.tail, job.target_words, start, count, max_found)
