"""`hashbench backends | scan | bench | verify | run | kernel-stats` in this process, with fake backends, meters,
runs and kernels: what each command asks of them (the names, impl, threads, range and target handed on, the
devices metered once each), the lines, cells and JSON it prints, its refusals (one line, exit 2) and its exit code.
Pinned by mutation testing (benchmarks/checks/mutation.py on cli.py); the real hashing behind each command is
tested through child processes in test_cli.py, test_cli_output.py and test_bad_input.py.

With this file and test_run_pipeline.py, 681 of cli.py's 696 mutants are killed; the 15 left change nothing a person
sees: an unknown justify ("XXleftXX", "LEFT") on a left column or the kernel-stats title is left all the same (the title
only loses trailing padding); transient=None or left out, and start=None, are the False they replace; completed=2.0
fills a bar of total 1.0 as 1.0 does; standalone_mode=None is falsy like False; kernel-stats formats an int through
the float path to the same text (below 2**53) and rstrip("XX0XX") / rstrip("XX.XX") strip nothing more from figures
that hold no X."""

from __future__ import annotations

import json
import types
from pathlib import Path

import pytest
from rich.console import Console
from test_bad_input import hashbench, one_line

from hashbench import cli
from hashbench.backends.base import ScanResult, Share
from hashbench.bench import BenchResult
from hashbench.cli import _si, _three_figures, energy_notes, main, rate_table
from hashbench.energy import EnergyReading
from hashbench.errors import BackendUnavailable, InputError
from hashbench.header import Header, bits_to_target
from hashbench.verify import VerifyResult

GENESIS = (
    "0100000000000000000000000000000000000000000000000000000000000000000000003ba3edfd7a7b12b27ac72c3e67768f617fc81bc3"
    "888a51323a9fb8aa4b1e5e4a29ab5f49ffff001d1dac2b7c"
)
GENESIS_HASH = "000000000019d6689c085ae165831e934ff763ae46a2a6c172b3f1b60a8ce26f"


@pytest.fixture(autouse=True)
def wide(monkeypatch):
    """Tables at 200 columns: a cell is never folded, so a test reads it whole."""
    monkeypatch.setattr(cli.out, "_width", 200)
    monkeypatch.setattr(cli.err, "_width", 200)


# --- fake backends ----------------------------------------------------------------------------------------------------

class FakeBackend:
    def __init__(self, name: str, ok: bool = True, impls: tuple[str, ...] = ("plain",), device: str = "cpu",
                 found: list[Share] | None = None, hits: int | None = None) -> None:
        self.name, self.ok, self.impl_names, self.device = name, ok, impls, device
        self.found = found or []
        self.hits = len(self.found) if hits is None else hits
        self.resolved: list = []
        self.checked: list = []
        self.scans: list = []

    def available(self) -> tuple[bool, str]:
        return (True, "") if self.ok else (False, f"no {self.name} here")

    def resolve_impl(self, impl: str | None) -> str:
        self.resolved.append(impl)
        if impl is not None and impl not in self.impl_names:
            raise InputError(f"backend {self.name!r} has no implementation {impl!r}")
        return impl or self.impl_names[0]

    def check_threads(self, threads: int) -> None:
        self.checked.append(threads)
        if threads > 64:
            raise InputError(f"--threads {threads}: {self.name} runs at most 64 threads here")

    def scan(self, job, start, count, *, impl, threads, max_found):
        self.scans.append({"job": job, "start": start, "count": count, "impl": impl, "threads": threads,
                           "max_found": max_found})
        return ScanResult(self.name, impl or self.impl_names[0], threads, start, count, 0.5, self.hits, self.found)


def registry(monkeypatch, *backends: FakeBackend) -> dict[str, FakeBackend]:
    """cli's get_backend, all_backends and describe over these fakes, refusing as the real ones do."""
    from hashbench.backends import BackendInfo

    known = {b.name: b for b in backends}

    def get_backend(name: str) -> FakeBackend:
        if name not in known:
            raise InputError(f"unknown backend {name!r}")
        if not known[name].ok:
            raise BackendUnavailable(f"backend {name!r} is not available")
        return known[name]

    monkeypatch.setattr(cli, "get_backend", get_backend)
    monkeypatch.setattr(cli, "all_backends", lambda: list(known.values()))
    monkeypatch.setattr(cli, "describe", lambda: [
        BackendInfo(b.name, b.ok, b.available()[1], list(b.impl_names) if b.ok else [],
                    b.impl_names[0] if b.ok else None) for b in known.values()])
    return known


def machine(monkeypatch) -> dict[str, FakeBackend]:
    """cython (two kernels) and python on the CPU, cuda on GPU 0, numba missing."""
    return registry(monkeypatch, FakeBackend("cython", impls=("avx2", "portable")), FakeBackend("numba", ok=False),
                    FakeBackend("python"), FakeBackend("cuda", impls=("cuda",), device="cuda:0"))


# --- _si, _three_figures, rate_table, energy_notes --------------------------------------------------------------------

@pytest.mark.parametrize("x, text", [(0.0, "0"), (5.0, "5.00"), (50.0, "50.0"), (500.0, "500"), (5000.0, "5000"),
                                     (0.5, "0.500"), (0.0123, "0.0123"), (-0.5, "-0.500"), (-50.0, "-50.0"),
                                     (1.0, "1.00"), (10.0, "10.0"), (100.0, "100"), (9.99, "9.99")])
def test_three_figures(x, text):
    assert _three_figures(x) == text


@pytest.mark.parametrize("value, text", [
    (1e12, "1.00T"), (2.5e12, "2.50T"), (1e9, "1.00G"), (3.4e9, "3.40G"), (999.4e9, "999G"), (1e6, "1.00M"),
    (1e3, "1.00k"), (12_345.0, "12.3k"), (999.0, "999"), (0.0, "0"), (0.5, "0.500"), (999_600.0, "1.00M"),
    (4.56e15, "4560T"),
])
def test_si_picks_the_prefix_at_each_threshold(value, text):
    assert _si(value) == text


def bench_row(backend: str = "cython", impl: str = "avx2", threads: int = 1, rates=(1.0e6, 2.0e6, 3.5e6),
              **extra) -> dict:
    return {**BenchResult(backend, impl, threads, list(rates), 1_000_000, 1.0).to_json(), **extra}


def rendered(renderable) -> list[str]:
    console = Console(width=200, record=True, file=open("/dev/null", "w"))  # noqa: SIM115
    console.print(renderable)
    console.file.close()
    return console.export_text().splitlines()


def cells(lines: list[str], first: str) -> list[str]:
    """The cells of the table row (the header row included) whose first cell reads `first`."""
    rows = [ln.replace("┃", "│") for ln in lines if ln[:1] in "│┃"]
    [line] = [ln for ln in rows if ln.split("│")[1].strip() == first]
    return [c.strip() for c in line.split("│")[1:-1]]


def test_rate_table_cells_without_energy_or_verification():
    lines = rendered(rate_table([bench_row(), bench_row("python", "python", 4, (1.0e3, 1.5e3, 2.0e3))]))
    assert lines[0].strip() == "SHA-256d at a difficulty-1 share target (measured)"
    assert cells(lines, "backend") == ["backend", "impl", "thr", "median", "min – max"]
    assert cells(lines, "cython") == ["cython", "avx2", "1", "2.00 MH/s", "1.00 – 3.50"]
    assert cells(lines, "python") == ["python", "python", "4", "1.50 kH/s", "1.00 – 2.00"]


def test_rate_table_with_energy_and_verification():
    rows = [bench_row(power_source="rapl", joules_per_th=12_345.0),
            bench_row("python", "python", power_source="rapl", joules_per_th=None),
            bench_row("numba", "numba", power_source=None, joules_per_th=0.0)]
    lines = rendered(rate_table(rows, {("cython", "avx2"): True, ("python", "python"): False}))
    assert cells(lines, "backend") == ["backend", "impl", "thr", "median", "min – max", "J/TH", "ok"]
    assert cells(lines, "cython")[5:] == ["12.3k", "yes"]
    assert cells(lines, "python")[5:] == ["—", "NO"]  # no joules: a dash, not 0
    assert cells(lines, "numba")[5:] == ["0", "—"]  # not verified at all: neither a pass nor a failure
    # verification is per implementation: another of the same backend passing says nothing of this one
    lines = rendered(rate_table([bench_row()], {("cython", "sha-ni"): True}))
    assert cells(lines, "cython")[5:] == ["—"]
    # energy on one row is enough for the column; verification alone adds only "ok"
    lines = rendered(rate_table([bench_row(), bench_row("python", "python", power_source="declared 100 W")], {}))
    assert cells(lines, "cython")[5:] == ["—", "—"]
    lines = rendered(rate_table([bench_row()], {("cython", "avx2"): True}))
    assert cells(lines, "backend")[5:] == ["ok"] and cells(lines, "cython")[5:] == ["yes"]


def test_rate_table_alignment():
    rows = [bench_row(power_source="rapl", joules_per_th=5.0),
            bench_row("python", "python", 16, (700.0e3, 750.0e3, 1_000.0e3))]
    lines = rendered(rate_table(rows, {("cython", "avx2"): True, ("python", "python"): False}))
    assert "│ cython  │ avx2   │   1 │   2.00 MH/s │       1.00 – 3.50 │ 5.00 │ yes │" in lines
    assert "│ python  │ python │  16 │ 750.00 kH/s │ 700.00 – 1,000.00 │    — │ NO  │" in lines


def test_rate_table_never_cuts_a_cell_on_a_narrow_terminal():
    """At 60 columns (the table needs about 76) rich cut one-line cells silently: "16" threads read "1" and the ok
    column was empty. Too narrow for its figures, the table prints a block per row, every figure whole; at 80 it is
    a table with each row on one line."""
    rows = [bench_row("cython", "avx512-sha", 16, (11.0e6, 12.34e6, 13.5e6), power_source="rapl",
                      joules_per_th=8_333.0),
            bench_row("python", "python", 1, (700.12e3, 750.0e3, 800.0e3), power_source="rapl", joules_per_th=None)]
    expected = [["cython", "avx512-sha", "16", "12.34 MH/s", "11.00 – 13.50", "8.33k", "yes"],
                ["python", "python", "1", "750.00 kH/s", "700.12 – 800.00", "—", "NO"]]
    for width in (60, 80):
        console = Console(width=width, record=True, file=open("/dev/null", "w"))  # noqa: SIM115
        console.print(rate_table(rows, {("cython", "avx512-sha"): True, ("python", "python"): False}))
        console.file.close()
        lines = console.export_text().splitlines()
        assert max(map(len, lines)) <= width
        body = [[c.strip() for c in ln.split("│")[1:-1]] for ln in lines if ln.startswith("│")]
        if width == 80:
            assert body == expected
        else:
            headers = ["backend", "impl", "thr", "median", "min – max", "J/TH", "ok"]
            assert body == [[h, v] for row in expected for h, v in zip(headers, row, strict=True)]


def test_rate_table_spread_with_thousands():
    lines = rendered(rate_table([bench_row(rates=(999.0, 1_000.0, 1_234_567.0))]))
    assert cells(lines, "cython")[3:] == ["1.00 kH/s", "1.00 – 1,234.57"]


def test_energy_notes_name_each_source_once_in_order():
    rows = [bench_row(power_source="rapl"), bench_row(), bench_row(power_source="declared 100 W"),
            bench_row(power_source="rapl"), bench_row(power_source=None), bench_row(power_source="")]
    assert energy_notes(rows) == ["J/TH energy: rapl", "J/TH energy: declared 100 W", "J/TH energy: none"]
    assert energy_notes([bench_row(), bench_row()]) == []


# --- backends ---------------------------------------------------------------------------------------------------------

def test_backends_table_and_json(capsys, monkeypatch):
    monkeypatch.setattr(FakeBackend, "available",
                        lambda self: (True, "") if self.ok else (False, "needs [bold]libfoo[/bold]"))
    registry(monkeypatch, FakeBackend("cython", impls=("avx2", "portable")), FakeBackend("weird", ok=False))
    code, out, err = hashbench(capsys, "backends")
    assert code == 0 and err == ""
    lines = out.splitlines()
    assert cells(lines, "backend") == ["backend", "available", "implementations", "reason"]
    assert cells(lines, "cython") == ["cython", "yes", "avx2, portable", ""]
    assert cells(lines, "weird") == ["weird", "no", "", "needs [bold]libfoo[/bold]"]  # the reason as written
    code, out, err = hashbench(capsys, "backends", "--json")
    assert code == 0 and err == ""
    assert out == json.dumps(json.loads(out), indent=2) + "\n"  # indented for a person, as every --json
    assert json.loads(out) == [
        {"name": "cython", "available": True, "reason": "", "impls": ["avx2", "portable"], "default_impl": "avx2"},
        {"name": "weird", "available": False, "reason": "needs [bold]libfoo[/bold]", "impls": [],
         "default_impl": None}]


# --- scan -------------------------------------------------------------------------------------------------------------

def test_scan_hands_on_the_range_target_impl_threads_and_list_size(capsys, monkeypatch):
    share = Share(2083236893, GENESIS_HASH)
    known = registry(monkeypatch, FakeBackend("cython", found=[share]), FakeBackend("python"))
    code, out, err = hashbench(capsys, "scan", "--header", GENESIS, "--start", "7", "--count", "1000", "--impl",
                               "avx2", "--threads", "3", "--max-found", "5", "--json")
    assert code == 0 and err == ""
    [asked] = known["cython"].scans  # cython: the default backend
    assert asked["job"].header == Header.from_hex(GENESIS) and asked["job"].target == Header.from_hex(GENESIS).target
    assert {k: asked[k] for k in ("start", "count", "impl", "threads", "max_found")} == {
        "start": 7, "count": 1000, "impl": "avx2", "threads": 3, "max_found": 5}
    assert json.loads(out) == {"backend": "cython", "impl": "avx2", "threads": 3, "start": 7, "hashes": 1000,
                               "seconds": 0.5, "hashrate": 2000.0, "hits": 1,
                               "found": [{"nonce": 2083236893, "hash": GENESIS_HASH}]}
    # the defaults: nonce 0, 2^24 nonces, the fastest impl, one thread, 1024 listed
    hashbench(capsys, "scan", "--header", GENESIS, "--backend", "python", "--json")
    [asked] = known["python"].scans
    assert {k: asked[k] for k in ("start", "count", "impl", "threads", "max_found")} == {
        "start": 0, "count": 1 << 24, "impl": None, "threads": 1, "max_found": 1024}


def test_scan_reads_a_nonce_in_hex_and_a_count_with_its_prefix(capsys, monkeypatch):
    """Nonces are often shown in hex (0x7c2bac1d is the genesis block's); a count of 100M or 16,777,216 reads as
    written. What is not a whole number is refused with the flag's name."""
    known = registry(monkeypatch, FakeBackend("cython"))
    hashbench(capsys, "scan", "--header", GENESIS, "--start", "0x7C2BAC00", "--count", "1.5k", "--json")
    hashbench(capsys, "scan", "--header", GENESIS, "--start", "1,000", "--count", "100M", "--json")
    assert [(s["start"], s["count"]) for s in known["cython"].scans] == [(0x7C2BAC00, 1500), (1000, 100_000_000)]
    for flag, text, message in (("--count", "1.5", "--count: '1.5' is not a whole number"),
                                ("--start", "0x7g", "--start: cannot read '0x7g' as a hexadecimal number"),
                                ("--count", "lots", "--count: cannot read 'lots' as a number")):
        code, _, err = hashbench(capsys, "scan", "--header", GENESIS, flag, text)
        assert code == 2 and one_line(err).startswith(f"hashbench: error: {message}"), err
    assert len(known["cython"].scans) == 2


def test_scan_target_from_bits_or_target_never_both(capsys, monkeypatch):
    known = registry(monkeypatch, FakeBackend("cython"))
    hashbench(capsys, "scan", "--header", GENESIS, "--bits", "1f00ffff", "--json")
    hashbench(capsys, "scan", "--header", GENESIS, "--target", "00ff", "--json")
    assert [s["job"].target for s in known["cython"].scans] == [bits_to_target(0x1F00FFFF), 0xFF]
    code, _, err = hashbench(capsys, "scan", "--header", GENESIS, "--bits", "1f00ffff", "--target", "00ff")
    assert code == 2 and one_line(err) == "hashbench: error: give --bits or --target, not both"
    assert len(known["cython"].scans) == 2


def test_scan_text_lines(capsys, monkeypatch):
    shares = [Share(5, "00" * 32), Share(123_456, "0a" * 32)]
    registry(monkeypatch, FakeBackend("cython", found=shares, hits=2))
    code, out, err = hashbench(capsys, "scan", "--header", GENESIS, "--count", "1000000", "--target", "ff")
    assert code == 0 and err == ""
    assert out.splitlines() == [
        "cython (plain, 1 thread(s)): 1,000,000 hashes in 0.500 s = 2.00 MH/s [measured]",
        f"target {0xFF:064x}: 2 hit(s)",
        f"  nonce          5 (0x00000005)  hash {'00' * 32}",
        f"  nonce     123456 (0x0001e240)  hash {'0a' * 32}"]
    registry(monkeypatch, FakeBackend("cython", found=shares[:1], hits=3))
    code, out, _ = hashbench(capsys, "scan", "--header", GENESIS, "--count", "2", "--max-found", "1")
    assert out.splitlines()[1:] == [f"target {Header.from_hex(GENESIS).target:064x}: 3 hit(s) (the first 1 listed: "
                                    "--max-found)", f"  nonce          5 (0x00000005)  hash {'00' * 32}"]


def test_scan_never_breaks_a_target_or_hash_line_on_a_narrow_terminal(capsys, monkeypatch):
    monkeypatch.setattr(cli.out, "_width", 40)
    registry(monkeypatch, FakeBackend("cython", found=[Share(5, "00" * 32)], hits=4))
    code, out, _ = hashbench(capsys, "scan", "--header", GENESIS, "--target", "ff", "--max-found", "1")
    assert code == 0
    assert f"target {0xFF:064x}: 4 hit(s) (the first 1 listed: --max-found)" in out.splitlines()
    assert f"  nonce          5 (0x00000005)  hash {'00' * 32}" in out.splitlines()


# --- bench ------------------------------------------------------------------------------------------------------------

class FakePlan:
    """EnergyPlan's surface, every call written down."""

    made: list[FakePlan] = []

    def __init__(self, config) -> None:
        self.config, self.calls = config, []
        FakePlan.made.append(self)

    def __enter__(self) -> FakePlan:
        self.calls.append(("enter",))
        return self

    def __exit__(self, *exc) -> None:
        self.calls.append(("exit",))

    def prepare(self, device: str) -> None:
        self.calls.append(("prepare", device))

    def describe(self, device: str) -> str:
        return f"[meter] of {device}"

    def meter(self, device: str) -> str:
        self.calls.append(("meter", device))
        return f"meter of {device}"


def reading(label: str = "rapl") -> EnergyReading:
    return EnergyReading(label, "package", "counter", 1.0, 50.0)


@pytest.fixture
def bench_rig(monkeypatch):
    """bench on the fake machine: `rig.asked` holds what bench_backend was handed, `rig.stop_after` a Ctrl-C."""
    import hashbench.energy as energy_mod

    rig = types.SimpleNamespace(known=machine(monkeypatch), asked=[], stop_after=None)
    FakePlan.made = []
    monkeypatch.setattr(energy_mod, "EnergyPlan", FakePlan)
    monkeypatch.setattr(energy_mod, "energy_device", lambda backend: backend.device)

    def bench_backend(backend, **kwargs):
        if rig.stop_after is not None and len(rig.asked) == rig.stop_after:
            raise KeyboardInterrupt
        window = kwargs.pop("window")
        rig.asked.append((backend.name, kwargs, window()))
        rate = 1e6 * len(rig.asked)
        return BenchResult(backend.name, kwargs["impl"] or backend.impl_names[0], kwargs["threads"],
                           [rate, rate * 2, rate * 3], 6_000_000_000, 3.0, energy=reading())

    monkeypatch.setattr(cli, "bench_backend", bench_backend)
    return rig


def test_bench_every_available_backend_by_default_each_device_prepared_once(capsys, bench_rig):
    code, out, err = hashbench(capsys, "bench", "--seconds", "0.5", "--energy", "none")
    assert code == 0
    assert bench_rig.asked == [
        ("cython", {"impl": None, "threads": 1, "seconds": 0.5}, "meter of cpu"),
        ("python", {"impl": None, "threads": 1, "seconds": 0.5}, "meter of cpu"),
        ("cuda", {"impl": None, "threads": 1, "seconds": 0.5}, "meter of cuda:0")]
    [plan] = FakePlan.made
    assert plan.config.mode == "none"
    # idle power of each device before any backend runs; the plan closed after the last
    assert plan.calls == [("enter",), ("prepare", "cpu"), ("prepare", "cuda:0"), ("meter", "cpu"), ("meter", "cpu"),
                          ("meter", "cuda:0"), ("exit",)]
    assert err.splitlines() == ["energy for cpu: [meter] of cpu", "energy for cuda:0: [meter] of cuda:0",
                                "benching cython…", "benching python…", "benching cuda…"]
    lines = out.splitlines()
    assert cells(lines, "cython")[:5] == ["cython", "avx2", "1", "2.00 MH/s", "1.00 – 3.00"]
    assert cells(lines, "cuda")[:5] == ["cuda", "cuda", "1", "6.00 MH/s", "3.00 – 9.00"]
    # J/TH: 50 J over 6e9 hashes = 0.006 TH
    assert [cells(lines, name)[5] for name in ("cython", "python", "cuda")] == ["8.33k"] * 3
    assert lines[-1] == "J/TH energy: rapl (package)"
    assert [b.resolved for b in bench_rig.known.values()] == [[None], [], [None], [None]]


def test_bench_named_backends_impl_threads_and_energy_options(capsys, bench_rig):
    code, out, err = hashbench(capsys, "bench", "--backend", "python", "--backend", "cython", "--impl", "plain",
                               "--threads", "2", "--energy", "declared", "--watts", "100", "--idle-watts", "40",
                               "--idle-seconds", "2", "--json")
    assert code == 2 and "backend 'cython' has no implementation 'plain'" in one_line(err)
    assert bench_rig.asked == [] and FakePlan.made == []  # refused before any meter or measurement
    code, out, err = hashbench(capsys, "bench", "--backend", "python", "--backend", "cython", "--threads", "2",
                               "--energy", "declared", "--watts", "100", "--idle-watts", "40", "--idle-seconds", "2",
                               "--json")
    assert code == 0 and err == ""  # --json: nothing on stderr
    assert [(name, kwargs) for name, kwargs, _ in bench_rig.asked] == [
        ("python", {"impl": None, "threads": 2, "seconds": 3.0}), ("cython", {"impl": None, "threads": 2,
                                                                             "seconds": 3.0})]
    assert [(b.name, b.resolved, b.checked) for b in bench_rig.known.values()] == [
        ("cython", ["plain", None], [2]), ("numba", [], []), ("python", ["plain", None], [2, 2]),
        ("cuda", [], [])]
    config = FakePlan.made[-1].config
    assert (config.mode, config.watts, config.idle_watts, config.idle_seconds) == ("declared", 100.0, 40.0, 2.0)
    rows = json.loads(out)
    assert [(r["backend"], r["threads"], r["hashrate"], r["power_source"]) for r in rows] == [
        ("python", 2, 2.0e6, "rapl (package)"), ("cython", 2, 4.0e6, "rapl (package)")]


@pytest.mark.parametrize("args, message", [
    (["--seconds", "0"], "--seconds must be > 0 and finite, got 0.0"),
    (["--seconds", "-1"], "--seconds must be > 0 and finite, got -1.0"),
    (["--seconds", "inf"], "--seconds must be > 0 and finite, got inf"),
    (["--seconds", "nan"], "--seconds must be > 0 and finite, got nan"),
    (["--threads", "0"], "--threads must be >= 1, got 0"),
    (["--threads", "65"], "--threads 65: cython runs at most 64 threads here"),
    (["--backend", "numba"], "backend 'numba' is not available"),
])
def test_bench_refusals_before_any_measurement(capsys, bench_rig, args, message):
    code, out, err = hashbench(capsys, "bench", *args)
    assert code == 2 and one_line(err) == f"hashbench: error: {message}" and out == ""
    assert bench_rig.asked == [] and FakePlan.made == []


def test_bench_hands_on_the_impl_asked_for(capsys, bench_rig):
    code, out, _ = hashbench(capsys, "bench", "--backend", "cython", "--impl", "portable", "--json")
    assert code == 0 and bench_rig.asked[0][1]["impl"] == "portable" and json.loads(out)[0]["impl"] == "portable"
    assert bench_rig.known["cython"].resolved == ["portable"]


def test_bench_at_its_smallest_limits(capsys, bench_rig):
    code, _, _ = hashbench(capsys, "bench", "--backend", "python", "--seconds", "1e-9", "--threads", "1", "--json")
    assert code == 0 and bench_rig.asked[0][1] == {"impl": None, "threads": 1, "seconds": 1e-9}
    code, _, _ = hashbench(capsys, "bench", "--backend", "python", "--threads", "64", "--json")
    assert code == 0 and bench_rig.asked[1][1]["threads"] == 64


def test_bench_stopped_prints_what_finished(capsys, bench_rig):
    bench_rig.stop_after = 1
    code, out, err = hashbench(capsys, "bench", "--energy", "none")
    assert code == 130
    assert err.splitlines()[-1] == "interrupted: 1 finished measurement(s) kept above"
    assert cells(out.splitlines(), "cython")[0] == "cython" and "python" not in out
    assert FakePlan.made[0].calls[-1] == ("exit",)  # the meters closed all the same
    bench_rig.asked, bench_rig.stop_after = [], 0
    code, out, err = hashbench(capsys, "bench", "--energy", "none")
    assert code == 130 and out == "" and err.splitlines()[-1] == "interrupted: 0 finished measurement(s) kept above"
    code, out, err = hashbench(capsys, "bench", "--energy", "none", "--json")
    assert code == 130 and json.loads(out) == []


# --- verify -----------------------------------------------------------------------------------------------------------

@pytest.fixture
def verify_rig(monkeypatch):
    import hashbench.samples as samples_mod
    import hashbench.verify as verify_mod

    rig = types.SimpleNamespace(known=machine(monkeypatch), asked=[], read=[], failing={}, stop_after=None)

    def read_headers(path):
        rig.read.append(path)
        return (f"{path.name}:1", f"{path.name}:2")

    def verify_backend(backend, **kwargs):
        if rig.stop_after is not None and len(rig.asked) == rig.stop_after:
            raise KeyboardInterrupt
        rig.asked.append((backend.name, kwargs))
        failures = rig.failing.get(backend.name, [])
        return VerifyResult(backend.name, kwargs["impl"] or backend.impl_names[0], 32, not failures, failures)

    monkeypatch.setattr(samples_mod, "read_headers", read_headers)
    monkeypatch.setattr(verify_mod, "verify_backend", verify_backend)
    return rig


def test_verify_every_available_backend_on_the_shipped_headers(capsys, verify_rig):
    code, out, err = hashbench(capsys, "verify")
    assert code == 0 and err == ""
    assert verify_rig.asked == [(name, {"impl": None, "threads": 1, "headers": None})
                                for name in ("cython", "python", "cuda")]
    assert out.splitlines() == ["cython (avx2): 32 real headers: pass", "python (plain): 32 real headers: pass",
                                "cuda (cuda): 32 real headers: pass"]


def test_verify_header_files_impl_threads_and_a_failure(capsys, verify_rig, tmp_path):
    verify_rig.failing = {"python": ["mainnet 2016: expected nonce 5, [found] 6", "mainnet 4032: missed"]}
    code, out, err = hashbench(capsys, "verify", "--backend", "python", "--backend", "cython", "--impl", "plain",
                               "--threads", "64", "--headers", "a.csv", "--headers", "b.csv", "c.csv", "d.csv")
    assert code == 2 and "backend 'cython' has no implementation 'plain'" in one_line(err)
    assert verify_rig.asked == []
    verify_rig.read.clear()
    code, out, err = hashbench(capsys, "verify", "--backend", "python", "--backend", "cython", "--threads", "64",
                               "--headers", "a.csv", "--headers", "b.csv", "c.csv", "d.csv")
    assert code == 1 and err == ""
    assert verify_rig.read == [Path("a.csv"), Path("b.csv"), Path("c.csv"), Path("d.csv")]
    headers = ("a.csv:1", "a.csv:2", "b.csv:1", "b.csv:2", "c.csv:1", "c.csv:2", "d.csv:1", "d.csv:2")
    assert verify_rig.asked == [("python", {"impl": None, "threads": 64, "headers": headers}),
                                ("cython", {"impl": None, "threads": 64, "headers": headers})]
    assert verify_rig.known["python"].checked == [64, 64] and verify_rig.known["cython"].checked == [64]
    assert out.splitlines() == ["python (plain): 32 real headers: FAIL",
                                "  mainnet 2016: expected nonce 5, [found] 6", "  mainnet 4032: missed",
                                "cython (avx2): 32 real headers: pass"]
    code, out, err = hashbench(capsys, "verify", "--backend", "python", "--json", "x.csv")
    assert code == 1 and err == "" and verify_rig.read[-1] == Path("x.csv")
    assert json.loads(out) == [{"backend": "python", "impl": "plain", "headers": 32, "passed": False,
                                "failures": verify_rig.failing["python"]}]
    verify_rig.failing = {}
    code, out, _ = hashbench(capsys, "verify", "--backend", "cuda", "--impl", "cuda", "--json")
    assert code == 0 and json.loads(out)[0]["passed"] is True
    assert verify_rig.asked[-1] == ("cuda", {"impl": "cuda", "threads": 1, "headers": None})


@pytest.mark.parametrize("args, message", [
    (["--threads", "0"], "--threads must be >= 1, got 0"),
    (["--threads", "65"], "--threads 65: cython runs at most 64 threads here"),
    (["--backend", "nope"], "unknown backend 'nope'"),
])
def test_verify_refusals(capsys, verify_rig, args, message):
    code, out, err = hashbench(capsys, "verify", *args)
    assert code == 2 and one_line(err) == f"hashbench: error: {message}" and out == ""
    assert verify_rig.asked == []


def test_verify_stopped_prints_what_finished(capsys, verify_rig):
    verify_rig.stop_after = 1
    verify_rig.failing = {"cython": ["mainnet 1: missed"]}
    code, out, err = hashbench(capsys, "verify")
    assert code == 130 and err == "interrupted: 1 finished measurement(s) kept above\n"  # not 1 for the failure
    assert out.splitlines() == ["cython (avx2): 32 real headers: FAIL", "  mainnet 1: missed"]
    verify_rig.asked, verify_rig.failing = [], {}
    code, out, err = hashbench(capsys, "verify", "--json")
    assert code == 130 and [r["backend"] for r in json.loads(out)] == ["cython"]


# --- run --------------------------------------------------------------------------------------------------------------

def probe_row(device: str = "cpu", source: str | None = "declared 100 W", flags: tuple[str, ...] = (),
              energy_flags: tuple[str, ...] = ()) -> dict:
    return {"probe": "gemm", "device": device, "preset": "64x64x64", "dtype": "fp32", "batch": None,
            "value": 2.0e9, "unit": "FLOP/s", "roofline_fraction": None, "roofline_basis": "", "energy_j": None,
            "joules_per_unit": None, "per": "TFLOP", "power_source": source, "impl": "", "reference_value": None,
            "reference_impl": None, "reference_ratio": None, "ms_per_token": None,
            "energy": {"flags": list(energy_flags)}, "flags": list(flags)}


def as_record(data: dict):
    return types.SimpleNamespace(to_json=lambda: data)


@pytest.fixture
def run_rig(monkeypatch, tmp_path):
    """run over a fake execute: `rig.events` are what it tells the display, `rig.record` what it returns, and
    `rig.asked` the arguments it was handed; `rig.stop` is raised after the events (Ctrl-C, SIGTERM)."""
    import hashbench.results.history as history_mod
    import hashbench.run as run_mod
    from hashbench.run import Config

    cython = Config("cython", "avx2", 1)
    rig = types.SimpleNamespace(asked=[], checked=[], stop=None, out=tmp_path / "run.json")
    python = Config("python", "python", 1)
    rig.events = [("plan", None, [cython, python, Config("numba", "numba", 2)]),
                  ("energy", None, ("cpu", "rapl [package]")),
                  ("verify", Config("cython", "avx2", 1), None),
                  ("verified", Config("cython", "avx2", 1), VerifyResult("cython", "avx2", 12, True)),
                  ("verify", Config("python", "python", 1), None),
                  ("verified", Config("python", "python", 1),
                   VerifyResult("python", "python", 12, False, ["h 1: missed", "h 2: missed"])),
                  ("start", cython, None), ("sample", cython, (0.5, 1.5e6)), ("done", cython,
                                                                               BenchResult("cython", "avx2", 1,
                                                                                           [2.5e6], 1, 1.0)),
                  ("start", python, None), ("sample", python, (0.25, 7.5e5)),
                  ("probe-start", None, ("gemm [fp32]", None)),
                  ("probe-fail", None, ("llm [cpu]", RuntimeError("out of [memory]"))),
                  ("history", None, "stored as run 7 in [the] history")]
    rig.record = types.SimpleNamespace(
        host=types.SimpleNamespace(cpu_model="Test CPU 9000", cpu_id="GenuineIntel family 6", usable_cpus=8,
                                   cpu_flags=("avx2", "sha_ni")),
        verify=[VerifyResult("cython", "avx2", 12, True), VerifyResult("python", "python", 12, True)],
        benchmarks=[as_record(bench_row(power_source="rapl [package]", joules_per_th=2.0e6)),
                    as_record(bench_row("python", "python", power_source="rapl [package]", joules_per_th=4.0e6))],
        probes=[], skipped=[{"backend": "numba", "reason": "no [numba] here"}],
        history_note="stored as run 7: hashbench history --runs", probe_failures=0)

    def execute(output, **kwargs):
        rig.asked.append((output, kwargs))
        for event in rig.events:
            kwargs["listen"](*event)
        if rig.stop:
            raise rig.stop
        return rig.record

    monkeypatch.setattr(run_mod, "execute", execute)
    monkeypatch.setattr(run_mod, "default_output", lambda: rig.out)
    monkeypatch.setattr(history_mod, "check_location", lambda db: rig.checked.append(db))
    # the closing valuation of the file written (tested on real run files in test_run_pipeline.py): where and with what
    rig.valued = []
    monkeypatch.setattr(cli, "print_run_value", lambda path, market: (rig.valued.append((path, market)),
                                                                      cli.out.print("valued")))
    return rig


def test_run_hands_on_its_options(capsys, run_rig, tmp_path):
    code, _, _ = hashbench(capsys, "run")
    assert code == 0 and run_rig.checked == [None]
    [(output, kwargs)] = run_rig.asked
    energy = kwargs.pop("energy")
    kwargs.pop("listen")
    assert output == run_rig.out and kwargs == {"quick": False, "seconds": None, "db": None, "history": True,
                                                "probes": True}
    assert (energy.mode, energy.watts, energy.idle_watts) == ("auto", None, None)
    full_idle = energy.idle_seconds
    out = tmp_path / "mine.json"
    code, _, _ = hashbench(capsys, "run", "--quick", "--output", str(out), "--seconds", "0.25", "--db",
                           str(tmp_path / "h.sqlite"), "--no-probes", "--energy", "declared", "--watts", "90",
                           "--idle-watts", "30")
    assert code == 0 and run_rig.checked == [None, str(tmp_path / "h.sqlite")]
    output, kwargs = run_rig.asked[-1]
    energy = kwargs.pop("energy")
    kwargs.pop("listen")
    assert output == out and kwargs == {"quick": True, "seconds": 0.25, "db": str(tmp_path / "h.sqlite"),
                                        "history": True, "probes": False}
    assert (energy.mode, energy.watts, energy.idle_watts) == ("declared", 90.0, 30.0)
    assert energy.idle_seconds < full_idle  # --quick measures idle power for less time
    code, _, _ = hashbench(capsys, "run", "--no-history", "--db", "nope://x", "--seconds", "1e-9")
    assert code == 0 and run_rig.checked == [None, str(tmp_path / "h.sqlite")]  # the history is never opened
    assert run_rig.asked[-1][1]["history"] is False and run_rig.asked[-1][1]["seconds"] == 1e-9
    hashbench(capsys, "run", "--quick", "--idle-seconds", "3", "--no-history")
    assert run_rig.asked[-1][1]["energy"].idle_seconds == 3.0  # given: --quick does not shorten it


@pytest.mark.parametrize("args, message", [
    (["--seconds", "0"], "--seconds must be > 0 and finite, got 0.0"),
    (["--seconds", "-2"], "--seconds must be > 0 and finite, got -2.0"),
    (["--seconds", "nan"], "--seconds must be > 0 and finite, got nan"),
    (["--seconds", "inf"], "--seconds must be > 0 and finite, got inf"),
    (["--output", "no-such-folder/run.json"], "output folder 'no-such-folder' does not exist"),
    (["--watts", "0"], "--watts must be > 0 and finite, got 0.0"),
])
def test_run_refusals_before_measuring(capsys, run_rig, args, message):
    code, out, err = hashbench(capsys, "run", *args)
    assert code == 2 and one_line(err) == f"hashbench: error: {message}" and out == ""
    assert run_rig.asked == [] and run_rig.checked == []


def test_run_prints_the_host_table_notes_and_where_the_result_went(capsys, run_rig):
    code, out, err = hashbench(capsys, "run")
    assert code == 0
    lines = out.splitlines()
    assert lines[0] == "host: Test CPU 9000 (GenuineIntel family 6), 8 usable CPU(s), flags avx2 sha_ni"
    assert cells(lines, "backend")[5:] == ["J/TH", "ok"]
    assert cells(lines, "cython")[5:] == ["2.00M", "yes"] and cells(lines, "python")[5:] == ["4.00M", "yes"]
    assert lines[-5:] == ["J/TH energy: rapl [package]", "skipped numba: no [numba] here", "valued",
                          f"result written to {run_rig.out}", "stored as run 7: hashbench history --runs"]
    assert run_rig.valued == [(run_rig.out, None)]
    # what the display said while it ran (markup in names and messages printed as written)
    said = err.splitlines()
    assert said[:7] == ["energy for cpu: rapl [package]", "verifying cython avx2 on real block headers…",
                        "  cython (avx2): 12 headers pass", "verifying python python on real block headers…",
                        "  python (python): 12 headers FAIL ['h 1: missed']", "probe gemm [fp32]…",
                        "probe llm [cpu] failed: out of [memory]"]
    # the bars as they stood at the end: cython done at its median, python a quarter through at its last sample,
    # numba never started
    assert [" ".join(ln.split()) for ln in said[7:]] == [f"cython avx2 ×1 {'━' * 40} 2.50 MH/s 0:00:00",
                                                         f"python python ×1 {'━' * 10} 750.00 kH/s 0:00:00",
                                                         f"numba numba ×2 {'━' * 40} -:--:--"]


def test_run_history_lines_are_never_broken_on_a_narrow_terminal(capsys, monkeypatch, run_rig):
    """Each is a command to paste."""
    monkeypatch.setattr(cli.out, "_width", 40)
    monkeypatch.setattr(cli.err, "_width", 40)
    run_rig.events = [("history", None, "history not stored: locked; store it later with: hashbench history --add "
                                        "/some/long/path/run.json")]
    run_rig.record.history_note = run_rig.events[0][2].replace("locked", "offline")
    _, out, _ = hashbench(capsys, "run")
    assert out.splitlines()[-1] == run_rig.record.history_note
    run_rig.stop = KeyboardInterrupt()
    _, _, err = hashbench(capsys, "run")
    assert err.splitlines()[-1] == run_rig.events[0][2]


def test_run_without_a_cpu_id_energy_or_skips(capsys, run_rig):
    run_rig.record.host.cpu_id = ""
    run_rig.record.benchmarks = [as_record(bench_row())]
    run_rig.record.skipped = []
    run_rig.events = []
    code, out, err = hashbench(capsys, "run")
    assert code == 0 and err == ""  # no plan event: no display drawn, not even an empty line
    lines = out.splitlines()
    assert lines[0] == "host: Test CPU 9000, 8 usable CPU(s), flags avx2 sha_ni"
    assert cells(lines, "backend")[5:] == ["ok"]
    assert lines[-2:] == [f"result written to {run_rig.out}", "stored as run 7: hashbench history --runs"]


def test_run_probe_table_sources_and_notes(capsys, run_rig):
    run_rig.events = []
    run_rig.record.probes = [as_record(probe_row(flags=("fits in [L2]",), energy_flags=("declared power",))),
                             as_record(probe_row("cuda:0", None, flags=("declared power",))),
                             as_record(probe_row("cuda:1", "nvml", energy_flags=("fits in [L2]",)))]
    code, out, _ = hashbench(capsys, "run")
    assert code == 0
    lines = out.splitlines()
    assert any(ln.strip() == "AI probes on cpu (measured)" for ln in lines)
    assert any(ln.strip() == "AI probes on cuda:1 (measured)" for ln in lines)
    notes = [ln for ln in lines if ln.startswith(("probe energy", "note:"))]
    assert notes == ["probe energy: declared 100 W", "probe energy: none", "probe energy: nvml",
                     "note: declared power", "note: fits in [L2]"]


@pytest.mark.parametrize("failed_check, probe_failures, code", [(False, 0, 0), (True, 0, 1), (False, 1, 1),
                                                                (True, 2, 1)])
def test_run_exit_code(capsys, run_rig, failed_check, probe_failures, code):
    run_rig.events = []
    run_rig.record.verify[1] = VerifyResult("python", "python", 12, not failed_check)
    run_rig.record.probe_failures = probe_failures
    exited, out, _ = hashbench(capsys, "run")
    assert exited == code and cells(out.splitlines(), "python")[-1] == ("NO" if failed_check else "yes")


def test_run_stopped_says_where_the_finished_measurements_are(capsys, run_rig):
    run_rig.stop = KeyboardInterrupt()
    code, out, err = hashbench(capsys, "run")
    assert code == 130 and out == ""
    assert err.splitlines()[-2:] == [f"interrupted: finished measurements kept in {run_rig.out}",
                                     "stored as run 7 in [the] history"]
    run_rig.events = []
    code, out, err = hashbench(capsys, "run")
    assert code == 130 and err == f"interrupted: finished measurements kept in {run_rig.out}\n"
    run_rig.stop = cli.Interrupted(15)  # SIGTERM: the same, with its own exit code
    code, out, err = hashbench(capsys, "run")
    assert code == 143 and err == f"interrupted: finished measurements kept in {run_rig.out}\n"


# --- kernel-stats -----------------------------------------------------------------------------------------------------

STATS = {"arch": "sm_90", "instructions_per_nonce": 1234.5, "fma_pipe_per_nonce": 100.0,
         "sass_instructions_per_nonce": 2000.25, "nonces_per_iteration": 2, "registers": 48, "spills": 0,
         "stack_bytes": 1024, "lop3": 300.0, "lop": 12.34, "shf": 0.5, "iadd3": 1_000_000.0}


@pytest.fixture
def stats_asked(monkeypatch):
    import hashbench.kernel_stats as stats_mod

    asked = []
    monkeypatch.setattr(stats_mod, "kernel_stats", lambda arch, defines: asked.append((arch, defines)) or STATS)
    return asked


def test_kernel_stats_table(capsys, stats_asked):
    code, out, err = hashbench(capsys, "kernel-stats")
    assert code == 0 and err == "" and stats_asked == [("sm_90", {})]
    lines = out.splitlines()
    assert lines[0].rstrip() == "CUDA kernel for sm_90, static from its SASS"  # on the left
    assert cells(lines, "figure") == ["figure", "value"]
    assert [cells(lines, name)[1] for name in (
        "integer-pipe instructions per nonce", "FMA-pipe instructions per nonce", "all SASS instructions per nonce",
        "nonces per loop iteration", "registers per thread", "spill bytes (stores + loads)", "stack frame bytes",
        "LOP3 per nonce", "two-input LOP per nonce", "SHF (rotates) per nonce", "IADD3 per nonce")] == [
        "1,234.5", "100", "2,000.25", "2", "48", "0", "1,024", "300", "12.34", "0.5", "1,000,000"]
    assert len([ln for ln in lines if ln.startswith("│")]) == 11
    # the values sit right-aligned: the longest and the shortest end in the same column
    ends = {ln.rstrip().rindex(v) + len(v) for ln, v in ((ln, ln.split("│")[2].strip()) for ln in lines
                                                          if ln.startswith("│"))}
    assert len(ends) == 1


def test_kernel_stats_arch_defines_and_json(capsys, stats_asked):
    code, out, err = hashbench(capsys, "kernel-stats", "--arch", "sm_80", "--define", "HB_ROT_ON_FMA=1",
                               "--define", "HB_X", "--json")
    assert code == 0 and err == "" and json.loads(out) == STATS
    assert stats_asked == [("sm_80", {"HB_ROT_ON_FMA": "1", "HB_X": "1"})]
    code, _, err = hashbench(capsys, "kernel-stats", "--define", "1X=2")
    assert code == 2 and "kernel build switch '1X=2' is not NAME or NAME=VALUE" in one_line(err)


# --- main -------------------------------------------------------------------------------------------------------------

def test_version(capsys):
    from hashbench import __version__

    assert hashbench(capsys, "--version") == (0, f"hashbench, version {__version__}\n", "")


def test_help_and_a_bare_hashbench_name_the_program(capsys):
    code, out, err = hashbench(capsys, "--help")
    assert code == 0 and out.startswith("Usage: hashbench [OPTIONS] COMMAND [ARGS]...") and err == ""
    code, out, err = hashbench(capsys, "-h")
    assert code == 0 and out.startswith("Usage: hashbench [OPTIONS] COMMAND [ARGS]...")
    code, out, err = hashbench(capsys)  # the help, as click prints it, not an error
    assert code == 2 and out == "" and err.startswith("Usage: hashbench [OPTIONS] COMMAND [ARGS]...")
    assert "error" not in err
    code, out, err = hashbench(capsys, "scan", "--help")
    assert code == 0 and out.startswith("Usage: hashbench scan [OPTIONS]")


def failing_backends(monkeypatch, exc: BaseException) -> list:
    """`hashbench backends` raising `exc`; the list gets the SIGTERM handler in place while the command ran."""
    seen = []

    def describe():
        import signal

        seen.append(signal.getsignal(signal.SIGTERM))
        raise exc

    monkeypatch.setattr(cli, "describe", describe)
    return seen


@pytest.mark.parametrize("exc, code, line", [
    (InputError("bad [input]"), 2, "hashbench: error: bad [input]"),
    (BackendUnavailable("no such thing"), 2, "hashbench: error: no such thing"),
    (cli.HashbenchError("the backend lied"), 1, "hashbench: error: the backend lied"),
    (PermissionError(13, "Permission denied", "/dev/cpu/0/msr"),
     1, "hashbench: error: [Errno 13] Permission denied: '/dev/cpu/0/msr'"),
    # click ends the line a ^C was echoed on, then re-raises it as Abort
    (KeyboardInterrupt(), 130, "\nhashbench: interrupted"),
    (cli.Interrupted(15), 143, "\nhashbench: terminated"),
])
def test_each_failure_is_one_line_and_its_exit_code(capsys, monkeypatch, exc, code, line):
    failing_backends(monkeypatch, exc)
    assert hashbench(capsys, "backends") == (code, "", line + "\n")


def test_a_click_abort_says_which_signal_stopped_it(capsys, monkeypatch):
    import click

    def abort(cause):
        try:
            raise click.Abort from cause
        except click.Abort as exc:
            return exc

    failing_backends(monkeypatch, abort(cli.Interrupted(15)))
    assert hashbench(capsys, "backends") == (143, "", "hashbench: terminated\n")
    failing_backends(monkeypatch, abort(None))
    assert hashbench(capsys, "backends") == (130, "", "hashbench: interrupted\n")
    failing_backends(monkeypatch, click.Abort())
    assert hashbench(capsys, "backends") == (130, "", "hashbench: interrupted\n")


def test_a_signal_or_exit_outside_the_command_still_ends_right(capsys, monkeypatch):
    import click

    def raising(exc):
        def main(**_):
            raise exc
        return main

    monkeypatch.setattr(cli.cli, "main", raising(cli.Interrupted(15)))
    assert hashbench(capsys, "backends") == (143, "", "hashbench: terminated\n")
    monkeypatch.setattr(cli.cli, "main", raising(KeyboardInterrupt()))
    assert hashbench(capsys, "backends") == (130, "", "hashbench: interrupted\n")
    chained = cli.Interrupted(15)
    chained.__cause__ = OSError("the write it stopped")  # only click's Abort is unwrapped to its cause
    monkeypatch.setattr(cli.cli, "main", raising(chained))
    assert hashbench(capsys, "backends") == (143, "", "hashbench: terminated\n")
    monkeypatch.setattr(cli.cli, "main", raising(click.exceptions.Exit(3)))  # ctx.exit(3), as market fetch does
    assert hashbench(capsys, "backends") == (3, "", "")


def test_a_click_message_is_kept_to_one_line(capsys, monkeypatch):
    import click

    failing_backends(monkeypatch, click.UsageError("Choose from:\n\ta,\n\tb  c"))
    assert hashbench(capsys, "backends") == (2, "", "hashbench: error: Choose from: a, b c\n")
    failing_backends(monkeypatch, click.ClickException("x"))
    assert hashbench(capsys, "backends")[0] == 1


def test_sigterm_raises_where_ctrl_c_would_while_a_command_runs(capsys, monkeypatch):
    import signal

    assert signal.getsignal(signal.SIGTERM) is signal.SIG_DFL
    seen = failing_backends(monkeypatch, InputError("x"))
    hashbench(capsys, "backends")
    assert seen == [cli._stop] and signal.getsignal(signal.SIGTERM) is signal.SIG_DFL  # put back after
    with pytest.raises(cli.Interrupted) as stopped:
        cli._stop(signal.SIGTERM, None)
    assert stopped.value.exit_code == 143
    # a SIGTERM someone chose to ignore stays ignored
    monkeypatch.setattr(signal, "getsignal", lambda signum: signal.SIG_IGN)
    calls = []
    monkeypatch.setattr(signal, "signal", lambda *args: calls.append(args))
    hashbench(capsys, "backends")
    assert calls == []


def test_main_off_the_main_thread_sets_no_handler(capsys, monkeypatch):
    import signal
    import threading

    failing_backends(monkeypatch, InputError("x"))
    calls = []
    monkeypatch.setattr(signal, "signal", lambda *args: calls.append(args))
    codes = []

    def call():
        try:
            main(["backends"])
        except SystemExit as exc:
            codes.append(exc.code)

    worker = threading.Thread(target=call)
    worker.start()
    worker.join()
    assert codes == [2] and calls == []


def test_a_command_that_returns_nothing_exits_0(monkeypatch):
    registry(monkeypatch, FakeBackend("python"))
    with pytest.raises(SystemExit) as exited:
        main(["backends", "--json"])
    assert exited.value.code == 0
