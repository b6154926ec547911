"""`hashbench history | compare | export | report` as printed: what each line and cell says (cli_results.py)."""

from __future__ import annotations

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
    assert code == 0 and out == (f"no runs in the history sqlite:///{db} for backend 'numba' for machine "
                                 f"{HOST.fingerprint}\n")
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

    table = _compare_table(_report(_rows()))
    assert table.title == (r"@latest~1 → new \[run].json (gate: Hodges-Lehmann change worse than -5% and one-sided "
                           "Mann-Whitney p < 0.01)")
    assert table.caption == ("ratio: of the medians; change: the Hodges-Lehmann estimate; A: the Vargha-Delaney "
                             "probability that a candidate sample lies on the verdict's side of a base sample (0.5 = "
                             "no effect); slower? / faster?: beyond the threshold but not significant")
    assert (table.title_justify, table.caption_justify) == ("left", "left")
    layout = [(c.header, c.justify, c.no_wrap, c.overflow, c.min_width) for c in table.columns]
    assert layout == [("benchmark", "left", False, "fold", 16),  # never cut: the name matches across runs
                      ("base", "right", False, "ellipsis", None), ("cand", "right", False, "ellipsis", None),
                      ("ratio", "right", True, "ellipsis", None), ("change", "right", True, "ellipsis", None),
                      ("p", "right", True, "ellipsis", None), ("A", "right", True, "ellipsis", None),
                      ("verdict", "left", True, "ellipsis", None)]
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
