"""`hashbench ab`'s parts that need no git checkout: the interleaving, the in-process and subprocess workers (their
calibration and protocol, on a fake clock), the build step, the JSON and the runs the comparison is made of."""

from __future__ import annotations

import math
import subprocess
import sys
import textwrap
import time
from dataclasses import replace
from pathlib import Path
from types import SimpleNamespace

import pytest
from results_helpers import HOST

from hashbench.errors import HashbenchError, InputError
from hashbench.header import DIFF1_TARGET
from hashbench.results import ab
from hashbench.results.ab import (
    NONCE_SPACE,
    AbResult,
    BenchSpec,
    InProcessWorker,
    Side,
    SubprocessWorker,
    build_tree,
    interleave,
    order,
)
from hashbench.results.schema import HASHRATE
from hashbench.samples import bench_header


class RecordingWorker:
    def __init__(self, count: int, rate: float) -> None:
        self.impl, self.count, self.rate, self.calls = "sim", count, rate, []

    def sample(self, start: int, count: int) -> float:
        self.calls.append((start, count))
        self.rate += 1
        return self.rate

    def close(self) -> None:
        pass


def test_order_of_no_pairs_is_empty_and_pairs_alternate():
    assert order(0) == ""
    assert order(1) == "AB"
    assert order(5) == "ABBAABBAAB"


def test_interleave_steps_through_the_nonce_space_with_the_smaller_count_and_wraps_inside_it():
    count = (1 << 30) + 1
    workers = {"A": RecordingWorker(count, 100.0), "B": RecordingWorker(count + 5, 200.0)}
    events = []
    seq, rates = interleave(workers, 4, lambda event, payload: events.append((event, payload)))
    assert seq == "ABBAABBA"
    # pair k scans k * count onwards, wrapped so that the whole scan stays inside the 32-bit nonce space
    starts = [0, count, 2 * count, 3 * count % (NONCE_SPACE - count)]
    assert starts[3] == 4
    assert workers["A"].calls == workers["B"].calls == [(s, count) for s in starts]
    assert all(s + count <= NONCE_SPACE for s in starts)
    assert rates == {"A": [101.0, 102.0, 103.0, 104.0], "B": [201.0, 202.0, 203.0, 204.0]}
    assert events == [("sample", (0, "A", 101.0)), ("sample", (0, "B", 201.0)), ("sample", (1, "B", 202.0)),
                      ("sample", (1, "A", 102.0)), ("sample", (2, "A", 103.0)), ("sample", (2, "B", 203.0)),
                      ("sample", (3, "B", 204.0)), ("sample", (3, "A", 104.0))]


def test_interleave_without_a_listener():
    workers = {"A": RecordingWorker(10, 0.0), "B": RecordingWorker(7, 0.0)}
    seq, rates = interleave(workers, 2)
    assert seq == "ABBA" and rates == {"A": [1.0, 2.0], "B": [1.0, 2.0]}
    assert workers["A"].calls == [(0, 7), (7, 7)]


class Clock:
    """time.perf_counter for the code under test: only the fake backend's scans move it."""

    def __init__(self) -> None:
        self.now = 1024.0

    def perf_counter(self) -> float:
        return self.now


class ClockBackend:
    """Each scan takes `per_hash` seconds a nonce on the fake clock, times the next of `factors` (then 1)."""

    def __init__(self, clock: Clock, per_hash: float, factors: tuple[float, ...] = ()) -> None:
        self.clock, self.per_hash, self.factors = clock, per_hash, list(factors)
        self.calls: list[tuple] = []
        self.events: list[tuple] = []

    def resolve_impl(self, impl):
        self.events.append(("resolve", impl))
        return impl or "fastest"

    def warm_up(self, impl):
        self.events.append(("warm_up", impl))

    def scan(self, job, start, count, *, impl, threads):
        self.calls.append((start, count, impl, threads))
        assert job.target == DIFF1_TARGET and job.header == bench_header()
        self.clock.now += count * self.per_hash * (self.factors.pop(0) if self.factors else 1.0)
        return SimpleNamespace(hashes=count)


@pytest.fixture
def clock(monkeypatch) -> Clock:
    c = Clock()
    monkeypatch.setattr(ab, "time", SimpleNamespace(perf_counter=c.perf_counter))
    return c


def test_in_process_worker_calibrates_on_the_median_of_three_scans(clock):
    # 2^-20 s a nonce: 1024, 4096 and 16384 nonces take under a quarter of the 1/8 s asked for, 65536 do not; the
    # three timed scans of 65536 take 2x, 1x and 0.5x that, and the median (1/16 s) sets the length.
    backend = ClockBackend(clock, 2.0 ** -20, factors=(1, 1, 1, 1, 2, 1, 0.5))
    worker = InProcessWorker(backend, "avx2", threads=2, sample_seconds=0.125)
    assert worker.impl == "avx2" and backend.events == [("resolve", "avx2"), ("warm_up", "avx2")]
    assert [c[1] for c in backend.calls] == [1024, 4096, 16384, 65536, 65536, 65536, 65536]
    assert all(c[0] == 0 and c[2:] == ("avx2", 2) for c in backend.calls)
    assert worker.count == 131072


def test_in_process_worker_stops_growing_at_a_quarter_of_the_sample_exactly(clock):
    # 2^-20 s a nonce: 1024 nonces take 2^-10 s, exactly a quarter of 2^-8 s, which is long enough
    backend = ClockBackend(clock, 2.0 ** -20)
    worker = InProcessWorker(backend, None, sample_seconds=2.0 ** -8)
    assert worker.impl == "fastest" and backend.events == [("resolve", None), ("warm_up", "fastest")]
    assert [c[1] for c in backend.calls] == [1024] * 4
    assert worker.count == 4096
    # just under a quarter (the same 2^-10 s out of 0.0044 s): one more growth step
    backend = ClockBackend(clock, 2.0 ** -20)
    InProcessWorker(backend, None, sample_seconds=0.0044)
    assert [c[1] for c in backend.calls] == [1024] + [4096] * 4


def test_in_process_worker_defaults_to_one_thread_and_a_tenth_of_a_second(clock):
    backend = ClockBackend(clock, 2.0 ** -20)
    worker = InProcessWorker(backend)
    assert worker.impl == "fastest" and {c[3] for c in backend.calls} == {1}
    assert worker.count == 104857  # 65536 nonces in 1/16 s: 0.1 s is 104857.6 of them


def test_in_process_worker_count_is_capped_both_ways(clock):
    fast = ClockBackend(clock, 2.0 ** -40)  # 2^28 nonces in 2^-12 s: the growth stops at 2^28, the length at 2^30
    worker = InProcessWorker(fast, None, sample_seconds=0.1)
    assert max(c[1] for c in fast.calls) == 1 << 28 and fast.calls[-1][1] == 1 << 28
    assert worker.count == 1 << 30
    slow = ClockBackend(clock, 1.0)  # a second a nonce: not one nonce fits in 0.1 s, but each thread gets one
    assert InProcessWorker(slow, None, threads=3, sample_seconds=0.1).count == 3
    assert [c[1] for c in slow.calls] == [1024] * 4


def test_in_process_worker_sample_is_hashes_over_its_own_scan_time(clock):
    backend = ClockBackend(clock, 2.0 ** -20)
    worker = InProcessWorker(backend, "x", threads=4, sample_seconds=2.0 ** -8)
    backend.calls.clear()
    assert worker.sample(4096, 1 << 19) == float(1 << 20)  # 2^19 nonces in half a second
    assert backend.calls == [(4096, 1 << 19, "x", 4)]
    worker.close()


# --- the subprocess worker, on a fake hashbench package whose backend moves a fake clock ---------------------------

FAKE_INIT = '''
import os, sys, time
mode = os.environ.get("HB_FAKE_MODE", "")
LINES = {"garbage": "not json at all", "number": "42", "no-count": '{"impl": "x"}', "no-impl": '{"count": 5}',
         "long": "x" * 300}
if mode in LINES:
    print(LINES[mode], flush=True)
if mode == "quiet-exit":
    os._exit(3)
if mode == "chatty-exit":
    sys.stderr.write("first line\\nsecond line\\nthe last word\\n")
    sys.exit(4)
class _Clock:
    now = 1024.0
    @classmethod
    def perf_counter(cls):
        return cls.now
time.perf_counter = _Clock.perf_counter
'''
FAKE_BACKENDS = '''
import os, time
class ScanJob:
    def __init__(self, header, target):
        self.header, self.target = header, target
class _Result:
    def __init__(self, hashes):
        self.hashes = hashes
class _Backend:
    def resolve_impl(self, impl):
        if impl not in (None, "slow", "fast"):
            raise KeyError(f"no impl {impl}")
        return impl or "fast"
    def warm_up(self, impl):
        pass
    def scan(self, job, start, count, impl, threads):
        if start == 7 and os.environ.get("HB_FAKE_MODE", "").startswith("chatter "):
            print(os.environ["HB_FAKE_MODE"][8:], flush=True)  # a line on stdout that is JSON but no answer
        # 2^-20 s a nonce for "fast", twice that for "slow"; the start and the thread count add that many nonces
        per = 2.0 ** -20 * (2 if impl == "slow" else 1)
        time.perf_counter.__self__.now += (count + start + threads - 1) * per
        return _Result(count)
def get_backend(name):
    if name != "fake":
        raise ValueError(f"unknown backend {name!r}")
    return _Backend()
'''


@pytest.fixture
def fake_tree(tmp_path) -> Path:
    pkg = tmp_path / "tree" / "src" / "hashbench"
    pkg.mkdir(parents=True)
    (pkg / "__init__.py").write_text(FAKE_INIT)
    (pkg / "backends.py").write_text(FAKE_BACKENDS)
    (pkg / "header.py").write_text("DIFF1_TARGET = 1\n")
    (pkg / "samples.py").write_text("def bench_header():\n    return b''\n")
    return tmp_path / "tree"


def _side(tree: Path) -> Side:
    return Side("A", "base main (0123456789ab)", "0" * 40, tree)


SPEC = BenchSpec(backend="fake", sample_seconds=2.0 ** -8)


def test_subprocess_worker_runs_the_trees_own_code_and_answers_each_scan(fake_tree):
    worker = SubprocessWorker(_side(fake_tree), SPEC)
    try:
        # calibrated as the in-process worker is: 1024 nonces take a quarter of the sample, so 4096 make one
        assert (worker.impl, worker.count) == ("fast", 4096)
        assert worker.sample(0, 1 << 19) == float(1 << 20)
        assert worker.sample(1 << 19, 1 << 19) == float(1 << 19)  # the start reached the backend
    finally:
        worker.close()
    assert worker.proc.returncode == 0 and worker.proc.stdout.closed and worker.errors.closed


def test_subprocess_worker_passes_impl_and_threads(fake_tree):
    worker = SubprocessWorker(_side(fake_tree), replace(SPEC, impl="slow", threads=3))
    try:
        assert worker.impl == "slow"
        assert worker.sample(0, (1 << 19) - 2) == float((1 << 19) - 2)  # 2^19 nonces' time: 2 threads add 2
    finally:
        worker.close()


@pytest.mark.parametrize(("spec", "why"), [
    (replace(SPEC, backend="nope"), "ValueError: unknown backend 'nope'"),
    (replace(SPEC, impl="sse9"), "KeyError: 'no impl sse9'"),
])
def test_subprocess_worker_that_cannot_start_says_why_in_one_line(fake_tree, spec, why):
    with pytest.raises(HashbenchError) as caught:
        SubprocessWorker(_side(fake_tree), spec)
    assert str(caught.value) == f"base main (0123456789ab): the benchmark worker stopped: {why}"


def test_a_worker_that_hangs_is_killed_after_the_timeout_not_waited_for(fake_tree, monkeypatch):
    """A tree whose import blocks held `ab` for ever: readline() had no deadline."""
    (fake_tree / "src" / "hashbench" / "__init__.py").write_text("import time\ntime.sleep(3600)\n")
    monkeypatch.setattr(ab, "WORKER_TIMEOUT_S", 0.5)
    t0 = time.monotonic()
    with pytest.raises(HashbenchError) as caught:
        SubprocessWorker(_side(fake_tree), SPEC)
    assert time.monotonic() - t0 < 30
    assert str(caught.value) == "base main (0123456789ab): the benchmark worker gave no answer in 0.5 s"


@pytest.mark.parametrize(("mode", "why"), [("quiet-exit", "no output"), ("chatty-exit", "the last word")])
def test_subprocess_worker_that_dies_names_its_last_words(fake_tree, monkeypatch, mode, why):
    monkeypatch.setenv("HB_FAKE_MODE", mode)
    with pytest.raises(HashbenchError) as caught:
        SubprocessWorker(_side(fake_tree), SPEC)
    assert str(caught.value) == f"base main (0123456789ab): the benchmark worker stopped: {why}"


@pytest.mark.parametrize(("mode", "line"), [("garbage", "not json at all"), ("number", "42"),
                                           ("no-count", '{"impl": "x"}'), ("no-impl", '{"count": 5}'),
                                           ("long", "x" * 200)])
def test_subprocess_worker_that_does_not_say_hello_is_an_error_and_is_stopped(fake_tree, monkeypatch, mode, line):
    """A tree whose code writes to stdout; the worker it started is stopped and reaped at once, not left waiting
    on its stdin for a close() no one will call."""
    started = []

    class Popen(subprocess.Popen):
        def __init__(self, *args, **kwargs) -> None:
            super().__init__(*args, **kwargs)
            started.append(self)

    monkeypatch.setattr(ab.subprocess, "Popen", Popen)
    monkeypatch.setenv("HB_FAKE_MODE", mode)
    with pytest.raises(HashbenchError) as caught:
        SubprocessWorker(_side(fake_tree), SPEC)
    if mode != "long":  # the line as it came, cut at 200 characters
        line += "\n"
    assert str(caught.value) == f"base main (0123456789ab): unexpected worker output {line!r}"
    [proc] = started
    assert proc.returncode is not None and proc.stdin.closed and proc.stdout.closed


@pytest.mark.parametrize("line", ["[1, 2]", '{"hashes": 10}', '{"seconds": 0.5}'])
def test_subprocess_worker_answer_that_is_no_answer_is_an_error(fake_tree, monkeypatch, line):
    monkeypatch.setenv("HB_FAKE_MODE", f"chatter {line}")
    worker = SubprocessWorker(_side(fake_tree), SPEC)
    try:
        with pytest.raises(HashbenchError) as caught:
            worker.sample(7, 10)
        assert str(caught.value) == f"base main (0123456789ab): unexpected worker output {line + chr(10)!r}"
    finally:
        worker.close()


def test_subprocess_worker_refuses_a_tree_without_hashbench(tmp_path):
    """An installed hashbench must never stand in for the tree's own code."""
    (tmp_path / "src").mkdir()
    with pytest.raises(HashbenchError, match=r"the benchmark worker stopped: hashbench imported from .*, not from "
                                             + str(tmp_path.resolve() / "src")):
        SubprocessWorker(_side(tmp_path), SPEC)


# --- build ----------------------------------------------------------------------------------------------------------

def _setup_py(tree: Path, body: str) -> Path:
    tree.mkdir(exist_ok=True)
    (tree / "setup.py").write_text(textwrap.dedent(body))
    return tree


def test_build_tree_runs_setup_py_in_place_in_the_tree_and_requires_the_extension(tmp_path):
    tree = _setup_py(tmp_path / "t", """
        import os, sys
        open("called", "w").write(" ".join(sys.argv[1:]) + "|" + os.environ["HASHBENCH_REQUIRE_EXTENSION"])
        """)
    build_tree(tree)
    assert (tree / "called").read_text() == "-q build_ext --inplace|1"


def test_build_failure_quotes_the_last_three_lines_of_stderr_else_stdout(tmp_path):
    tree = _setup_py(tmp_path / "t", """
        import sys
        print("stdout noise")
        sys.stderr.write("one\\ntwo\\nthree\\nfour\\nfive\\n")
        sys.exit(1)
        """)
    with pytest.raises(HashbenchError) as caught:
        build_tree(tree)
    assert str(caught.value) == f"building {tree} failed: three | four | five"
    _setup_py(tree, """
        import sys
        print("only\\nstdout\\nsaid\\nthis")
        sys.exit(1)
        """)
    with pytest.raises(HashbenchError) as caught:
        build_tree(tree)
    assert str(caught.value) == f"building {tree} failed: stdout | said | this"


def test_build_that_hangs_is_stopped(tmp_path, monkeypatch):
    monkeypatch.setattr(ab, "BUILD_TIMEOUT_S", 0.5)
    tree = _setup_py(tmp_path / "t", "import time\ntime.sleep(20)\n")
    with pytest.raises(HashbenchError) as caught:
        build_tree(tree)
    assert str(caught.value) == f"building {tree} took over 0.5 s"


def test_build_without_cython_and_setuptools_names_both(tmp_path, monkeypatch):
    monkeypatch.setitem(sys.modules, "Cython", None)
    monkeypatch.setitem(sys.modules, "setuptools", None)
    with pytest.raises(HashbenchError) as caught:
        build_tree(tmp_path)
    assert str(caught.value) == ("hashbench ab builds each revision with this interpreter and needs Cython and "
                                 "setuptools here: pip install 'hashbench[ab]'")


# --- the runs compared and the JSON ---------------------------------------------------------------------------------

def test_each_side_becomes_a_complete_run_at_its_own_commit(tmp_path):
    spec = BenchSpec(backend="numba", impl=None, threads=4)
    dirty = replace(HOST, git_commit="f" * 40, git_dirty=True)
    base = ab._run(Side("A", "base", "b" * 40, Path()), dirty, "2026-01-02T03:04:05+00:00", spec, "cpu", [1.0, 2.0])
    assert base.host.git_commit == "b" * 40 and base.host.git_dirty is False  # a clean checkout of the commit
    assert base.started == "2026-01-02T03:04:05+00:00" and base.complete and base.source == "hashbench ab"
    [m] = base.measurements
    assert (m.name, m.kind, m.unit, m.samples) == ("sha256d[numba-default-x4]", HASHRATE, "H/s", (1.0, 2.0))
    assert m.params == {"backend": "numba", "impl": "cpu", "threads": 4}
    # The working tree: its repository's HEAD and changes, not the commit of the checkout hashbench runs from (it
    # recorded commit None, and the dirty flag of hashbench's own checkout).
    import subprocess

    repo = tmp_path / "repo"
    repo.mkdir()

    def git(*args: str) -> str:
        return subprocess.run(["git", *args], cwd=repo, check=True, capture_output=True, text=True).stdout.strip()

    git("init", "-q")
    (repo / "f").write_text("1\n")
    git("add", "f")
    git("-c", "user.name=t", "-c", "user.email=t@t", "commit", "-q", "-m", "one")
    clean = ab._run(Side("B", "head", None, repo), dirty, "t", spec, "cpu", [3.0])
    assert (clean.host.git_commit, clean.host.git_dirty) == (git("rev-parse", "HEAD"), False)
    (repo / "f").write_text("2\n")
    head = ab._run(Side("B", "head", None, repo), HOST, "t", replace(spec, impl="cpu"), "cpu", [3.0])
    assert (head.host.git_commit, head.host.git_dirty) == (git("rev-parse", "HEAD"), True)
    assert head.measurements[0].name == "sha256d[numba-cpu-x4]"


def test_ab_result_json():
    spec = BenchSpec(backend="python", threads=2, sample_seconds=0.5, samples=3)
    result = AbResult(Side("A", "base x", "a" * 40, Path()), Side("B", "head y", None, Path()), spec, order="ABBAAB",
                      impls={"A": "python", "B": "python2"}, rates={"A": [1.0, 2.0, 3.0], "B": [4.0, 5.0, 6.0]})
    assert result.to_json() == {
        "base": {"label": "base x", "commit": "a" * 40, "impl": "python"},
        "head": {"label": "head y", "commit": None, "impl": "python2"},
        "backend": "python", "threads": 2, "sample_seconds": 0.5, "order": "ABBAAB",
        "samples": {"base": [1.0, 2.0, 3.0], "head": [4.0, 5.0, 6.0]}, "compare": None}
    fresh = AbResult(result.base, result.head, spec)
    assert (fresh.order, fresh.impls, fresh.rates, fresh.report) == ("", {}, {"A": [], "B": []}, None)
    assert fresh.to_json()["base"]["impl"] is None


@pytest.mark.parametrize("seconds", [0.0, -1.0, math.nan, math.inf])
def test_ab_refuses_a_sample_length_that_is_no_length_before_touching_git(tmp_path, seconds):
    with pytest.raises(InputError) as caught:
        ab.run_ab("HEAD", repo=tmp_path, spec=BenchSpec(sample_seconds=seconds), build=False)
    assert str(caught.value) == f"--sample-seconds must be > 0 and finite, got {seconds}"
