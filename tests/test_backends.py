"""The backend suite: runs once per available backend (each C path separately) against hashlib."""

from __future__ import annotations

import random
import threading
from itertools import pairwise

import pytest
from conftest import header_of
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from hashbench.backends import ScanJob
from hashbench.backends.base import DEFAULT_MAX_FOUND, split_range
from hashbench.errors import InputError
from hashbench.header import NONCE_SPACE, Header, hash_int

EASY_TOPS = (0x00FFFFFF, 0x0FFFFFFF, 0x3FFFFFFF, 0xFFFFFFFF)


def reference(header: Header, target: int, start: int, count: int) -> list[int]:
    return [n for n in range(start, start + count) if hash_int(header, n) <= target]


def scan_nonces(backend_impl, header, target, start, count, threads=1, max_found=DEFAULT_MAX_FOUND):
    backend, impl = backend_impl
    return backend.scan(ScanJob(header, target), start, count, impl=impl, threads=threads, max_found=max_found)


def easy_target(top: int, rng: random.Random) -> int:
    return (top << 224) | rng.getrandbits(224)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(prefix=st.binary(min_size=76, max_size=76), start=st.integers(0, NONCE_SPACE - 1),
       count=st.integers(1, 700), top=st.sampled_from(EASY_TOPS), seed=st.integers(0, 2**32))
def test_agrees_with_hashlib_on_random_headers(backend_impl, prefix, start, count, top, seed):
    count = min(count, NONCE_SPACE - start)
    header = Header(prefix)
    target = easy_target(top, random.Random(seed))
    result = scan_nonces(backend_impl, header, target, start, count)
    expected = reference(header, target, start, count)
    assert [s.nonce for s in result.found] == expected
    assert result.hits == len(expected)
    assert result.hashes == count


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(prefix=st.binary(min_size=76, max_size=76), start=st.integers(0, NONCE_SPACE - 64),
       pick=st.integers(0, 63), delta=st.sampled_from([-1, 0, 1]))
def test_target_equal_to_a_hash_is_the_exact_border(backend_impl, prefix, start, pick, delta):
    """The full 256-bit compare after the early reject: target = a hash (±1) decides that nonce."""
    header = Header(prefix)
    target = hash_int(header, start + pick) + delta
    result = scan_nonces(backend_impl, header, target, start, 64)
    assert [s.nonce for s in result.found] == reference(header, target, start, 64)
    assert ((start + pick) in [s.nonce for s in result.found]) == (delta >= 0)


def test_real_mainnet_and_testnet_nonces_found(backend_impl, mainnet_rows, testnet_rows):
    backend, _ = backend_impl
    rng = random.Random(20261122)
    window = 1 << 10 if backend.name == "python" else 1 << 15
    rows = rng.sample(mainnet_rows, 24) + rng.sample(testnet_rows, 24)
    for row in rows:
        header = header_of(row)
        nonce = header.nonce
        start = min(max(nonce - rng.randrange(window), 0), NONCE_SPACE - window)
        result = scan_nonces(backend_impl, header, header.target, start, window)
        assert [(s.nonce, s.hash) for s in result.found] == [(nonce, row["block_hash"])], row["height"]


def test_nothing_reported_without_a_hit(backend_impl, mainnet_rows):
    header = header_of(mainnet_rows[-1])
    nonce = header.nonce
    start = nonce + 1 if nonce < NONCE_SPACE - 5000 else nonce - 5000
    result = scan_nonces(backend_impl, header, header.target, start, 4096)
    assert result.found == [] and result.hits == 0


@pytest.mark.parametrize("threads", [1, 2, 3, 7])
@pytest.mark.parametrize(
    "start, count",
    [(NONCE_SPACE - 37, 37), (NONCE_SPACE - 1, 1), (0, 1), (12345, 1001), (NONCE_SPACE - 1000, 999), (5, 33)],
)
def test_thread_splitting_at_range_edges(backend_impl, threads, start, count):
    header = Header(bytes(range(76)))
    target = easy_target(0x1FFFFFFF, random.Random(start))
    limit = backend_impl[0].max_threads()
    if limit is not None and threads > limit:  # numba's pool on a small machine: refused, see below
        with pytest.raises(InputError, match=f"--threads {threads}: .* runs at most {limit} threads"):
            scan_nonces(backend_impl, header, target, start, count, threads=threads)
        return
    result = scan_nonces(backend_impl, header, target, start, count, threads=threads)
    assert [s.nonce for s in result.found] == reference(header, target, start, count)
    assert result.hashes == count and result.threads == threads


def test_more_hits_than_slots_are_counted(backend_impl):
    header = Header(bytes(76))
    result = scan_nonces(backend_impl, header, (1 << 256) - 1, 1000, 300, threads=2, max_found=10)
    assert result.hits == 300
    assert [s.nonce for s in result.found] == list(range(1000, 1010))


@pytest.mark.parametrize("threads", [1, 2])
@pytest.mark.parametrize("max_found", [0, 1 << 33])
def test_no_slots_or_more_slots_than_32_bits(backend_impl, max_found, threads):
    """max_found 0 lists nothing and still counts; one past 2^32-1 (scan --max-found takes any size) lists every
    hit: the C wrapper took it as a uint32 and raised OverflowError."""
    header = Header(bytes(76))
    result = scan_nonces(backend_impl, header, (1 << 256) - 1, 1000, 300, threads=threads, max_found=max_found)
    assert result.hits == 300
    assert [s.nonce for s in result.found] == ([] if max_found == 0 else list(range(1000, 1300)))


def test_stop_event_ends_scan_early(backend_impl):
    backend, impl = backend_impl
    stop = threading.Event()
    stop.set()
    result = backend.scan(ScanJob(Header(bytes(76)), 1), 0, 1 << 30, impl=impl, stop=stop)
    assert result.interrupted and result.hashes == 0


@pytest.mark.parametrize("start, count", [(-1, 10), (0, 0), (0, -5), (NONCE_SPACE - 10, 11)])
def test_bad_ranges_rejected(backend_impl, start, count):
    with pytest.raises(InputError):
        scan_nonces(backend_impl, Header(bytes(76)), 1, start, count)


def test_a_share_hashlib_does_not_confirm_is_an_error_not_a_result():
    """scan() re-checks every nonce a kernel reports: a kernel bug that reports a miss as a share is raised."""
    from hashbench.backends.base import Backend, BackendError

    header = Header.from_hex(  # the genesis block
        "0100000000000000000000000000000000000000000000000000000000000000000000003ba3edfd7a7b12b27ac72c3e67768f617fc"
        "81bc3888a51323a9fb8aa4b1e5e4a29ab5f49ffff001d1dac2b7c")
    real = header.nonce

    class Reports(Backend):
        name = "reports"

        def __init__(self, nonces: list[int]) -> None:
            self.nonces = nonces

        def available(self) -> tuple[bool, str]:
            return True, ""

        def _scan_part(self, job, impl, start, count, max_found, threads):
            inside = [n for n in self.nonces if start <= n < start + count]
            return len(inside), inside[:max_found]

    job = ScanJob(header, header.target)
    [share] = Reports([real]).scan(job, real - 10, 20).found
    assert share.nonce == real and share.hash.startswith("000000000019d6689c")
    with pytest.raises(BackendError, match=f"reported nonce {real + 1} whose hash does not meet the target"):
        Reports([real, real + 1]).scan(job, real - 10, 20)


def test_numba_refuses_more_threads_than_its_pool_instead_of_running_fewer_under_the_asked_label():
    """numba's prange pool holds NUMBA_NUM_THREADS threads; a scan asked for more used to run on the pool and be
    labelled with the number asked (×64 on 2 threads)."""
    from hashbench.backends import get_backend

    backend = get_backend("numba", require_available=False)
    if not backend.available()[0]:
        pytest.skip(backend.available()[1])
    import numba

    pool = numba.config.NUMBA_NUM_THREADS
    job = ScanJob(Header(bytes(76)), 1)
    assert backend.scan(job, 0, 1 << 16, threads=pool).threads == pool
    with pytest.raises(InputError, match=rf"^--threads {pool + 1}: numba runs at most {pool} threads here; ask for "
                                         r"fewer, or set NUMBA_NUM_THREADS higher$"):
        backend.scan(job, 0, 1 << 16, threads=pool + 1)


def test_run_benches_every_core_a_backend_can_run_not_more(monkeypatch):
    """`hashbench run` benches on every usable CPU; a backend with a smaller pool (numba's NUMBA_NUM_THREADS) gets
    its pool, not a count it would refuse."""
    import types

    from hashbench import run
    from hashbench.backends.cython import CythonBackend

    class Capped(CythonBackend):
        def max_threads(self) -> int:
            return 3

    monkeypatch.setattr(run, "all_backends", lambda: [CythonBackend(), Capped()])
    configs, _ = run.plan(types.SimpleNamespace(usable_cpus=16))
    threads = [c.threads for c in configs]
    assert max(threads[:len(threads) // 2]) == 16 and max(threads[len(threads) // 2:]) == 3


def test_split_range_is_disjoint_and_complete():
    for start, count, parts in [(0, 10, 3), (NONCE_SPACE - 7, 7, 16), (100, 1, 4), (0, 2**32, 5)]:
        pieces = split_range(start, count, parts)
        assert all(n > 0 for _, n in pieces)
        assert pieces[0][0] == start and sum(n for _, n in pieces) == count
        assert all(a + n == b for (a, n), (b, _) in pairwise(pieces))


def test_c_extension_is_built_and_dispatches():
    """The C kernels are part of the base install: a broken build must fail here, not skip silently."""
    from hashbench import _cpu
    from hashbench.backends.cython import PREFERENCE

    assert set(_cpu.impl_names()) == set(PREFERENCE)
    assert _cpu.supported("portable")
    assert _cpu.best() in PREFERENCE and _cpu.supported(_cpu.best())
    # The C scalar helper agrees with hashlib (it checks every SIMD candidate).
    header = Header(bytes(range(76)))
    state = _cpu.sha256d_state(header.midstate(), header.tail_words(), 12345)
    digest = b"".join(w.to_bytes(4, "big") for w in state)
    assert int.from_bytes(digest, "little") == hash_int(header, 12345)


def test_a_worker_that_fails_fails_the_scan_instead_of_vanishing_from_it():
    """A part that raises in a worker thread used to end that thread alone (threading printed the traceback): the
    scan returned the other parts as if complete, e.g. 0 hashes and 0 hits with exit 0 for `scan --threads 2`."""
    from hashbench.backends.base import Backend

    class FailsOnce(Backend):
        name = "fails-once"

        def available(self) -> tuple[bool, str]:
            return True, ""

        def _scan_part(self, job, impl, start, count, max_found, threads):
            if start == 1 << 12:
                raise OverflowError("part 2 failed")
            return 0, []

    with pytest.raises(OverflowError, match="part 2 failed"):
        FailsOnce().scan(ScanJob(Header(bytes(76)), 1), 0, 1 << 16, threads=2)
