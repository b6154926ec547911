"""`hashbench energy-check` in this process, with fake backends and sources: which options it refuses (one line,
exit 2) and which it lets through, the load, device, config, window and tolerance it hands on, the sources it
closes, the table, verdict lines, notes, JSON and exit code it prints. Pinned by mutation testing
(benchmarks/checks/mutation.py on cli_energy.py); the metering itself is tested in test_energy_meter.py and, through
a child process with fake IPMI and Redfish, in test_energy.py."""

from __future__ import annotations

import io
import json
import types
from dataclasses import replace

import pytest
from rich.console import Console

from hashbench import backends as backends_module
from hashbench import cli_energy
from hashbench import host as host_module
from hashbench.cli import main
from hashbench.energy import EnergyConfig, EnergyReading
from hashbench.energy.check import CheckResult, Opened, PairVerdict
from hashbench.errors import BackendUnavailable, InputError


class FakeBackend:
    def __init__(self, name: str, ok: bool = True, gpus: list[int] | None = None) -> None:
        self.name, self.ok, self.gpus = name, ok, gpus
        self.cpus_asked: list[int] = []
        self.checked: list[int] = []

    def available(self) -> tuple[bool, str]:
        return (True, "") if self.ok else (False, f"no {self.name} here")

    def devices(self) -> list[int] | None:
        return self.gpus

    def all_core_threads(self, cpus: int) -> int:
        self.cpus_asked.append(cpus)
        return cpus + 100  # not the CPU count itself: the test sees which one reached the load

    def check_threads(self, threads: int) -> None:
        self.checked.append(threads)


class Source:
    def __init__(self, name: str, layer: str, method: str = "sampled power") -> None:
        self.name, self.layer, self.method = name, layer, method
        self.closed = 0

    def close(self) -> None:
        self.closed += 1


def registry(monkeypatch, *backends: FakeBackend) -> dict[str, FakeBackend]:
    """`backends.all_backends` and `get_backend` over these fakes, refusing as the real ones do."""
    known = {b.name: b for b in backends}

    def get_backend(name: str, *, require_available: bool = True) -> FakeBackend:
        if name not in known:
            raise InputError(f"unknown backend {name!r}")
        if require_available and not known[name].ok:
            raise BackendUnavailable(f"backend {name!r} is not available")
        return known[name]

    monkeypatch.setattr(backends_module, "all_backends", lambda: list(known.values()))
    monkeypatch.setattr(backends_module, "get_backend", get_backend)
    monkeypatch.setattr(host_module, "detect_host", lambda: types.SimpleNamespace(usable_cpus=3))
    return known


def three(monkeypatch, cuda: bool = False, cython: bool = True, gpus: list[int] | None = None) -> dict:
    return registry(monkeypatch, FakeBackend("cuda", cuda, gpus), FakeBackend("cython", cython),
                    FakeBackend("python"))


def node_readings(second_joules: float | None = 210.0) -> list[EnergyReading]:
    return [EnergyReading("bmc", "node", "sampled power", 2.0, 200.0, samples=40,
                          flags=("window edge [late]",)),
            EnergyReading("pdu", "node", "sampled power", 2.0, second_joules, samples=41)]


def result(verdicts: list[PairVerdict], missing: list[str] | None = None) -> CheckResult:
    return CheckResult("cpu", "idle", 2.0, 0, None, ["bmc sampled power", "pdu sampled power"], node_readings(),
                       verdicts, missing or [])


AGREE = PairVerdict("bmc sampled power", "pdu sampled power", "node", 0.05, 0.07)


class Calls:
    """Stands in for the energy side of the command: records what it was handed, returns `result`."""

    def __init__(self, monkeypatch, sources: list[Source], missing: list[str], outcome: CheckResult | None = None,
                 failure: Exception | None = None) -> None:
        self.sources, self.outcome, self.failure = sources, outcome, failure
        self.opened = Opened(sources, missing)
        self.log: dict[str, object] = {}
        monkeypatch.setattr(cli_energy, "open_check_sources", self.open)
        monkeypatch.setattr(cli_energy, "idle_load", lambda seconds: ("idle load", seconds))
        monkeypatch.setattr(cli_energy, "hashing_load",
                            lambda backend, seconds, threads: ("hashing load", backend, seconds, threads))
        monkeypatch.setattr(cli_energy, "run_check", self.run)
        monkeypatch.setattr(cli_energy.out, "_width", 200)
        monkeypatch.setattr(cli_energy.err, "_width", 200)

    def open(self, config: EnergyConfig, device: str) -> Opened:
        self.log["config"], self.log["device"] = config, device
        self.closed_at_open = [s.closed for s in self.sources]
        return self.opened

    def run(self, opened: Opened, device: str, tolerance: float, load: object) -> CheckResult:
        assert opened is self.opened and [s.closed for s in self.sources] == self.closed_at_open  # still open
        self.log["run"] = (device, tolerance, load)
        if self.failure is not None:
            raise self.failure
        return self.outcome


def node_pair() -> list[Source]:
    return [Source("bmc", "node"), Source("pdu", "node")]


def hashbench(capsys, *args: str) -> tuple[int, str, str]:
    with pytest.raises(SystemExit) as exited:
        main(["energy-check", *args])
    out, err = capsys.readouterr()
    return exited.value.code, out, err


# --- the default load ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize("cuda, cython, expected", [(True, True, "cuda"), (False, True, "cython"),
                                                    (True, False, "cuda"), (False, False, "python")])
def test_the_default_load_is_the_first_backend_that_runs(monkeypatch, cuda, cython, expected):
    # Unavailable backends are asked, not refused (get_backend's require_available=False).
    three(monkeypatch, cuda=cuda, cython=cython)
    assert cli_energy._default_backend() == expected


def test_the_default_load_falls_back_to_python_when_no_backend_says_it_runs(monkeypatch):
    registry(monkeypatch, FakeBackend("cuda", False), FakeBackend("cython", False), FakeBackend("python", False))
    assert cli_energy._default_backend() == "python"


# --- the table ------------------------------------------------------------------------------------------------------


def columns(table) -> list[tuple[str, str, list[str]]]:
    return [(c.header, c.justify, list(c.cells)) for c in table.columns]


def test_the_table_gives_each_source_its_joules_power_readings_and_joules_per_terahash():
    readings = [EnergyReading("rapl", "cpu package", "energy counter", 4.0, 1234.56, samples=7),
                EnergyReading("none", "none", "", 4.0, None)]
    check = CheckResult("cuda:0,1", "cython (avx2, 2 thread(s))", 4.0, 10**11, 2.5e10,
                        ["rapl energy counter", "ipmi sampled power"], readings, [], [])
    table = cli_energy.check_table(check)
    assert table.title == "Energy sources over one window on cuda:0,1, load: cython (avx2, 2 thread(s)) (measured)"
    # 1234.56 J over 4 s is 308.64 W; 1e11 hashes are 0.1 TH: 12,345.6 J/TH. The source without a reading: dashes.
    assert columns(table) == [("source", "left", ["rapl energy counter", "ipmi sampled power"]),
                              ("layer", "left", ["cpu package", "none"]),
                              ("joules", "right", ["1,234.6 J", "—"]),
                              ("mean power", "right", ["308.64 W", "—"]),
                              ("readings", "right", ["7", "—"]),
                              ("J/TH", "right", ["12,345.6", "—"])]
    # Figures never cut (cli_table's fold), at any width.
    assert all(c.overflow == "fold" for c in table.columns)

    idle = CheckResult("cpu", "idle", 4.0, 0, None, ["rapl energy counter"], readings[:1], [], [])
    assert columns(cli_energy.check_table(idle))[5] == ("J/TH", "right", ["—"])  # no hashes: no J/TH
    # A terahash is 10^12 hashes exactly: 2 J over one hash is 2e12 J/TH, to the last digit.
    one = CheckResult("cpu", "idle", 4.0, 1, None, ["rapl energy counter"],
                      [replace(readings[0], joules_gross=2.0)], [], [])
    assert columns(cli_energy.check_table(one))[5] == ("J/TH", "right", ["2,000,000,000,000.0"])
    text = io.StringIO()
    Console(file=text, width=200).print(cli_energy.check_table(idle))
    assert "Energy sources over one window on cpu, load: idle (measured)" in text.getvalue()


# --- what the command hands on and prints ---------------------------------------------------------------------------


def test_an_idle_check_meters_the_device_asked_for_and_prints_every_verdict_note_and_missing_source(capsys,
                                                                                                     monkeypatch):
    known = three(monkeypatch)
    monkeypatch.setenv("HASHBENCH_IPMITOOL", "site-ipmitool")
    unreadable = PairVerdict("bmc sampled power", "pdu sampled power", "node", None, 0.07)
    over = PairVerdict("pdu sampled power", "bmc sampled power", "node", -0.1234, 0.07)
    outcome = result([AGREE, over, unreadable], missing=["rapl: no [powercap] here"])
    calls = Calls(monkeypatch, node_pair(), ["rapl: no [powercap] here"], outcome)
    code, out, err = hashbench(capsys, "--backend", "idle", "--device", " CPU ", "--seconds", "0.25",
                               "--tolerance", "0.07", "--threads", "4")
    assert code == 1  # one pair apart and one without a reading: not a pass
    # The device as asked (trimmed, lower case), the environment's energy settings, the load for the window.
    assert calls.log["device"] == "cpu" and calls.log["config"] == EnergyConfig.from_env()
    assert calls.log["config"].ipmitool == "site-ipmitool"
    assert calls.log["run"] == ("cpu", 0.07, ("idle load", 0.25))
    assert [s.closed for s in calls.sources] == [1, 1]
    assert all(not b.cpus_asked and not b.checked for b in known.values())  # idle: no backend, no threads
    assert err == "metering 0.25 s of idle on cpu with bmc sampled power, pdu sampled power…\n"
    lines = out.splitlines()
    assert "Energy sources over one window on cpu, load: idle (measured)" in lines[0]
    assert any("bmc sampled power" in line and "100.00 W" in line and "40" in line for line in lines)
    assert lines[-5:] == ["pdu sampled power vs bmc sampled power (node): +5.00 % — agree (tolerance 7 %)",
                          "bmc sampled power vs pdu sampled power (node): -12.34 % — DISAGREE (tolerance 7 %)",
                          "pdu sampled power vs bmc sampled power (node): no reading to compare",
                          "note (bmc sampled power): window edge [late]",  # brackets kept: not rich markup
                          "not opened: rapl: no [powercap] here"]


def test_a_passing_check_exits_0_and_json_is_the_record_alone(capsys, monkeypatch):
    three(monkeypatch)
    outcome = result([AGREE])
    calls = Calls(monkeypatch, node_pair(), [], outcome)
    code, out, err = hashbench(capsys, "--backend", "idle", "--device", "cpu", "--seconds", "1", "--json")
    assert code == 0 and err == ""  # no "metering" line beside JSON
    assert out == json.dumps(outcome.to_json(), indent=2) + "\n"
    assert [s.closed for s in calls.sources] == [1, 1]

    code, out, err = hashbench(capsys, "--backend", "idle", "--device", "cpu", "--seconds", "1")
    assert code == 0 and out.splitlines()[-2:] == [
        "pdu sampled power vs bmc sampled power (node): +5.00 % — agree (tolerance 7 %)",
        "note (bmc sampled power): window edge [late]"]  # nothing "not opened"


def test_hashing_runs_the_default_backend_on_every_usable_cpu_and_meters_its_device(capsys, monkeypatch):
    known = three(monkeypatch)  # cuda does not run here: cython
    calls = Calls(monkeypatch, node_pair(), [], result([AGREE]))
    code, out, err = hashbench(capsys, "--seconds", "2")
    assert code == 0, err
    cython = known["cython"]
    # 3 usable CPUs, as many threads as the backend runs on them (the fake answers 103), checked before the run.
    assert cython.cpus_asked == [3] and cython.checked == [103]
    assert calls.log["device"] == "cpu" and calls.log["run"] == ("cpu", 0.05, ("hashing load", cython, 2.0, 103))
    assert err == "metering 2 s of cython on cpu with bmc sampled power, pdu sampled power…\n"

    code, out, err = hashbench(capsys, "--backend", "cython", "--threads", "1", "--seconds", "2")
    assert code == 0 and cython.cpus_asked == [3] and cython.checked == [103, 1]
    assert calls.log["run"] == ("cpu", 0.05, ("hashing load", cython, 2.0, 1))


def test_a_gpu_backend_meters_the_boards_it_hashes_on_unless_told_otherwise(capsys, monkeypatch):
    known = three(monkeypatch, cuda=True, gpus=[1, 2])
    calls = Calls(monkeypatch, node_pair(), [], result([AGREE]))
    code, out, err = hashbench(capsys, "--seconds", "2")
    assert code == 0 and calls.log["device"] == "cuda:1,2"
    assert calls.log["run"] == ("cuda:1,2", 0.05, ("hashing load", known["cuda"], 2.0, 103))
    assert err.startswith("metering 2 s of cuda on cuda:1,2 with ")
    code, out, err = hashbench(capsys, "--seconds", "2", "--device", "cuda")
    assert code == 0 and calls.log["device"] == "cuda"


@pytest.mark.parametrize("cuda, device", [(True, "cuda:0"), (False, "cpu")])
def test_idle_meters_the_first_gpu_where_cuda_runs_else_the_cpu(capsys, monkeypatch, cuda, device):
    three(monkeypatch, cuda=cuda)
    calls = Calls(monkeypatch, node_pair(), [], result([AGREE]))
    code, out, err = hashbench(capsys, "--backend", "idle", "--seconds", "2")
    assert code == 0 and calls.log["device"] == device and calls.log["run"][2] == ("idle load", 2.0)


def test_sources_are_closed_when_the_window_fails(capsys, monkeypatch):
    three(monkeypatch)
    calls = Calls(monkeypatch, node_pair(), [], failure=InputError("the load refused"))
    code, out, err = hashbench(capsys, "--backend", "idle", "--device", "cpu", "--seconds", "2")
    assert (code, err) == (2, "metering 2 s of idle on cpu with bmc sampled power, pdu sampled power…\n"
                              "hashbench: error: the load refused\n")
    assert [s.closed for s in calls.sources] == [1, 1] and out == ""


# --- refusals -------------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("sources, missing, said", [
    ([("rapl", "cpu package", "energy counter")], ["ipmi: no ipmitool", "redfish: refused"],
     "opened: rapl energy counter; ipmi: no ipmitool; redfish: refused"),
    # Two sources of different layers are no pair either.
    ([("rapl", "cpu package", "energy counter"), ("bmc", "node")], [],
     "opened: rapl energy counter, bmc sampled power; no other source configured"),
    ([], [], "opened: none; no other source configured"),
])
def test_without_two_sources_of_one_layer_it_says_what_it_opened_and_why_not_more(capsys, monkeypatch, sources,
                                                                                   missing, said):
    three(monkeypatch)
    sources = [Source(*spec) for spec in sources]
    calls = Calls(monkeypatch, sources, missing, result([AGREE]))
    code, out, err = hashbench(capsys, "--backend", "idle", "--device", "cpu", "--seconds", "2")
    assert (code, out) == (2, "")
    assert err == f"hashbench: error: energy-check on cpu: no two sources of one layer to compare ({said})\n"
    assert [s.closed for s in sources] == [1] * len(sources) and "run" not in calls.log


USAGE = [
    (["--seconds", "0"], "--seconds must be > 0 and finite, got 0.0"),
    (["--seconds", "-1"], "--seconds must be > 0 and finite, got -1.0"),
    (["--seconds", "inf"], "--seconds must be > 0 and finite, got inf"),
    (["--seconds", "nan"], "--seconds must be > 0 and finite, got nan"),
    (["--tolerance", "0"], "--tolerance must be between 0 and 1 (0.05 or 5%), got 0"),
    (["--tolerance", "1"], "--tolerance must be between 0 and 1 (0.05 or 5%), got 1"),
    (["--tolerance", "5"], "--tolerance must be between 0 and 1 (0.05 or 5%), got 5"),
    (["--tolerance", "100%"], "--tolerance must be between 0 and 1 (0.05 or 5%), got 1"),
    (["--tolerance", "5 pct"], "--tolerance: cannot read '5 pct' as a fraction (0.8) or a percentage (80%)"),
    (["--threads", "0"], "--threads must be >= 1, got 0"),
    (["--threads", "-2"], "--threads must be >= 1, got -2"),
    (["--device", "gpu0"], "--device must be cpu, cuda:N or cuda:N,M,..., got 'gpu0'"),
    (["--device", "cpu0"], "--device must be cpu, cuda:N or cuda:N,M,..., got 'cpu0'"),  # a whole match only
    (["--device", "xcpu"], "--device must be cpu, cuda:N or cuda:N,M,..., got 'xcpu'"),
    (["--device", "cuda:0,"], "--device must be cpu, cuda:N or cuda:N,M,..., got 'cuda:0,'"),
    (["--device", ""], "--device must be cpu, cuda:N or cuda:N,M,..., got ''"),
    (["--device", " GPU0"], "--device must be cpu, cuda:N or cuda:N,M,..., got ' GPU0'"),  # as typed
    (["--backend", "nope"], "unknown load 'nope' (a backend: cuda, cython, python; or idle)"),
    (["--backend", ""], "unknown load '' (a backend: cuda, cython, python; or idle)"),  # an unset shell variable
]


@pytest.mark.parametrize("args, message", USAGE, ids=[" ".join(a) for a, _ in USAGE])
def test_bad_options_are_one_line_before_any_source_opens(capsys, monkeypatch, args, message):
    three(monkeypatch)
    calls = Calls(monkeypatch, node_pair(), [], result([AGREE]))
    code, out, err = hashbench(capsys, "--backend", "idle", *args)
    assert (code, out, err) == (2, "", f"hashbench: error: {message}\n")
    assert calls.log == {}


@pytest.mark.parametrize("args, device, tolerance", [
    (["--seconds", "0.001"], "cpu", 0.05),
    (["--tolerance", "0.999"], "cpu", 0.999),
    (["--tolerance", "0.000001"], "cpu", 0.000001),
    (["--tolerance", "2.5%"], "cpu", 0.025),  # a percentage, as the "within 5%" is written
    (["--threads", "1"], "cpu", 0.05),
    (["--device", "cuda"], "cuda", 0.05),
    (["--device", "CUDA:0,12"], "cuda:0,12", 0.05),
])
def test_options_at_their_limits_are_taken(capsys, monkeypatch, args, device, tolerance):
    three(monkeypatch)
    calls = Calls(monkeypatch, node_pair(), [], result([AGREE]))
    code, out, err = hashbench(capsys, "--backend", "idle", "--device", "cpu", *args)
    assert code == 0, err
    assert calls.log["device"] == device and calls.log["run"][:2] == (device, tolerance)
