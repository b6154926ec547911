"""What the history database holds and gives back: each stored column, the run listing, references, the trend's
order and JSON, and the one-line messages of its failures. Found by mutation testing: each test pins behaviour
that a changed line of results/history.py left every other test passing."""

from __future__ import annotations

import json
import socket
import sqlite3
import sys
import time
from dataclasses import replace

import pytest

pytest.importorskip("sqlalchemy", reason="the history needs the results extra (SQLAlchemy)")

from results_helpers import HOST, OTHER_HOST, hash_measurement, make_run, probe_records, rate, run_cli

from hashbench.errors import InputError
from hashbench.results import history as history_mod
from hashbench.results.history import (
    HistoryError,
    HistoryUnavailable,
    check_location,
    display_url,
    open_history,
    resolve_url,
    store_run,
)
from hashbench.results.schema import Check, Energy, Measurement, measurement_from_probe


def _rows(db, sql: str) -> list[tuple]:
    conn = sqlite3.connect(db)
    try:
        return conn.execute(sql).fetchall()
    finally:
        conn.close()


def test_each_column_holds_what_the_run_said(tmp_path):
    """The tables are there for plain SQL queries (trends, dashboards): every column of a run and of each measurement
    as stored, the start time normalised to UTC, and the text columns cut to their declared widths (PostgreSQL's
    VARCHAR refuses longer ones), while the document keeps the run whole."""
    long_host = replace(HOST, cpu_model="C" * 400)
    odd = Measurement("n" * 400, "hashrate", "H/s", samples=(5.0, 6.0, 7.0), params={"backend": "b" * 100},
                      energy=Energy("s" * 100, joules=2.0, seconds=1.0))
    run = make_run([hash_measurement((2.0e7, 2.2e7, 1.9e7), energy_j=3.0),
                    measurement_from_probe(probe_records()[0]),
                    Measurement("test_step", "timing", "s", samples=(0.5,)), odd],
                   host=long_host, started="2025-11-20T11:00:00+01:00", run_id="0123456789abcdef" * 2)
    db = tmp_path / "h.sqlite"
    h = open_history(str(db))
    h.store(run)
    h.close()
    [stored] = _rows(db, "SELECT run_id, fingerprint, machine, started, started_utc, source, git_commit, git_dirty, "
                         "complete, schema_version, document FROM hb_runs")
    assert stored[:10] == (run.run_id, run.fingerprint, long_host.label[:300], "2025-11-20T11:00:00+01:00",
                           "2025-11-20T10:00:00.000000Z", "hashbench run", "a" * 40, 0, 1, run.schema_version)
    assert json.loads(stored[10]) == run.to_json()  # whole, the 400-character names included
    # without the ", " and ": " of json.dumps' default: every run's document is kept, so a long history is smaller
    assert stored[10] == json.dumps(json.loads(stored[10]), separators=(",", ":"))
    assert _rows(db, "SELECT key, value FROM hb_meta") == [("layout", str(history_mod.DB_LAYOUT))]
    rows = _rows(db, "SELECT name, kind, backend, unit, value, min, max, stddev, n, provenance, energy_j, "
                     "energy_source, joules_per_unit FROM hb_measurements ORDER BY id")
    hashing, decode, step, long = rows
    avx2 = run.measurements[0]
    assert hashing == ("sha256d[cython-avx2-x1]", "hashrate", "cython", "H/s", 2.0e7, 1.9e7, 2.2e7,
                       avx2.summary.stddev, 3, "measured", 3.0, "rapl", avx2.joules_per_unit)
    assert decode == ("llm-decode[cuda:0-llama-3.1-8b-fp8-b64]", "probe", "llm-decode", "tokens/s", 5000.0, 5000.0,
                      5000.0, 0.0, 0, "measured", 36000.0, "nvml", 0.12)  # a probe is found by its probe name
    assert step == ("test_step", "timing", None, "s", 0.5, 0.5, 0.5, 0.0, 1, "measured", None, "none", None)
    assert long[:3] == ("n" * 300, "hashrate", "b" * 60) and long[11] == "s" * 80
    # an unreadable start time is kept as written, within the column's width
    run2 = make_run([rate("test_rate", (1.0,))], started="yesterday, some time after lunch, before tea")
    h = open_history(str(db))
    h.store(run2)
    h.close()
    assert _rows(db, f"SELECT started, started_utc FROM hb_runs WHERE run_id = '{run2.run_id}'") == [
        (run2.started, run2.started[:32])]


def test_runs_lists_every_run_newest_first_with_its_summary(tmp_path):
    """`history --runs` and @latest read this listing: two runs started in the same second are told apart by the
    order they were stored in; each summary has the run's source, commit, state, measurement count, verification."""
    h = open_history(str(tmp_path / "h.sqlite"))
    first = make_run(run_id="1" * 32)
    second = make_run([rate("test_rate", (1.0, 2.0))], host=replace(HOST, git_commit=None, git_dirty=True),
                      run_id="0" * 32, source="pytest-benchmark", checks=[Check("cython", "avx2", 4, False)])
    second.complete = False
    h.store(first)
    h.store(second)
    listing = h.runs()
    assert [r.to_json() for r in listing] == [
        {"run_id": "0" * 32, "started": second.started, "source": "pytest-benchmark", "fingerprint": HOST.fingerprint,
         "machine": HOST.label, "git_commit": None, "git_dirty": True, "complete": False, "measurements": 1,
         "verified": "FAILED: cython (avx2)", "shared": 0},
        {"run_id": "1" * 32, "started": first.started, "source": "hashbench run", "fingerprint": HOST.fingerprint,
         "machine": HOST.label, "git_commit": "a" * 40, "git_dirty": False, "complete": True, "measurements": 3,
         "verified": "not checked", "shared": 0}]
    assert [r.run_id for r in h.runs(limit=1)] == ["0" * 32]
    assert [r.run_id for r in h.runs(source="hashbench run")] == ["1" * 32]
    assert h.resolve("latest").run_id == "0" * 32
    h.close()


def test_history_references_follow_one_machine_and_one_kind_of_run(tmp_path):
    """latest~N counts back among the runs like the latest (same machine, same source): a pytest-benchmark run
    stored in between is not "the previous run" of a CI job's `hashbench run`. A reference that cannot be read is
    one line and exit 2."""
    h = open_history(str(tmp_path / "h.sqlite"))
    runs = [make_run([rate("test_rate", (float(i + 1),))], started=f"2025-11-2{i}T10:00:00+00:00", **kw)
            for i, kw in enumerate(({}, {"source": "pytest-benchmark"}, {"host": OTHER_HOST}, {}))]
    for run in runs:
        h.store(run)
    assert h.resolve("latest").run_id == runs[3].run_id
    assert h.resolve("latest~0").run_id == runs[3].run_id
    assert h.resolve("latest~1").run_id == runs[0].run_id  # not the pytest-benchmark run, not the other machine's
    assert h.resolve(runs[1].run_id).run_id == runs[1].run_id
    assert h.resolve(runs[2].run_id[:8]).run_id == runs[2].run_id
    for ref in ("latest~", "latest~x", "latest~-1", "latest~1~2"):
        with pytest.raises(InputError, match=f"cannot read history reference '{ref}' \\(latest, latest~N or a run "
                                             "id\\)"):
            h.resolve(ref)
    h.close()
    code, out, err = run_cli("compare", "@latest~x", "@latest", "--db", str(tmp_path / "h.sqlite"))
    assert (code, out) == (2, "") and err == "hashbench: error: cannot read history reference 'latest~x' (latest, " \
                                             "latest~N or a run id)\n"


def test_trend_orders_each_machines_points_in_time_whatever_offset_or_local_zone(tmp_path, monkeypatch):
    """Runs written with different offsets, without one (UTC, as older pytest-benchmark files mean), and across the
    night clocks go back: the trend is in the order they happened, on a machine whose local zone is not UTC."""
    monkeypatch.setenv("TZ", "America/New_York")
    time.tzset()
    try:
        h = open_history(str(tmp_path / "h.sqlite"))
        # in time order: 09:50Z (naive = UTC), 10:10Z written at -04:00, then 05:30Z and 06:10Z on 2 November,
        # 01:30 EDT and 01:10 EST in New York (its clocks went back at 06:00Z)
        starts = ["2025-10-20T09:50:00", "2025-10-20T06:10:00-04:00", "2025-11-02T05:30:00Z",
                  "2025-11-02T06:10:00+00:00"]
        for i in (3, 1, 2, 0):  # stored out of order
            h.store(make_run([rate("test_rate", (100.0 + i,) * 3)], started=starts[i], run_id=f"{i}" * 32))
        [series] = h.trend()
        assert [p.run_id for p in series.points] == [f"{i}" * 32 for i in range(4)]
    finally:
        monkeypatch.undo()
        time.tzset()
    h.close()


def test_trend_per_machine_and_benchmark_as_json(tmp_path):
    """`history --json`: one series per machine fingerprint and benchmark, selected by backend (a probe by its name)
    or benchmark name, with every point's figures."""
    h = open_history(str(tmp_path / "h.sqlite"))
    run = make_run([hash_measurement((2.0e7, 2.2e7, 1.9e7), energy_j=3.0)], probes=True, run_id="9" * 32)
    h.store(run)
    [decode] = h.trend(backend="llm-decode")
    assert decode.to_json() == {
        "fingerprint": HOST.fingerprint, "machine": HOST.label, "name": "llm-decode[cuda:0-llama-3.1-8b-fp8-b64]",
        "unit": "tokens/s", "change": None,
        "points": [{"run_id": "9" * 32, "started": run.started, "git_commit": "a" * 40, "value": 5000.0,
                    "min": 5000.0, "max": 5000.0, "n": 0, "joules_per_unit": 0.12, "verify_failed": False,
                    "shared": False}]}
    [avx2] = h.trend(name="sha256d[cython-avx2-x1]")
    assert [(p.value, p.min, p.max, p.n) for p in avx2.points] == [(2.0e7, 1.9e7, 2.2e7, 3)]
    assert avx2.points[0].joules_per_unit == pytest.approx(run.measurements[0].joules_per_unit)
    assert {s.name for s in h.trend(fingerprint=HOST.fingerprint)} == {m.name for m in run.measurements}
    assert h.trend(name="no such benchmark") == []
    h.close()


def test_the_first_run_with_a_cpu_id_says_where_the_machines_older_runs_went(tmp_path):
    """Reading the CPU's family/model/stepping gave a machine a new fingerprint: its runs from before stay a series
    of their own (nothing says they ran on this CPU), and the first run of the new series says so once, with the
    command that sets the two side by side. Other machines' runs, and later runs, say nothing."""
    db = str(tmp_path / "h.sqlite")
    older = [make_run(started=f"2025-11-2{i}T10:00:00+00:00") for i in (1, 2)]
    for run in older:
        assert store_run(run, db) == f"sqlite:///{tmp_path / 'h.sqlite'}"
    store_run(make_run(host=replace(OTHER_HOST, cpu_id="GenuineIntel family 6 model 85 stepping 7")), db)
    zen3 = replace(HOST, cpu_id="AuthenticAMD family 25 model 1 stepping 1")
    first = make_run(host=zen3, started="2025-11-23T10:00:00+00:00")
    assert store_run(first, db) == (
        f"sqlite:///{tmp_path / 'h.sqlite'}; the 2 earlier run(s) of this CPU model recorded without its "
        f"family/model/stepping (fingerprint {HOST.fingerprint}) stay a series of their own, as nothing says they "
        f"ran on this CPU: `hashbench compare @{older[1].run_id[:8]} @latest --force` sets them side by side")
    assert first.fingerprint != HOST.fingerprint
    later = make_run(host=zen3, started="2025-11-24T10:00:00+00:00")
    assert store_run(later, db) == f"sqlite:///{tmp_path / 'h.sqlite'}"
    code, _, err = run_cli("compare", f"@{older[1].run_id[:8]}", "@latest", "--db", db)
    assert code == 2 and f"@{older[1].run_id[:8]} was recorded without the CPU's family/model/stepping" in err
    code, out, err = run_cli("compare", f"@{older[1].run_id[:8]}", "@latest", "--db", db, "--force")
    assert code in (0, 1) and "forced across machines: cpu_id: not recorded vs" in " ".join(out.split()), err


def test_storing_and_checking_a_location_touch_only_what_they_should(tmp_path):
    """store_run stores into the database it was given (not $HASHBENCH_DB) and says where; the check before a long
    run creates nothing; a history opened to read refuses to write."""
    db = tmp_path / "given.sqlite"
    run = make_run()
    assert store_run(run, str(db)) == f"sqlite:///{db}"
    h = open_history(str(db), readonly=True)
    assert h.load(run.run_id) == run
    with pytest.raises(AssertionError, match="^History opened read-only cannot store$"):
        h.store(make_run())
    h.close()
    fresh = tmp_path / "fresh.sqlite"
    check_location(str(fresh))
    assert not fresh.exists()


def test_a_newer_layout_is_refused_in_one_line_when_reading_too(tmp_path):
    db = tmp_path / "h.sqlite"
    open_history(str(db)).close()
    with sqlite3.connect(db) as conn:
        conn.execute("UPDATE hb_meta SET value = ? WHERE key = 'layout'", (str(history_mod.DB_LAYOUT + 1),))
    conn.close()
    code, out, err = run_cli("history", "--runs", "--db", str(db))
    assert (code, out) == (1, "")
    assert err == f"hashbench: error: history database sqlite:///{db} has layout {history_mod.DB_LAYOUT + 1}, newer " \
                  f"than this hashbench reads ({history_mod.DB_LAYOUT}): upgrade hashbench\n"


def test_database_failures_are_the_drivers_words_on_one_line(tmp_path):
    """A file that is not a database and a server that refuses the connection: the driver's own message, without
    SQLAlchemy's wrapping (exception class, SQL echo, "Background on this error" link), on one line."""
    junk = tmp_path / "notes.sqlite"
    junk.write_bytes(b"not a database, just notes " * 40)
    with pytest.raises(HistoryError) as caught:
        open_history(str(junk))
    assert str(caught.value) == f"history database sqlite:///{junk}: file is not a database"
    pytest.importorskip("psycopg", reason="PostgreSQL's driver (postgres extra)")
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]  # closed again below: nothing listens there
    code, out, err = run_cli("history", "--runs", "--db", f"postgresql://u:pw@127.0.0.1:{port}/hb")
    assert code == 1 and out == "" and err.count("\n") == 1, err
    assert err.startswith(f"hashbench: error: history database postgresql+psycopg://u:***@127.0.0.1:{port}/hb: "
                          "connection failed: ")
    assert "Connection refused Is the server running" in err and "Background" not in err and "psycopg." not in err


def test_reason_keeps_one_line_of_the_drivers_words():
    """The message of an error SQLAlchemy raised without a driver's exception drops its footer link; an error with
    no words at all is named by its type."""
    import sqlalchemy as sa

    bare = sa.exc.StatementError("the statement failed", "SELECT 1", {}, None, code="e3q8")
    assert "(Background on this error" in str(bare)
    assert history_mod._reason(bare) == "the statement failed [SQL: SELECT 1]"
    silent = sa.exc.OperationalError("SELECT 1", {}, sqlite3.OperationalError(""))
    assert history_mod._reason(silent) == "OperationalError"


def test_a_missing_package_is_named_with_the_extra_that_brings_it(monkeypatch, tmp_path):
    monkeypatch.delenv("HASHBENCH_DB", raising=False)
    monkeypatch.setitem(sys.modules, "platformdirs", None)  # import platformdirs now raises ImportError
    with pytest.raises(HistoryUnavailable) as caught:
        resolve_url(None)
    message = str(caught.value)
    assert message.startswith("the default history location needs platformdirs (")
    assert message.endswith("); install it with pip install 'hashbench[results]'")
    assert resolve_url(str(tmp_path / "h.sqlite")) == f"sqlite:///{tmp_path / 'h.sqlite'}"  # a named file needs none


def test_a_history_command_without_sqlalchemy_is_one_line_naming_the_extra(tmp_path, monkeypatch):
    """The base install has no SQLAlchemy: `history` says what needs it and which extra brings it, in one line."""
    monkeypatch.setitem(sys.modules, "sqlalchemy", None)  # import sqlalchemy now raises ImportError
    history_mod._tables.cache_clear()
    try:
        code, out, err = run_cli("history", "--runs", "--db", str(tmp_path / "h.sqlite"))
    finally:
        monkeypatch.delitem(sys.modules, "sqlalchemy")
        history_mod._tables.cache_clear()
    assert (code, out) == (1, "") and err.count("\n") == 1
    assert err.startswith("hashbench: error: the history database needs sqlalchemy (")
    assert err.endswith("); install it with pip install 'hashbench[results]'\n")
    assert not (tmp_path / "h.sqlite").exists()


def test_display_url_masks_passwords_that_hold_url_characters():
    """A password with = in it, and a :// later in the URL (an option's value), still shows no part of it."""
    assert display_url("postgresql://u@db/hb?password=a=b&sslmode=require") == \
        "postgresql://u@db/hb?password=***&sslmode=require"
    assert display_url("postgresql://u:s3cret@db/hb?application_name=x://y") == \
        "postgresql://u:***@db/hb?application_name=x://y"


def test_a_run_id_prefix_is_matched_as_typed_and_an_ambiguous_one_is_refused(tmp_path):
    """@PREFIX names a run by the start of its id: SQL's LIKE wildcards in it are plain characters (a typed % or _ is
    no run, not "any run"), and a prefix two runs share is refused rather than one of them picked."""
    h = open_history(str(tmp_path / "h.sqlite"))
    for run_id in ("ab" + "1" * 30, "ab" + "2" * 30):
        h.store(make_run(run_id=run_id))
    assert h.load("ab2").run_id == "ab" + "2" * 30
    with pytest.raises(InputError) as caught:
        h.load("ab")
    assert str(caught.value) == "run id prefix 'ab' is ambiguous: give more characters"
    for typed in ("%", "_b", "a%1"):
        with pytest.raises(InputError, match=f"^no run '{typed}' in the history"):
            h.load(typed)
    h.close()


def test_an_in_memory_history_works_for_one_process():
    h = open_history("sqlite://")
    run = make_run()
    h.store(run)
    assert h.load(run.run_id[:6]) == run and len(h.runs()) == 1
    h.close()


def test_trend_lists_each_machine_then_benchmark_and_runs_of_one_second_as_stored(tmp_path):
    """The series come machine by machine (fingerprint order), each machine's benchmarks by name; two runs started
    in the same second are points in the order they were stored."""
    h = open_history(str(tmp_path / "h.sqlite"))
    hosts = sorted((HOST, OTHER_HOST), key=lambda host: host.fingerprint, reverse=True)  # stored last first
    for host in hosts:
        for run_id in ("f" * 32, "0" * 32) if host is hosts[0] else ("1" * 32,):
            h.store(make_run([rate("b_rate", (1.0,)), rate("a_rate", (2.0,))], host=host, run_id=run_id,
                             started="2025-11-20T10:00:00+00:00"))
    series = h.trend()
    assert [(s.fingerprint, s.name) for s in series] == [
        (hosts[1].fingerprint, "a_rate"), (hosts[1].fingerprint, "b_rate"),
        (hosts[0].fingerprint, "a_rate"), (hosts[0].fingerprint, "b_rate")]
    assert [p.run_id for p in series[2].points] == ["f" * 32, "0" * 32]
    h.close()


def test_the_default_location_is_made_and_a_named_folder_that_is_missing_is_one_line(tmp_path, monkeypatch):
    """Without --db or $HASHBENCH_DB the history lives in the user's data folder, made on first use; a folder the
    user named that does not exist is a typo: one line, exit 2, nothing made, whether storing or reading."""
    monkeypatch.delenv("HASHBENCH_DB", raising=False)
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "xdg"))
    run = make_run()
    default = tmp_path / "xdg" / "hashbench" / "history.sqlite"
    assert store_run(run) == f"sqlite:///{default}"
    assert open_history(str(default), readonly=True).runs()[0].run_id == run.run_id
    from hashbench.results.pbjson import write_result

    result = tmp_path / "r.json"
    write_result(run, result)
    db = tmp_path / "missing" / "h.sqlite"
    for args in (("--add", str(result)), ("--runs",)):
        code, out, err = run_cli("history", *args, "--db", str(db))
        assert (code, out) == (2, "")
        assert err == f"hashbench: error: history database sqlite:///{db}: folder '{db.parent}' does not exist\n"
    assert not db.parent.exists()
    # A folder given where the database file goes: SQLite answered "disk I/O error", exit 1.
    for args in (("--add", str(result)), ("--runs",)):
        code, out, err = run_cli("history", *args, "--db", str(tmp_path))
        assert (code, out) == (2, "")
        assert err == f"hashbench: error: history database sqlite:///{tmp_path}: '{tmp_path}' is a folder, not a " \
                      "database file\n"


def test_hashbench_db_may_name_a_server(monkeypatch):
    """$HASHBENCH_DB holds a URL as well as a path: a PostgreSQL URL opens PostgreSQL, not an SQLite file named
    like it."""
    pytest.importorskip("psycopg", reason="PostgreSQL's driver (postgres extra)")
    monkeypatch.setenv("HASHBENCH_DB", "postgresql://u:pw@127.0.0.1:1/hb")
    h = open_history(None, connect=False)
    assert h.engine.dialect.name == "postgresql" and display_url(h.url) == "postgresql+psycopg://u:***@127.0.0.1:1/hb"
    h.close()



def test_a_kind_of_database_sqlalchemy_does_not_know_is_one_line_before_anything_runs(tmp_path, monkeypatch):
    """A --db whose scheme names no SQLAlchemy dialect (a typo: postgersql://) is bad input, said in one line with
    SQLAlchemy's words, by a read, by a store, and by the check `hashbench run` makes before it measures; a folder that
    does not exist is refused by that check too. A missing driver or a server that does not answer is left to the
    store, which notes it beside the kept result file: the check lets those through."""
    from hashbench.results.pbjson import write_result

    url = "postgersql://u:pw@db/hb"
    said = "cannot use history database postgersql://u:***@db/hb: Can't load plugin: sqlalchemy.dialects:postgersql"
    result = tmp_path / "r.json"
    write_result(make_run(), result)
    for args in (("--runs",), ("--add", str(result))):
        code, out, err = run_cli("history", *args, "--db", url)
        assert (code, out, err) == (2, "", f"hashbench: error: {said}\n")
    with pytest.raises(InputError) as caught:
        check_location(url)
    assert str(caught.value) == said
    missing = tmp_path / "missing" / "h.sqlite"
    with pytest.raises(InputError, match=f"^history database sqlite:///{missing}: folder '{missing.parent}' does not "
                                         "exist$"):
        check_location(str(missing))
    for driver in ("psycopg", "psycopg2"):
        monkeypatch.setitem(sys.modules, driver, None)  # import fails as if not installed
    check_location("postgresql://u@db/hb")  # no driver here: the store will say so, after the run
    assert sorted(p.name for p in tmp_path.iterdir()) == ["r.json"]


def test_the_first_run_with_a_cpu_id_names_the_fingerprint_of_a_single_older_run(tmp_path):
    """One earlier run recorded without the CPU's numbers: the note counts it and names its fingerprint and id."""
    db = str(tmp_path / "h.sqlite")
    older = make_run(started="2025-11-21T10:00:00+00:00")
    store_run(older, db)
    first = make_run(host=replace(HOST, cpu_id="AuthenticAMD family 25 model 1 stepping 1"),
                     started="2025-11-22T10:00:00+00:00")
    assert store_run(first, db) == (
        f"sqlite:///{tmp_path / 'h.sqlite'}; the 1 earlier run(s) of this CPU model recorded without its "
        f"family/model/stepping (fingerprint {HOST.fingerprint}) stay a series of their own, as nothing says they "
        f"ran on this CPU: `hashbench compare @{older.run_id[:8]} @latest --force` sets them side by side")



def test_a_port_that_is_no_number_is_named_as_a_url_that_cannot_be_read(tmp_path):
    """SQLAlchemy's URL parser raises a bare ValueError (int()'s words about '54x2'); the message says what was wrong
    with the --db: it is not a database URL at all, not that some database failed."""
    with pytest.raises(InputError) as caught:
        open_history("postgresql://u:pw@db:54x2/hb", connect=False)
    message = str(caught.value)
    assert message.startswith("cannot use history database postgresql")
    assert ":pw@" not in message and ": cannot read it as a database URL (invalid literal for int()" in message


def test_a_history_that_does_not_exist_reads_as_empty_from_any_thread(tmp_path):
    """A read of a database that is not there answers from an empty in-memory one. SQLAlchemy would give each thread
    its own in-memory database (without the tables: "no such table") and sqlite3 refuses a connection made in
    another thread, so a reader opened in one thread and used in another (a report served by a worker) failed."""
    import threading

    h = open_history(str(tmp_path / "none.sqlite"), readonly=True)
    answers: list = []

    def read() -> None:
        try:
            answers.append((h.runs(), h.trend()))
        except Exception as exc:  # noqa: BLE001 -- the failure is the answer under test
            answers.append(exc)

    worker = threading.Thread(target=read)
    worker.start()
    worker.join()
    h.close()
    assert answers == [([], [])]
    assert list(tmp_path.iterdir()) == []
    # and a database that is there, opened read-only (its own connections, made by hand): the same from any thread
    run = make_run()
    store_run(run, str(tmp_path / "h.sqlite"))
    h = open_history(str(tmp_path / "h.sqlite"), readonly=True)
    assert [r.run_id for r in h.runs()] == [run.run_id]  # a connection made here, pooled, then used there
    answers.clear()
    worker = threading.Thread(target=read)
    worker.start()
    worker.join()
    h.close()
    assert [(len(runs), len(series)) for runs, series in answers] == [(1, len(run.measurements))], answers


# Layout 1 as databases already out there hold it: a change here without a new DB_LAYOUT and a migration would
# leave those databases with columns this hashbench does not expect (or limits PostgreSQL enforces and SQLite not).
# name: (declared type, NOT NULL)
LAYOUT_1 = {
    "hb_runs": {"run_id": ("VARCHAR(64)", True), "fingerprint": ("VARCHAR(32)", True),
                "machine": ("VARCHAR(300)", True), "started": ("VARCHAR(64)", True),
                "started_utc": ("VARCHAR(32)", True), "stored_ns": ("BIGINT", True), "source": ("VARCHAR(40)", True),
                "git_commit": ("VARCHAR(64)", False), "git_dirty": ("BOOLEAN", False), "complete": ("BOOLEAN", True),
                "schema_version": ("INTEGER", True), "document": ("TEXT", True)},
    "hb_measurements": {"id": ("INTEGER", True), "run_id": ("VARCHAR(64)", True), "name": ("VARCHAR(300)", True),
                        "kind": ("VARCHAR(20)", True), "backend": ("VARCHAR(60)", False),
                        "unit": ("VARCHAR(20)", True), "value": ("FLOAT", True), "min": ("FLOAT", True),
                        "max": ("FLOAT", True), "stddev": ("FLOAT", True), "n": ("INTEGER", True),
                        "provenance": ("VARCHAR(12)", True), "energy_j": ("FLOAT", False),
                        "energy_source": ("VARCHAR(80)", True), "joules_per_unit": ("FLOAT", False)},
    "hb_meta": {"key": ("VARCHAR(40)", True), "value": ("VARCHAR(200)", True)},
}
LAYOUT_1_KEYS = {"hb_runs": ["run_id"], "hb_measurements": ["id"], "hb_meta": ["key"]}
# the columns the listing filters and the trend joins and sorts on, so neither reads every row of a long history
LAYOUT_1_INDEXES = {"hb_runs": {("fingerprint",), ("started_utc",)},
                    "hb_measurements": {("run_id",), ("name",)}, "hb_meta": set()}


def test_a_new_database_has_layout_1_column_by_column(tmp_path):
    db = tmp_path / "h.sqlite"
    open_history(str(db)).close()
    conn = sqlite3.connect(db)
    try:
        for table, columns in LAYOUT_1.items():
            info = conn.execute(f"PRAGMA table_info({table})").fetchall()  # cid, name, type, notnull, default, pk
            assert {row[1]: (row[2], bool(row[3])) for row in info} == columns, table
            assert [row[1] for row in sorted(info, key=lambda row: row[5]) if row[5]] == LAYOUT_1_KEYS[table]
            indexes = {tuple(col[2] for col in conn.execute(f"PRAGMA index_info({idx[1]})"))
                       for idx in conn.execute(f"PRAGMA index_list({table})") if idx[3] == "c"}  # made, not keys
            assert indexes == LAYOUT_1_INDEXES[table], table
        # a run's measurements go with it: (table, from, to, on update, on delete)
        assert [(fk[2], fk[3], fk[4], fk[6]) for fk in conn.execute("PRAGMA foreign_key_list(hb_measurements)")] \
            == [("hb_runs", "run_id", "run_id", "CASCADE")]
        assert conn.execute("SELECT key, value FROM hb_meta").fetchall() == [("layout", "1")]
    finally:
        conn.close()


def test_postgresql_numbers_each_measurement_itself():
    """SQLite numbers an INTEGER PRIMARY KEY whatever it is told; PostgreSQL only a SERIAL one: without it every
    store of a run with measurements failed there on a NULL id. The DDL PostgreSQL would be sent, no server needed."""
    from sqlalchemy.dialects import postgresql
    from sqlalchemy.schema import CreateTable

    sa, _md, _runs, measurements, _meta = history_mod._tables()
    ddl = str(CreateTable(measurements).compile(dialect=postgresql.dialect()))
    assert "\tid SERIAL NOT NULL, \n" in ddl and "PRIMARY KEY (id)" in ddl
    # unquoted, so lower case: "HB_MEASUREMENTS" would be another table than the one PostgreSQL databases hold
    assert ddl.lstrip().startswith("CREATE TABLE hb_measurements (")


def test_a_reader_takes_a_database_whose_layout_was_never_recorded_for_an_empty_history(tmp_path):
    """The hb_meta table without its layout row (a first writer stopped between CREATE TABLE and the insert on a
    database without transactional DDL, or a table of that name made by hand): no runs to read, not a TypeError."""
    db = tmp_path / "h.sqlite"
    conn = sqlite3.connect(db)
    conn.execute('CREATE TABLE hb_meta ("key" VARCHAR(40) PRIMARY KEY, value VARCHAR(200) NOT NULL)')
    conn.commit()
    conn.close()
    h = open_history(str(db), readonly=True)
    assert h.runs() == [] and h.trend() == []
    h.close()
    assert _rows(db, "SELECT name FROM sqlite_master WHERE type = 'table'") == [("hb_meta",)]  # nothing created


def test_runs_of_one_second_are_ordered_by_when_they_were_stored_not_by_where_they_landed(tmp_path):
    """stored_ns is taken before the write lock, so two writers can insert in the other order than they stored, and
    PostgreSQL keeps no insertion order at all: ties of one second follow stored_ns, not SQLite's row order."""
    db = tmp_path / "h.sqlite"
    h = open_history(str(db))
    first, second = (make_run([rate("a_rate", (float(v),))], run_id=c * 32, started="2025-11-20T10:00:00+00:00")
                     for c, v in (("a", 1), ("b", 2)))
    h.store(first)
    h.store(second)
    conn = sqlite3.connect(db)
    conn.execute("UPDATE hb_runs SET stored_ns = CASE run_id WHEN ? THEN 2000 ELSE 1000 END", (first.run_id,))
    conn.commit()
    conn.close()
    assert [p.run_id for p in h.trend()[0].points] == [second.run_id, first.run_id]
    assert [r.run_id for r in h.runs()] == [first.run_id, second.run_id]  # newest first
    assert h.resolve("latest").run_id == first.run_id
    h.close()


def test_a_bare_path_names_one_file_wherever_the_command_runs_and_a_url_is_kept_whole(tmp_path, monkeypatch):
    """A relative or ~ path is made absolute when given: sqlite:///h.sqlite would be another file in each folder a
    later command ran in, and SQLite does not expand ~. Only the scheme of a URL is rewritten, never what follows a
    second :// in its query."""
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    assert resolve_url("h.sqlite") == f"sqlite:///{tmp_path}/h.sqlite"
    assert resolve_url("~/hist/h.sqlite") == f"sqlite:///{tmp_path}/home/hist/h.sqlite"
    assert resolve_url("postgres://u@db/hb?application_name=ci://main") == \
        "postgresql+psycopg://u@db/hb?application_name=ci://main"
    assert resolve_url("postgresql://u@db/hb?application_name=ci://main") == \
        "postgresql+psycopg://u@db/hb?application_name=ci://main"


def test_a_writers_transaction_takes_the_write_lock_at_once_and_a_readers_takes_none(tmp_path):
    """A writer that began deferred and upgraded mid-way (create_all reads the schema, then writes) met another
    writer's commit with SQLITE_BUSY_SNAPSHOT, which no busy timeout waits out. A reader that asked for the write
    lock would stop every writer while it read, and could not begin at all on a read-only file."""
    db = tmp_path / "h.sqlite"
    writer = open_history(str(db))
    reader = open_history(str(db), readonly=True)
    other = sqlite3.connect(db, timeout=0, isolation_level=None)  # fails at once where it would have to wait
    try:
        with writer.engine.begin():
            with pytest.raises(sqlite3.OperationalError, match="locked"):
                other.execute("BEGIN IMMEDIATE")
        with reader.engine.begin() as conn:
            conn.exec_driver_sql("SELECT count(*) FROM hb_runs").all()
            other.execute("BEGIN IMMEDIATE")  # the reader holds a snapshot, not the lock
            other.execute("ROLLBACK")
    finally:
        other.close()
        reader.close()
        writer.close()


def _failing_begin(monkeypatch, history, errors: list[Exception], slept: list[float] | None = None) -> list[int]:
    """history.engine.begin raising each of `errors` in turn, then beginning for real; the backoff sleeps skipped
    (their lengths noted in `slept`). Returns the list of attempts, one entry each."""
    attempts: list[int] = []
    slept = [] if slept is None else slept
    begin = history.engine.begin

    def failing():
        attempts.append(1)
        if len(attempts) <= len(errors):
            raise errors[len(attempts) - 1]
        return begin()

    monkeypatch.setattr(history.engine, "begin", failing)
    monkeypatch.setattr(history_mod.time, "sleep", lambda seconds: slept.append(float(seconds)))
    return attempts


def _operational(message: str, *, invalidated: bool = False):
    import sqlalchemy as sa

    return sa.exc.OperationalError("BEGIN", {}, sqlite3.OperationalError(message),
                                   connection_invalidated=invalidated)


def test_lock_errors_and_dropped_connections_are_retried_then_one_history_error(tmp_path, monkeypatch):
    """SQLite's "database is locked"/"busy" and a connection the server dropped (a restart) leave nothing half done,
    so the transaction runs again, up to LOCK_RETRIES times in all; past that, or for any other operational error,
    one HistoryError with the driver's words, never an AssertionError from the loop's end."""
    h = open_history(str(tmp_path / "h.sqlite"))
    retried = [_operational("database is locked"), _operational("database is busy"),
               _operational("server closed the connection unexpectedly", invalidated=True)]
    attempts = _failing_begin(monkeypatch, h, retried)
    h.store(make_run())
    assert len(attempts) == 4 and len(h.runs()) == 1
    slept: list[float] = []
    attempts = _failing_begin(monkeypatch, h, [_operational("database is locked")] * history_mod.LOCK_RETRIES, slept)
    with pytest.raises(HistoryError, match="database is locked$"):
        h.runs()
    assert len(attempts) == history_mod.LOCK_RETRIES
    # backing off: each wait twice the one before, from 50 ms, all of them well within SQLite's one-minute busy wait
    assert slept == [0.05 * 2**i for i in range(history_mod.LOCK_RETRIES - 1)] and sum(slept) < 10
    attempts = _failing_begin(monkeypatch, h, [_operational("disk I/O error")])
    with pytest.raises(HistoryError, match="disk I/O error$"):
        h.runs()
    assert len(attempts) == 1
    h.close()


def test_a_run_without_measurements_is_stored_and_listed_with_none(tmp_path):
    """A run stopped before its first benchmark still has its host, start and checks to keep: one row, no
    measurement rows (an INSERT of none would be one row of NULLs, refused by the NOT NULL columns)."""
    db = tmp_path / "h.sqlite"
    run = make_run([])
    h = open_history(str(db))
    h.store(run)
    [summary] = h.runs()
    assert (summary.run_id, summary.measurements) == (run.run_id, 0)
    assert h.load(run.run_id) == run and h.trend() == []
    h.close()
    assert _rows(db, "SELECT count(*) FROM hb_measurements") == [(0,)]
