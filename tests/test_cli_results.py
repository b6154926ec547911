"""`hashbench history | compare | export | report` as printed: what each line and cell says (cli_results.py)."""

from __future__ import annotations

import json

import pytest
from results_helpers import HOST, hash_measurement, make_run, noisy, run_cli

from hashbench.results.pbjson import write_result


def _stored(tmp_path, *runs) -> str:
    db = str(tmp_path / "h.sqlite")
    files = []
    for i, run in enumerate(runs):
        path = tmp_path / f"r{i}.json"
        write_result(run, path)
        files += ["--add", str(path)]
    code, _, err = run_cli("history", "--db", db, *files, "--json")
    assert code == 0 and err == ""  # --json: nothing on stderr either
    return db


def test_history_that_finds_nothing_says_what_it_looked_for(tmp_path):
    db = _stored(tmp_path, make_run([hash_measurement(noisy(2e7, 5, 1))]))
    code, out, _ = run_cli("history", "--db", db, "--fingerprint", "0123abcd")
    assert code == 0 and out == f"no runs in the history sqlite:///{db} for machine 0123abcd\n"
    code, out, _ = run_cli("history", "--db", db, "--backend", "numba", "--fingerprint", HOST.fingerprint)
    assert code == 0 and " ".join(out.split()) == (f"no runs in the history sqlite:///{db} for backend 'numba' for "
                                                   f"machine {HOST.fingerprint}; the backends in it: cython")
    code, out, _ = run_cli("history", "--db", db, "--backend", "numba", "--fingerprint", "0123abcd")
    assert code == 0 and out == f"no runs in the history sqlite:///{db} for backend 'numba' for machine 0123abcd\n"
    code, out, _ = run_cli("history", "--db", db, "--runs", "--fingerprint", "0123abcd")
    assert code == 0 and out == f"no runs in the history sqlite:///{db} for machine 0123abcd\n"


# --- the cells ------------------------------------------------------------------------------------------------------

@pytest.mark.parametrize(("value", "unit", "text"), [
    (None, "s", "–"), (None, "H/s", "–"),
    (1.5, "s", "1.500 s"), (1.0, "s", "1.000 s"), (0.0025, "s", "2.500 ms"), (1e-3, "s", "1.000 ms"),
    (-0.0025, "s", "-2.500 ms"), (2.5e-6, "s", "2.500 µs"), (1e-6, "s", "1.000 µs"), (2.5e-9, "s", "2.500 ns"),
    (1e-9, "s", "1.000 ns"), (2.5e-12, "s", "2.5e-12 s"), (0.0, "s", "0 s"),
    (2e7, "H/s", "20.00 MH/s"), (3.14159, "W", "3.142 W"), (12345.0, "J", "1.234e+04 J"),
])
def test_fmt_value(value, unit, text):
    from hashbench.cli_results import fmt_value

    assert fmt_value(value, unit) == text


def test_fmt_change_p_and_sparkline():
    from hashbench.cli_results import fmt_change, fmt_p, sparkline

    assert [fmt_change(c) for c in (None, 0.1234, -0.05, 0.0)] == ["–", "+12.3%", "-5.0%", "+0.0%"]
    # below 1e-4 a bound: the digits say nothing more, and an underflow to 0 is no measured probability
    assert [fmt_p(p) for p in (None, 0.0, 5e-5, 1e-4, 0.0312, 0.5)] == ["–", "<1e-4", "<1e-4", "0.0001", "0.031",
                                                                        "0.5"]
    assert sparkline([3.0, 3.0, 3.0]) == "▄▄▄"  # flat: the middle bar, not a division by zero
    assert sparkline([0.0, 1, 2, 3, 4, 5, 6, 7]) == "▁▂▃▄▅▆▇█"
    assert sparkline([10.0, 17.0, 13.5, 11.0]) == "▁█▅▂"


def test_emit_json_is_indented_by_two(capsys):
    from hashbench.cli_results import emit_json

    emit_json({"a": [1, None]})
    assert capsys.readouterr().out == '{\n  "a": [\n    1,\n    null\n  ]\n}\n'


# --- the compare table ----------------------------------------------------------------------------------------------

def _report(rows, failures=()):
    from hashbench.results.compare import CompareReport, Gate

    return CompareReport("@latest~1", "new [run].json", HOST.fingerprint, Gate(0.05, 0.01), tuple(rows),
                         notes=("a [note]",), failures=tuple(failures))


def _rows():
    from hashbench.results.compare import SLOWER, TOO_FEW, UNCHANGED, Row

    return [Row("sha256d[cython-avx2-x1]", "H/s", SLOWER, base=2e7, cand=1.5e7, change=-0.25, p_value=3e-6,
                effect=0.987),
            Row("bench_[x]", "s", UNCHANGED, base=0.002, cand=0.0021, change=-0.049, p_value=0.2, effect=0.61),
            Row("sha256d[numba-cpu-x1]", "H/s", TOO_FEW, base=0.0, cand=None)]


def test_compare_table_columns_cells_and_words():
    from hashbench.cli_results import _compare_table

    table = _compare_table(_report(_rows()), 100)
    assert table.title == (r"@latest~1 → new \[run].json (gate: Hodges-Lehmann change worse than -5% and one-sided "
                           "Mann-Whitney p < 0.01)")
    assert table.caption == ("ratio: of the medians; change: the Hodges-Lehmann estimate; A: the Vargha-Delaney "
                             "probability that a candidate sample lies on the verdict's side of a base sample (0.5 = "
                             "no effect); slower? / faster?: beyond the threshold but not significant")
    assert (table.title_justify, table.caption_justify) == ("left", "left")
    layout = [(c.header, c.justify, c.no_wrap, c.overflow, c.min_width, c.max_width) for c in table.columns]
    # never cut: the name matches across runs; a figure wraps only between its number and its unit
    assert layout == [("benchmark", "left", False, "fold", 16, None),
                      ("base", "right", False, "fold", 5, None), ("cand", "right", False, "fold", 5, None),
                      ("ratio", "right", True, "fold", None, None), ("change", "right", True, "fold", None, None),
                      ("p", "right", True, "fold", None, None), ("A", "right", True, "fold", None, None),
                      ("verdict", "left", False, "fold", 9, None)]
    narrow = _compare_table(_report(_rows()), 99)  # under 100 columns: ratio and A are left to --json
    assert [(c.header, c.min_width, c.max_width) for c in narrow.columns] == [
        ("benchmark", 16, None), ("base", 5, 5), ("cand", 5, 5), ("change", None, None), ("p", None, None),
        ("verdict", 9, None)]
    assert narrow.caption == ("change: the Hodges-Lehmann estimate (ratio of the medians and the A effect size: on a "
                              "terminal 100 columns wide, or --json); slower? / faster?: beyond the threshold but not "
                              "significant")
    assert [list(c.cells) for c in narrow.columns][3:5] == [["-25.0%", "-4.9%", "–"], ["<1e-4", "0.2", "–"]]
    cells = [list(c.cells) for c in table.columns]
    assert cells == [
        [r"sha256d\[cython-avx2-x1]", r"bench_\[x]", r"sha256d\[numba-cpu-x1]"],
        ["20.00 MH/s", "2.000 ms", "0.00 H/s"], ["15.00 MH/s", "2.100 ms", "–"],
        ["0.750", "1.050", "–"], ["-25.0%", "-4.9%", "–"], ["<1e-4", "0.2", "–"], ["0.99", "0.61", "–"],
        ["[bold red]slower[/bold red]", "unchanged", "[yellow]too few samples[/yellow]"]]


@pytest.mark.parametrize(("rows", "failures", "last"), [
    (lambda rows: rows, (), "1 regression(s)"),
    (lambda rows: rows[1:], ("new: cython failed verification",), "no slowdown, but the gate fails (above)"),
    (lambda rows: rows[1:], (), "no regression"),
])
def test_compare_report_ends_with_its_verdict(monkeypatch, rows, failures, last):
    from rich.console import Console

    from hashbench import cli_results

    console = Console(width=300, record=True, highlight=False, soft_wrap=True)
    monkeypatch.setattr(cli_results, "out", console)
    cli_results._print_report(_report(rows(_rows()), failures))
    lines = console.export_text().splitlines()
    assert lines[-1] == last
    assert "a [note]" in lines and all(f"fails the gate: {f}" in lines for f in failures)
    assert lines[0].startswith("@latest~1 → new [run].json (gate:")


# --- the command bodies (mutmut leaves click-decorated functions alone: these were mutated by hand) ----------------

@pytest.fixture
def wide(monkeypatch):
    """The commands' stdout console, wide enough that no table wraps."""
    from rich.console import Console

    from hashbench import cli_results

    console = Console(width=250, record=True, highlight=False, soft_wrap=True)
    monkeypatch.setattr(cli_results, "out", console)
    return console


def table_lines(console) -> list[str]:
    """What the console printed (and clears it), a line each, with the table's borders and runs of spaces squeezed."""
    return [" ".join(line.replace("│", " ").replace("┃", " ").split()) for line in console.export_text().splitlines()]


def test_history_runs_table_names_source_commit_completion_and_verification(tmp_path, wide):
    from dataclasses import replace

    from hashbench.results.schema import Check

    def run(day, **changes):
        return replace(make_run([hash_measurement([2e7] * 5)], started=f"2025-11-{day}T10:00:00Z"), **changes)

    runs = [run(20, source="hashbench ab", host=replace(HOST, git_dirty=True), complete=False),
            run(21, source="pytest-benchmark", checks=[Check("cython", "avx2", 4, True)]),
            run(22, checks=[Check("numba", "cpu", 4, False, ("height 2016",))]),
            run(23, source="elsewhere", host=replace(HOST, git_commit=None))]
    db = _stored(tmp_path, *runs)
    code, _, err = run_cli("history", "--db", db, "--runs")
    assert code == 0, err
    lines = table_lines(wide)
    fp = HOST.fingerprint[:8]
    rows = [f"{runs[3].run_id[:8]} 2025-11-23 10:00 elsewhere yes – {fp}",  # newest first
            f"{runs[2].run_id[:8]} 2025-11-22 10:00 run aaaaaaa yes FAILED {fp}",
            f"{runs[1].run_id[:8]} 2025-11-21 10:00 pytest aaaaaaa yes yes {fp}",
            f"{runs[0].run_id[:8]} 2025-11-20 10:00 ab aaaaaaa+ no – {fp}"]
    assert [line for line in lines if line[:8] in {r.run_id[:8] for r in runs}] == rows
    assert f"run {runs[2].run_id[:8]}: numba (cpu) failed verification on real block headers (wrong nonces): its " \
           "hashrates time a kernel that gives wrong answers" in lines
    machine = json.loads(run_cli("history", "--db", db, "--runs", "--json")[1])[0]["machine"]
    assert lines[-1] == f"machine {HOST.fingerprint}: {machine}"
    code, out, _ = run_cli("history", "--db", db, "--runs", "--limit", "2", "--json")
    assert [r["run_id"] for r in json.loads(out)] == [runs[3].run_id, runs[2].run_id]


def test_history_trend_row_first_last_change_and_the_last_ten_as_a_sparkline(tmp_path, wide):
    from hashbench.results.schema import Check

    values = [1e7 + i * 1e6 for i in range(12)]
    runs = [make_run([hash_measurement([v] * 5)], started=f"2025-11-{10 + i}T10:00:00Z") for i, v in enumerate(values)]
    # a benchmark whose only run failed verification: a row that says so, with nothing to show
    runs.append(make_run([hash_measurement([5e6] * 5, impl="portable")], started="2025-11-30T10:00:00Z",
                         checks=[Check("cython", "portable", 4, False, ("height 1",))]))
    db = _stored(tmp_path, *runs)
    code, _, err = run_cli("history", "--db", db)
    assert code == 0, err
    lines = table_lines(wide)
    assert "sha256d[cython-avx2-x1] 12 10.00 MH/s 21.00 MH/s +110.0% ▁▂▃▃▄▅▆▆▇█" in lines
    assert "sha256d[cython-portable-x1] 0 – – –" in lines


def test_compare_keep_outliers_tests_every_sample(tmp_path):
    paths = []
    for i, center in enumerate((2e7, 1.9e7)):
        paths.append(str(tmp_path / f"{i}.json"))
        write_result(make_run([hash_measurement(noisy(center, 12, i))]), paths[-1])
    assert json.loads(run_cli("compare", *paths, "--json")[1])["drop_outliers"] is True
    assert json.loads(run_cli("compare", *paths, "--json", "--keep-outliers")[1])["drop_outliers"] is False


def test_export_from_history_csv_is_every_run_oldest_first_other_formats_the_latest(tmp_path):
    runs = [make_run([hash_measurement([v] * 3)], started=f"2025-11-2{i}T10:00:00Z")
            for i, v in enumerate((1e7, 2e7, 3e7))]
    db = _stored(tmp_path, *runs)
    code, out, err = run_cli("export", "csv", "--from-history", "--db", db)
    assert code == 0, err
    assert [line.split(",")[0] for line in out.splitlines()[1:]] == [r.run_id for r in runs]
    code, out, err = run_cli("export", "bencher", "--from-history", "--db", db)
    assert code == 0, err
    assert json.loads(out)["sha256d[cython-avx2-x1]"]["hashrate"]["value"] == 3e7
    target = tmp_path / "out.csv"
    code, out, err = run_cli("export", "csv", "--from-history", "--db", db, "--output", str(target))
    assert code == 0 and out == "" and err == f"csv written to {target}\n"
    assert len(target.read_text().splitlines()) == 4


def test_report_names_each_section_it_could_not_plot(tmp_path):
    path = tmp_path / "r.json"
    write_result(make_run([hash_measurement([2e7] * 5)]), path)
    html = tmp_path / "r.html"
    code, out, err = run_cli("report", str(path), "--html", str(html))
    assert code == 0, err
    first, *rest = out.splitlines()
    plotted, total = (int(n) for n in first.rsplit(": ", 1)[1].split()[:3:2])
    assert first == f"report written to {html}: {plotted} of {total} sections plotted"
    assert 0 < len(rest) == total - plotted  # one line for each section left without a figure, saying why
    assert [line.split(":")[0] for line in rest] == ["Energy per terahash", "Inference probes", "History"]
    assert rest[1] == "Inference probes: no probe in these results (hashbench probe, or hashbench run without " \
                      "--no-probes)"


# --- what mutation testing of cli_results.py found unpinned ---------------------------------------------------------

def test_compare_hands_alpha_and_both_labels_to_the_gate(tmp_path):
    """4 samples a side, the candidate ~10 % slower with one overlap: p ≈ 0.17, significant only at --alpha 0.2."""
    base, cand = str(tmp_path / "base.json"), str(tmp_path / "cand.json")
    write_result(make_run([hash_measurement([100e6, 101e6, 102e6, 103e6])]), base)
    write_result(make_run([hash_measurement([90e6, 91e6, 92e6, 104e6])]), cand)
    code, out, _ = run_cli("compare", base, cand, "--json")
    report = json.loads(out)
    assert (code, report["alpha"], report["base"], report["candidate"]) == (0, 0.05, base, cand)
    assert report["rows"][0]["verdict"] == "slower?" and 0.05 < report["rows"][0]["p_value"] < 0.2
    code, out, _ = run_cli("compare", base, cand, "--json", "--alpha", "0.2")
    report = json.loads(out)
    assert (code, report["alpha"], report["rows"][0]["verdict"], report["regressions"]) == (1, 0.2, "slower", 1)


def test_history_runs_and_trend_tables_keep_their_titles_columns_and_captions(tmp_path, wide):
    from hashbench.results.schema import Check

    fp = HOST.fingerprint
    from results_helpers import with_cpu_load

    runs = [make_run([with_cpu_load(hash_measurement([2e7] * 5), 1.5),  # both measured on shared CPUs
                      with_cpu_load(hash_measurement([4e6] * 5, impl="portable"), 1.5)],
                     started="2025-11-20T10:00:00Z"),
            # two benchmarks that failed verification in the same run: both are named, in the table's order
            make_run([hash_measurement([3e7] * 5), hash_measurement([5e6] * 5, impl="portable")],
                     started="2025-11-21T10:00:00Z", checks=[Check("cython", "avx2", 4, False, ("height 1",)),
                                                             Check("cython", "portable", 4, False, ("height 1",))])]
    db = _stored(tmp_path, *runs)
    assert run_cli("history", "--db", db, "--runs")[0] == 0
    lines = table_lines(wide)
    assert lines[0] == f"runs in sqlite:///{db}"
    assert "run started source commit done verify machine" in lines
    assert "verify: of each backend on real block headers in the run (–: not checked)" in lines
    assert run_cli("history", "--db", db)[0] == 0
    lines = table_lines(wide)
    machine = json.loads(run_cli("history", "--db", db, "--json")[1])[0]["machine"]
    assert lines[0] == f"{machine} — fingerprint {fp}"
    assert "benchmark runs first last change trend" in lines
    assert "change: the last run against the first, + for better (a higher rate, a shorter time)" in lines
    day, first = runs[1].started[:16].replace("T", " "), runs[0].started[:16].replace("T", " ")
    assert lines[-1] == (f"CPUs shared while measured (other work, a hypervisor or a CPU quota took CPU time in the "
                         f"window; the figure may be below what this machine does alone; kept in the trend): "
                         f"sha256d[cython-avx2-x1] in run {runs[0].run_id[:8]} ({first}); "
                         f"sha256d[cython-portable-x1] in run {runs[0].run_id[:8]} ({first})")
    assert lines[-2] == (f"left out of the trend, their backend failed verification on real block headers in that run "
                         f"(wrong nonces): sha256d[cython-avx2-x1] in run {runs[1].run_id[:8]} ({day}); "
                         f"sha256d[cython-portable-x1] in run {runs[1].run_id[:8]} ({day})")


def test_a_benchmark_with_nothing_verified_does_not_end_the_trend_table(tmp_path, wide):
    from hashbench.results.schema import Check

    only_failed = make_run([hash_measurement([5e6] * 5, impl="a-portable")], started="2025-11-20T10:00:00Z",
                           checks=[Check("cython", "a-portable", 4, False, ("height 1",))])
    later = make_run([hash_measurement([2e7] * 5, impl="z-avx2")], started="2025-11-21T10:00:00Z")
    db = _stored(tmp_path, only_failed, later)
    assert run_cli("history", "--db", db)[0] == 0
    lines = table_lines(wide)
    assert "sha256d[cython-a-portable-x1] 0 – – –" in lines
    assert "sha256d[cython-z-avx2-x1] 1 20.00 MH/s 20.00 MH/s – ▄" in lines


def test_latest_in_report_and_export_is_read_from_the_db_given(tmp_path):
    db = _stored(tmp_path, make_run([hash_measurement([7e7] * 3)]))  # HASHBENCH_DB points at another, empty one
    code, out, err = run_cli("export", "bencher", "@latest", "--db", db)
    assert code == 0, err
    assert json.loads(out)["sha256d[cython-avx2-x1]"]["hashrate"]["value"] == 7e7
    code, _, err = run_cli("report", "@latest", "--db", db, "--html", str(tmp_path / "r.html"))
    assert code == 0, err


def test_export_to_stdout_is_the_formats_text_exactly(tmp_path):
    from hashbench.results.exporters import exporter

    path = tmp_path / "r.json"
    run = make_run([hash_measurement([2e7] * 3)])
    write_result(run, path)
    code, out, _ = run_cli("export", "openmetrics", str(path))
    assert code == 0 and out == exporter("openmetrics")([run]) and out.endswith("# EOF\n")


def test_report_uses_the_sites_and_market_files_given_and_only_this_machines_history(tmp_path):
    from dataclasses import replace
    from pathlib import Path

    sites = tmp_path / "sites.toml"
    example = (Path(__file__).resolve().parents[1] / "examples" / "sites.toml").read_text()
    sites.write_text(example.replace('name = "West Texas"', 'name = "Ridge Nine"'))
    market = tmp_path / "market.json"
    market.write_text(json.dumps({"kind": "hashbench-market", "schema_version": 1, "date": "2026-01-05",
                                  "figures": {"btc_price_usd": {"value": 182_000, "unit": "USD/BTC",
                                                                "as_of": "2026-01-05", "kind": "published",
                                                                "source": "a test"}}}))
    other = replace(HOST, cpu_model="Other CPU 1234")
    mine = make_run([hash_measurement([2e7] * 5, impl="mine")])
    db = _stored(tmp_path, mine, make_run([hash_measurement([2.1e7] * 5, impl="mine")], started="2025-11-21T10:00:00Z"),
                 make_run([hash_measurement([9e7] * 5, impl="theirs")], host=other),
                 make_run([hash_measurement([9e7] * 5, impl="theirs")], host=other, started="2025-11-21T10:00:00Z"))
    html = tmp_path / "r.html"
    code, _, err = run_cli("report", f"@{mine.run_id}", "--from-history", "--db", db, "--sites", str(sites), "--market",
                           str(market), "--html", str(html))
    assert code == 0, err
    text = html.read_text()
    assert "Ridge Nine: best-split profit per day" in text and "West Texas" not in text
    assert "$182k" in text
    assert "sha256d[cython-mine-x1]" in text and "sha256d[cython-theirs-x1]" not in text
