"""Mutation testing of hashbench's arithmetic modules with mutmut 3, in a throw-away copy of the checkout.

A mutant that survives the tests names a behaviour nothing pins: change it and every test still passes. This script
runs mutmut on one module (or a few) against the tests that exercise it and prints the tally and the survivors, so a
person can add the test that kills each one, or say why it is equivalent (same behaviour, different code).

    pip install mutmut            # not a project dependency: a development check, run by hand
    python benchmarks/checks/mutation.py src/hashbench/units.py --tests tests/test_cli_output.py tests/test_plan.py
    # one function's mutants (fnmatch on mutmut's names: module.x_function__mutmut_N, x_Class_method__mutmut_N)
    python benchmarks/checks/mutation.py src/hashbench/results/history.py --tests tests/test_results_history.py \
        --only 'hashbench.results.history.x_History__init__*'

The checkout is never touched: tracked files (and the built C extension) are copied to a temporary directory, mutmut's
configuration is written there, and mutmut runs there. `--keep DIR` keeps the copy so `mutmut show NAME` can be run
in it afterwards. Slow: every mutant runs the selected tests (with the benchmark plugin and cache off).

mutmut 3 leaves decorated functions alone, so the body of every click command would never be mutated. In the copy,
each decorated module-level function of the mutated modules is rewritten as a plain function followed by the same
decorators applied by assignment (`f = a(b(f))`, which is what `@a @b def f` means); the checkout keeps its decorators.

Many tests run `python -m hashbench ...` in a subprocess, as a user would. mutmut only sees the test process, so by
itself it would never run a mutant there nor know which tests reach the mutated function. A small pytest plugin
(loaded in the copy) puts the mutated sources first on the children's PYTHONPATH, so a child runs the mutant under
test, and in mutmut's coverage pass a sitecustomize in each child writes the functions it reached to a file that the
plugin hands to mutmut before the test's teardown, so those tests are chosen for those mutants. The plugin also empties
the functools caches of the mutated modules before each test: a cached function (history's _tables) would otherwise
be reached by the first test alone, and a mutant's run, forked from a process that has run the tests, would reuse what
the unmutated code made. mutmut's workers ignore SIGINT, which a child would inherit; the sitecustomize gives it
Python's usual Ctrl-C handler back, so tests that stop a child with SIGINT behave as they do outside mutmut.
"""

from __future__ import annotations

import argparse
import ast
import os
import re
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
STATES = ("killed", "survived", "no tests", "timeout", "suspicious", "skipped", "segfault", "not checked")


def copy_checkout(dest: Path) -> None:
    tracked = subprocess.run(["git", "ls-files", "-z"], cwd=ROOT, check=True, capture_output=True).stdout
    for name in tracked.decode().split("\0"):
        if not name:
            continue
        src = ROOT / name
        if src.is_file():
            target = dest / name
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(src, target)
    # The C extension is built, not tracked; the mutated package must still import it.
    for built in (ROOT / "src" / "hashbench").glob("_cpu*.so"):
        shutil.copy2(built, dest / "src" / "hashbench" / built.name)


KEEP_DECORATORS = {"staticmethod", "classmethod", "property", "overload", "typing.overload"}


def undecorate(source: str) -> str:
    """`@a(...) @b def f(...): ...` at module level -> `def f(...): ...` then `f = a(...)(b(f))`, same behaviour."""
    tree = ast.parse(source)
    lines = source.splitlines(keepends=True)
    edits = []  # (first decorator line, def line, last body line, assignment), all 1-based
    for node in tree.body:
        if not isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)) or not node.decorator_list:
            continue
        texts = [ast.get_source_segment(source, d) for d in node.decorator_list]
        if any(t in KEEP_DECORATORS for t in texts):
            continue
        applied = node.name
        for text in reversed(texts):
            applied = f"({text})({applied})"
        first = min(d.lineno for d in node.decorator_list)
        def_line = node.lineno
        edits.append((first, def_line, node.end_lineno, f"{node.name} = {applied}\n"))
    for first, def_line, end, assignment in reversed(edits):
        lines[end:end] = [assignment]
        del lines[first - 1:def_line - 1]
    return "".join(lines)


SUBPROCESS_PLUGIN = '''"""Written by benchmarks/checks/mutation.py: let mutmut see hashbench run in child processes."""
import os
import sys
import tempfile
from pathlib import Path

import pytest

_SRC = str(Path(__file__).resolve().parent)  # mutants/src: the mutated package
# in the copy (the work directory above mutants/): removed with it
_HITS = Path(tempfile.mkdtemp(prefix="mutmut-hits-", dir=Path(__file__).resolve().parents[2])) / "hits"
os.environ["PYTHONPATH"] = os.pathsep.join(p for p in (_SRC, os.environ.get("PYTHONPATH", "")) if p)
os.environ["HASHBENCH_MUTMUT_HITS"] = str(_HITS)


def _clear_mutated_caches():
    # A cached function (functools.lru_cache: history's _tables) runs once per process: mutmut's stats pass would
    # file it under the first test that called it alone, and a mutant's run, forked from a process that has run the
    # tests, would be handed what the unmutated code made (every mutant of it "survived"). Each test starts with the
    # caches of the mutated modules (those holding mutmut's x_NAME__mutmut_orig functions) empty, as in a fresh process.
    for name, module in list(sys.modules.items()):
        if not (name == "hashbench" or name.startswith("hashbench.")):
            continue
        names = list(vars(module))
        if any(n.endswith("__mutmut_orig") for n in names):
            for value in list(vars(module).values()):
                if callable(getattr(value, "cache_clear", None)):
                    value.cache_clear()


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_setup(item):
    _HITS.write_text("")
    _clear_mutated_caches()
    yield


@pytest.hookimpl(wrapper=True)
def pytest_load_initial_conftests(early_config, parser, args):
    # mutmut's forced-fail check makes every mutated function raise and expects that exception back from pytest.
    # tests/conftest.py calls the backends while it is imported (to parametrize over them); pytest wraps what it
    # raises there in a usage error (exit 4), which mutmut takes for a bad command line and stops: unwrap it.
    from _pytest.config import ConftestImportFailure
    from mutmut.core import MutmutProgrammaticFailException

    try:
        return (yield)
    except ConftestImportFailure as exc:
        if isinstance(exc.cause, MutmutProgrammaticFailException):
            raise exc.cause from None
        raise


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_teardown(item, nextitem):
    # Before mutmut's own teardown hook, which files the functions reached so far under this test.
    if os.environ.get("MUTANT_UNDER_TEST") == "stats" and _HITS.exists():
        from mutmut.state import state
        state()._stats.update(_HITS.read_text().split())
    yield
'''

SUBPROCESS_SITECUSTOMIZE = '''"""Written by mutation.py: note the functions a child reaches; let Ctrl-C reach it."""
import os
import signal

# mutmut's workers ignore SIGINT (their parent owns shutdown) and a child inherits that, so Python installs no
# KeyboardInterrupt handler there: a test that stops `hashbench run` with SIGINT saw it run on to the end and fail.
if signal.getsignal(signal.SIGINT) is signal.SIG_IGN:
    signal.signal(signal.SIGINT, signal.default_int_handler)

if os.environ.get("MUTANT_UNDER_TEST") == "stats" and os.environ.get("HASHBENCH_MUTMUT_HITS"):
    import mutmut.mutation.trampoline as _trampoline

    def _record(name, caller=None, _path=os.environ["HASHBENCH_MUTMUT_HITS"]):
        with open(_path, "a") as fh:
            fh.write(name + "\\n")

    _trampoline.record_trampoline_hit = _record
'''


def write_subprocess_support(dest: Path) -> None:
    (dest / "src" / "mutmut_subprocess_plugin.py").write_text(SUBPROCESS_PLUGIN)
    (dest / "src" / "sitecustomize.py").write_text(SUBPROCESS_SITECUSTOMIZE)


def write_config(dest: Path, modules: list[str], tests: list[str]) -> None:
    lines = [
        "[mutmut]",
        "source_paths = src",
        "only_mutate =",
        *(f"    {m}" for m in modules),
        "pytest_add_cli_args =",
        "    -p",
        "    mutmut_subprocess_plugin",
        "    -p",
        "    no:cacheprovider",
        "    -p",
        "    no:benchmark",
        "    -q",
        "pytest_add_cli_args_test_selection =",
        *(f"    {t}" for t in tests),
        # mutmut runs the tests inside mutants/, which holds src/ and tests/ only unless told: tests read
        # examples/, kernels/, README.md and the rest.
        "also_copy =",
        *(f"    {p.name}" for p in sorted(dest.iterdir()) if p.name not in ("src", "tests", "setup.cfg")),
        "",
    ]
    # setup.cfg: the copy's pyproject.toml has no [tool.mutmut] table, so mutmut reads this one.
    (dest / "setup.cfg").write_text("\n".join(lines))


def tally(workdir: Path, env: dict[str, str]) -> tuple[dict[str, int], list[str]]:
    out = subprocess.run(
        [sys.executable, "-m", "mutmut", "results", "--all", "true"],
        cwd=workdir, env=env, capture_output=True, text=True,
    ).stdout
    counts = dict.fromkeys(STATES, 0)
    survivors = []
    for line in out.splitlines():
        m = re.match(r"\s*(\S+): (.+)$", line)
        if not m:
            continue
        name, state = m.group(1), m.group(2).strip()
        counts[state] = counts.get(state, 0) + 1
        if state == "survived":
            survivors.append(name)
    return counts, survivors


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("modules", nargs="+", help="source files to mutate, e.g. src/hashbench/units.py")
    parser.add_argument("--tests", nargs="+", required=True, help="test files or node ids that exercise them")
    parser.add_argument("--max-children", type=int, default=os.cpu_count() or 1)
    parser.add_argument("--keep", type=Path, help="keep the mutated copy in this (new) directory")
    parser.add_argument("--show", action="store_true", help="print the diff of every surviving mutant")
    parser.add_argument("--only", nargs="+", metavar="PATTERN",
                        help="run only the mutants these fnmatch patterns name, e.g. "
                             "'hashbench.results.history.x_History__init__*' (the others count as not checked)")
    args = parser.parse_args()

    for path in [*args.modules, *(t.split("::")[0] for t in args.tests)]:
        if not (ROOT / path).is_file():
            print(f"mutation: {path} is not a file under {ROOT}", file=sys.stderr)
            return 2
    try:
        import mutmut  # noqa: F401
    except ImportError:
        print("mutation: mutmut is not installed here; pip install mutmut", file=sys.stderr)
        return 2

    if args.keep:
        args.keep.mkdir(parents=True)
        workdir = args.keep
    else:
        workdir = Path(tempfile.mkdtemp(prefix="hashbench-mutation-"))
    try:
        copy_checkout(workdir)
        for module in args.modules:
            target = workdir / module
            target.write_text(undecorate(target.read_text()))
        write_subprocess_support(workdir)
        write_config(workdir, args.modules, args.tests)
        env = dict(os.environ)
        # torch's OpenMP pool hangs in the forked children mutmut runs each mutant in (they time out, minutes each):
        # one thread each.
        env.setdefault("OMP_NUM_THREADS", "1")
        env.setdefault("MKL_NUM_THREADS", "1")
        # numba picks its OpenMP threading layer where it finds GNU OpenMP, and a process forked after that layer
        # ran raises SIGTERM on its first parallel call ("fork() called from a process already using GNU OpenMP"):
        # every mutant whose tests reach a numba scan ended as 'suspicious' (exit -15). The workqueue layer resets
        # itself in a forked child.
        env.setdefault("NUMBA_THREADING_LAYER", "workqueue")
        shared = ROOT.parent / "shared" / "data"
        if shared.is_dir():
            env.setdefault("HASHBENCH_SHARED_DATA", str(shared))
        log = workdir / "mutmut-run.log"
        with log.open("w") as fh:
            rc = subprocess.run(
                [sys.executable, "-m", "mutmut", "run", "--max-children", str(args.max_children), *(args.only or ())],
                cwd=workdir, env=env, stdout=fh, stderr=subprocess.STDOUT,
            ).returncode
        counts, survivors = tally(workdir, env)
        total = sum(counts.values())
        if rc != 0 or total == 0:
            print(f"mutation: mutmut run exited {rc} with {total} mutants; its log is {log}"
                  + ("" if args.keep else " (pass --keep DIR to keep it)"), file=sys.stderr)
            if not args.keep:
                print("\n".join(log.read_text(errors="replace").splitlines()[-30:])[-4000:], file=sys.stderr)
            return 1
        print(f"{', '.join(args.modules)}: {total} mutants, "
              + ", ".join(f"{counts[s]} {s}" for s in STATES if counts.get(s)))
        for name in survivors:
            print(f"survived: {name}")
            if args.show:
                diff = subprocess.run([sys.executable, "-m", "mutmut", "show", name], cwd=workdir, env=env,
                                      capture_output=True, text=True).stdout
                print(diff)
        return 0
    finally:
        if not args.keep:
            shutil.rmtree(workdir, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
