"""What every hashing backend is, and the range handling they all share.

A backend only has to scan one contiguous part of the nonce space. Splitting a range over
threads, cutting it into chunks (so Ctrl-C is answered within a fraction of a second), timing,
and re-checking every reported nonce with hashlib all live here, once.
"""

from __future__ import annotations

import threading
import time
from abc import ABC, abstractmethod
from dataclasses import dataclass, field

from ..errors import HashbenchError, InputError
from ..header import NONCE_SPACE, Header, block_hash_hex, hash_int, target_words

DEFAULT_MAX_FOUND = 1024


@dataclass(frozen=True)
class ScanJob:
    """A header prefix and target, with the nonce-independent words the kernels take."""

    header: Header
    target: int
    midstate: tuple[int, ...] = field(init=False)
    tail: tuple[int, ...] = field(init=False)
    target_words: tuple[int, ...] = field(init=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "midstate", self.header.midstate())
        object.__setattr__(self, "tail", self.header.tail_words())
        object.__setattr__(self, "target_words", target_words(self.target))


@dataclass(frozen=True)
class Share:
    nonce: int
    hash: str  # display order

    def to_json(self) -> dict:
        return {"nonce": self.nonce, "hash": self.hash}


@dataclass
class ScanResult:
    backend: str
    impl: str
    threads: int
    start: int
    hashes: int
    seconds: float
    hits: int  # every hit counted, even past the stored list
    found: list[Share]
    interrupted: bool = False

    @property
    def hashrate(self) -> float:
        return self.hashes / self.seconds if self.seconds > 0 else 0.0

    def to_json(self) -> dict:
        return {
            "backend": self.backend,
            "impl": self.impl,
            "threads": self.threads,
            "start": self.start,
            "hashes": self.hashes,
            "seconds": self.seconds,
            "hashrate": self.hashrate,
            "hits": self.hits,
            "found": [s.to_json() for s in self.found],
        }


class BackendError(HashbenchError):
    """A backend reported something hashlib does not confirm: a bug, never hidden."""


def check_range(start: int, count: int) -> None:
    if start < 0:
        raise InputError(f"start must be >= 0, got {start}")
    if count <= 0:
        raise InputError(f"count must be > 0, got {count}")
    if start + count > NONCE_SPACE:
        raise InputError(f"range {start}..{start + count - 1} runs past the last nonce 4294967295")


def check_threads(threads: int) -> None:
    if threads < 1:
        raise InputError(f"threads must be >= 1, got {threads}")


def split_range(start: int, count: int, parts: int) -> list[tuple[int, int]]:
    """Disjoint, contiguous sub-ranges covering start..start+count-1; none empty."""
    parts = max(1, min(parts, count))
    base, extra = divmod(count, parts)
    out, pos = [], start
    for i in range(parts):
        n = base + (1 if i < extra else 0)
        out.append((pos, n))
        pos += n
    return out


class Backend(ABC):
    """One way of computing SHA-256d over a nonce range."""

    name: str = ""
    # Nonces per chunk: small enough that a stop request is seen within ~0.1-0.5 s.
    chunk: int = 1 << 22
    # Whether _scan_part releases the GIL, so Python threads can run it in parallel.
    threads_via_python: bool = True
    # Whether more CPU threads make it faster: `hashbench run` benches such a backend again on every core.
    scales_with_threads: bool = True

    @abstractmethod
    def available(self) -> tuple[bool, str]:
        """(True, "") or (False, why not)."""

    def impls(self) -> list[str]:
        """Implementations this machine can run, best first."""
        return [self.name]

    def default_impl(self) -> str:
        return self.impls()[0]

    def resolve_impl(self, impl: str | None) -> str:
        if impl is None:
            return self.default_impl()
        if impl not in self.impls():
            raise InputError(
                f"backend {self.name!r} has no implementation {impl!r} on this machine "
                f"(available: {', '.join(self.impls())})"
            )
        return impl

    def max_threads(self) -> int | None:
        """The most threads this backend can run here; None: as many as the system will start."""
        return None

    def all_core_threads(self, cpus: int) -> int:
        """Threads for a run on every one of `cpus` cores, as many as this backend can run."""
        return min(cpus, self.max_threads() or cpus)

    def check_threads(self, threads: int) -> None:
        """A thread count this backend cannot run is refused, never quietly lowered (the result would carry it)."""
        check_threads(threads)
        limit = self.max_threads()
        if limit is not None and threads > limit:
            raise InputError(f"--threads {threads}: {self.name} runs at most {limit} threads here; ask for fewer"
                             f"{self.threads_limit_hint()}")

    def threads_limit_hint(self) -> str:
        """How to raise max_threads(), appended to the refusal."""
        return ""

    def warm_up(self, impl: str) -> None:  # noqa: B027 - an optional hook: python and the C kernels need none
        """Load or compile whatever the first scan would otherwise pay for."""

    @abstractmethod
    def _scan_part(self, job: ScanJob, impl: str, start: int, count: int, max_found: int,
                   threads: int) -> tuple[int, list[int]]:
        """Scan one contiguous part; returns (hits, first max_found hit nonces ascending)."""

    def scan(self, job: ScanJob, start: int, count: int, *, impl: str | None = None, threads: int = 1,
             max_found: int = DEFAULT_MAX_FOUND, stop: threading.Event | None = None) -> ScanResult:
        """Scan start..start+count-1 with `threads` workers on disjoint sub-ranges.

        When `stop` is set the scan ends at the next chunk boundary and the result covers the
        nonces actually hashed (interrupted=True)."""
        check_range(start, count)
        self.check_threads(threads)
        max_found = min(max(int(max_found), 0), count)  # no range holds more; a kernel's integer takes no 2^64
        impl = self.resolve_impl(impl)
        stop = stop or threading.Event()
        workers = threads if self.threads_via_python else 1
        inner_threads = 1 if self.threads_via_python else threads
        # Workers pull chunks from one shared cursor, so a thread slowed by something else on the machine
        # takes fewer chunks instead of holding up the whole scan (a static split waits for the slowest).
        piece = self.chunk * inner_threads
        if workers > 1:
            piece = min(piece, max(count // (workers * 16), 1 << 12))
        cursor = iter(range(start, start + count, piece))
        lock = threading.Lock()
        outcomes: list[tuple[int, int, list[int]]] = []
        # A part that raises in a worker thread would end that thread alone, and the scan would return the other
        # parts as if they were the whole range: the first failure stops every worker and is raised to the caller.
        failures: list[BaseException] = []
        interrupted = False

        def work() -> None:
            nonlocal interrupted
            while True:
                with lock:
                    if failures:
                        return
                    if stop.is_set():
                        interrupted = True
                        return
                    pos = next(cursor, None)
                if pos is None:
                    return
                n = min(piece, start + count - pos)
                try:
                    hits, found = self._scan_part(job, impl, pos, n, max_found, inner_threads)
                except BaseException as exc:
                    with lock:
                        failures.append(exc)
                    return
                with lock:
                    outcomes.append((n, hits, found))

        t0 = time.perf_counter()
        if workers == 1:
            work()
        else:
            pool = [threading.Thread(target=work, name=f"hashbench-{self.name}-{i}", daemon=True)
                    for i in range(min(workers, -(-count // piece)))]
            started: list[threading.Thread] = []
            try:
                for t in pool:
                    t.start()
                    started.append(t)
                for t in started:
                    t.join()
            except BaseException as exc:  # Ctrl-C, or the system refusing a thread: the workers finish their chunk
                stop.set()
                for t in started:
                    t.join()
                if isinstance(exc, RuntimeError) and len(started) < len(pool):
                    raise InputError(f"--threads {threads}: the system started only {len(started)} threads ({exc}); "
                                     "ask for fewer") from None
                raise
        seconds = time.perf_counter() - t0
        if failures:
            raise failures[0]
        nonces = sorted(n for o in outcomes for n in o[2])[:max_found]
        return ScanResult(
            backend=self.name,
            impl=impl,
            threads=threads,
            start=start,
            hashes=sum(o[0] for o in outcomes),
            seconds=seconds,
            hits=sum(o[1] for o in outcomes),
            found=[confirm_share(self.name, job, n) for n in nonces],
            interrupted=interrupted,
        )


def confirm_share(backend: str, job: ScanJob, nonce: int) -> Share:
    """Every nonce a backend reports is re-checked with hashlib before anyone sees it."""
    if hash_int(job.header, nonce) > job.target:
        raise BackendError(f"backend {backend!r} reported nonce {nonce} whose hash does not meet the target")
    return Share(nonce, block_hash_hex(job.header, nonce))
