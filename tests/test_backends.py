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
@pytest.mark.parametrize("max_found", [0, 1 << 33, 1 << 70])
def test_no_slots_or_more_slots_than_32_bits(backend_impl, max_found, threads):
    """max_found 0 lists nothing and still counts; one past 2^32-1 (scan --max-found takes any size) lists every
    hit: the C wrapper took it as a uint32 and raised OverflowError, and numba's compiled kernel any past 2^64."""
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


@pytest.mark.parametrize("start, count, message", [
    (-1, 10, "start must be >= 0, got -1"),
    (0, 0, "count must be > 0, got 0"),
    (0, -5, "count must be > 0, got -5"),
    (NONCE_SPACE - 10, 11, "range 4294967286..4294967296 runs past the last nonce 4294967295"),
])
def test_bad_ranges_rejected(backend_impl, start, count, message):
    with pytest.raises(InputError) as err:
        scan_nonces(backend_impl, Header(bytes(76)), 1, start, count)
    assert str(err.value) == message


@pytest.mark.parametrize("threads", [0, -2])
def test_fewer_than_one_thread_is_refused(backend_impl, threads):
    with pytest.raises(InputError) as err:
        scan_nonces(backend_impl, Header(bytes(76)), 1, 0, 16, threads=threads)
    assert str(err.value) == f"threads must be >= 1, got {threads}"


def test_one_part_lists_at_most_max_found_of_its_hits_the_lowest_and_counts_all(backend_impl):
    """The contract every kernel keeps for the part scan() hands it (scan() trims the merged list again, so a kernel
    that listed one hit too many would pass every whole scan, and fill memory on a long part with an easy target)."""
    backend, impl = backend_impl
    job = ScanJob(Header(bytes(76)), (1 << 256) - 1)
    impl = backend.resolve_impl(impl)
    for max_found, listed in [(0, []), (1, [1000]), (10, list(range(1000, 1010))), (300, list(range(1000, 1300)))]:
        hits, found = backend._scan_part(job, impl, 1000, 300, max_found, 1)
        assert (hits, list(found)) == (300, listed), max_found


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
    with pytest.raises(BackendError, match=f"^backend 'reports' reported nonce {real + 1} whose hash does not meet the "
                                           "target$"):
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


def test_numba_is_available_exactly_where_it_is_installed(monkeypatch):
    import importlib.util

    from hashbench.backends.numba import NumbaBackend

    real = importlib.util.find_spec
    monkeypatch.setattr(importlib.util, "find_spec", lambda name, *a: None if name == "numba" else real(name, *a))
    assert NumbaBackend().available() == (False, 'numba is not installed (pip install "hashbench[numba]")')
    monkeypatch.setattr(importlib.util, "find_spec", lambda name, *a: object() if name == "numba" else real(name, *a))
    assert NumbaBackend().available() == (True, "")


def test_a_new_numba_backend_finds_the_real_nonces_of_one_block_after_another(mainnet_rows, testnet_rows):
    """A fresh instance (not the registry's, already loaded) loads its kernel on first use, and the words it keeps
    for a job are those of the job it is given, not of the one before."""
    from hashbench.backends.numba import NumbaBackend

    backend = NumbaBackend()
    if not backend.available()[0]:
        pytest.skip(backend.available()[1])
    for row in (mainnet_rows[-1], testnet_rows[-1], mainnet_rows[-1]):
        header = header_of(row)
        start = min(max(header.nonce - 1000, 0), NONCE_SPACE - 4096)
        result = backend.scan(ScanJob(header, header.target), start, 4096, threads=1)
        assert [(s.nonce, s.hash) for s in result.found] == [(header.nonce, row["block_hash"])], row["height"]


def test_run_benches_every_core_a_backend_can_run_not_more(monkeypatch):
    """`hashbench run` benches on every usable CPU; a backend with a smaller pool (numba's NUMBA_NUM_THREADS) gets
    its pool, not a count it would refuse."""
    import types

    from hashbench import run
    from hashbench.backends.cython import CythonBackend
    from hashbench.backends.python import PythonBackend

    class Capped(CythonBackend):
        def max_threads(self) -> int:
            return 3

    monkeypatch.setattr(run, "all_backends", lambda: [CythonBackend(), Capped(), PythonBackend()])
    configs, _ = run.plan(types.SimpleNamespace(usable_cpus=16))
    threads = [c.threads for c in configs if c.backend == "cython"]
    assert max(threads[:len(threads) // 2]) == 16 and max(threads[len(threads) // 2:]) == 3
    # hashlib holds the GIL: more threads are no faster, so python is benched on one thread only
    assert [(c.impl, c.threads) for c in configs if c.backend == "python"] == [("python", 1)]


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


def recording_backend(*, chunk: int | None = None, via_python: bool = True, part=None):
    """A backend that hashes nothing (every nonce a miss) and records the parts scan() hands it: (start, count,
    threads passed to the kernel, the Python thread that ran it). `part()` runs inside each part."""
    from hashbench.backends.base import Backend

    class Recorder(Backend):
        name = "recording"
        threads_via_python = via_python

        def __init__(self) -> None:
            self.parts: list[tuple[int, int, int, threading.Thread]] = []
            self.lock = threading.Lock()
            if chunk is not None:
                self.chunk = chunk

        def available(self) -> tuple[bool, str]:
            return True, ""

        def _scan_part(self, job, impl, start, count, max_found, threads):
            with self.lock:
                self.parts.append((start, count, threads, threading.current_thread()))
            if part is not None:
                part()
            return 0, []

    return Recorder()


MISS_JOB = ScanJob(Header(bytes(76)), 1)  # target 1: no hash meets it


def test_a_backend_that_threads_inside_its_kernel_gets_the_thread_count_and_chunks_as_wide():
    """numba's prange: one Python caller, every chunk `threads` times the chunk size, the thread count handed to the
    kernel (run on one thread it would be labelled with the count asked, at a fraction of the speed)."""
    backend = recording_backend(chunk=1000, via_python=False)
    result = backend.scan(MISS_JOB, 5, 10_000, threads=3)
    assert [p[:3] for p in backend.parts] == [(5, 3000, 3), (3005, 3000, 3), (6005, 3000, 3), (9005, 1000, 3)]
    assert all(p[3] is threading.current_thread() for p in backend.parts)
    assert (result.threads, result.hashes, result.hits, result.found) == (3, 10_000, 0, [])


def test_one_python_thread_scans_whole_chunks_on_the_calling_thread():
    backend = recording_backend()  # the default chunk, 1 << 22
    count = (1 << 23) + 5
    result = backend.scan(MISS_JOB, 7, count)
    assert [p[:3] for p in backend.parts] == [(7, 1 << 22, 1), (7 + (1 << 22), 1 << 22, 1), (7 + (1 << 23), 5, 1)]
    assert all(p[3] is threading.current_thread() for p in backend.parts)
    assert result.hashes == count


@pytest.mark.parametrize("count, piece", [(1 << 20, 1 << 15), (1 << 16, 1 << 12), (5000, 1 << 12)])
def test_python_threads_share_pieces_of_a_sixteenth_of_their_share_but_not_below_4096(count, piece):
    """Several Python threads pull pieces from one cursor: 16 per thread, so a thread slowed by the machine holds up
    little of the scan, but none shorter than 4096 nonces (each piece costs a call); each piece on one thread."""
    backend = recording_backend()
    result = backend.scan(MISS_JOB, 100, count, threads=2)
    parts = sorted(p[:3] for p in backend.parts)
    assert parts == [(s, min(piece, 100 + count - s), 1) for s in range(100, 100 + count, piece)]
    workers = {p[3] for p in backend.parts}
    assert threading.current_thread() not in workers
    # daemon threads: a kernel stuck in C never keeps the interpreter from exiting after Ctrl-C
    assert all(t.daemon and t.name.startswith("hashbench-recording-") for t in workers)
    assert (result.threads, result.hashes) == (2, count)


def test_ctrl_c_while_the_workers_run_stops_them_after_their_current_piece(monkeypatch):
    """Ctrl-C reaches the main thread, waiting on the workers: it sets the stop event, so each worker ends after the
    piece it holds (no more are taken), waits for them, and the KeyboardInterrupt goes on to the caller."""
    from hashbench.backends import base

    stop = threading.Event()
    backend = recording_backend(part=lambda: stop.wait(5))  # each piece lasts until the stop request

    class CtrlCOnJoin(base.threading.Thread):
        pressed = False

        def join(self, timeout=None):
            if not CtrlCOnJoin.pressed:
                CtrlCOnJoin.pressed = True
                raise KeyboardInterrupt
            super().join(timeout)

    monkeypatch.setattr(base.threading, "Thread", CtrlCOnJoin)
    with pytest.raises(KeyboardInterrupt):
        backend.scan(MISS_JOB, 0, 64 * 4096, threads=2, stop=stop)
    assert stop.is_set()
    workers = {p[3] for p in backend.parts}
    assert len(backend.parts) <= 2 and not any(t.is_alive() for t in workers)


def test_a_thread_the_system_refuses_is_a_refusal_naming_how_many_started(monkeypatch):
    """Only a thread that could not be started is reported as too many threads; Ctrl-C while starting them, or an
    error while waiting for them, goes on as it is. Either way the started workers are stopped and waited for."""
    from hashbench.backends import base

    def scan_with(fail_on_start: int | None, start_error: BaseException | None = None,
                  join_error: BaseException | None = None):
        stop = threading.Event()
        backend = recording_backend(part=lambda: stop.wait(5))

        class Failing(base.threading.Thread):
            starts = 0
            joins = 0

            def start(self) -> None:
                if Failing.starts == fail_on_start:
                    raise start_error
                Failing.starts += 1
                super().start()

            def join(self, timeout=None):
                Failing.joins += 1
                if join_error is not None and Failing.joins == 1:
                    raise join_error
                super().join(timeout)

        monkeypatch.setattr(base.threading, "Thread", Failing)
        try:
            backend.scan(MISS_JOB, 0, 64 * 4096, threads=8, stop=stop)
        finally:
            monkeypatch.undo()
        return stop, backend

    with pytest.raises(InputError) as err:
        scan_with(2, start_error=RuntimeError("can't start new thread"))
    assert str(err.value) == "--threads 8: the system started only 2 threads (can't start new thread); ask for fewer"
    with pytest.raises(KeyboardInterrupt):
        scan_with(1, start_error=KeyboardInterrupt())
    with pytest.raises(RuntimeError, match="^not a refused thread$"):
        scan_with(None, join_error=RuntimeError("not a refused thread"))


def test_a_scan_result_says_what_was_scanned_and_its_json_carries_it(mainnet_rows):
    """The real block's nonce found by the python backend on two threads; seconds measured around the scan alone."""
    import time

    from hashbench.backends import get_backend

    row = mainnet_rows[len(mainnet_rows) // 2]
    header = header_of(row)
    start = min(max(header.nonce - 700, 0), NONCE_SPACE - 1000)
    before = time.perf_counter()
    result = get_backend("python").scan(ScanJob(header, header.target), start, 1000, threads=2)
    elapsed = time.perf_counter() - before
    assert 0 < result.seconds <= elapsed
    assert result.hashrate == 1000 / result.seconds
    assert result.to_json() == {
        "backend": "python", "impl": "python", "threads": 2, "start": start, "hashes": 1000,
        "seconds": result.seconds, "hashrate": result.hashrate, "hits": 1,
        "found": [{"nonce": header.nonce, "hash": row["block_hash"]}],
    }
    assert result.interrupted is False


def test_a_result_without_measured_time_has_no_hashrate_rather_than_a_division_by_zero():
    from hashbench.backends.base import ScanResult

    result = ScanResult("python", "python", 1, 0, 0, 0.0, 0, [])
    assert result.hashrate == 0.0 and result.to_json()["hashrate"] == 0.0


def test_an_implementation_the_backend_lacks_is_refused_with_those_it_has():
    from hashbench.backends import get_backend

    with pytest.raises(InputError) as err:
        get_backend("python").scan(MISS_JOB, 0, 16, impl="avx2")
    assert str(err.value) == "backend 'python' has no implementation 'avx2' on this machine (available: python)"


def test_a_thread_limit_is_the_most_a_backend_runs_and_what_a_run_on_every_core_asks_for():
    from hashbench.backends.python import PythonBackend

    class Capped(PythonBackend):
        def max_threads(self) -> int:
            return 3

    capped = Capped()
    assert capped.scan(MISS_JOB, 0, 16, threads=3).threads == 3
    with pytest.raises(InputError) as err:
        capped.scan(MISS_JOB, 0, 16, threads=4)
    assert str(err.value) == "--threads 4: python runs at most 3 threads here; ask for fewer"
    assert (capped.all_core_threads(16), capped.all_core_threads(2)) == (3, 2)
    assert PythonBackend().all_core_threads(16) == 16 and PythonBackend().max_threads() is None
