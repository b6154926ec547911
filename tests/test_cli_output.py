"""What a person reads: labels that survive rich's markup, figures that do not round to nothing, provenance words
that match where a number came from, and the README's own examples working as written."""

from __future__ import annotations

import io
import json
import os
import subprocess
import sys

import pytest
from economics_helpers import invoke, invoke_json, write_json

GENESIS = (
    "0100000000000000000000000000000000000000000000000000000000000000000000003ba3edfd7a7b12b27ac72c3e67768f617fc81bc3"
    "888a51323a9fb8aa4b1e5e4a29ab5f49ffff001d1dac2b7c"
)


def hashbench(*args: str, columns: int = 80) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "hashbench", *args], capture_output=True, text=True, timeout=300,
                          check=False, env={**os.environ, "COLUMNS": str(columns)})


def test_scan_text_keeps_its_label_and_says_when_the_list_is_cut():
    # 2^-16 target: about 3 hits in 200,000 nonces of the genesis header, more than the 1 listed.
    p = hashbench("scan", "--header", GENESIS, "--count", "200000", "--bits", "1f00ffff", "--max-found", "1",
                  columns=60)
    assert p.returncode == 0, p.stderr
    first = p.stdout.splitlines()[0]
    assert "[measured]" in p.stdout, first  # rich once read "[measured]" as a markup tag and dropped it
    hits = json.loads(hashbench("scan", "--header", GENESIS, "--count", "200000", "--bits", "1f00ffff",
                                "--max-found", "1", "--json").stdout)
    assert hits["hits"] > 1 and len(hits["found"]) == 1
    assert f"{hits['hits']} hit(s) (the first 1 listed: --max-found)" in p.stdout
    # A hash is copied from the terminal: never broken across lines, however narrow the terminal.
    [line] = [ln for ln in p.stdout.splitlines() if ln.lstrip().startswith("nonce")]
    assert line.endswith(hits["found"][0]["hash"])


def test_verify_takes_a_shell_glob_after_headers(tmp_path):
    """README: `--headers ../shared/data/*.csv`; the shell hands every file after the first as an argument."""
    from conftest import SHARED_DATA

    sources = sorted(SHARED_DATA.glob("*.csv"))
    if len(sources) < 2:
        pytest.skip(f"the two shared header files are not in {SHARED_DATA}")
    files, expected = [], 0
    for source in sources:
        lines = source.read_text().splitlines()
        subset = tmp_path / source.name  # keeps the network in the name, as the real files do
        subset.write_text("\n".join(lines[:1] + lines[1::200]) + "\n")
        files.append(str(subset))
        expected += len(lines[1::200])
    p = hashbench("verify", "--backend", "cython", "--headers", *files, "--json")
    assert p.returncode == 0, p.stderr
    [row] = json.loads(p.stdout)
    assert row["passed"] and row["headers"] == expected


def _declared_run(tmp_path, *, provenance_field: bool):
    bench = {"backend": "cython", "impl": "avx2", "threads": 2, "hashrate": 2.0e7, "seconds": 5.0,
             "hashes": 100_000_000, "energy_j": 600.0, "power_source": "declared 120 W"}
    decode = {"probe": "llm-decode", "device": "cpu", "preset": "cpu-tiny", "dtype": "fp32", "batch": 1,
              "value": 100.0, "unit": "tokens/s", "energy_j": 120.0, "joules_per_unit": 1.2,
              "power_source": "declared 120 W"}
    if provenance_field:  # what `hashbench run --energy declared --watts 120` writes today
        bench["energy_provenance"] = decode["energy_provenance"] = "declared"
    return write_json(tmp_path / "run.json", {"schema_version": 1, "kind": "hashbench-run", "benchmarks": [bench],
                                              "probes": [decode]})


@pytest.mark.parametrize("provenance_field", [True, False])
def test_yield_from_a_run_with_declared_power_does_not_call_it_measured(tmp_path, provenance_field):
    # cpu-tiny, what a CPU run decodes, is no priced model class: its tokens take a declared price
    data = invoke_json("yield", "--from-run", str(_declared_run(tmp_path, provenance_field=provenance_field)),
                       "--usd-per-mtok", "0.01")
    for section in ("mining", "ai"):
        watts = data[section]["inputs"]["watts"]
        assert watts["value"] == pytest.approx(120.0)
        assert (watts["kind"], watts["source"]) == ("declared", "declared (run file)"), section
    # measured rate over declared power: an estimate, not a measurement
    assert data["mining"]["figure_kinds"]["joules_per_th"] == "estimated"
    assert data["ai"]["figure_kinds"]["joules_per_token"] == "estimated"
    # the hashrate and tokens/s themselves were measured
    assert data["mining"]["inputs"]["hashrate_hps"]["kind"] == "measured"
    assert data["ai"]["inputs"]["tokens_per_second"]["kind"] == "measured"


def test_money_too_small_for_cents_keeps_three_figures():
    from hashbench.units import format_fixed, format_usd

    assert format_usd(7.31e-7) == "$0.000000731"
    assert format_usd(-1.234e-5, 4) == "-$0.0000123"
    assert format_usd(0.0) == "$0.00" and format_usd(1234.5) == "$1,234.50"
    assert format_fixed(1.6e-11, 8) == "0.0000000000160"
    # a CPU hashing: 20 MH/s earns about a millionth of a dollar a day, not "$0.00"
    result = invoke("yield", "--hashrate", "20M", "--watts", "100")
    assert result.exit_code == 0, result.stderr
    revenue = next(line for line in result.stdout.splitlines() if "revenue per day" in line)
    assert "$0.00 " not in revenue and "$0.00000" in revenue


def test_energy_per_unit_columns_read_evenly():
    from hashbench.cli import _si
    from hashbench.cli_probe import _per_unit

    assert [_si(v) for v in (9e6, 44e6, 3.94e6, 13.5, 0.5)] == ["9.00M", "44.0M", "3.94M", "13.5", "0.500"]
    # the prefix goes by the figure as printed: 999.6 rounds to 1000, which is 1.00k
    assert [_si(v) for v in (999.6, 999.4, 999_700.0)] == ["1.00k", "999", "1.00M"]
    assert _per_unit(5460.0, "TFLOP") == "5.46 kJ/TFLOP"  # was "5.46e+03 J/TFLOP"
    assert _per_unit(0.169, "token") == "0.169 J/token" and _per_unit(None, "token") == "—"


def test_bench_table_spread_is_in_the_medians_unit_with_separators():
    from rich.console import Console

    from hashbench.cli import rate_table

    row = {"backend": "cython", "impl": "portable", "threads": 1, "hashrate": 977_930.0, "hashrate_min": 812_010.0,
           "hashrate_max": 1_146_170.0}
    edge = {**row, "hashrate": 999_999.0, "hashrate_min": 999_000.0, "hashrate_max": 1_001_000.0}
    console = Console(width=200, record=True)
    console.print(rate_table([row, edge]))
    text = console.export_text()
    assert "977.93 kH/s" in text and "812.01 – 1,146.17" in text
    assert "1.00 MH/s" in text and "1.00 – 1.00" in text  # was "1000.00 kH/s": the prefix chosen before rounding


def test_report_keeps_runs_apart_and_values_the_newest(tmp_path):
    """Two runs' probes side by side (one trace each, grouped), never summed into one bar; the money chart values
    the newest run whatever the order the results were given in, and says what its power rests on."""
    pytest.importorskip("plotly", reason="the HTML report needs plotly (results extra)")
    from results_helpers import hash_measurement, make_run, noisy, probe_records

    from hashbench.results.report import build_sections
    from hashbench.results.schema import measurement_from_probe

    older = make_run([hash_measurement(noisy(2e7, 10, 1))], started="2025-11-18T10:00:00+00:00", probes=True)
    twice = [measurement_from_probe({**p, "value": 2 * p["value"]}) for p in probe_records()]
    newer = make_run([hash_measurement(noisy(2e7, 10, 2), energy_j=3.0), *twice],
                     started="2025-11-19T10:00:00+00:00")
    sections = {s.title: s for s in build_sections([newer, older], [])}
    probes = sections["Inference probes"].figure
    rates = [t for t in probes.data if t.xaxis in (None, "x")]
    assert len(rates) == 2 and probes.layout.barmode == "group"
    assert {t.name for t in rates} == {"2025-11-18 10:00 @ aaaaaaaaaa", "2025-11-19 10:00 @ aaaaaaaaaa"}
    assert max(rates[0].y) == pytest.approx(2 * max(rates[1].y))  # each bar is one run's own rate
    money = sections["Mining vs AI, per kWh"]
    labels = list(money.figure.data[0].x)
    assert "this machine, mining (measured power)" in labels, (labels, money.notes)
    assert "this machine, AI (measured power)" in labels


@pytest.mark.parametrize("columns", [80, 100])
def test_plan_grid_cells_are_never_broken_mid_figure(columns):
    """Every sensitivity cell is a profit and a mining share on two lines of their own, at 80 and 100 columns."""
    from pathlib import Path

    sites = Path(__file__).resolve().parents[1] / "examples" / "sites.toml"
    p = hashbench("plan", str(sites), columns=columns)
    assert p.returncode == 0, p.stderr
    lines = p.stdout.splitlines()
    money = [i for i, ln in enumerate(lines) if ln.startswith("│") and " T " in ln.split("│")[1]]  # per difficulty
    assert len(money) == 2 * 3 * 5, p.stdout  # two sites × three power prices × five difficulties
    for i in money:
        line, share = lines[i], lines[i + 1]
        cells = [c.strip() for c in line.split("│")[2:-1]]
        assert len(cells) == 5 and all(c.startswith("$") and c.endswith("k") for c in cells), line
        shares = [c.strip() for c in share.split("│")[2:-1]]
        assert len(shares) == 5 and all(c.endswith("% BTC") for c in shares), share
        assert max(len(line), len(share)) <= columns


def test_kernel_stats_names_what_it_counts():
    from hashbench.backends.cuda_build import compile_with_nvrtc  # noqa: F401  (the stats need NVRTC's wheel)

    p = hashbench("kernel-stats", "--arch", "sm_90")
    if p.returncode != 0:
        pytest.skip(f"no NVRTC or disassembler here: {p.stderr.strip()}")
    for name in ("integer-pipe instructions per nonce", "all SASS instructions per nonce", "registers per thread",
                 "spill bytes (stores + loads)"):
        assert name in p.stdout
    stats = json.loads(hashbench("kernel-stats", "--arch", "sm_90", "--json").stdout)
    line = next(ln for ln in p.stdout.splitlines() if "integer-pipe" in ln)
    assert f"{stats['instructions_per_nonce']:,.2f}".rstrip("0").rstrip(".") in line


def test_probe_table_says_what_its_roofline_is_relative_to():
    """A CPU's membw and best GEMM read 100 % by construction (their roof is their own measurement): the table
    must say so rather than let 100 % read as a datasheet peak reached."""
    from rich.console import Console

    from hashbench.cli_probe import results_table

    row = {"probe": "membw", "device": "cpu", "dtype": None, "preset": "64 MiB", "batch": None, "value": 1.3e10,
           "unit": "B/s",
           "reference_ratio": 1.6, "reference_impl": "tensor.sum (read only)", "roofline_fraction": 1.0,
           "joules_per_unit": None, "per": "GB", "ms_per_token": None}
    console = Console(width=80, record=True)
    console.print(results_table([row]))
    text = " ".join(console.export_text().split())
    assert "100 %" in text and "A measured roof reads 100 % on the probe that set it" in text


def test_decode_ms_per_token_says_it_is_per_sequence_at_a_batch():
    """32 sequences at 10 ms a step make 32 ÷ 0.010 s = 3,200 tokens/s: the 10 ms beside 3,200 tokens/s is each
    sequence's wait per token, not 1000 ÷ 3,200 = 0.31 ms, and the row says so; at batch 1 the two agree."""
    from hashbench.cli_probe import probe_details
    from hashbench.units import format_rate

    row = {"probe": "llm-decode", "device": "cuda:0", "dtype": "bf16", "preset": "llama-8b", "batch": 32,
           "value": 3200.0, "unit": "tokens/s", "ms_per_token": 10.0}
    assert format_rate(row["value"], row["unit"]) == "3,200 tok/s"
    assert probe_details([row]) == ["llm-decode bf16 llama-8b ×32: 10.00 ms/token per sequence (a step makes 32 "
                                    "tokens)"]
    row = {**row, "batch": 1, "value": 100.0}
    assert format_rate(row["value"], row["unit"]) == "100.0 tok/s"
    assert probe_details([row]) == ["llm-decode bf16 llama-8b ×1: 10.00 ms/token"]


def test_compare_table_says_what_its_columns_are(tmp_path):
    from results_helpers import make_run, noisy, rate, run_cli

    from hashbench.results.pbjson import write_result

    paths = []
    for center in (2.0e7, 1.5e7):
        paths.append(tmp_path / f"{len(paths)}.json")
        write_result(make_run([rate("sha256d[cython-avx2-x1]", noisy(center, 15, len(paths)))]), paths[-1])
    code, out, err = run_cli("compare", *map(str, paths))
    assert code == 1, err  # 25 % slower: a regression
    assert "slower" in out
    for words in ("change: the Hodges-Lehmann estimate", "slower? / faster?: beyond the threshold but not significant"):
        assert words in " ".join(out.split())


def _compare_at(width: int, report) -> list[str]:
    from rich.console import Console

    from hashbench.cli_results import _compare_table

    console = Console(width=width, file=io.StringIO(), highlight=False, color_system=None)
    console.print(_compare_table(report, width))
    return console.file.getvalue().splitlines()


def test_compare_fits_its_terminal_and_never_cuts_a_figure():
    """At 80 columns the eight-column table was 89 wide (the terminal wrapped every line) and, printed to fit, cut
    its last column; a figure folded inside its number ("502.8" over "6"). Below 100 columns ratio and A (both in
    --json) are left out and said so, each figure wraps only between its number and its unit, and nothing is cut."""
    from results_helpers import make_run, noisy, rate

    from hashbench.cli_results import fmt_value
    from hashbench.results.compare import compare_runs

    names = ["sha256d[cython-sha-ni-x1]", "gemm[cpu-1024x1024x1024-fp32]", "llm-decode[cpu-cpu-small-fp32-b1]"]
    base = make_run([rate(n, noisy(5.0286e5 * 10 ** i, 12, i)) for i, n in enumerate(names)])
    cand = make_run([rate(n, noisy(2.4867e5 * 10 ** i, 12, 7 + i)) for i, n in enumerate(names)]
                    + [rate("membw[cpu-64 MiB]", noisy(1.341e10, 12, 3))])
    report = compare_runs(base, cand)
    for width in (80, 99, 100, 160):
        lines = _compare_at(width, report)
        text = " ".join(" ".join(lines).split())
        assert max(len(line) for line in lines) <= width and "…" not in text
        header = next(line for line in lines if line.startswith("┃ benchmark"))
        columns = ["benchmark", "base", "cand", "change", "p", "verdict"] if width < 100 else [
            "benchmark", "base", "cand", "ratio", "change", "p", "A", "verdict"]
        assert [h.strip() for h in header.split("┃")[1:-1]] == columns
        table_rows = [line for line in lines if line.startswith("│")]
        # every figure whole: its number on one line (wrapped or not, the unit follows it)
        figures = [fmt_value(v, r.unit) for r in report.rows for v in (r.base, r.cand) if v is not None]
        assert len(figures) == 7
        for number in (f.split()[0] for f in figures):
            assert any(f" {number} " in row for row in table_rows), (width, number)
        if width < 100:
            assert "(ratio of the medians and the A effect size: on a terminal 100 columns wide, or --json)" in text
        else:
            assert "A: the Vargha-Delaney probability" in text and "ratio: of the medians" in text
    wide = _compare_at(160, report)
    first = report.rows[0]
    assert any(first.name in line and f" {figures[0]} " in line and f" {first.ratio:.3f} " in line for line in wide)


def test_the_command_list_gives_each_command_its_whole_first_sentence():
    """click cut every summary at about 45 characters ("Hashrate at a difficulty-1 share target: warm-up, then...")."""
    from click.testing import CliRunner

    from hashbench.cli import cli

    for args in ([], ["market"]):
        text = CliRunner().invoke(cli, [*args, "--help"], terminal_width=100).output
        listing = text[text.index("Commands:"):]
        assert "..." not in listing
    listing = CliRunner().invoke(cli, ["--help"]).output
    assert "repeated timed scans (median reported), with the joules" in " ".join(listing.split())


@pytest.mark.parametrize("command", ["backends", "scan", "bench", "verify", "run", "energy-check"])
def test_devices_help_names_the_environment_default(command):
    """--help said "default: every GPU" while HASHBENCH_CUDA_DEVICES, when set, is the default (README: backends)."""
    from click.testing import CliRunner

    from hashbench.cli import cli

    text = " ".join(CliRunner().invoke(cli, [command, "--help"], terminal_width=100).output.split())
    assert "(default: $HASHBENCH_CUDA_DEVICES, else every GPU)" in text


def test_history_runs_at_80_columns_keeps_ids_usable(tmp_path):
    """`history --runs` lists ids people pass back as @RUN_ID: at 80 columns the id and start time are whole."""
    from pathlib import Path

    result = Path(__file__).resolve().parents[1] / "benchmarks" / "results" / "cpu-epyc-zen1-2core-2026-12-01.json"
    db = f"sqlite:///{tmp_path / 'h.sqlite'}"
    assert hashbench("history", "--db", db, "--add", str(result)).returncode == 0
    [run] = json.loads(hashbench("history", "--db", db, "--runs", "--json").stdout)
    p = hashbench("history", "--db", db, "--runs", columns=80)
    assert p.returncode == 0, p.stderr
    [row] = [line for line in p.stdout.splitlines() if line.startswith("│ ")]
    assert f"│ {run['run_id'][:8]} │ {run['started'][:16].replace('T', ' ')} │" in row, row
    assert max(len(line) for line in p.stdout.splitlines() if line[:1] in "┏┃┡│└") <= 80


def test_market_show_fits_80_columns_without_cutting_a_value():
    p = hashbench("market", "show", columns=80)
    assert p.returncode == 0, p.stderr
    assert max(len(line) for line in p.stdout.splitlines()) <= 80
    assert "…" not in p.stdout and "$38.20/PH/s/day" in p.stdout
