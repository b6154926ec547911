"""`hashbench market fetch` as a person runs it, against a mempool-style server on 127.0.0.1 (test_market.py's): the
lines it writes to stderr (each figure it kept and why, then what it fetched and where it wrote it), the retarget
forecast under the table, the options it hands to the fetch (--timeout, --fee-window, --market), and the output folder
it checks before asking the network anything. Written from the survivors of mutation testing cli_economics.py
(benchmarks/checks/mutation.py); the fetch itself is tested in test_market.py."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
import test_market
from economics_helpers import assert_one_line_error, invoke, invoke_json, write_json
from test_market import MEMPOOL, Slow

mempool = test_market.mempool  # the fixture: a mempool-style server on 127.0.0.1


@pytest.fixture
def market(tmp_path, monkeypatch) -> str:
    """A short relative name, run in its folder, so the lines that name it stay short."""
    monkeypatch.chdir(tmp_path)
    write_json(tmp_path / "m.json", {"date": "2026-02-01", "figures": {"btc_price_usd": 80_000}})
    return "m.json"


def fetch(*args: str, columns: int = 200):
    """`market fetch ARGS` and the UTC days it ran on (two should it run across midnight): a fetched snapshot is
    dated by the UTC day."""
    before = datetime.now(UTC).date().isoformat()
    result = invoke("market", "fetch", *args, env={"COLUMNS": str(columns)})
    assert result.exit_code == 0, result.stderr
    return result, {before, datetime.now(UTC).date().isoformat()}


def assert_fetched_line(line: str, count: int, url: str, days: set[str], written: str = "") -> None:
    """How many figures came from where on which day, and where they were written."""
    assert line in {f"fetched {count} figure(s) from {url} on {day}{written}" for day in days}, line


def test_fetch_prints_the_table_then_the_forecast_and_says_what_it_fetched(mempool, market):
    url = mempool()
    result, days = fetch("--base-url", url)
    lines = [line.rstrip() for line in result.stdout.splitlines()]
    assert lines[0] in {f"market snapshot {day} ({url})" for day in days}
    assert lines[-1] == "next adjustment forecast -1.52 % in 331 blocks"
    # nothing kept, nothing written: one line that says so by saying nothing more
    (line,) = result.stderr.splitlines()
    assert_fetched_line(line, 4, url, days)


def test_fetch_without_a_forecast_ends_with_the_footnotes(mempool, market):
    url = mempool({**MEMPOOL, "/api/v1/difficulty-adjustment": 404})
    result, _ = fetch("--base-url", url)
    assert result.stdout.splitlines()[-1].startswith("[")
    assert "next adjustment" not in result.stdout


def test_fetch_names_the_file_it_wrote_on_one_line_at_any_width(mempool, market):
    """Long lines on stderr are not wrapped at the terminal's width: each stays one line a script can read."""
    url = mempool()
    result, days = fetch("--base-url", url, "--output", "fresh.json", columns=40)
    (line,) = result.stderr.splitlines()
    assert_fetched_line(line, 4, url, days, "; written to fresh.json (use --market fresh.json)")
    data = invoke_json("market", "show", "--market", "fresh.json")
    assert data["figures"]["btc_price_usd"]["value"] == 92_000
    assert data["figures"]["btc_price_usd"]["source"] == f"{url}/api/v1/prices"


def test_a_figure_that_fails_is_kept_from_the_market_file_and_said_so(mempool, market):
    url = mempool({**MEMPOOL, "/api/v1/prices": 500})
    result, days = fetch("--base-url", url, "--market", market, columns=40)
    kept, fetched = result.stderr.splitlines()
    assert kept == f"kept btc_price_usd from the market snapshot 2026-02-01 (m.json): HTTP 500 from {url}/api/v1/prices"
    assert_fetched_line(fetched, 3, url, days)
    # the figure kept is the market file's, with its date and source
    data = invoke_json("market", "fetch", "--base-url", url, "--market", market)
    assert data["figures"]["btc_price_usd"] == {"value": 80_000.0, "unit": "USD/BTC", "as_of": "2026-02-01",
                                                "kind": "declared", "source": "market file m.json"}


def test_fetch_waits_no_longer_than_the_timeout_it_was_given(mempool, market):
    """The first answer comes 0.5 s late: --timeout 0.1 goes offline (exit 1) where the 10 s default would wait."""
    url = mempool({**MEMPOOL, "/api/blocks/tip/height": Slow("925000")})
    result = invoke("market", "fetch", "--base-url", url, "--timeout", "0.1")
    assert_one_line_error(result, code=1)
    assert result.stderr == (f"offline: cannot reach {url} (no answer within 0.1 s); keeping the market snapshot "
                             "2025-11-18 (packaged)\n")


def test_fetch_reads_fees_over_the_window_it_was_given(mempool, market):
    routes = {k: v for k, v in MEMPOOL.items() if "/fees/" not in k}
    url = mempool({**routes, "/api/v1/mining/blocks/fees/24h": [{"avgFees": 2_000_000}]})
    data = invoke_json("market", "fetch", "--base-url", url, "--fee-window", "24h")
    fees = data["figures"]["fees_btc_per_block"]
    assert (fees["value"], fees["source"]) == (0.02, f"{url}/api/v1/mining/blocks/fees/24h (mean of 1 interval "
                                                     "averages)")


def test_an_output_folder_that_does_not_exist_is_refused_before_any_request(mempool, market):
    url = mempool()
    result = invoke("market", "fetch", "--base-url", url, "--output", "no/such/m.json")
    assert_one_line_error(result)
    assert result.stderr == "hashbench: error: output folder 'no/such' does not exist\n"
    assert mempool.servers[0].seen_headers == []  # the network was never asked
