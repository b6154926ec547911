"""Real blocks, real nonces: blank the nonce, scan a window that holds it, expect exactly it back."""

from __future__ import annotations

import random
from dataclasses import dataclass, field

from .backends import Backend, ScanJob
from .header import NONCE_SPACE
from .samples import RealHeader, real_headers


@dataclass
class VerifyResult:
    backend: str
    impl: str
    headers: int
    passed: bool
    failures: list[str] = field(default_factory=list)

    def to_json(self) -> dict:
        return {"backend": self.backend, "impl": self.impl, "headers": self.headers, "passed": self.passed,
                "failures": self.failures}


def window_for(real: RealHeader, size: int) -> tuple[int, int]:
    """A window of `size` nonces holding the real nonce at a position fixed per block (not always centred)."""
    offset = random.Random(real.height * 1_000_003 + len(real.network)).randrange(size)
    start = min(max(real.nonce - offset, 0), NONCE_SPACE - size)
    return start, size


def verify_backend(backend: Backend, *, impl: str | None = None, threads: int = 1, window: int | None = None,
                   headers: tuple[RealHeader, ...] | None = None) -> VerifyResult:
    impl = backend.resolve_impl(impl)
    headers = real_headers() if headers is None else headers
    size = window or (1 << 12 if backend.name == "python" else 1 << 16)
    failures = []
    for real in headers:
        job = ScanJob(real.header, real.header.target)
        start, count = window_for(real, size)
        result = backend.scan(job, start, count, impl=impl, threads=threads)
        got = [(s.nonce, s.hash) for s in result.found]
        if got != [(real.nonce, real.block_hash)]:
            failures.append(f"{real.network} {real.height}: expected nonce {real.nonce}, got {[n for n, _ in got]}")
    return VerifyResult(backend.name, impl, len(headers), not failures, failures)
