"""`hashbench ab`: the base and the head commit benchmarked side by side, alternately, in one job.

Comparing today's CI run with last week's stored one mixes the code change with everything else that changed on
a shared runner: neighbours, thermals, clock policy. Here both builds run in the same job and take turns sample by
sample, A B B A A B B A ..., each sample scanning the very same nonce range on both sides, so whatever load comes
and goes lands on both sides alike, and no side always goes first.

Each side is its own source tree: the base revision is checked out with `git worktree add --detach` into a temp
directory; the head is the working tree (or a second worktree with --head REV). Each tree's C extension is built
in place (`setup.py build_ext --inplace`) with the running interpreter. Each side then runs in its own worker
process with that tree's src/ first on sys.path (checked: an installed hashbench can never stand in for it). A
worker warms up, calibrates a scan length of about --sample-seconds, and then times one scan per request from
this process; the timing code is the worker's own, identical on both sides. The worker drives the backend API
(get_backend, ScanJob, Backend.scan) that every hashbench revision has had since the first commit.

The samples then go through the same gate as `hashbench compare` (results/compare.py)."""

from __future__ import annotations

import importlib.util
import json
import math
import os
import selectors
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Protocol

from ..errors import HashbenchError, InputError
from .compare import CompareReport, Gate, compare_runs
from .fingerprint import HostFingerprint, detect_fingerprint, git_state
from .schema import HASHRATE, Measurement, RunResult, hashrate_name

BUILD_TIMEOUT_S = 1800
WORKER_TIMEOUT_S = 600
NONCE_SPACE = 1 << 32

# One side's worker: reads "scan START COUNT" lines, answers one JSON line each. The first line it writes says
# which implementation runs and how many nonces make one sample of about the requested seconds.
_WORKER = r"""
import json, sys, time
src, backend_name, impl, threads, sample_seconds = sys.argv[1], sys.argv[2], sys.argv[3] or None, int(sys.argv[4]), \
    float(sys.argv[5])
sys.path.insert(0, src)
import hashbench
if not hashbench.__file__.startswith(src):
    sys.exit(f"hashbench imported from {hashbench.__file__}, not from {src}")
from hashbench.backends import ScanJob, get_backend
from hashbench.header import DIFF1_TARGET
from hashbench.samples import bench_header
try:
    backend = get_backend(backend_name)
    impl = backend.resolve_impl(impl)
except Exception as exc:
    sys.exit(f"{type(exc).__name__}: {exc}")
job = ScanJob(bench_header(), DIFF1_TARGET)
backend.warm_up(impl)
def timed(n):
    t0 = time.perf_counter()
    backend.scan(job, 0, n, impl=impl, threads=threads)
    return time.perf_counter() - t0
count = 1 << 10
while timed(count) < sample_seconds / 4 and count < 1 << 28:
    count *= 4
took = sorted(timed(count) for _ in range(3))[1]  # one lucky (or unlucky) scan does not set the length
count = max(threads, min(int(count * sample_seconds / took), 1 << 30))
print(json.dumps({"impl": impl, "count": count, "file": hashbench.__file__}), flush=True)
for line in sys.stdin:
    parts = line.split()
    if not parts or parts[0] != "scan":
        break
    start, n = int(parts[1]), int(parts[2])
    t0 = time.perf_counter()
    result = backend.scan(job, start, n, impl=impl, threads=threads)
    took = time.perf_counter() - t0
    print(json.dumps({"hashes": result.hashes, "seconds": took}), flush=True)
"""


@dataclass(frozen=True)
class Side:
    key: str  # "A" (base) or "B" (head)
    label: str
    commit: str | None  # None: the working tree as it is
    tree: Path


@dataclass(frozen=True)
class BenchSpec:
    backend: str = "cython"
    impl: str | None = None
    threads: int = 1
    sample_seconds: float = 0.02  # short: more samples in the same time, each adjacent to its counterpart
    samples: int = 100  # per side


class Worker(Protocol):
    """One side, ready to time scans: `impl` it runs, `count` nonces it calibrated for one sample."""

    impl: str
    count: int

    def sample(self, start: int, count: int) -> float:
        """Hashes per second of one scan of start..start+count-1."""

    def close(self) -> None: ...


WorkerFactory = Callable[[Side, BenchSpec], Worker]
Listener = Callable[[str, object], None]


@dataclass
class AbResult:
    base: Side
    head: Side
    spec: BenchSpec
    order: str = ""
    impls: dict[str, str] = field(default_factory=dict)
    rates: dict[str, list[float]] = field(default_factory=lambda: {"A": [], "B": []})
    report: CompareReport | None = None

    def to_json(self) -> dict:
        return {"base": {"label": self.base.label, "commit": self.base.commit, "impl": self.impls.get("A")},
                "head": {"label": self.head.label, "commit": self.head.commit, "impl": self.impls.get("B")},
                "backend": self.spec.backend, "threads": self.spec.threads,
                "sample_seconds": self.spec.sample_seconds, "order": self.order,
                "samples": {"base": self.rates["A"], "head": self.rates["B"]},
                "compare": self.report.to_json() if self.report else None}


def order(pairs: int) -> str:
    """AB BA AB BA ...: each side goes first equally often, so a linear drift biases neither."""
    return "".join("AB" if i % 2 == 0 else "BA" for i in range(pairs))


def interleave(workers: dict[str, Worker], pairs: int, listen: Listener | None = None) -> tuple[str, dict]:
    """Alternating samples of both sides over identical nonce ranges; returns (order, {side: [H/s...]})."""
    listen = listen or (lambda *_: None)
    count = min(w.count for w in workers.values())  # same work per sample on both sides
    seq = order(pairs)
    rates: dict[str, list[float]] = {k: [] for k in workers}
    for i, key in enumerate(seq):
        start = (i // 2) * count % (NONCE_SPACE - count)
        rates[key].append(workers[key].sample(start, count))
        listen("sample", (i // 2, key, rates[key][-1]))
    return seq, rates


class InProcessWorker:
    """A backend object in this process (for scripts comparing, say, a kernel with a throttled copy of it)."""

    def __init__(self, backend, impl: str | None = None, threads: int = 1, sample_seconds: float = 0.1) -> None:
        from ..backends import ScanJob
        from ..header import DIFF1_TARGET
        from ..samples import bench_header

        self.backend, self.threads = backend, threads
        self.impl = backend.resolve_impl(impl)
        self.job = ScanJob(bench_header(), DIFF1_TARGET)
        backend.warm_up(self.impl)

        def timed(n: int) -> float:
            t0 = time.perf_counter()
            backend.scan(self.job, 0, n, impl=self.impl, threads=threads)
            return time.perf_counter() - t0

        count = 1 << 10
        while timed(count) < sample_seconds / 4 and count < 1 << 28:
            count *= 4
        took = sorted(timed(count) for _ in range(3))[1]  # as the subprocess worker does
        self.count = max(threads, min(int(count * sample_seconds / took), 1 << 30))

    def sample(self, start: int, count: int) -> float:
        t0 = time.perf_counter()
        result = self.backend.scan(self.job, start, count, impl=self.impl, threads=self.threads)
        return result.hashes / (time.perf_counter() - t0)

    def close(self) -> None:
        pass


class SubprocessWorker:
    """A worker process running one source tree's own code."""

    def __init__(self, side: Side, spec: BenchSpec) -> None:
        self.label = side.label
        src = str((side.tree / "src").resolve())
        args = [sys.executable, "-c", _WORKER, src, spec.backend, spec.impl or "", str(spec.threads),
                str(spec.sample_seconds)]
        # stderr to a file, not a pipe: a chatty worker (JIT warnings) must never block on a full pipe
        self.errors = tempfile.TemporaryFile(mode="w+")  # noqa: SIM115 - lives with the worker; close() closes it
        self.proc = subprocess.Popen(args, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=self.errors,
                                     text=True, bufsize=1)
        try:
            hello = self._read("impl", "count")
        except BaseException:  # no one will close() a worker that never started: stop and reap it here
            self.proc.kill()
            self.proc.communicate()
            self.errors.close()
            raise
        self.impl, self.count = str(hello["impl"]), int(hello["count"])

    def _read(self, *keys: str) -> dict:
        # A worker that hangs (a tree whose import blocks, a kernel that never returns) must not hold the job for
        # ever: an answer takes WORKER_TIMEOUT_S at most. Each request gets one line, so no further line waits in
        # the reader's buffer while the pipe looks empty.
        with selectors.DefaultSelector() as ready:
            ready.register(self.proc.stdout, selectors.EVENT_READ)
            if not ready.select(timeout=WORKER_TIMEOUT_S):
                self.proc.kill()
                self.proc.wait()
                raise HashbenchError(f"{self.label}: the benchmark worker gave no answer in {WORKER_TIMEOUT_S:g} s")
        line = self.proc.stdout.readline()
        if not line:
            self.proc.wait(timeout=WORKER_TIMEOUT_S)
            self.errors.seek(0)
            why = (self.errors.read().strip().splitlines() or ["no output"])[-1]
            raise HashbenchError(f"{self.label}: the benchmark worker stopped: {why}")
        try:
            answer = json.loads(line)
        except ValueError:
            answer = None
        if not isinstance(answer, dict) or not all(key in answer for key in keys):
            raise HashbenchError(f"{self.label}: unexpected worker output {line[:200]!r}")
        return answer

    def sample(self, start: int, count: int) -> float:
        self.proc.stdin.write(f"scan {start} {count}\n")
        self.proc.stdin.flush()
        answer = self._read("hashes", "seconds")
        return answer["hashes"] / answer["seconds"]

    def close(self) -> None:
        try:
            self.proc.stdin.close()
            self.proc.wait(timeout=30)
        except (OSError, subprocess.TimeoutExpired):
            self.proc.kill()
            self.proc.wait()
        self.proc.stdout.close()
        self.errors.close()


def _git(repo: Path, *args: str) -> str:
    done = subprocess.run(["git", *args], cwd=repo, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        raise InputError(f"git {' '.join(args)}: {done.stderr.strip() or 'failed'}")
    return done.stdout.strip()


def _commit(root: Path, rev: str) -> str:
    try:
        return _git(root, "rev-parse", "--verify", "--quiet", f"{rev}^{{commit}}")
    except InputError:
        raise InputError(f"unknown revision {rev!r} in {root}") from None


def repo_root(where: Path | None = None) -> Path:
    where = where or Path.cwd()
    try:
        return Path(_git(where, "rev-parse", "--show-toplevel"))
    except (InputError, OSError):
        raise InputError(f"{where} is not inside a git checkout: `hashbench ab` compares commits") from None


def build_tree(tree: Path) -> None:
    """Compiles the tree's C extension in place, with this interpreter (Cython and setuptools must be here)."""
    missing = [name for name in ("Cython", "setuptools") if importlib.util.find_spec(name) is None]
    if missing:
        raise HashbenchError(f"hashbench ab builds each revision with this interpreter and needs "
                             f"{' and '.join(missing)} here: pip install 'hashbench[ab]'")
    try:
        # The extension is optional for users (setup.py); here a failed build must fail, or a stale in-place build
        # left from an earlier state of the tree would be timed as this one.
        done = subprocess.run([sys.executable, "setup.py", "-q", "build_ext", "--inplace"], cwd=tree,
                              capture_output=True, text=True, timeout=BUILD_TIMEOUT_S, check=False,
                              env={**os.environ, "HASHBENCH_REQUIRE_EXTENSION": "1"})
    except subprocess.TimeoutExpired:
        raise HashbenchError(f"building {tree} took over {BUILD_TIMEOUT_S} s") from None
    if done.returncode != 0:
        tail = (done.stderr or done.stdout).strip().splitlines()[-3:]
        raise HashbenchError(f"building {tree} failed: {' | '.join(tail)}")


def _run(side: Side, host: HostFingerprint, started: str, spec: BenchSpec, impl: str,
         rates: list[float]) -> RunResult:
    m = Measurement(name=hashrate_name(spec.backend, spec.impl or "default", spec.threads), kind=HASHRATE,
                    unit="H/s", samples=tuple(rates),
                    params={"backend": spec.backend, "impl": impl, "threads": spec.threads})
    if side.commit is not None:  # a checkout of a commit: that commit, clean
        commit, dirty = side.commit, False
    else:  # the working tree compared: its repository's HEAD and changes, not those of hashbench's own checkout
        commit, dirty, _ = git_state(side.tree)
    return RunResult(host=replace(host, git_commit=commit, git_dirty=dirty), started=started, measurements=[m],
                     complete=True, source="hashbench ab")


def run_ab(base_rev: str, head_rev: str | None = None, *, repo: Path | None = None, spec: BenchSpec = BenchSpec(),
           build: bool = True, gate: Gate | None = None, workers: WorkerFactory | None = None,
           listen: Listener | None = None) -> AbResult:
    if spec.samples < 3:
        raise InputError(f"--samples must be at least 3 per side, got {spec.samples}")
    if not 0 < spec.sample_seconds < math.inf:  # inf: the calibration would scan 2^28 nonces, then fail
        raise InputError(f"--sample-seconds must be > 0 and finite, got {spec.sample_seconds}")
    listen = listen or (lambda *_: None)
    workers = workers or SubprocessWorker
    root = repo_root(repo)
    base_commit = _commit(root, base_rev)
    head_commit = _commit(root, head_rev) if head_rev else None
    tmp = Path(tempfile.mkdtemp(prefix="hashbench-ab-"))
    worktrees: list[Path] = []
    running: list[Worker] = []
    try:
        def checkout(commit: str, name: str) -> Path:
            path = tmp / name
            listen("checkout", f"{commit[:12]} -> {path}")
            worktrees.append(path)  # before git makes it: a Ctrl-C as git returns still removes it
            _git(root, "worktree", "add", "--detach", "--quiet", str(path), commit)
            return path

        base = Side("A", f"base {base_rev} ({base_commit[:12]})", base_commit, checkout(base_commit, "base"))
        if head_commit:
            head = Side("B", f"head {head_rev} ({head_commit[:12]})", head_commit, checkout(head_commit, "head"))
        else:
            head = Side("B", "head (working tree)", None, root)
        if build:
            for side in (base, head):
                listen("build", side.label)
                build_tree(side.tree)
        host = detect_fingerprint()
        started = datetime.now(UTC).isoformat(timespec="seconds")
        pool = {}
        for side in (base, head):
            pool[side.key] = workers(side, spec)
            running.append(pool[side.key])
        result = AbResult(base, head, spec, impls={k: w.impl for k, w in pool.items()})
        result.order, result.rates = interleave(pool, spec.samples, listen)
        base_run = _run(base, host, started, spec, result.impls["A"], result.rates["A"])
        head_run = _run(head, host, started, spec, result.impls["B"], result.rates["B"])
        report = compare_runs(base_run, head_run, gate, base_label=base.label, cand_label=head.label)
        if result.impls["A"] != result.impls["B"]:
            note = f"the sides ran different implementations: base {result.impls['A']}, head {result.impls['B']}"
            report = replace(report, notes=(*report.notes, note))
        result.report = report
        return result
    finally:
        for worker in running:
            worker.close()
        for path in worktrees:
            subprocess.run(["git", "worktree", "remove", "--force", str(path)], cwd=root, capture_output=True,
                           check=False)
        shutil.rmtree(tmp, ignore_errors=True)
        # after the folders are gone: prune forgets only worktrees whose folder is missing
        subprocess.run(["git", "worktree", "prune"], cwd=root, capture_output=True, check=False)
