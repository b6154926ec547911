"""Real blocks, real nonces: blank the nonce, scan a window that holds it, expect exactly it back."""

from __future__ import annotations

import random
from dataclasses import dataclass, field

from .backends import Backend, ScanJob
from .header import NONCE_SPACE, hash_int
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


# Above this many hits expected by chance besides the real nonce, a window is too wide to expect the real nonce
# alone (a signet target, 1e0377ae, expects 0.013 in 65,536 nonces; regtest's 207fffff, half of them).
STRAY_HITS = 1e-4
HASH_SPACE = 1 << 256


def expected_in(real: RealHeader, size: int) -> tuple[int, int, list[int]]:
    """(start, count, nonces a correct backend reports) for the window verifying `real`. At a mainnet or testnet
    target another hit in the window is all but impossible: the real nonce alone. At an easy one (signet, regtest)
    the window shrinks until strays are as unlikely, and hashlib says which nonces of it meet the target."""
    target = real.header.target
    if size * (target + 1) <= STRAY_HITS * HASH_SPACE:
        start, count = window_for(real, size)
        return start, count, [real.nonce]
    start, count = window_for(real, max(1, int(STRAY_HITS * HASH_SPACE // (target + 1))))
    return start, count, [n for n in range(start, start + count) if hash_int(real.header, n) <= target]


def verify_backend(backend: Backend, *, impl: str | None = None, threads: int = 1, window: int | None = None,
                   headers: tuple[RealHeader, ...] | None = None) -> VerifyResult:
    impl = backend.resolve_impl(impl)
    headers = real_headers() if headers is None else headers
    size = window or (1 << 12 if backend.name == "python" else 1 << 16)
    failures = []
    for real in headers:
        job = ScanJob(real.header, real.header.target)
        start, count, expected = expected_in(real, size)
        result = backend.scan(job, start, count, impl=impl, threads=threads, max_found=count)
        got = [(s.nonce, s.hash) for s in result.found]
        if result.hits != len(expected) or [n for n, _ in got] != expected or (
                real.nonce, real.block_hash) not in got:
            want = expected[0] if expected == [real.nonce] else _listed(expected)
            failures.append(f"{real.network} {real.height}: expected nonce {want}, got {_listed([n for n, _ in got])}"
                            + (f" ({result.hits} hits)" if result.hits != len(got) else ""))
    return VerifyResult(backend.name, impl, len(headers), not failures, failures)


def _listed(nonces: list[int]) -> str:
    """The first ten nonces as a list, and how many more."""
    more = f" and {len(nonces) - 10} more" if len(nonces) > 10 else ""
    return f"[{', '.join(map(str, nonces[:10]))}{more}]"
