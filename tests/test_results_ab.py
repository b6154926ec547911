"""`hashbench ab`: base and head interleaved in one job, each side running its own tree's code."""

from __future__ import annotations

import json
import random
import shutil
import subprocess
import sys
from pathlib import Path
from typing import ClassVar

import pytest
from build_helpers import source_tree
from results_helpers import run_cli

from hashbench.errors import HashbenchError, InputError
from hashbench.results.ab import BenchSpec, Side, build_tree, order, run_ab
from hashbench.results.compare import SLOWER, UNCHANGED

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
