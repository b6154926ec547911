"""`hashbench ab`: base and head interleaved in one job, each side running its own tree's code."""

from __future__ import annotations

import json
import random
import shutil
import subprocess
import sys
from dataclasses import replace
from datetime import datetime, timedelta
from pathlib import Path
from typing import ClassVar

import pytest
from build_helpers import source_tree
from results_helpers import run_cli

from hashbench.errors import HashbenchError, InputError
from hashbench.results.ab import BenchSpec, Side, build_tree, order, run_ab
from hashbench.results.compare import SLOWER, UNCHANGED, Gate

REPO = Path(__file__).resolve().parents[1]
pytestmark = pytest.mark.skipif(shutil.which("git") is None, reason="git not installed")


def _git(cwd: Path, *args: str) -> str:
    return subprocess.run(["git", *args], cwd=cwd, check=True, capture_output=True, text=True).stdout.strip()


@pytest.fixture
def tiny_repo(tmp_path) -> Path:
    repo = tmp_path / "repo"
    repo.mkdir()
    _git(repo, "init", "-q")
    for i in range(2):
        (repo / "file.txt").write_text(f"version {i}\n")
        _git(repo, "add", "file.txt")
        _git(repo, "-c", "user.name=t", "-c", "user.email=t@t", "commit", "-q", "-m", f"v{i}")
    return repo


class FakeWorker:
    """Speed set per side; a shared "load" that drifts over time hits whichever side runs at that moment."""

    clock: ClassVar[list[int]] = [0]
    calls: ClassVar[list[tuple[str, int, int]]] = []

    def __init__(self, side: Side, spec: BenchSpec, speeds: dict[str, float]) -> None:
        self.key, self.speed, self.impl, self.count = side.key, speeds[side.key], "sim", 1000
        self.rng = random.Random(hash(side.key) & 0xFFFF)

    def sample(self, start: int, count: int) -> float:
        FakeWorker.clock[0] += 1
        FakeWorker.calls.append((self.key, start, count))
        drift = 1 - 0.3 * (FakeWorker.clock[0] / 200)  # the machine gets 30 % slower over the job
        return self.speed * drift * (1 + self.rng.gauss(0, 0.02))

    def close(self) -> None:
        pass


def _factory(speeds):
    FakeWorker.clock[0] = 0
    FakeWorker.calls = []
    return lambda side, spec: FakeWorker(side, spec, speeds)


def test_order_alternates_who_goes_first():
    assert order(3) == "ABBAAB"
    assert order(4).count("A") == order(4).count("B") == 4


def test_ab_catches_a_slower_head_despite_drift(tiny_repo):
    result = run_ab("HEAD~1", repo=tiny_repo, spec=BenchSpec(samples=100), build=False,
                    workers=_factory({"A": 1e7, "B": 0.9e7}))
    [row] = result.report.rows
    assert row.verdict == SLOWER and result.report.exit_code == 1
    assert row.change == pytest.approx(-0.10, abs=0.02)  # drift cancelled: both sides saw it alike
    assert result.order.startswith("ABBA") and len(result.rates["A"]) == len(result.rates["B"]) == 100
    # each pair scans the same nonce range on both sides
    by_pair: dict[int, set] = {}
    for i, (_key, start, count) in enumerate(FakeWorker.calls):
        by_pair.setdefault(i // 2, set()).add((start, count))
    assert all(len(ranges) == 1 for ranges in by_pair.values())
    assert result.base.commit == _git(tiny_repo, "rev-parse", "HEAD~1") and result.head.commit is None
    assert "worktree" not in _git(tiny_repo, "worktree", "list").split("\n", 1)[-1]  # temp worktrees removed
    assert len(_git(tiny_repo, "worktree", "list").splitlines()) == 1


def test_ab_identical_sides_pass(tiny_repo):
    result = run_ab("HEAD", "HEAD~1", repo=tiny_repo, spec=BenchSpec(samples=60), build=False,
                    workers=_factory({"A": 1e7, "B": 1e7}))
    assert result.report.rows[0].verdict == UNCHANGED and result.report.exit_code == 0
    assert result.head.commit == _git(tiny_repo, "rev-parse", "HEAD~1")


def test_ab_input_errors(tiny_repo, tmp_path):
    with pytest.raises(InputError, match="unknown revision 'nope'"):
        run_ab("nope", repo=tiny_repo, build=False, workers=_factory({"A": 1, "B": 1}))
    plain = tmp_path / "plain"
    plain.mkdir()
    with pytest.raises(InputError, match="not inside a git checkout"):
        run_ab("HEAD", repo=plain, build=False)
    with pytest.raises(InputError, match="at least 3"):
        run_ab("HEAD", repo=tiny_repo, spec=BenchSpec(samples=2), build=False)


def test_ab_real_workers_run_each_trees_own_code(tmp_path, monkeypatch):
    """Real worker processes on a clone of this repository (python backend: no build needed). The clone's working
    tree renames the python backend's implementation, so each side's answer shows whose code it ran."""
    clone = tmp_path / "clone"
    subprocess.run(["git", "clone", "-q", str(REPO), str(clone)], check=True)
    edited = clone / "src" / "hashbench" / "backends" / "python.py"
    edited.write_text(edited.read_text() + "\n\nPythonBackend.impls = lambda self: ['python-edited-head']\n")
    monkeypatch.chdir(clone)
    code, out, err = run_cli("ab", "--base", "HEAD", "--backend", "python", "--no-build", "--samples", "4",
                             "--sample-seconds", "0.02", "--json")
    assert code in (0, 1), err
    data = json.loads(out)
    assert data["base"]["commit"] == _git(clone, "rev-parse", "HEAD") and data["head"]["commit"] is None
    assert (data["base"]["impl"], data["head"]["impl"]) == ("python", "python-edited-head")
    assert any("different implementations" in n for n in data["compare"]["notes"])
    assert len(data["samples"]["base"]) == len(data["samples"]["head"]) == 4 and data["order"] == "ABBAABBA"
    assert all(s > 0 for s in data["samples"]["base"] + data["samples"]["head"])
    assert data["compare"]["rows"][0]["name"] == "sha256d[python-default-x1]"
    code, _, err = run_cli("ab", "--base", "no-such-rev", "--no-build")
    assert code == 2 and "unknown revision" in err


def test_ab_build_fails_on_a_kernel_that_does_not_compile_even_beside_a_stale_build(tmp_path):
    """The extension is optional for users (setup.py), so a tree whose kernel does not compile still "builds". For
    ab that would time the stale in-place extension left from an earlier state of the tree as this one: ab's build
    must fail instead."""
    pytest.importorskip("Cython", reason="hashbench[ab] brings Cython")
    tree = source_tree(tmp_path)
    stale = tree / "src" / "hashbench" / "_cpu.cpython-stale.so"
    stale.write_bytes(b"an earlier build")
    with (tree / "kernels" / "dispatch.c").open("a", encoding="utf-8") as f:
        f.write("\nthis does not compile;\n")
    with pytest.raises(HashbenchError, match="building .* failed"):
        build_tree(tree)


def test_ab_without_cython_names_the_extra_that_brings_it(tmp_path, monkeypatch):
    monkeypatch.setitem(sys.modules, "Cython", None)  # not installed, as in a base install
    with pytest.raises(HashbenchError, match=r"needs Cython here: pip install 'hashbench\[ab\]'"):
        build_tree(tmp_path)


def _fake_host(monkeypatch, **changes):
    from results_helpers import HOST

    from hashbench.results import ab

    monkeypatch.setattr(ab, "detect_fingerprint", lambda: replace(HOST, **changes))


def _recording_compare(monkeypatch) -> list:
    """compare_runs as it is, with the two runs it was given kept."""
    from hashbench.results import ab

    seen = []

    def compare(base, cand, gate, **labels):
        seen.append((base, cand, gate))
        return real(base, cand, gate, **labels)

    real = ab.compare_runs
    monkeypatch.setattr(ab, "compare_runs", compare)
    return seen


def test_ab_checks_out_builds_and_benchmarks_each_sides_own_tree(tiny_repo, tmp_path, monkeypatch):
    """The base is a temporary checkout of its commit, the head the working tree as it is (uncommitted edits
    included); each is built in place before its worker starts, and everything temporary goes afterwards."""
    log = tmp_path / "builds.log"
    (tiny_repo / "setup.py").write_text("import os\nopen(os.environ['HB_BUILD_LOG'], 'a').write(os.getcwd() + '\\n')\n")
    monkeypatch.setenv("HB_BUILD_LOG", str(log))
    monkeypatch.chdir(tiny_repo)  # no repo given: the checkout around the current directory
    _fake_host(monkeypatch)
    seen = []

    def workers(side, spec):
        seen.append((side.key, side.tree, (side.tree / "file.txt").read_text(), spec))
        return FakeWorker(side, spec, {"A": 1e7, "B": 1e7})

    events = []
    spec = BenchSpec(samples=3)
    _git(tiny_repo, "add", "setup.py")
    _git(tiny_repo, "-c", "user.name=t", "-c", "user.email=t@t", "commit", "-q", "-m", "setup")
    (tiny_repo / "file.txt").write_text("uncommitted\n")
    base = _git(tiny_repo, "rev-parse", "HEAD")
    result = run_ab("HEAD", spec=spec, workers=workers, listen=lambda e, p: events.append((e, p)))
    base_tree = seen[0][1]
    assert base_tree.name == "base" and base_tree.parent.name.startswith("hashbench-ab-")
    assert seen == [("A", base_tree, "version 1\n", spec), ("B", tiny_repo, "uncommitted\n", spec)]
    label = f"base HEAD ({base[:12]})"
    assert result.base == Side("A", label, base, base_tree)
    assert result.head == Side("B", "head (working tree)", None, tiny_repo)
    assert events[:3] == [("checkout", f"{base[:12]} -> {base_tree}"), ("build", label),
                          ("build", "head (working tree)")]
    assert [e for e, _ in events[3:]] == ["sample"] * 6
    assert log.read_text().splitlines() == [str(base_tree), str(tiny_repo)]
    assert (result.report.base_label, result.report.cand_label) == (label, "head (working tree)")
    assert len(result.rates["A"]) == 3  # three samples a side are enough
    assert not base_tree.parent.exists()
    assert len(_git(tiny_repo, "worktree", "list").splitlines()) == 1


def test_ab_compares_two_commits_as_the_runs_of_each_sides_commit(tiny_repo, monkeypatch):
    _fake_host(monkeypatch, git_dirty=True)  # the working tree is dirty, the two checkouts are not
    compared = _recording_compare(monkeypatch)
    commit = _git(tiny_repo, "rev-parse", "HEAD")
    spec = BenchSpec(backend="python", impl=None, threads=2, samples=5)
    result = run_ab("HEAD", "HEAD", repo=tiny_repo, spec=spec, build=False, workers=_factory({"A": 1e7, "B": 1e7}))
    assert result.head.label == f"head HEAD ({commit[:12]})" and result.head.tree.name == "head"
    assert result.report.cand_label == result.head.label
    assert "both runs come from the same commit: any difference is noise or conditions" in result.report.notes
    [(base_run, head_run, _)] = compared
    assert base_run.host.git_commit == head_run.host.git_commit == commit
    assert base_run.started == head_run.started
    assert datetime.fromisoformat(base_run.started).utcoffset() == timedelta(0)
    assert base_run.measurements[0].params == {"backend": "python", "impl": "sim", "threads": 2}
    assert result.to_json()["compare"] == result.report.to_json()


def test_ab_gate_and_implementations(tiny_repo, monkeypatch):
    _fake_host(monkeypatch)
    compared = _recording_compare(monkeypatch)

    def workers(side, spec):
        worker = FakeWorker(side, spec, {"A": 1e7, "B": 0.9e7})
        worker.impl = {"A": "avx2", "B": "sha-ni"}[side.key]
        return worker

    gate = Gate(threshold=0.5)  # a 10 % slowdown is below this threshold
    result = run_ab("HEAD~1", repo=tiny_repo, spec=BenchSpec(samples=40), build=False, gate=gate, workers=workers)
    assert compared[0][2] is gate
    assert result.report.rows[0].verdict == UNCHANGED and result.report.exit_code == 0
    assert result.impls == {"A": "avx2", "B": "sha-ni"}
    assert [m.params["impl"] for run in compared[0][:2] for m in run.measurements] == ["avx2", "sha-ni"]
    assert result.report.notes[-1] == "the sides ran different implementations: base avx2, head sha-ni"


def test_ab_closes_every_worker_and_removes_its_checkouts_when_a_worker_fails(tiny_repo, monkeypatch):
    _fake_host(monkeypatch)
    closed, trees = [], []

    class Closing(FakeWorker):
        def close(self) -> None:
            closed.append(self.key)

    def workers(side, spec):
        trees.append((side.tree, (side.tree / "file.txt").read_text()))
        if side.key == "B":
            raise HashbenchError("head: the benchmark worker stopped: boom")
        return Closing(side, spec, {"A": 1.0})

    with pytest.raises(HashbenchError, match="boom"):
        run_ab("HEAD~1", "HEAD", repo=tiny_repo, build=False, workers=workers)
    assert closed == ["A"]
    assert [text for _, text in trees] == ["version 0\n", "version 1\n"]  # each its own commit's checkout
    assert [tree.name for tree, _ in trees] == ["base", "head"] and not trees[0][0].parent.exists()
    assert len(_git(tiny_repo, "worktree", "list").splitlines()) == 1


def test_ab_revision_must_name_one_commit(tiny_repo):
    for rev in ("HEAD~1..HEAD", "HEAD^{tree}", ""):
        with pytest.raises(InputError) as caught:
            run_ab(rev, repo=tiny_repo, build=False, workers=_factory({"A": 1, "B": 1}))
        assert str(caught.value) == f"unknown revision {rev!r} in {tiny_repo}"


def test_git_errors_say_which_command_failed(tiny_repo, tmp_path):
    from hashbench.results.ab import _git as ab_git
    from hashbench.results.ab import repo_root

    with pytest.raises(InputError) as caught:
        ab_git(tiny_repo, "rev-parse", "--verify", "--quiet", "nope")
    assert str(caught.value) == "git rev-parse --verify --quiet nope: failed"  # git said nothing
    with pytest.raises(InputError) as caught:
        ab_git(tiny_repo, "frobnicate")
    assert str(caught.value).startswith("git frobnicate: git: 'frobnicate' is not a git command")
    with pytest.raises(InputError) as caught:
        repo_root(tmp_path)
    assert str(caught.value) == f"{tmp_path} is not inside a git checkout: `hashbench ab` compares commits"
    assert repo_root(tiny_repo / ".git" / "..") == tiny_repo.resolve()


def test_ab_cli_counts_samples_per_side_once_both_sides_have_them_and_passes_its_options_on(tiny_repo, monkeypatch):
    """Every tenth pair goes B then A (ABBA...): "10 samples per side" came after B's tenth, before A's."""
    from hashbench.results import ab

    _fake_host(monkeypatch)
    taken = {"A": 0, "B": 0}

    class Counting(FakeWorker):
        def __init__(self, side, spec, speeds) -> None:
            super().__init__(side, spec, speeds)
            self.impl = f"sim-{side.key}"

        def sample(self, start: int, count: int) -> float:
            taken[self.key] += 1
            sys.stderr.write(f"taken {taken['A']} {taken['B']}\n")
            return super().sample(start, count)

    monkeypatch.setattr(ab, "SubprocessWorker", lambda side, spec: Counting(side, spec, {"A": 1e7, "B": 1e7}))
    monkeypatch.chdir(tiny_repo)
    code, out, err = run_cli("ab", "--base", "HEAD~1", "--backend", "python", "--no-build", "--samples", "20")
    assert code == 0, err
    lines = err.splitlines()
    progress = [i for i, line in enumerate(lines) if "samples per side" in line]
    assert [lines[i] for i in progress] == ["10 samples per side", "20 samples per side"]
    assert [lines[i - 1] for i in progress] == ["taken 10 10", "taken 20 20"]
    base = _git(tiny_repo, "rev-parse", "HEAD~1")
    assert out.startswith(f"A = base HEAD~1 ({base[:12]}) [sim-A], B = head (working tree) [sim-B]; 20 samples each, "
                          "alternating ABBAABBA…")
    assert lines[0].startswith(f"checkout: {base[:12]} -> ") and lines[0].endswith("/base")
    assert "no regression" in out.splitlines()
    assert "the sides ran different implementations: base sim-A, head sim-B" in out
    code, out, err = run_cli("ab", "--base", "HEAD~1", "--backend", "python", "--no-build", "--samples", "10",
                             "--threads", "2", "--sample-seconds", "0.5", "--threshold", "30%", "--alpha", "0.1",
                             "--json")
    data = json.loads(out)
    assert code == 0 and "samples per side" not in err
    assert (data["backend"], data["threads"], data["sample_seconds"], len(data["samples"]["head"])) == \
        ("python", 2, 0.5, 10)
    assert (data["compare"]["threshold"], data["compare"]["alpha"]) == (0.3, 0.1)


def test_a_ctrl_c_as_git_makes_the_worktree_leaves_none_registered(tiny_repo, monkeypatch):
    """The path joined the clean-up list only after `git worktree add` returned, and prune ran before the folder was
    deleted: a Ctrl-C as git returned left the worktree registered ('prunable') in the user's repository."""
    import hashbench.results.ab as ab

    real = ab._git

    def git(repo, *args):
        out = real(repo, *args)
        if args[:2] == ("worktree", "add"):
            raise KeyboardInterrupt
        return out

    monkeypatch.setattr(ab, "_git", git)
    with pytest.raises(KeyboardInterrupt):
        run_ab("HEAD", repo=tiny_repo, workers=lambda side, spec: pytest.fail("no worker starts"), build=False)
    assert len(_git(tiny_repo, "worktree", "list").splitlines()) == 1
