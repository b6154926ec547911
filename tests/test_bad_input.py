"""Failure paths through the real entry point: bad input is one line on stderr and exit 2, a refusal by the system one
line and exit 1, never a traceback; an interrupted command (Ctrl-C or SIGTERM) keeps what it finished and leaves
no half-written file. Most cases run in this process (fast); the signal cases need a child process."""

from __future__ import annotations

import json
import signal
import sys
from pathlib import Path

import pytest
from process_helpers import run_until_first_benchmark

from hashbench.cli import main

GENESIS = (
    "0100000000000000000000000000000000000000000000000000000000000000000000003ba3edfd7a7b12b27ac72c3e67768f617fc81bc3"
    "888a51323a9fb8aa4b1e5e4a29ab5f49ffff001d1dac2b7c"
)


def hashbench(capsys, *args: str) -> tuple[int, str, str]:
    """`hashbench ARGS` in this process: (exit code, stdout, stderr)."""
    with pytest.raises(SystemExit) as exited:
        main(list(args))
    out, err = capsys.readouterr()
    return exited.value.code, out, err


def one_line(err: str) -> str:
    lines = err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("hashbench: error: "), err
    assert "Traceback" not in err
    return lines[0]


# --- flags and environment ------------------------------------------------------------------------------------------

USAGE = [
    (["scan", "--header", GENESIS, "--bits", ""], "nBits must be 8 hex digits"),  # not "the header's own"
    (["scan", "--header", GENESIS, "--target", ""], "target must be 1 to 64 hex digits"),
    (["scan", "--header", GENESIS, "--devices", ""], "--devices must list"),  # not "every GPU"
    (["bench", "--seconds", "inf"], "--seconds must be > 0 and finite"),  # would never end
    (["run", "--seconds", "inf"], "--seconds must be > 0 and finite"),
    (["probe", "--seconds", "inf"], "--seconds must be > 0 and finite"),
    (["energy-check", "--seconds", "inf"], "--seconds must be > 0 and finite"),
    (["run", "--idle-seconds", "inf"], "--idle-seconds must be >= 0 and finite"),
    (["run", "--watts", "inf"], "--watts: cannot read 'inf'"),
    (["run", "--watts", "-5"], "--watts must be > 0 and finite"),
    # A wattage reads as yield's does (3.5k, 3,500 W); a decimal comma is refused, not read as 35 kW.
    (["bench", "--energy", "declared", "--watts", "3,5k"], "--watts: cannot read '3,5k': a comma only separates"),
    (["run", "--idle-watts", "12 V"], "--idle-watts: cannot read '12 V'"),
    (["bench", "--energy", "declared", "--watts", "0"], "--watts must be > 0"),  # a J/TH of 0, labelled declared
    (["probe", "--idle-watts", "5"], "--idle-watts goes with --watts"),  # was silently ignored
    (["probe", "--threads", "100000"], "--threads must be at most"),  # was a segfault in torch's thread pool
    (["bench", "--watts", "100", "--idle-watts", "500"], "above --watts"),
    (["kernel-stats", "--arch", "sm_xx"], "architecture must look like sm_90"),
    (["history", "--db", ""], "--db is empty"),  # was $HASHBENCH_DB or the default database, silently
    (["run", "--db", " "], "--db is empty"),  # refused before measuring
    (["report", "--from-history", "--db", ""], "--db is empty"),
    (["ab", "--base", "HEAD", "--no-build", "--backend", "nope"], "unknown backend 'nope'"),  # before any checkout
    # was accepted: the calibration then grew its scans to 2^28 nonces and the worker died on int(inf)
    (["ab", "--base", "HEAD", "--no-build", "--backend", "python", "--sample-seconds", "inf"],
     "--sample-seconds must be > 0 and finite, got inf"),
    # click's message on one line
    (["export"], "Missing argument 'FORMAT'. Choose from: github-action, github-action-smaller, bencher"),
]


@pytest.mark.parametrize("args, message", USAGE, ids=[" ".join(a)[:50] for a, _ in USAGE])
def test_usage_errors_are_one_line_exit_2(capsys, args, message):
    code, _, err = hashbench(capsys, *args)
    assert code == 2 and message in one_line(err)


@pytest.mark.parametrize("args", [[], ["market"]], ids=["hashbench", "hashbench market"])
def test_a_group_without_a_command_prints_its_help_not_an_error(capsys, args):
    code, _, err = hashbench(capsys, *args)
    assert code == 2 and err.startswith("Usage: hashbench") and "error" not in err and "Commands:" in err


@pytest.mark.parametrize("command, runner", [("bench", "hashbench.cli.bench_backend"),
                                             ("verify", "hashbench.verify.verify_backend")])
def test_an_impl_one_chosen_backend_lacks_fails_before_any_backend_runs(capsys, monkeypatch, command, runner):
    ran = []
    monkeypatch.setattr(runner, lambda backend, **_: ran.append(backend.name))
    code, _, err = hashbench(capsys, command, "--backend", "cython", "--backend", "python", "--impl", "portable")
    assert code == 2 and "backend 'python' has no implementation 'portable'" in one_line(err)
    assert ran == []  # cython was not measured only to be thrown away


@pytest.mark.parametrize("command, runner", [("bench", "hashbench.cli.bench_backend"),
                                             ("verify", "hashbench.verify.verify_backend")])
def test_more_threads_than_numba_runs_fails_before_any_backend_runs(capsys, monkeypatch, command, runner):
    """numba cannot run more threads than its pool: refused up front, not run on fewer under the number asked."""
    numba = pytest.importorskip("numba")
    ran = []
    monkeypatch.setattr(runner, lambda backend, **_: ran.append(backend.name))
    pool = numba.config.NUMBA_NUM_THREADS
    code, _, err = hashbench(capsys, command, "--backend", "python", "--backend", "numba", "--threads", str(pool + 1))
    assert code == 2 and f"--threads {pool + 1}: numba runs at most {pool} threads here" in one_line(err)
    assert ran == []


def test_an_unsplittable_ipmi_argument_list_is_one_line(capsys, monkeypatch):
    monkeypatch.setenv("HASHBENCH_IPMI_ARGS", '-I lanplus -H "bmc')
    code, _, err = hashbench(capsys, "bench", "--backend", "python", "--energy", "ipmi")
    assert code == 2 and "HASHBENCH_IPMI_ARGS" in one_line(err)


def test_a_model_dir_without_a_model_fails_before_any_probe(capsys, tmp_path):
    code, _, err = hashbench(capsys, "probe", "--quick", "--model-dir", str(tmp_path))
    assert code == 2 and "no config.json" in one_line(err)  # the only line: no probe started first


def test_a_site_hardware_entry_without_a_model_names_its_place_once(capsys, tmp_path):
    sites = tmp_path / "sites.toml"
    sites.write_text('[[site]]\nname = "a"\nmw = 1\npue = 1.1\npower_usd_per_kwh = 0.05\n[[site.asic]]\ncount = 1\n')
    code, _, err = hashbench(capsys, "plan", str(sites))
    assert code == 2 and one_line(err) == f"hashbench: error: {sites}: site 'a': asic #1: missing 'model'"


def test_more_threads_than_the_system_allows_is_one_line_not_a_traceback(monkeypatch):
    from hashbench.backends import ScanJob, base, get_backend
    from hashbench.errors import InputError
    from hashbench.header import Header

    class Refused(base.threading.Thread):
        started = 0

        def start(self) -> None:
            if Refused.started == 2:
                raise RuntimeError("can't start new thread")
            Refused.started += 1
            super().start()

    monkeypatch.setattr(base.threading, "Thread", Refused)
    job = ScanJob(Header.from_hex(GENESIS), 1)
    with pytest.raises(InputError, match=r"--threads 8: the system started only 2 threads"):
        get_backend("python").scan(job, 0, 1 << 16, threads=8)


# --- where results go -----------------------------------------------------------------------------------------------

def test_run_refuses_an_output_it_cannot_write_before_measuring(capsys, tmp_path):
    not_a_folder = tmp_path / "file"
    not_a_folder.write_text("x")
    code, _, err = hashbench(capsys, "run", "--quick", "--no-probes", "--output", str(not_a_folder / "run.json"))
    assert code == 2 and "cannot write result file" in one_line(err)
    assert list(tmp_path.iterdir()) == [not_a_folder]  # no .tmp left beside it either


@pytest.mark.parametrize("command", [["export", "csv", "--output"], ["report", "--html"]])
def test_export_and_report_into_a_place_they_cannot_write(capsys, tmp_path, command):
    run = _write_run(tmp_path / "run.json")
    not_a_folder = tmp_path / "file"
    not_a_folder.write_text("x")
    code, _, err = hashbench(capsys, *command, str(not_a_folder / "out"), str(run))
    assert code == 2 and "cannot write" in one_line(err)
    assert sorted(tmp_path.iterdir()) == [not_a_folder, run]


def test_run_with_an_energy_source_that_cannot_open_writes_nothing(capsys, tmp_path, monkeypatch):
    monkeypatch.setenv("HASHBENCH_RAPL_ROOT", str(tmp_path / "no-powercap"))
    out = tmp_path / "run.json"
    code, _, err = hashbench(capsys, "run", "--quick", "--energy", "rapl", "--output", str(out))
    assert code == 2 and "--energy rapl" in one_line(err)
    assert err.splitlines() == [one_line(err)]  # nothing drawn before it: no progress bars, not even an empty line
    assert not out.exists()


@pytest.mark.parametrize("db", ["nope://x", "{tmp}/missing-folder/h.sqlite", "sqlite:///{tmp}/missing-folder/h.db",
                                "postgresql://u:pw@db:54x2/hb", "sqlite://h:abc/x.sqlite"])
def test_a_history_location_that_cannot_work_is_a_usage_error(capsys, tmp_path, db):
    """A port that is no number (the last two) came out of SQLAlchemy's URL parser as a ValueError traceback."""
    db = db.format(tmp=tmp_path)
    code, _, err = hashbench(capsys, "history", "--db", db)
    assert code == 2 and "history database" in one_line(err) and ":pw@" not in err
    assert not (tmp_path / "missing-folder").exists()  # a typo is reported, not created
    out = tmp_path / "run.json"
    code, _, err = hashbench(capsys, "run", "--quick", "--no-probes", "--db", db, "--output", str(out))
    assert code == 2 and "history database" in one_line(err)  # before measuring, not after
    assert not out.exists()


def test_a_file_that_is_not_a_database_is_one_line(capsys, tmp_path):
    junk = tmp_path / "junk.sqlite"
    junk.write_text("not a database, only text " * 100)
    code, _, err = hashbench(capsys, "history", "--db", str(junk))
    assert code == 1 and "file is not a database" in one_line(err)
    assert "sqlalche.me" not in err


@pytest.mark.parametrize("command", [["report", "PNG"], ["compare", "PNG", "PNG"], ["yield", "--from-run", "PNG"]])
def test_a_picture_given_as_a_result_is_one_line_saying_what_it_is_not(capsys, tmp_path, command):
    """A PNG given where a result belongs: said as "not UTF-8 text", not as Python's codec message."""
    png = tmp_path / "chart.png"
    png.write_bytes(b"\x89PNG\r\n\x1a\n" + bytes(64))
    code, _, err = hashbench(capsys, *(str(png) if a == "PNG" else a for a in command))
    assert code == 2
    assert one_line(err).endswith(f"{str(png)!r} is not UTF-8 text (byte 0 is 0x89)"), err
    assert "codec" not in err


# --- interruption ---------------------------------------------------------------------------------------------------

def test_an_interrupted_result_write_leaves_the_previous_file_and_no_temporary(tmp_path, monkeypatch):
    from hashbench import jsonfile
    from hashbench.results import pbjson
    from hashbench.results.fingerprint import detect_fingerprint
    from hashbench.results.schema import RunResult

    path = tmp_path / "run.json"
    run = RunResult(host=detect_fingerprint(), started="2026-01-01T00:00:00+00:00", measurements=[])
    pbjson.write_result(run, path)
    before = path.read_text()

    def second_ctrl_c(*_):
        raise KeyboardInterrupt

    monkeypatch.setattr(jsonfile.os, "replace", second_ctrl_c)
    with pytest.raises(KeyboardInterrupt):
        pbjson.write_result(run, path)
    assert path.read_text() == before and list(tmp_path.iterdir()) == [path]


def test_every_way_a_users_file_cannot_be_read_or_written_is_one_line_naming_it(tmp_path):
    """The shared reader and writer behind result, run, market and site files: each message names the kind of file
    and its path, and says what is wrong in words (the OS's reason, the JSON line), never a codec's or a class's."""
    from hashbench.errors import InputError
    from hashbench.jsonfile import read_json, write_atomic

    def said(call) -> str:
        with pytest.raises(InputError) as err:
            call()
        return str(err.value)

    missing, folder, bad = tmp_path / "gone.json", tmp_path / "dir", tmp_path / "bad.json"
    folder.mkdir()
    bad.write_text('{"a": 1,\n "b": }')
    assert said(lambda: read_json(missing, "result file")) == f"result file {str(missing)!r} not found"
    assert said(lambda: read_json(folder, "market file")) == f"cannot read market file {str(folder)!r}: Is a directory"
    assert said(lambda: read_json(bad, "run file")) == (
        f"run file {str(bad)!r} is not valid JSON: Expecting value at line 2")
    huge = tmp_path / "huge.json"
    huge.write_text("1" * 5000)  # past Python's 4300-digit limit for int(): a ValueError that is no JSONDecodeError
    assert said(lambda: read_json(huge, "result file")).startswith(f"result file {str(huge)!r} is not valid JSON: ")
    target = tmp_path / "no-such-folder" / "out.json"
    assert said(lambda: write_atomic(target, "{}", "result file")) == (
        f"cannot write result file {str(target)!r}: No such file or directory")
    write_atomic(tmp_path / "ok.json", '{"ok": true}', "result file")
    assert read_json(tmp_path / "ok.json", "result file") == {"ok": True}
    assert sorted(p.name for p in tmp_path.iterdir()) == ["bad.json", "dir", "huge.json", "ok.json"]


def test_a_rewritten_file_keeps_its_mode_and_its_link_and_two_writers_never_collide(tmp_path):
    """A site file set to 0600 came back 0644; writing through a symlink replaced the link with a file and left its
    target as it was; two processes writing one file shared one `X.tmp`, and one failed with 'No such file'."""
    import os
    import stat
    import threading

    from hashbench.jsonfile import write_atomic

    private = tmp_path / "private.json"
    private.write_text("{}")
    private.chmod(0o600)
    write_atomic(private, '{"a": 1}', "site file")
    assert stat.S_IMODE(private.stat().st_mode) == 0o600 and private.read_text() == '{"a": 1}'
    umask = os.umask(0o022)
    os.umask(umask)
    fresh = tmp_path / "fresh.json"
    write_atomic(fresh, "{}", "result file")
    assert stat.S_IMODE(fresh.stat().st_mode) == 0o666 & ~umask  # as open() makes a new file, not mkstemp's 0600
    real, link = tmp_path / "real.json", tmp_path / "link.json"
    real.write_text("{}")
    link.symlink_to(real)
    write_atomic(link, '{"b": 2}', "result file")
    assert link.is_symlink() and real.read_text() == '{"b": 2}'
    shared, failures = tmp_path / "shared.json", []

    def writer(i: int) -> None:
        for j in range(40):
            try:
                write_atomic(shared, f'{{"w": {i}, "j": {j}}}', "result file")
            except Exception as exc:  # noqa: BLE001 - collected, asserted below
                failures.append(exc)

    threads = [threading.Thread(target=writer, args=(i,)) for i in range(3)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert failures == [] and shared.read_text().startswith('{"w": ')
    assert not [p for p in tmp_path.iterdir() if p.name.endswith(".tmp")]


def test_a_market_snapshot_that_cannot_be_written_is_one_line_and_no_temporary(tmp_path):
    from hashbench.errors import InputError
    from hashbench.market import packaged_snapshot, save_snapshot

    not_a_folder = tmp_path / "file"
    not_a_folder.write_text("x")
    with pytest.raises(InputError, match="cannot write market file"):
        save_snapshot(packaged_snapshot(), not_a_folder / "market.json")
    assert list(tmp_path.iterdir()) == [not_a_folder]


def test_ctrl_c_while_the_cli_loads_is_one_line(monkeypatch, capsys):
    import hashbench

    class CtrlC:
        def find_spec(self, name, *_):
            if name == "hashbench.cli":
                raise KeyboardInterrupt

    monkeypatch.delitem(sys.modules, "hashbench.cli")
    monkeypatch.setattr(sys, "meta_path", [CtrlC(), *sys.meta_path])
    with pytest.raises(SystemExit) as exited:
        hashbench.main()
    assert exited.value.code == 130 and capsys.readouterr().err == "hashbench: interrupted\n"


def _stops_on_second_call(first, stop: BaseException | None = None):
    calls = []

    def fake(*_args, **_kwargs):
        calls.append(1)
        if len(calls) > 1:
            raise stop or KeyboardInterrupt()
        return first

    return fake


def test_ctrl_c_in_bench_prints_the_backends_already_measured(capsys, monkeypatch):
    from hashbench import cli
    from hashbench.bench import BenchResult

    done = BenchResult("python", "python", 1, [1.0e6, 1.1e6, 0.9e6], 3_000_000, 3.0)
    monkeypatch.setattr(cli, "bench_backend", _stops_on_second_call(done))
    code, out, err = hashbench(capsys, "bench", "--backend", "python", "--backend", "cython", "--energy", "none",
                               "--json")
    assert code == 130 and "interrupted: 1 finished measurement(s) kept" in err and "Traceback" not in err
    assert [(r["backend"], r["hashrate"]) for r in json.loads(out)] == [("python", 1.0e6)]


@pytest.mark.parametrize("signum", [signal.SIGINT, signal.SIGTERM])
def test_ctrl_c_in_verify_prints_the_backends_already_checked(capsys, monkeypatch, signum):
    from hashbench import verify
    from hashbench.errors import Interrupted

    done = verify.VerifyResult("python", "python", 4, True)
    # SIGTERM (a scheduler's stop) arrives as Interrupted and exits 143, as a shell reports a process it ended
    stop = KeyboardInterrupt() if signum == signal.SIGINT else Interrupted(signum)
    monkeypatch.setattr(verify, "verify_backend", _stops_on_second_call(done, stop))
    code, out, err = hashbench(capsys, "verify", "--backend", "python", "--backend", "cython")
    assert code == 128 + signum and "python (python): 4 real headers: pass" in out and "interrupted: 1" in err


def test_ctrl_c_in_probe_prints_the_probes_already_measured(capsys, monkeypatch):
    from hashbench import probes
    from hashbench.energy import no_reading
    from hashbench.probes.result import ProbeResult

    def one_then_ctrl_c(settings, energy, listen):
        result = ProbeResult(probe="gemm", device="cpu", preset="64x64x64", dtype="fp32", batch=None,
                             unit="FLOP/s", samples=[2.0e9], work=1.0, per="TFLOP", seconds=0.5,
                             energy=no_reading(0.5, "no meter in this test"))
        listen("done", "gemm fp32", result)
        raise KeyboardInterrupt

    monkeypatch.setattr(probes, "run_probes", one_then_ctrl_c)
    code, out, err = hashbench(capsys, "probe", "--quick", "--energy", "none", "--json")
    assert code == 130 and "interrupted: 1" in err
    assert [(r["probe"], r["value"]) for r in json.loads(out)] == [("gemm", 2.0e9)]


def test_sigterm_stops_a_run_like_ctrl_c(tmp_path):
    out, db = tmp_path / "run.json", tmp_path / "h.sqlite"
    proc = run_until_first_benchmark(["--quick", "--no-probes", "--seconds", "0.2", "--output", str(out),
                                      "--db", str(db)], out, 120)
    proc.send_signal(signal.SIGTERM)
    _, stderr = proc.communicate(timeout=60)
    assert proc.returncode == 128 + signal.SIGTERM, stderr
    assert "Traceback" not in stderr and "finished measurements kept" in stderr
    data = json.loads(out.read_text())
    assert data["complete"] is False and data["benchmarks"] and data["finished"]
    assert not [p for p in tmp_path.iterdir() if p.name.endswith(".tmp")]  # dot-named temporary files too
    from hashbench.results.history import open_history

    history = open_history(str(db))
    try:
        stored = history.load(data["run_id"])
    finally:
        history.close()
    assert stored.complete is False and len(stored.measurements) == len(data["benchmarks"])


# --- result files handed to compare, history, export -----------------------------------------------------------------

def _write_run(path: Path, edit=None) -> Path:
    from results_helpers import make_run

    from hashbench.results.pbjson import to_pytest_benchmark

    data = to_pytest_benchmark(make_run())
    if edit:
        edit(data)
    path.write_text(json.dumps(data))
    return path


def _first_benchmark(data: dict) -> dict:
    return data["benchmarks"][0]


MALFORMED = {
    "a benchmark that is not an object": lambda d: d.update(benchmarks=[1, 2]),
    "a name that is not text": lambda d: _first_benchmark(d).update(name=5),
    "a NaN sample": lambda d: _first_benchmark(d)["extra_info"].update(samples=[float("nan"), 1.0, 2.0]),
    "a host field of the wrong type": lambda d: d["host"].update(git_commit=7, system=[]),
    "a schema version past any database integer": lambda d: d.update(schema_version=1e300),
}


@pytest.mark.parametrize("edit", MALFORMED.values(), ids=MALFORMED.keys())
def test_a_malformed_result_file_is_one_line_everywhere(capsys, tmp_path, edit):
    good, bad = _write_run(tmp_path / "good.json"), _write_run(tmp_path / "bad.json", edit)
    for args in (["compare", str(good), str(bad)], ["history", "--add", str(bad)],
                 ["export", "github-action", str(bad)], ["report", str(bad), "--html", str(tmp_path / "r.html")]):
        code, _, err = hashbench(capsys, *args)
        assert code == 2 and "malformed result file" in one_line(err), args


def test_compare_with_nothing_in_common_is_not_a_pass(capsys, tmp_path):
    base = _write_run(tmp_path / "base.json")
    empty = _write_run(tmp_path / "empty.json", lambda d: d.update(benchmarks=[]))
    code, out, err = hashbench(capsys, "compare", str(base), str(empty))
    assert code == 2 and "no benchmark in common" in one_line(err) and "no regression" not in out


def test_compare_refuses_a_zero_time(capsys, tmp_path):
    def zero(d: dict) -> None:
        for b in d["benchmarks"]:
            b["extra_info"] = {}  # read as a foreign pytest-benchmark timing
            b["stats"]["data"] = [0.0, 0.0, 0.0]

    base = _write_run(tmp_path / "base.json", lambda d: [b.update(extra_info={}) for b in d["benchmarks"]])
    code, _, err = hashbench(capsys, "compare", str(base), str(_write_run(tmp_path / "zero.json", zero)))
    assert code == 2 and "must be > 0" in one_line(err)


def test_a_negative_history_step_is_refused(capsys, tmp_path):
    run = _write_run(tmp_path / "run.json")
    assert hashbench(capsys, "history", "--add", str(run))[0] == 0
    code, _, err = hashbench(capsys, "compare", str(run), "@latest~-1")
    assert code == 2 and "cannot read history reference 'latest~-1'" in one_line(err)


def test_a_json_number_python_will_not_convert_is_one_line(capsys, tmp_path):
    huge = tmp_path / "huge.json"
    huge.write_text('{"benchmarks": [], "x": ' + "9" * 5000 + "}")
    for args in (["history", "--add", str(huge)], ["yield", "--from-run", str(huge)]):
        code, _, err = hashbench(capsys, *args)
        assert code == 2 and "is not valid JSON" in one_line(err), args


HEADER_CSV = {
    "a field past csv's size limit": "1," + "a" * 200_000 + ",1,x\n",
    "a short row": "1\n",  # the message names the missing cells
    "a nonce that is not 32-bit": f"1,{GENESIS},-5,000000000019d6689c085ae165831e934ff763ae46a2a6c172b3f1b60a8ce26f\n",
}


@pytest.mark.parametrize("rows", HEADER_CSV.values(), ids=HEADER_CSV.keys())
def test_a_bad_header_csv_is_one_line_not_a_failed_check(capsys, tmp_path, rows):
    csv_file = tmp_path / "headers.csv"
    csv_file.write_text("height,header_hex,nonce,block_hash\n" + rows)
    code, _, err = hashbench(capsys, "verify", "--backend", "python", "--headers", str(csv_file))
    line = one_line(err)
    assert code == 2 and line.startswith(f"hashbench: error: {csv_file}: header CSV") and "NoneType" not in line


def test_a_redfish_url_with_a_password_is_refused_without_echoing_it(capsys, monkeypatch):
    monkeypatch.setenv("HASHBENCH_REDFISH_URL", "http://admin:s3cret@127.0.0.1:1/redfish/v1/Chassis/1/Power")
    code, _, err = hashbench(capsys, "bench", "--backend", "python", "--energy", "redfish")
    assert code == 2 and "HASHBENCH_REDFISH_PASSWORD" in one_line(err) and "s3cret" not in err


def test_an_os_error_no_command_expected_is_still_one_line(capsys, monkeypatch):
    from hashbench import cli

    def refused():
        raise PermissionError(13, "Permission denied", "/dev/cpu/0/msr")

    monkeypatch.setattr(cli, "describe", refused)
    code, _, err = hashbench(capsys, "backends")
    assert code == 1 and "Permission denied: '/dev/cpu/0/msr'" in one_line(err)
