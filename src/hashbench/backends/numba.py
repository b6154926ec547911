"""The Numba kernel (_numba_kernel.py): LLVM-vectorized over nonce lanes, parallel with prange,
cached on disk so only the first call on a machine pays the JIT."""

from __future__ import annotations

import importlib.util

from .base import Backend, ScanJob


class NumbaBackend(Backend):
    name = "numba"
    chunk = 1 << 22
    threads_via_python = False  # prange inside the kernel spreads a chunk over the threads

    def __init__(self) -> None:
        self._kernel = None
        self._arrays: tuple | None = None
        self._arrays_key: ScanJob | None = None

    def available(self) -> tuple[bool, str]:
        if importlib.util.find_spec("numba") is None:
            return False, 'numba is not installed (pip install "hashbench[numba]")'
        return True, ""

    def impls(self) -> list[str]:
        # The kernel is compiled for this CPU by LLVM: its name says which vector ISA it got.
        from llvmlite import binding

        return [f"llvm-{binding.get_host_cpu_name()}"]

    def max_threads(self) -> int:
        # prange runs on numba's thread pool, sized once at import (NUMBA_NUM_THREADS, default: the CPUs).
        import numba

        return numba.config.NUMBA_NUM_THREADS

    def threads_limit_hint(self) -> str:
        return ", or set NUMBA_NUM_THREADS higher"

    def _load(self):
        if self._kernel is None:
            from . import _numba_kernel

            self._kernel = _numba_kernel
        return self._kernel

    def warm_up(self, impl: str) -> None:
        self._load().warm_up()

    def _job_arrays(self, job: ScanJob) -> tuple:
        if self._arrays_key is not job:
            import numpy as np

            self._arrays = tuple(np.array(words, dtype=np.uint32)
                                 for words in (job.midstate, job.tail, job.target_words))
            self._arrays_key = job
        return self._arrays

    def _scan_part(self, job: ScanJob, impl: str, start: int, count: int, max_found: int,
                   threads: int) -> tuple[int, list[int]]:
        midstate, tail, target = self._job_arrays(job)
        hits, found = self._load().scan(midstate, tail, target, start, count, max_found, threads)
        return int(hits), [int(n) for n in found]
