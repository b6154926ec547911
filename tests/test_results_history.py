"""The history database: SQLite by default, PostgreSQL for real, two writers at once, the trend, the CLI."""

from __future__ import annotations

import glob
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pytest

pytest.importorskip("sqlalchemy", reason="the history needs the results extra (SQLAlchemy)")

from results_helpers import HOST, OTHER_HOST, hash_measurement, make_run, noisy, rate, run_cli, with_cpu_load

from hashbench.errors import InputError
from hashbench.results import history as history_mod
from hashbench.results.history import HistoryUnavailable, display_url, open_history, resolve_url
from hashbench.results.schema import Measurement

REPO = Path(__file__).resolve().parents[1]


def test_default_location_env_and_urls(tmp_path, monkeypatch):
    monkeypatch.delenv("HASHBENCH_DB", raising=False)
    default = resolve_url(None)
    assert default.startswith("sqlite:///") and default.endswith("hashbench/history.sqlite")
    monkeypatch.setenv("HASHBENCH_DB", str(tmp_path / "h.sqlite"))
    assert resolve_url(None) == f"sqlite:///{tmp_path / 'h.sqlite'}"
    assert resolve_url("sqlite:///x.db") == "sqlite:///x.db"  # --db wins over the environment
    assert resolve_url("postgresql://u:secret@db:5432/hb").startswith("postgresql+psycopg://")
    assert display_url("postgresql+psycopg://u:secret@db/hb") == "postgresql+psycopg://u:***@db/hb"


def test_a_postgresql_url_without_its_driver_names_the_extra(monkeypatch):
    # The results extra alone has no PostgreSQL driver: the message says which extra brings it.
    for driver in ("psycopg", "psycopg2"):
        monkeypatch.setitem(sys.modules, driver, None)  # import fails as if not installed
    for url in ("postgresql://u@db/hb", "postgres://u@db/hb"):
        with pytest.raises(HistoryUnavailable) as caught:
            open_history(url, connect=False)
        assert "pip install 'hashbench[postgres]'" in str(caught.value)
        assert "\n" not in str(caught.value)

def test_store_load_trend_and_references(tmp_path):
    h = open_history(str(tmp_path / "h.sqlite"))
    runs = [make_run([hash_measurement(noisy(2e7 * (1 + i / 10), 10, i))], started=f"2025-11-2{i}T10:00:00+00:00")
            for i in range(3)]
    runs.append(make_run([hash_measurement(noisy(9e6, 10, 9))], host=OTHER_HOST,
                         started="2025-11-19T10:00:00+00:00"))
    for run in runs:
        h.store(run)
    h.store(runs[0])  # storing again replaces: no duplicate
    assert len(h.runs()) == 4
    assert h.load(runs[1].run_id[:10]) == runs[1]
    assert h.resolve("latest").run_id == runs[2].run_id
    assert h.resolve("latest~1").run_id == runs[1].run_id
    with pytest.raises(InputError, match="only 3 run"):
        h.resolve("latest~3")
    with pytest.raises(InputError, match="no run"):
        h.load("ffffffffffff")
    series = h.trend()
    mine = next(s for s in series if s.fingerprint == HOST.fingerprint)
    assert [p.run_id for p in mine.points] == [r.run_id for r in runs[:3]]
    assert mine.change == pytest.approx(runs[2].measurements[0].value / runs[0].measurements[0].value - 1)
    assert {s.fingerprint for s in h.trend(backend="cython")} == {HOST.fingerprint, OTHER_HOST.fingerprint}
    assert h.trend(backend="numba") == []
    assert len(h.trend(fingerprint=OTHER_HOST.fingerprint)) == 1
    h.close()


def test_trend_change_is_plus_for_better_for_times_as_for_rates(tmp_path):
    """A time 25 % longer is a slowdown: -25 %, the sign `compare` gives it (it read +25 %, 'more of the unit')."""
    h = open_history(str(tmp_path / "h.sqlite"))
    for i, seconds in enumerate((2.0, 2.5)):
        h.store(make_run([Measurement("test_step", "timing", "s", samples=(seconds,) * 3)],
                         started=f"2025-11-2{i}T10:00:00+00:00"))
        h.store(make_run([rate("test_rate", (100.0 * (1 + i / 4),) * 3)], host=OTHER_HOST,
                         started=f"2025-11-2{i}T10:00:00+00:00"))
    changes = {s.name: s.change for s in h.trend()}
    assert changes == {"test_step": pytest.approx(-0.25), "test_rate": pytest.approx(0.25)}
    h.close()


WRITER = r"""
import sys, time
from pathlib import Path
sys.path.insert(0, sys.argv[4])
from results_helpers import hash_measurement, make_run, noisy
from hashbench.results.history import open_history
url, tag, n = sys.argv[1], sys.argv[2], int(sys.argv[3])
go = Path(sys.argv[5])
while not go.exists():
    time.sleep(0.01)
h = open_history(url)
for i in range(n):
    # a fresh connection per run, as separate `hashbench run` processes would do
    h.store(make_run([hash_measurement(noisy(1e7, 8, i)), hash_measurement(noisy(2e6, 8, i), impl="portable")],
                     started=f"2025-11-22T10:{i // 60:02d}:{i % 60:02d}+00:00"))
    h.engine.dispose()
h.close()
print(tag, "done")
"""


def _two_writers(url: str, tmp_path: Path, n: int = 20) -> None:
    go = tmp_path / "go"
    procs = [subprocess.Popen([sys.executable, "-c", WRITER, url, tag, str(n), str(Path(__file__).parent), str(go)],
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True) for tag in ("a", "b")]
    time.sleep(0.5)  # both importing; then start them at the same instant
    go.touch()
    for p in procs:
        _, err = p.communicate(timeout=120)
        assert p.returncode == 0, err


def test_two_processes_writing_at_once_lose_nothing_sqlite(tmp_path):
    url = f"sqlite:///{tmp_path / 'shared.sqlite'}"
    _two_writers(url, tmp_path)
    h = open_history(url)
    assert len(h.runs()) == 40
    assert sum(len(s.points) for s in h.trend()) == 80
    h.close()


def test_history_unavailable_without_sqlalchemy_is_a_note_not_a_failure(tmp_path, monkeypatch):
    import hashbench.run as run_mod
    from hashbench.backends import get_backend

    monkeypatch.setitem(sys.modules, "sqlalchemy", None)  # import sqlalchemy now raises ImportError
    history_mod._tables.cache_clear()
    try:
        with pytest.raises(HistoryUnavailable, match="pip install 'hashbench\\[results\\]'"):
            open_history(str(tmp_path / "h.sqlite"))
        monkeypatch.setattr(run_mod, "all_backends", lambda: [get_backend("python")])
        out = tmp_path / "run.json"
        record = run_mod.execute(out, quick=True, seconds=0.05)
        assert record.history_note.startswith("history not stored: the history database needs sqlalchemy")
        assert json.loads(out.read_text())["complete"] is True  # the run itself is untouched
    finally:
        monkeypatch.delitem(sys.modules, "sqlalchemy")
        history_mod._tables.cache_clear()


def test_history_cli_add_trend_runs_and_json(tmp_path):
    db = str(tmp_path / "cli.sqlite")
    files = []
    for i in range(3):
        path = tmp_path / f"r{i}.json"
        from hashbench.results.pbjson import write_result

        write_result(make_run([hash_measurement(noisy(2e7 - i * 1e6, 10, i))], started=f"2025-11-2{i}T10:00:00Z"),
                     path)
        files.append(str(path))
    code, out, err = run_cli("history", "--db", db, *[a for f in files for a in ("--add", f)])
    assert code == 0, err
    assert "stored 3 run(s)" in err and "Test CPU 9000" in out and HOST.fingerprint in out
    assert "-10." in out  # about 2.0e7 -> 1.8e7
    code, out, _ = run_cli("history", "--db", db, "--json")
    [series] = json.loads(out)
    assert len(series["points"]) == 3 and series["fingerprint"] == HOST.fingerprint
    code, out, _ = run_cli("history", "--db", db, "--runs", "--json")
    assert len(json.loads(out)) == 3
    code, out, _ = run_cli("history", "--db", db, "--backend", "cyton")  # a typo: the backends there are named
    assert code == 0 and " ".join(out.split()) == (f"no runs in the history sqlite:///{db} for backend 'cyton'; "
                                                   "the backends in it: cython")
    code, out, _ = run_cli("history", "--db", str(tmp_path / "empty.sqlite"), "--runs")
    assert code == 0 and out.startswith("no runs in the history") and "┏" not in out  # a line, not an empty table
    # history references work wherever a result file does
    code, out, _ = run_cli("compare", "@latest~1", "@latest", "--db", db, "--json")
    assert code == 1 and json.loads(out)["regressions"] == 1  # -5%+ and significant with 10 samples each


def test_history_add_refuses_a_file_without_benchmarks_and_writes_nothing(tmp_path):
    """A pytest-benchmark file whose suite ran nothing (every test deselected or skipped) was stored as an empty run,
    which then became @latest."""
    from hashbench.results.pbjson import write_result

    good = tmp_path / "good.json"
    write_result(make_run([hash_measurement(noisy(2e7, 5, 1))]), good)
    empty = tmp_path / "empty.json"
    empty.write_text(json.dumps({"machine_info": {"node": "ci", "cpu": {"brand_raw": "Test CPU"}},
                                 "commit_info": {"id": "abc"}, "benchmarks": [], "datetime": "2025-11-20T10:00:00Z",
                                 "version": "5.1.0"}))
    db = tmp_path / "h.sqlite"
    code, _, err = run_cli("history", "--db", str(db), "--add", str(good), "--add", str(empty))
    assert code == 2 and err.strip().splitlines() == [f"hashbench: error: {empty}: no benchmarks in it; nothing to "
                                                      "store"]
    assert not db.exists()  # not even the good file was stored: the command did nothing


# --- PostgreSQL ------------------------------------------------------------------------------------------------------

def _pg_binaries() -> tuple[str, str] | None:
    for initdb in [shutil.which("initdb"), *sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"), reverse=True)]:
        if initdb and os.access(initdb, os.X_OK):
            pg_ctl = str(Path(initdb).with_name("pg_ctl"))
            if os.access(pg_ctl, os.X_OK):
                return initdb, pg_ctl
    return None


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def pg_url():
    """$HASHBENCH_TEST_PG_URL (set by .ci/run), else a throwaway cluster started here; skip only if impossible."""
    pytest.importorskip("psycopg", reason="PostgreSQL tests need psycopg (the postgres extra)")
    url = os.environ.get("HASHBENCH_TEST_PG_URL")
    if url:
        yield _clean(url)
        return
    bins = _pg_binaries()
    if bins is None:
        pytest.skip("PostgreSQL is not installed (no initdb/pg_ctl; .ci/run installs the Debian package)")
    initdb, pg_ctl = bins
    as_user: list[str] = []
    if os.geteuid() == 0:  # postgres refuses to run as root: run it as the postgres user
        if shutil.which("runuser") is None:
            pytest.skip("running as root without runuser: cannot start PostgreSQL as another user")
        try:
            import pwd

            pwd.getpwnam("postgres")
        except KeyError:
            pytest.skip("running as root and there is no postgres user to start PostgreSQL as")
        as_user = ["runuser", "-u", "postgres", "--"]
    root = Path(tempfile.mkdtemp(prefix="hashbench-pg-"))
    data, port = root / "data", _free_port()
    if as_user:
        shutil.chown(root, "postgres", "postgres")
    done = subprocess.run([*as_user, initdb, "-D", str(data), "-U", "postgres", "--auth=trust", "-E", "UTF8"],
                          capture_output=True, text=True, check=False)
    if done.returncode != 0:
        shutil.rmtree(root, ignore_errors=True)
        pytest.skip(f"initdb failed: {done.stderr.strip()[-300:]}")
    opts = f"-c listen_addresses=127.0.0.1 -p {port} -k {root} -c fsync=off"
    done = subprocess.run([*as_user, pg_ctl, "-D", str(data), "-o", opts, "-l", str(root / "log"), "-w", "-t", "60",
                           "start"], capture_output=True, text=True, check=False)
    if done.returncode != 0:
        log = (root / "log").read_text(errors="replace")[-300:] if (root / "log").exists() else done.stderr
        shutil.rmtree(root, ignore_errors=True)
        pytest.skip(f"PostgreSQL did not start: {log.strip()}")
    try:
        yield f"postgresql://postgres@127.0.0.1:{port}/postgres"
    finally:
        subprocess.run([*as_user, pg_ctl, "-D", str(data), "-m", "fast", "-w", "stop"], capture_output=True,
                       check=False)
        shutil.rmtree(root, ignore_errors=True)


def _clean(url: str) -> str:
    """A given test database starts empty of hashbench's tables."""
    import sqlalchemy as sa

    engine = sa.create_engine(resolve_url(url))
    with engine.begin() as conn:
        for table in ("hb_measurements", "hb_runs", "hb_meta"):
            conn.exec_driver_sql(f"DROP TABLE IF EXISTS {table}")
    engine.dispose()
    return url


def test_postgresql_store_load_trend(pg_url):
    h = open_history(pg_url)
    assert h.engine.dialect.name == "postgresql"
    run = make_run(probes=True)
    h.store(run)
    h.store(run)
    assert h.load(run.run_id) == run
    assert {s.name for s in h.trend()} >= {m.name for m in run.measurements}
    h.close()


def test_postgresql_two_processes_writing_at_once_lose_nothing(pg_url, tmp_path):
    before = len(open_history(pg_url).runs())
    _two_writers(pg_url, tmp_path, n=15)
    h = open_history(pg_url)
    assert len(h.runs()) == before + 30
    h.close()


def test_run_stores_into_the_history_given_by_env_in_a_subprocess(tmp_path):
    """The real `hashbench run` in its own process, history location from HASHBENCH_DB."""
    db = tmp_path / "env.sqlite"
    env = {**os.environ, "HASHBENCH_DB": str(db)}
    code = ("import sys, hashbench.run as r; from hashbench.backends import get_backend; "
            "r.all_backends = lambda: [get_backend('python')]; "
            "rec = r.execute(__import__('pathlib').Path(sys.argv[1]), quick=True, seconds=0.05); "
            "print(rec.history_note)")
    done = subprocess.run([sys.executable, "-c", code, str(tmp_path / "run.json")], check=False, capture_output=True,
                          text=True, env=env, timeout=120)
    assert done.returncode == 0, done.stderr
    assert f"run stored in history sqlite:///{db}" in done.stdout
    h = open_history(str(db))
    assert len(h.runs()) == 1
    h.close()


def test_history_names_a_backend_that_failed_verification_in_the_listing_and_the_trend(tmp_path):
    """`history --runs` said nothing of verification, and the trend read a run whose backend gave wrong nonces as
    an ordinary point: its first/last/change could rest on a wrong kernel's speed."""
    from hashbench.results.pbjson import write_result
    from hashbench.results.schema import Check

    db = str(tmp_path / "v.sqlite")
    files = []
    for i, (center, passed) in enumerate(((2.0e7, True), (2.1e7, True), (9.0e7, False))):
        path = tmp_path / f"r{i}.json"
        write_result(make_run([hash_measurement([center] * 10)], started=f"2025-11-2{i}T10:00:00Z",
                              checks=[Check("cython", "avx2", 4, passed, () if passed else ("height 2016",))]), path)
        files.append(str(path))
    code, out, err = run_cli("history", "--db", db, *[a for f in files for a in ("--add", f)])
    assert code == 0, err
    # the third run (4.5x faster, wrong nonces) is left out of first/last/change, and named
    assert "+5.0" in out and "+350" not in out
    assert "left out of the trend, their backend failed verification" in out and "sha256d[cython-avx2-x1] in run" in out
    code, out, _ = run_cli("history", "--db", db, "--json")
    [series] = json.loads(out)
    assert [p["verify_failed"] for p in series["points"]] == [False, False, True]
    assert series["change"] == pytest.approx(0.05)
    code, out, _ = run_cli("history", "--db", db, "--runs", "--json")
    assert [r["verified"] for r in json.loads(out)] == ["FAILED: cython (avx2)", "yes", "yes"]  # newest first
    code, out, _ = run_cli("history", "--db", db, "--runs")
    assert code == 0 and "FAILED" in out and "cython (avx2) failed verification on real block headers" in out


# --- the history under real-world use: shared machines, failing locations, servers that go away ------------------

# `hashbench run` through the real entry point in its own process, on the python backend alone (seconds, not minutes)
RUN_CLI = ("import sys, hashbench.run as r; from hashbench.backends import get_backend; "
           "r.all_backends = lambda: [get_backend('python')]; from hashbench.cli import main; main(sys.argv[1:])")


def _hashbench_run(*args: str, env: dict | None = None) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-c", RUN_CLI, "run", "--no-probes", "--seconds", "0.05", *args],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            env={**os.environ, "COLUMNS": "80", **(env or {})})


def _newer_layout(db: Path) -> None:
    """An SQLite history that a newer hashbench wrote: this one refuses to store into it."""
    import sqlite3

    h = open_history(str(db))
    h.close()
    with sqlite3.connect(db) as conn:
        conn.execute("UPDATE hb_meta SET value = ? WHERE key = 'layout'", (str(history_mod.DB_LAYOUT + 1),))
    conn.close()


def _layout_back(db: Path) -> None:
    import sqlite3

    with sqlite3.connect(db) as conn:
        conn.execute("UPDATE hb_meta SET value = ? WHERE key = 'layout'", (str(history_mod.DB_LAYOUT),))
    conn.close()


def test_run_whose_history_write_fails_says_in_one_line_how_to_store_it_later(tmp_path):
    """The note said why the history was not stored but not how to store the kept result file once the database can
    take it, and at 80 columns it broke over two lines."""
    import shlex

    db, out = tmp_path / "h.sqlite", tmp_path / "run.json"
    _newer_layout(db)
    proc = _hashbench_run("--quick", "--output", str(out), "--db", str(db))
    stdout, stderr = proc.communicate(timeout=180)
    assert proc.returncode == 0, stderr
    assert "Traceback" not in stderr
    [note] = [line for line in stdout.splitlines() if "history not stored" in line]
    assert "newer than this hashbench reads" in note
    command = shlex.split(note.split("store it later with: ", 1)[1])
    assert command == ["hashbench", "history", "--add", str(out), "--db", str(db)]
    _layout_back(db)  # the database can take it now: the printed command, as a user would paste it
    code, _, err = run_cli(*command[1:])
    assert code == 0, err
    h = open_history(str(db))
    assert [r.run_id for r in h.runs()] == [json.loads(out.read_text())["run_id"]]
    h.close()


def test_interrupted_run_whose_history_write_fails_says_so(tmp_path):
    """A stopped run keeps what finished in its file and the history (README); when the history could not take it,
    the interrupted run said nothing of that, so the user believed it stored."""
    db, out = tmp_path / "h.sqlite", tmp_path / "run.json"
    _newer_layout(db)
    proc = _hashbench_run("--seconds", "60", "--output", str(out), "--db", str(db))
    while proc.poll() is None:  # verified, so the one benchmark (60 s) is being measured: stop it there
        try:
            if json.loads(out.read_text())["verify"]:
                break
        except (OSError, ValueError, KeyError):
            pass
        time.sleep(0.05)
    proc.send_signal(signal.SIGTERM)
    _, stderr = proc.communicate(timeout=120)
    assert proc.returncode == 143, stderr
    assert "Traceback" not in stderr
    assert json.loads(out.read_text())["complete"] is False
    [note] = [line for line in stderr.splitlines() if "history not stored" in line]
    assert f"store it later with: hashbench history --add {out} --db {db}" in note


def test_default_history_folder_that_cannot_be_created_is_one_line_before_the_run(tmp_path):
    """The default location's folder could not be made (here its parent is a file; a read-only home is the same
    error): `run` stopped with a bare '[Errno 20] Not a directory' that named neither the history nor a way on."""
    blocker = tmp_path / "not-a-folder"
    blocker.write_text("")
    env = {k: v for k, v in os.environ.items() if k != "HASHBENCH_DB"}
    env["XDG_DATA_HOME"] = str(blocker / "data")
    out = tmp_path / "run.json"
    proc = subprocess.Popen([sys.executable, "-c", RUN_CLI, "run", "--no-probes", "--quick", "--output", str(out)],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)
    _, stderr = proc.communicate(timeout=120)
    assert proc.returncode == 2
    [line] = stderr.strip().splitlines()
    assert "history database" in line and "cannot create its folder" in line and "--no-history" in line
    assert not out.exists()  # refused before measuring: nothing half-done


SAME_RUN_WRITER = r"""
import sys, time
from pathlib import Path
sys.path.insert(0, sys.argv[3])
from results_helpers import hash_measurement, make_run, noisy
from hashbench.results.history import open_history
url, n, meet, me = sys.argv[1], int(sys.argv[2]), Path(sys.argv[4]), sys.argv[5]
h = open_history(url)
for i in range(n):
    run = make_run([hash_measurement(noisy(1e7, 8, i))], run_id=f"{i:032x}")
    (meet / f"{i}-{me}").touch()  # both writers reach run i, then store it at the same instant
    while len(list(meet.glob(f"{i}-*"))) < 2:
        time.sleep(0.0005)
    # the same run stored from two places at once: `hashbench run` and a `history --add` of its file
    h.store(run)
h.close()
"""


def test_postgresql_the_same_run_stored_by_two_processes_at_once_lands_once(pg_url, tmp_path):
    """PostgreSQL: two writers of one run id both found no row to replace, both inserted, and one failed with
    'duplicate key value violates unique constraint'."""
    url = _clean(pg_url)
    n = 40
    procs = [subprocess.Popen([sys.executable, "-c", SAME_RUN_WRITER, url, str(n), str(Path(__file__).parent),
                               str(tmp_path), tag], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
             for tag in ("a", "b")]
    for p in procs:
        _, err = p.communicate(timeout=120)
        assert p.returncode == 0, err
    h = open_history(url)
    assert len(h.runs()) == n and sum(len(s.points) for s in h.trend()) == n
    h.close()


def test_postgresql_connection_lost_between_connect_and_write_is_reconnected(pg_url):
    """A server restart (here: the server ending this history's connection, as a restart does) between opening the
    history and storing made the store fail on the dead pooled connection: 'terminating connection due to
    administrator command'."""
    import sqlalchemy as sa

    url = _clean(pg_url)
    h = open_history(url)
    with h.engine.connect() as conn:
        pid = conn.exec_driver_sql("SELECT pg_backend_pid()").scalar()
    admin = sa.create_engine(resolve_url(url))
    with admin.begin() as conn:
        assert conn.execute(sa.text("SELECT pg_terminate_backend(:pid)"), {"pid": pid}).scalar() is True
    admin.dispose()
    run = make_run()
    h.store(run)
    assert h.load(run.run_id) == run
    h.close()


def test_a_database_held_locked_fails_the_store_after_one_busy_wait_not_every_retry(tmp_path, monkeypatch):
    """Another program holding the write lock (a database viewer left open): SQLite's busy wait runs once, then the
    store fails with one HistoryError; lock retries stay within that one wait instead of repeating it
    LOCK_RETRIES times (8 minutes of silence at the real 60 s). Counts attempts, times nothing."""
    import sqlite3

    monkeypatch.setattr(history_mod, "SQLITE_BUSY_MS", 300)
    db = tmp_path / "h.sqlite"
    history = open_history(f"sqlite:///{db}")
    attempts = []
    begin = history.engine.begin
    monkeypatch.setattr(history.engine, "begin", lambda: attempts.append(1) or begin())
    holder = sqlite3.connect(db, isolation_level=None)
    holder.execute("BEGIN EXCLUSIVE")
    try:
        with pytest.raises(history_mod.HistoryError, match="locked"):
            history.store(make_run())
    finally:
        holder.execute("ROLLBACK")
        holder.close()
    assert 1 <= len(attempts) < history_mod.LOCK_RETRIES
    history.store(make_run())  # the lock released, the same history stores
    assert len(history.runs()) == 1
    history.close()


@pytest.fixture
def pg_reader(pg_url):
    """A login role granted SELECT on the history tables and nothing else, its transactions read-only (as a dashboard's
    or a CI job's that only compares): any CREATE, ALTER, INSERT or DELETE through it fails. Yields a URL maker
    (database name -> URL as the reader); the role, and any database made for the test, are dropped after."""
    import sqlalchemy as sa

    role = f"hb_reader_{os.getpid()}"
    admin = sa.create_engine(resolve_url(pg_url), isolation_level="AUTOCOMMIT")  # CREATE DATABASE needs autocommit
    made: list[str] = []
    with admin.connect() as conn:
        conn.exec_driver_sql(f"CREATE ROLE {role} LOGIN PASSWORD 'reader'")
        conn.exec_driver_sql(f"ALTER ROLE {role} SET default_transaction_read_only = on")
    base = sa.engine.make_url(resolve_url(pg_url))

    def url(database: str | None = None) -> str:
        if database is not None and database not in made:
            with admin.connect() as conn:
                conn.exec_driver_sql(f"CREATE DATABASE {database}")
            made.append(database)
        return base.set(username=role, password="reader", database=database or base.database).render_as_string(
            hide_password=False)

    url.role, url.admin = role, admin
    try:
        yield url
    finally:
        with admin.connect() as conn:
            for database in made:
                conn.exec_driver_sql(f"DROP DATABASE IF EXISTS {database}")
            conn.exec_driver_sql(f"DROP OWNED BY {role}")
            conn.exec_driver_sql(f"DROP ROLE {role}")
        admin.dispose()


def test_postgresql_a_select_only_role_reads_history_compare_and_report(pg_url, pg_reader, tmp_path):
    """history, compare and report --from-history read through a role that may only SELECT, in read-only
    transactions: nothing is created, altered or written on the way (any attempt would fail the command)."""
    url = _clean(pg_url)
    writer = open_history(url)
    runs = [make_run([hash_measurement(noisy(2e7 - i * 2e6, 10, i))], started=f"2025-11-2{i}T10:00:00+00:00")
            for i in range(2)]
    for run in runs:
        writer.store(run)
    writer.close()
    with pg_reader.admin.connect() as conn:
        conn.exec_driver_sql(f"GRANT SELECT ON hb_runs, hb_measurements, hb_meta TO {pg_reader.role}")
    db = pg_reader()
    code, out, err = run_cli("history", "--runs", "--json", "--db", db)
    assert code == 0, err
    assert [r["run_id"] for r in json.loads(out)] == [runs[1].run_id, runs[0].run_id]
    code, out, err = run_cli("history", "--json", "--db", db)
    assert code == 0, err
    assert [len(s["points"]) for s in json.loads(out)] == [2]
    code, out, err = run_cli("compare", "@latest~1", "@latest", "--json", "--db", db)
    assert code == 1, err  # about -10 % and significant: the gate's exit, not an error's
    assert json.loads(out)["regressions"] == 1
    report = tmp_path / "report.html"
    code, out, err = run_cli("report", "--from-history", "--html", str(report), "--db", db)
    assert code == 0 and report.exists(), err
    # The role really is read-only: a store through it is refused, in one line naming the database
    code, out, err = run_cli("history", "--add", str(_write_result(runs[0], tmp_path / "r.json")), "--db", db)
    assert code != 0 and "Traceback" not in err and len(err.strip().splitlines()) == 1, err
    assert "read-only" in err or "permission denied" in err, err


def test_postgresql_a_select_only_role_reads_a_database_without_tables_as_an_empty_history(pg_reader):
    """A database hashbench never wrote to, read by a role that may not create: a read that made the tables first
    would fail there ('cannot execute CREATE TABLE in a read-only transaction'); it reads as an empty history."""
    db = pg_reader(f"hb_empty_{os.getpid()}")
    code, out, err = run_cli("history", "--runs", "--db", db)
    assert code == 0 and out.startswith("no runs in the history"), err
    code, out, err = run_cli("history", "--json", "--db", db)
    assert code == 0 and json.loads(out) == [], err
    code, out, err = run_cli("compare", "@latest", "@latest", "--db", db)
    assert code == 2 and "holds no runs yet" in err, err
    code, out, err = run_cli("report", "--from-history", "--db", db)
    assert code == 2 and "holds no runs yet" in err, err


def _write_result(run, path: Path) -> Path:
    from hashbench.results.pbjson import write_result

    write_result(run, path)
    return path


def test_postgresql_server_that_never_answers_fails_the_open_instead_of_hanging():
    """A server that accepts the connection and then says nothing (a wedged host, a firewall that eats replies):
    the connect timeout ends the wait with one error; without it libpq would wait for the system's TCP timeout."""
    pytest.importorskip("psycopg", reason="PostgreSQL's driver (postgres extra)")
    with socket.socket() as mute:
        mute.bind(("127.0.0.1", 0))
        mute.listen(1)  # the kernel completes the handshake; nothing ever reads or replies
        port = mute.getsockname()[1]
        code = ("import sys; from hashbench.results import history as h; h.PG_CONNECT_TIMEOUT_S = 2\n"
                "try:\n    h.open_history(sys.argv[1])\nexcept Exception as exc:\n"
                "    print(type(exc).__name__); sys.exit(3)\n")
        done = subprocess.run([sys.executable, "-c", code, f"postgresql://u@127.0.0.1:{port}/db"], check=False,
                              capture_output=True, text=True, timeout=120)
    assert done.returncode == 3, (done.stdout, done.stderr)
    assert done.stdout.strip() in ("HistoryError", "HistoryUnavailable"), done.stdout


def test_a_password_in_the_url_query_is_masked_in_messages(pg_url, tmp_path):
    """libpq takes the password as a query parameter too (postgresql://u@db/hb?password=...); messages and the
    run's "store it later" note masked only the user:password@ form and printed this one."""
    assert display_url("postgresql://u@db/hb?sslmode=require&password=s3cret&sslpassword=k3y") == \
        "postgresql://u@db/hb?sslmode=require&password=***&sslpassword=***"
    assert display_url("postgresql://u:s3cret@db/hb?password=s3cret") == "postgresql://u:***@db/hb?password=***"
    url = _clean(pg_url) + ("&" if "?" in pg_url else "?") + "password=s3cret"
    code, out, err = run_cli("history", "--db", url, "--runs")
    assert code == 0, err
    assert "password=***" in out and "s3cret" not in out + err


def test_connect_timeout_goes_only_to_drivers_that_take_it(monkeypatch):
    """connect_timeout is libpq's (psycopg, psycopg2); handed to another PostgreSQL driver (pg8000: `timeout`) every
    connection failed with a TypeError traceback: connect() got an unexpected keyword argument 'connect_timeout'."""
    import sqlalchemy as sa

    given = {}

    def create_engine(url, **kwargs):
        given[url.split("://", 1)[0]] = kwargs.get("connect_args", {})
        raise ImportError("stop here")  # the driver need not be installed: only what it would be handed counts

    monkeypatch.setattr(sa, "create_engine", create_engine)
    for scheme in ("postgresql", "postgresql+psycopg", "postgresql+psycopg2", "postgresql+pg8000"):
        with pytest.raises(HistoryUnavailable):
            history_mod.History(f"{scheme}://u@db/hb", connect=False)
    assert given.pop("postgresql+pg8000") == {}
    assert all(args == {"connect_timeout": history_mod.PG_CONNECT_TIMEOUT_S} for args in given.values()), given


# --- a history on a read-only mount -----------------------------------------------------------------------------

READONLY_VIEW = 'mount --bind "$1" "$2" && mount -o remount,bind,ro "$2" && shift 2 && exec "$@"'


@pytest.fixture
def readonly_view(tmp_path):
    """run(folder, *args): `python -m hashbench ARGS` with `folder` seen read-only at a second path (the returned
    process reads it there as `{ro}`), in a private mount namespace of its own (unshare), so no mount outlives the
    process. chmod alone does not stop root, and a mount of the test's own namespace would need cleaning up."""
    unshare = shutil.which("unshare")
    if unshare is None:
        pytest.skip("unshare (util-linux) is not installed: cannot make a read-only mount")
    view = tmp_path / "ro-view"
    view.mkdir()
    probe = tmp_path / "probe"
    probe.mkdir()
    done = subprocess.run([unshare, "-rm", "sh", "-c", READONLY_VIEW, "sh", str(probe), str(view), "touch",
                           str(view / "x")], check=False, capture_output=True, text=True, timeout=60)
    if "Read-only file system" not in done.stderr:
        pytest.skip(f"cannot make a read-only bind mount here (unshare -rm: {done.stderr.strip()[-200:]})")

    def run(folder: Path, *args: str) -> subprocess.CompletedProcess:
        args = [a.replace("{ro}", str(view)) for a in args]
        return subprocess.run([unshare, "-rm", "sh", "-c", READONLY_VIEW, "sh", str(folder), str(view),
                               sys.executable, "-m", "hashbench", *args], check=False, capture_output=True,
                              text=True, timeout=120)

    return run


def _store_runs(db: Path, n: int) -> list:
    from hashbench.results.pbjson import write_result

    runs = []
    for i in range(n):
        run = make_run([hash_measurement(noisy(2e7 - i * 2e6, 10, i))], started=f"2025-11-2{i}T10:00:00+00:00")
        path = db.parent.parent / f"r{i}.json"
        write_result(run, path)
        code, _, err = run_cli("history", "--db", str(db), "--add", str(path))
        assert code == 0, err
        runs.append(run)
    return runs


def test_every_read_only_command_reads_a_history_on_a_read_only_mount(tmp_path, readonly_view):
    """Each read opened the file read-write, set WAL mode and began with BEGIN IMMEDIATE: on a read-only mount every
    one failed with 'unable to open database file'. Cleanly closed (no -wal, no -shm), it now reads whole."""
    folder = tmp_path / "hist"
    folder.mkdir()
    runs = _store_runs(folder / "h.sqlite", 2)
    assert sorted(os.listdir(folder)) == ["h.sqlite"]  # closed: the log was folded in and removed
    db = "{ro}/h.sqlite"
    done = readonly_view(folder, "history", "--runs", "--json", "--db", db)
    assert done.returncode == 0, done.stderr
    assert [r["run_id"] for r in json.loads(done.stdout)] == [runs[1].run_id, runs[0].run_id]
    done = readonly_view(folder, "history", "--json", "--db", db)
    assert done.returncode == 0, done.stderr
    assert [len(s["points"]) for s in json.loads(done.stdout)] == [2]
    done = readonly_view(folder, "compare", "@latest~1", "@latest", "--json", "--db", db)
    assert done.returncode == 1, done.stderr  # about -10 % and significant: the gate's exit, not an error's
    assert json.loads(done.stdout)["regressions"] == 1
    done = readonly_view(folder, "compare", f"@{runs[0].run_id}", f"@{runs[0].run_id[:12]}", "--db", db)
    assert done.returncode == 0, done.stderr
    done = readonly_view(folder, "export", "csv", "--from-history", "--db", db)
    assert done.returncode == 0 and done.stdout.count("\n") == 3, done.stderr
    report = tmp_path / "report.html"
    done = readonly_view(folder, "report", "--from-history", "--html", str(report), "--db", db)
    assert done.returncode == 0 and report.exists(), done.stderr
    assert sorted(os.listdir(folder)) == ["h.sqlite"]
    # The same mount refuses a write with one line, as before
    done = readonly_view(folder, "history", "--add", str(tmp_path / "r0.json"), "--db", db)
    assert done.returncode != 0 and "Traceback" not in done.stderr
    assert len(done.stderr.strip().splitlines()) == 1 and "read" in done.stderr


def test_a_read_only_mount_of_a_history_being_written_reads_the_runs_still_in_its_log(tmp_path, readonly_view):
    """A read-only view of a database a writer has open (a container reading the site's history): the newest runs
    are in the -wal file, not yet in the main file. mode=ro reads them through the -shm index; immutable=1, which
    ignores the log, would silently show an older history."""
    import sqlite3

    folder = tmp_path / "hist"
    folder.mkdir()
    db = folder / "h.sqlite"
    _store_runs(db, 1)
    holder = sqlite3.connect(db)  # an open connection keeps the log: closing the last one folds it in
    holder.execute("SELECT 1 FROM hb_runs").fetchall()
    try:
        runs = _store_runs(db, 3)
        assert (folder / "h.sqlite-wal").stat().st_size > 0 and (folder / "h.sqlite-shm").exists()
        done = readonly_view(folder, "history", "--runs", "--json", "--db", "{ro}/h.sqlite")
        assert done.returncode == 0, done.stderr
        assert len(json.loads(done.stdout)) == 4 and json.loads(done.stdout)[0]["run_id"] == runs[2].run_id
        # The same log copied without its index cannot be read whole: one line says so, nothing is silently missed
        copy = tmp_path / "copy"
        copy.mkdir()
        for name in ("h.sqlite", "h.sqlite-wal"):
            shutil.copy(folder / name, copy / name)
    finally:
        holder.close()
    done = readonly_view(copy, "history", "--runs", "--db", "{ro}/h.sqlite")
    assert done.returncode != 0 and done.stdout == "", done.stdout
    [line] = done.stderr.strip().splitlines()
    assert "h.sqlite-wal" in line and "-shm is missing" in line
    assert line.endswith("copy the database and its -wal file to a writable folder and read it there")


def test_a_read_only_mount_with_an_empty_log_and_no_index_reads_the_main_file(tmp_path, readonly_view):
    """An empty -wal (a writer that checkpointed everything, a copy of one) holds no runs: the main file holds every
    committed one and is read whole without the index, not refused as a log that cannot be read."""
    folder = tmp_path / "hist"
    folder.mkdir()
    runs = _store_runs(folder / "h.sqlite", 2)
    (folder / "h.sqlite-wal").touch()
    assert sorted(os.listdir(folder)) == ["h.sqlite", "h.sqlite-wal"]
    done = readonly_view(folder, "history", "--runs", "--json", "--db", "{ro}/h.sqlite")
    assert done.returncode == 0, done.stderr
    assert [r["run_id"] for r in json.loads(done.stdout)] == [runs[1].run_id, runs[0].run_id]


def test_reading_a_history_that_does_not_exist_creates_nothing(tmp_path):
    """A read made the database (file and tables) as a side effect; it now reads as an empty history."""
    db = tmp_path / "none.sqlite"
    code, out, err = run_cli("history", "--db", str(db), "--runs")
    assert code == 0 and out.startswith("no runs in the history"), err
    code, out, err = run_cli("compare", "@latest", "@latest", "--db", str(db))
    assert code == 2 and "holds no runs yet" in err
    code, out, err = run_cli("export", "csv", "--from-history", "--db", str(db))
    # not "give result files ... or --from-history", which is what was given
    assert code == 2 and err == "hashbench: error: nothing to export: the history holds no runs\n"
    assert os.listdir(tmp_path) == []
    code, _, err = run_cli("history", "--db", str(tmp_path / "no-such-folder" / "h.sqlite"))
    assert code == 2 and "does not exist" in err  # a named folder that is not there is still a typo


def test_an_sqlite_path_with_url_characters_is_shown_and_opened_as_written(tmp_path):
    """A folder named like a:b@c made display_url mask it as user:password@ (sqlite:////x/a:***@c/h.sqlite, and the
    'store it later' command named a file that does not exist); a bare path with ? or % was parsed as URL syntax and
    opened another file (q?y/h.sqlite became q, p%41 became pA)."""
    from hashbench.results.pbjson import write_result
    from hashbench.run import add_later

    result = tmp_path / "r.json"
    write_result(make_run(), result)
    for name in ("a:b@c", "q?y", "p%41"):
        folder = tmp_path / name
        folder.mkdir()
        db = folder / "h.sqlite"
        code, _, err = run_cli("history", "--db", str(db), "--add", str(result))
        assert code == 0 and err == f"stored 1 run(s) in sqlite:///{db}\n", err
        assert os.listdir(folder) == ["h.sqlite"]
        code, out, err = run_cli("history", "--db", str(db), "--runs", "--json")
        assert code == 0 and len(json.loads(out)) == 1, err
    assert sorted(os.listdir(tmp_path)) == ["a:b@c", "p%41", "q?y", "r.json"]  # no q, no pA
    assert display_url(f"sqlite:///{tmp_path}/a:b@c/h.sqlite") == f"sqlite:///{tmp_path}/a:b@c/h.sqlite"
    assert display_url("/data/a:b@c/h.sqlite") == "/data/a:b@c/h.sqlite"
    assert add_later(Path("r.json"), "/data/a:b@c/h.sqlite").endswith("--db /data/a:b@c/h.sqlite")
    # a password is still masked however it is written, a / in it included (SQLAlchemy reads it up to the @)
    assert display_url("postgresql://u:pa/ss@db:5432/a:b@c") == "postgresql://u:***@db:5432/a:b@c"
    assert display_url("postgresql://:secret@db/hb") == "postgresql://:***@db/hb"


def test_postgresql_stores_names_longer_than_their_columns(pg_url):
    """PostgreSQL refuses a VARCHAR value longer than its column (SQLite keeps it): a long machine label, benchmark
    name, backend, energy source and an unreadable start time are cut to fit, and the run loads back whole."""
    from dataclasses import replace

    from hashbench.results.schema import Energy

    odd = Measurement("n" * 400, "hashrate", "H/s", samples=(5.0, 6.0, 7.0), params={"backend": "b" * 100},
                      energy=Energy("s" * 100, joules=2.0, seconds=1.0))
    run = make_run([odd], host=replace(HOST, cpu_model="C" * 400), started="x" * 40)
    h = open_history(_clean(pg_url))
    h.store(run)
    assert h.load(run.run_id) == run
    [series] = h.trend(backend="b" * 60)
    assert series.name == "n" * 300 and series.machine == h.runs()[0].machine == run.host.label[:300]
    h.close()


def test_postgresql_first_writers_and_writers_of_one_run_take_their_advisory_locks(pg_url):
    """Two concurrent CREATE TABLEs of one name collide on PostgreSQL's catalog, and two writers of one run both find
    nothing to replace: each waits on an advisory lock. Held here by another session, with a lock_timeout on the
    history's connections, the wait shows as the server's lock timeout, not as a race that a test may not hit."""
    import sqlalchemy as sa

    url = _clean(pg_url)
    impatient = url + ("&" if "?" in url else "?") + "options=-c%20lock_timeout%3D300"
    key = history_mod._PG_LOCK_KEY
    holder = sa.create_engine(resolve_url(url), isolation_level="AUTOCOMMIT")
    run = make_run()
    try:
        with holder.connect() as conn:
            conn.exec_driver_sql(f"SELECT pg_advisory_lock({key})")
            with pytest.raises(history_mod.HistoryError, match="lock timeout"):
                open_history(impatient)
            conn.exec_driver_sql(f"SELECT pg_advisory_unlock({key})")
            h = open_history(impatient)
            conn.execute(sa.text("SELECT pg_advisory_lock(:key, hashtext(:run_id))"),
                         {"key": key, "run_id": run.run_id})
            try:
                with pytest.raises(history_mod.HistoryError, match="lock timeout"):
                    h.store(run)
                other = make_run()
                h.store(other)  # another run id, another lock
                assert [r.run_id for r in h.runs()] == [other.run_id]
            finally:
                conn.execute(sa.text("SELECT pg_advisory_unlock(:key, hashtext(:run_id))"),
                             {"key": key, "run_id": run.run_id})
            h.store(run)
            assert len(h.runs()) == 2
            h.close()
    finally:
        holder.dispose()


def test_history_marks_the_points_measured_on_shared_cpus_and_keeps_them_in_the_trend(tmp_path):
    """A run measured while other work held the CPUs was an ordinary point of the trend: its first/last/change could
    read a crowded machine as a regression with nothing said. It stays a point (the figure is real), named."""
    from hashbench.results.pbjson import write_result

    db = str(tmp_path / "s.sqlite")
    files = []
    for i, (center, others) in enumerate(((2.0e7, 0.0), (1.1e7, 1.6), (2.1e7, 0.0))):
        path = tmp_path / f"r{i}.json"
        write_result(make_run([with_cpu_load(hash_measurement([center] * 10), others),
                               with_cpu_load(hash_measurement([center / 2] * 10, impl="sha-ni"), 0.0)],
                              started=f"2025-11-2{i}T10:00:00Z"), path)
        files.append(str(path))
    code, out, err = run_cli("history", "--db", db, *[a for f in files for a in ("--add", f)])
    assert code == 0, err
    assert "+5.0" in out  # still first against last, the crowded run among the points
    note = [line for line in out.splitlines() if line.startswith("CPUs shared while measured")]
    assert len(note) == 1 and "kept in the trend" in note[0]
    crowded = json.loads(Path(files[1]).read_text())["run_id"]
    assert note[0].endswith(f": sha256d[cython-avx2-x1] in run {crowded[:8]} (2025-11-21 10:00)")
    code, out, _ = run_cli("history", "--db", db, "--json")
    shared = {s["name"]: [p["shared"] for p in s["points"]] for s in json.loads(out)}
    assert shared == {"sha256d[cython-avx2-x1]": [False, True, False], "sha256d[cython-sha-ni-x1]": [False] * 3}
    code, out, _ = run_cli("history", "--db", db, "--runs")
    assert code == 0 and (f"run {crowded[:8]}: CPUs shared while 1 of its 2 measurement(s) were taken (other work, a "
                          "hypervisor or a CPU quota took CPU time in the window); their figures may be below what "
                          "this machine does alone") in out.splitlines()
    assert sum("CPUs shared while" in line for line in out.splitlines()) == 1
    code, out, _ = run_cli("history", "--db", db, "--runs", "--json")
    assert [r["shared"] for r in json.loads(out)] == [0, 1, 0]  # newest first
    # a quiet history says nothing of it
    quiet = str(tmp_path / "q.sqlite")
    code, out, _ = run_cli("history", "--db", quiet, "--add", files[0], "--add", files[2])
    assert code == 0 and "CPUs shared" not in out


# --- opening: what mutation testing found unpinned ------------------------------------------------------------------

def test_the_default_location_is_made_once_and_found_again(tmp_path, monkeypatch):
    """The second run on a machine finds the default folder there: an existing folder is no error."""
    monkeypatch.delenv("HASHBENCH_DB", raising=False)
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "data"))
    for started in ("2025-11-20T10:00:00+00:00", "2025-11-21T10:00:00+00:00"):
        store = history_mod.store_run(make_run([hash_measurement([2e7] * 3)], started=started))
        assert store == f"sqlite:///{tmp_path / 'data' / 'hashbench' / 'history.sqlite'}"
    h = open_history(readonly=True)
    assert len(h.runs()) == 2
    h.close()


def test_a_default_folder_that_cannot_be_made_is_named_with_the_reason(tmp_path, monkeypatch):
    monkeypatch.delenv("HASHBENCH_DB", raising=False)
    (tmp_path / "file").write_text("")
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "file" / "data"))
    folder = tmp_path / "file" / "data" / "hashbench"
    with pytest.raises(InputError) as caught:
        open_history()
    assert str(caught.value) == (f"history database sqlite:///{folder / 'history.sqlite'}: cannot create its folder "
                                 f"{str(folder)!r} (Not a directory): give --db PATH or $HASHBENCH_DB, or run with "
                                 "--no-history")


def test_an_sqlite_url_sqlalchemy_cannot_read_is_one_line():
    """The SQLite branch parses the URL itself, before create_engine (whose ValueError the PostgreSQL case of
    test_results_history_contents covers)."""
    with pytest.raises(InputError) as caught:
        history_mod.History("sqlite://u@h:5x4/p.db", connect=False)
    assert str(caught.value) == ("cannot use history database sqlite://u@h:5x4/p.db: cannot read it as a database URL "
                                 "(invalid literal for int() with base 10: '5x4')")


def test_a_missing_driver_hint_names_the_postgres_extra_only_for_postgresql(monkeypatch):
    for driver in ("psycopg", "psycopg2", "MySQLdb"):
        monkeypatch.setitem(sys.modules, driver, None)
    with pytest.raises(HistoryUnavailable) as caught:
        history_mod.History("postgresql+psycopg2://u@db/hb", connect=False)
    assert str(caught.value).endswith("; install its driver with pip install 'hashbench[postgres]'")
    with pytest.raises(HistoryUnavailable) as caught:
        history_mod.History("mysql://u@db/hb", connect=False)
    assert str(caught.value) == ("cannot use history database mysql://u@db/hb: import of MySQLdb halted; None in "
                                 "sys.modules")


def test_a_connect_timeout_in_the_url_is_left_as_given(monkeypatch):
    import sqlalchemy as sa

    given = {}

    def create_engine(url, **kwargs):
        given["args"] = kwargs.get("connect_args")
        raise ImportError("stop here")

    monkeypatch.setattr(sa, "create_engine", create_engine)
    with pytest.raises(HistoryUnavailable):
        history_mod.History("postgresql://u@db/hb?connect_timeout=3", connect=False)
    assert given["args"] is None  # the URL's 3 s, not hashbench's default beside it


def test_a_benchmark_name_past_the_column_width_is_still_marked_shared(tmp_path):
    """The measurements table keeps 300 characters of a name; the shared-CPU mark is matched on the same cut."""
    from dataclasses import replace

    h = open_history(str(tmp_path / "long.sqlite"))
    for day in (20, 21):
        m = with_cpu_load(replace(hash_measurement([2e7] * 3), name="sha256d[" + "x" * 340 + "]"), 1.6)
        h.store(make_run([m], started=f"2025-11-{day}T10:00:00+00:00"))
    [series] = h.trend()
    assert len(series.name) == 300 and [p.shared for p in series.points] == [True, True]
    h.close()


def test_a_history_given_as_an_sqlite_url_is_read_back_read_only(tmp_path):
    """--db sqlite:///PATH (a URL, not a bare path): the reader finds the file the URL names."""
    url = f"sqlite:///{tmp_path / 'u.sqlite'}"
    h = open_history(url)
    h.store(make_run([hash_measurement([2e7] * 3)]))
    h.close()
    reader = open_history(url, readonly=True)
    assert len(reader.runs()) == 1
    reader.close()
    assert open_history(f"sqlite:///{tmp_path / 'none.sqlite'}", readonly=True).runs() == []
    assert not (tmp_path / "none.sqlite").exists()


def test_a_damaged_history_is_one_line_on_every_command_that_reads_it(tmp_path):
    """A stored document that is not a JSON object, or a layout that is not a number, ended `history`,
    `history --runs`, `compare @latest` and `export --from-history` in a traceback."""
    import sqlite3

    db = tmp_path / "h.sqlite"
    shown = display_url(resolve_url(str(db)))
    h = open_history(str(db))
    run = make_run()
    h.store(run)
    h.close()
    reads = [("history", "--db", str(db)), ("history", "--runs", "--db", str(db)),
             ("compare", "@latest", "@latest", "--db", str(db)),
             ("export", "csv", "--from-history", "--db", str(db))]
    for document in ("{bad", "[1, 2]", "null"):
        with sqlite3.connect(db) as conn:
            conn.execute("UPDATE hb_runs SET document = ?", (document,))
        conn.close()
        for args in reads:
            code, out, err = run_cli(*args)
            assert code == 1 and "Traceback" not in err, (args, err)  # the database failed: exit 1, as HistoryError
            assert err == (f"hashbench: error: history database {shown}: run {run.run_id}'s stored document is not a "
                           "JSON object (damaged)\n"), (args, err)
            assert len(err.strip().splitlines()) == 1, err
    with sqlite3.connect(db) as conn:
        conn.execute("UPDATE hb_meta SET value = 'abc' WHERE key = 'layout'")
    conn.close()
    from hashbench.results.pbjson import write_result

    write_result(make_run(), tmp_path / "x.json")
    for args in [*reads, ("history", "--add", str(tmp_path / "x.json"), "--db", str(db))]:
        code, _, err = run_cli(*args)
        assert code == 1 and err == (f"hashbench: error: history database {shown}: its layout is 'abc', not a number: "
                                     "not a hashbench history, or a damaged one\n"), (args, err)
