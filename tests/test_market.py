"""Market snapshots: the packaged one, files over it, and a live fetch from a real HTTP server on 127.0.0.1."""

from __future__ import annotations

import json
import re
import socket
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
from economics_helpers import assert_one_line_error, invoke, invoke_json, write_json

from hashbench.economics import ESTIMATED, Sourced, hashprice_usd_per_ph_day, subsidy_btc
from hashbench.errors import InputError
from hashbench.market import (
    FIGURES,
    Offline,
    fetch_snapshot,
    load_snapshot,
    packaged_snapshot,
    resolve_base_url,
    save_snapshot,
    stale_note,
)

TIP_HASH = "00000000000000000001b3a5c1e9e3b2f0f0a1a2a3a4a5a6a7a8a9aaabacadae"

# Shaped like mempool.space's answers (trimmed to the fields hashbench reads, plus a few it ignores).
MEMPOOL = {
    "/api/blocks/tip/height": "925000",
    "/api/blocks/tip/hash": TIP_HASH,
    "/api/v1/mining/hashrate/3d": {"hashrates": [{"timestamp": 1763400000, "avgHashrate": 1.07e21}],
                                   "difficulty": [{"time": 1763300000, "height": 923328,
                                                   "difficulty": 149301205959699.4, "adjustment": 0.98}],
                                   "currentHashrate": 1.069e21, "currentDifficulty": 149301205959699.4},
    "/api/v1/prices": {"time": 1763500000, "USD": 92000, "EUR": 79500, "GBP": 70000},
    "/api/v1/mining/blocks/fees/1w": [{"avgHeight": 924100, "timestamp": 1763000000, "avgFees": 3400000,
                                       "USD": 3128},
                                      {"avgHeight": 924244, "timestamp": 1763086400, "avgFees": 3800000,
                                       "USD": 3496}],
    "/api/v1/difficulty-adjustment": {"progressPercent": 83.6, "difficultyChange": -1.52,
                                      "estimatedRetargetDate": 1763900000000, "remainingBlocks": 331,
                                      "remainingTime": 198600000, "previousRetarget": -2.37,
                                      "nextRetargetHeight": 925344, "timeAvg": 600000, "timeOffset": 0},
    f"/api/block/{TIP_HASH}": {"id": TIP_HASH, "height": 925000, "difficulty": 149301205959699.4},
    "/api/v1/blocks": [{"height": 925000, "extras": {"totalFees": 3000000, "reward": 315500000}},
                       {"height": 924999, "extras": {"totalFees": 5000000, "reward": 317500000}}],
}


def serve(routes: dict):
    class Handler(BaseHTTPRequestHandler):
        def do_GET(self):  # noqa: N802 (http.server's naming)
            body = routes.get(self.path)
            if body is None:
                self.send_error(404)
                return
            if isinstance(body, int):
                self.send_error(body)
                return
            data = body.encode() if isinstance(body, str) else json.dumps(body).encode()
            self.send_response(200)
            self.send_header("Content-Type", "text/plain" if isinstance(body, str) else "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def log_message(self, *args):  # keep test output quiet
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    return server, f"http://127.0.0.1:{server.server_address[1]}"


@pytest.fixture
def mempool(monkeypatch):
    for var in ("http_proxy", "HTTP_PROXY", "https_proxy", "HTTPS_PROXY", "all_proxy", "ALL_PROXY"):
        monkeypatch.delenv(var, raising=False)  # 127.0.0.1 must be reached directly
    servers = []

    def start(routes: dict = MEMPOOL) -> str:
        server, url = serve(routes)
        servers.append(server)
        return url

    yield start
    for server in servers:
        server.shutdown()
        server.server_close()


@pytest.fixture
def closed_port_url() -> str:
    # Bind, read the port, close: nothing listens there, so a connection is refused at once.
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    return f"http://127.0.0.1:{port}"


# --- the packaged snapshot --------------------------------------------------------------------------------------

def test_packaged_snapshot_is_dated_and_sourced():
    snap = packaged_snapshot()
    assert snap.date == "2025-11-18" and snap.origin == "packaged"
    assert set(snap.figures) == set(FIGURES)
    for key, fig in snap.figures.items():
        assert fig.source and fig.as_of and fig.value > 0, key
        if fig.kind == "range midpoint":  # a midpoint must carry the range it sits in
            assert fig.low < fig.value < fig.high and fig.value == pytest.approx((fig.low + fig.high) / 2), key


def test_packaged_mining_figures_reproduce_the_published_hashprice():
    snap = packaged_snapshot()
    reward = subsidy_btc(int(snap.value("height"))) + snap.value("fees_btc_per_block")
    computed = hashprice_usd_per_ph_day(snap.value("difficulty"), snap.value("btc_price_usd"), reward)
    assert round(computed, 2) == 38.07
    assert computed == pytest.approx(snap.value("hashprice_usd_per_ph_day"), rel=0.01)  # published ≈ 38.2


# --- files ------------------------------------------------------------------------------------------------------

def test_market_file_overrides_only_what_it_names(tmp_path):
    path = write_json(tmp_path / "m.json", {"date": "2026-02-01", "figures": {
        "btc_price_usd": 70000, "difficulty": {"value": 141e12, "source": "my desk", "as_of": "2026-01-30"}}})
    snap = load_snapshot(path)
    assert snap.date == "2026-02-01" and snap.origin == str(path)
    assert snap.get("btc_price_usd").value == 70000 and snap.get("btc_price_usd").as_of == "2026-02-01"
    assert snap.get("difficulty").source == "my desk" and snap.get("difficulty").as_of == "2026-01-30"
    assert snap.get("usd_per_mtok_8b").as_of == "2025"  # kept from the packaged snapshot, with its own date


def test_save_and_load_round_trip(tmp_path):
    path = tmp_path / "snap.json"
    save_snapshot(packaged_snapshot(), path)
    again = load_snapshot(path)
    assert {k: f.to_json() for k, f in again.figures.items()} == \
        {k: f.to_json() for k, f in packaged_snapshot().figures.items()}


@pytest.mark.parametrize("data, fragment", [
    ({"figures": {}}, "date"),
    ({"date": "yesterday", "figures": {}}, "date"),
    ({"date": "2026-01-01", "figures": {"btc_price": 1}}, "unknown figure"),
    ({"date": "2026-01-01", "figures": {"btc_price_usd": -5}}, "must be > 0"),
    ({"date": "2026-01-01", "figures": {"difficulty": 0}}, "must be > 0"),
    ({"date": "2026-01-01", "figures": {"height": 1.5}}, "whole number"),
    ({"date": "2026-01-01", "figures": {"btc_price_usd": {"source": "x"}}}, "missing 'value'"),
    ({"date": "2026-01-01", "figures": {"btc_price_usd": "lots"}}, "must be a number"),
    ([1, 2], "JSON object"),
    # shaped like dates, but no calendar has them: they were printed as the snapshot's date
    ({"date": "2025-13-45", "figures": {}}, "'2025-13-45' is not a calendar date"),
    ({"date": "2025-02-29", "figures": {}}, "not a calendar date"),
    ({"date": "2025-00", "figures": {}}, "not a calendar date"),
    ({"date": "2025-11-18\n", "figures": {}}, "a date must be"),
    ({"date": "2026-01-01", "figures": {"btc_price_usd": {"value": 1, "as_of": "2026-04-31"}}},
     "btc_price_usd: '2026-04-31' is not a calendar date"),
    # a kind is what `market show` says a figure is: only the known ones
    ({"date": "2026-01-01", "figures": {"btc_price_usd": {"value": 1, "kind": "measured"}}},
     "btc_price_usd: kind must be one of published, estimated, range midpoint, fetched, computed, declared, "
     "got 'measured'"),
])
def test_bad_market_files(tmp_path, data, fragment):
    path = write_json(tmp_path / "m.json", data)
    with pytest.raises(InputError, match=fragment):
        load_snapshot(path)


def test_market_show_prints_the_date_and_every_source():
    result = invoke("market", "show")
    assert result.exit_code == 0, result.stderr
    assert "market snapshot 2025-11-18 (packaged)" in result.stdout
    # Each row points at a numbered line under the table that gives that figure's own source and range.
    notes = " ".join(result.stdout.split("└")[-1].split())
    snapshot = load_snapshot(None)
    for key, figure in snapshot.figures.items():
        row = next(line for line in result.stdout.splitlines() if line.startswith(f"│ {FIGURES[key][0]} "))
        marker = re.search(r"\[(\d+)\]", row).group(0)
        assert f"{marker} {' '.join(figure.detail.split())}" in notes, (key, marker)
    data = invoke_json("market", "show")
    assert data["date"] == "2025-11-18" and set(data["figures"]) == set(FIGURES)


def test_market_show_bad_file_is_one_line(tmp_path):
    bad = tmp_path / "m.json"
    write_json(bad, {"date": "2025-13-45", "figures": {"btc_price_usd": {"value": 1, "kind": "trust me"}}})
    assert_one_line_error(invoke("market", "show", "--market", str(bad)), "not a calendar date")
    write_json(bad, {"date": "2025-12-31", "figures": {"btc_price_usd": {"value": 1, "kind": "trust me"}}})
    assert_one_line_error(invoke("market", "show", "--market", str(bad)), "kind must be one of")
    bad.write_text("[", encoding="utf-8")
    assert_one_line_error(invoke("market", "show", "--market", str(bad)), "not valid JSON")
    assert_one_line_error(invoke("market", "show", "--market", str(tmp_path / "none.json")), "not found")


# --- fetch ------------------------------------------------------------------------------------------------------

def test_fetch_reads_mempool_endpoints(mempool):
    url = mempool()
    result = fetch_snapshot(url, packaged_snapshot(), timeout=5, today="2026-03-01")
    snap = result.snapshot
    assert set(result.fetched) == {"height", "difficulty", "btc_price_usd", "fees_btc_per_block"}
    assert not result.kept
    assert snap.date == "2026-03-01" and snap.origin == url
    assert snap.value("height") == 925000
    assert snap.value("difficulty") == 149301205959699.4
    assert snap.value("btc_price_usd") == 92000
    assert snap.value("fees_btc_per_block") == pytest.approx(0.036)  # mean of 3.4M and 3.8M sats
    assert snap.get("btc_price_usd").source == f"{url}/api/v1/prices"
    assert snap.get("btc_price_usd").kind == "fetched" and snap.get("btc_price_usd").as_of == "2026-03-01"
    assert "-1.52 %" in result.retarget and "331 blocks" in result.retarget
    hp = snap.get("hashprice_usd_per_ph_day")
    assert hp.kind == "computed"
    assert hp.value == pytest.approx(hashprice_usd_per_ph_day(149301205959699.4, 92000, 3.125 + 0.036))
    # AI prices are never fetched: they keep the packaged date and source
    assert snap.get("h100_usd_per_gpu_hour") == packaged_snapshot().get("h100_usd_per_gpu_hour")


def test_fetch_falls_back_to_block_endpoints(mempool):
    routes = {k: v for k, v in MEMPOOL.items() if "/mining/" not in k}  # a mempool without the mining API
    result = fetch_snapshot(mempool(routes), packaged_snapshot(), timeout=5, today="2026-03-01")
    assert result.snapshot.value("difficulty") == 149301205959699.4
    assert result.snapshot.value("fees_btc_per_block") == pytest.approx(0.04)  # mean of 3M and 5M sats
    assert "/api/v1/blocks" in result.snapshot.get("fees_btc_per_block").source


def test_fetch_keeps_figures_whose_endpoint_fails(mempool):
    routes = {**MEMPOOL, "/api/v1/prices": 500, "/api/v1/difficulty-adjustment": 404}
    result = fetch_snapshot(mempool(routes), packaged_snapshot(), timeout=5, today="2026-03-01")
    assert "btc_price_usd" not in result.fetched
    assert "HTTP 500" in result.kept["btc_price_usd"]
    assert result.snapshot.get("btc_price_usd") == packaged_snapshot().get("btc_price_usd")
    assert result.retarget == ""


def test_fetch_rejects_nonsense_answers(mempool):
    routes = {**MEMPOOL, "/api/v1/prices": {"USD": "ninety-two thousand"}, "/api/blocks/tip/height": "n/a"}
    result = fetch_snapshot(mempool(routes), packaged_snapshot(), timeout=5, today="2026-03-01")
    assert {"height", "btc_price_usd"} <= set(result.kept)
    assert result.snapshot.value("height") == packaged_snapshot().value("height")


def test_fetch_offline_on_a_closed_port(closed_port_url):
    with pytest.raises(Offline, match="offline: cannot reach"):
        fetch_snapshot(closed_port_url, packaged_snapshot(), timeout=2)


def test_base_url_from_flag_env_or_default():
    assert resolve_base_url(None, {}) == "https://mempool.space"
    assert resolve_base_url(None, {"HASHBENCH_MEMPOOL_URL": "http://node:8999/"}) == "http://node:8999"
    assert resolve_base_url("http://x:1", {"HASHBENCH_MEMPOOL_URL": "http://node:8999"}) == "http://x:1"
    with pytest.raises(InputError):
        resolve_base_url("mempool.space", {})


def test_cli_fetch_writes_a_snapshot_usable_with_market(mempool, tmp_path):
    url = mempool()
    out = tmp_path / "market.json"
    result = invoke("market", "fetch", "--base-url", url, "--output", str(out), "--timeout", "5")
    assert result.exit_code == 0, result.stderr
    assert "fetched 4 figure(s)" in result.stderr and out.exists()
    data = invoke_json("yield", "--asic", "S21", "--market", str(out))
    price = data["mining"]["inputs"]["btc_price_usd"]
    assert price["value"] == 92000 and price["source"].startswith("market snapshot 20")
    assert price["source"] != "market snapshot 2025-11-18"


def test_cli_fetch_uses_the_env_base_url(mempool):
    url = mempool()
    data = invoke_json("market", "fetch", env={"HASHBENCH_MEMPOOL_URL": url})
    assert data["figures"]["btc_price_usd"]["value"] == 92000 and data["origin"] == url


def test_cli_fetch_offline_is_one_line_and_writes_nothing(closed_port_url, tmp_path):
    out = tmp_path / "market.json"
    result = invoke("market", "fetch", "--base-url", closed_port_url, "--output", str(out), "--timeout", "2")
    assert_one_line_error(result, "offline: cannot reach", "keeping the market snapshot 2025-11-18", code=1)
    assert not out.exists()


def test_fetch_keeps_a_figure_whose_answer_json_will_not_convert(mempool):
    # A number of more than 4300 digits is valid JSON text that Python's json refuses with a plain ValueError.
    routes = {**MEMPOOL, "/api/v1/prices": '{"USD": ' + "9" * 5000 + "}"}
    result = fetch_snapshot(mempool(routes), packaged_snapshot(), timeout=5, today="2026-03-01")
    assert "did not return JSON" in result.kept["btc_price_usd"]


# --- the age of the figures a valuation used --------------------------------------------------------------------------

def _snap(as_of: str) -> Sourced:
    return Sourced(1.0, f"market snapshot {as_of}", ESTIMATED)


def test_stale_note_counts_days_from_the_latest_day_a_date_can_mean():
    from datetime import date
    inputs = [("btc_price_usd", _snap("2025-11-18")), ("usd_per_mtok", _snap("2025"))]
    assert stale_note(inputs, date(2025, 12, 18)) is None  # 30 days: still fresh
    note = stale_note(inputs, date(2025, 12, 19))
    assert note.startswith("valued with market figures up to 31 days old: BTC price (2025-11-18);")
    # A year-only figure is dated its year's last day, a month-only one its month's last day.
    assert stale_note([("usd_per_mtok", _snap("2025"))], date(2026, 1, 30)) is None
    assert "up to 31 days old: token price (2025)" in stale_note([("usd_per_mtok", _snap("2025"))], date(2026, 1, 31))
    assert stale_note([("gpu_hour_usd", _snap("2024-02"))], date(2024, 3, 30)) is None
    assert "GPU-hour price (2024-02)" in stale_note([("gpu_hour_usd", _snap("2024-02"))], date(2024, 3, 31))
    # The oldest figure gives the age; each old figure is named once.
    note = stale_note(inputs + [("difficulty", _snap("2024-11-18"))], date(2026, 1, 31))
    assert "up to 439 days old: BTC price (2025-11-18), token price (2025), difficulty (2024-11-18)" in note


def test_stale_note_ignores_todays_figures_and_slow_ones():
    from datetime import date
    today = date(2030, 1, 1)
    # A flag is today's figure; the power price, subsidy and fees are slow or the user's own.
    assert stale_note([("btc_price_usd", Sourced(9e4, "flag", "declared")),
                       ("power_usd_per_kwh", _snap("2025")), ("subsidy_btc", _snap("2025-11-18")),
                       ("fees_btc_per_block", _snap("2025"))], today) is None


def test_yield_and_plan_name_an_old_snapshot_and_not_a_fresh_one(tmp_path):
    from datetime import date

    from hashbench.market import load_snapshot
    from hashbench.yields import YieldRequest, compute_yield
    snapshot = packaged_snapshot()
    made = date.fromisoformat(snapshot.date)
    request = YieldRequest(hashrate_hps=1e15, watts=17500)
    assert not any("days old" in n for n in compute_yield(request, snapshot, today=made).notes)
    late = compute_yield(request, snapshot, today=date.fromordinal(made.toordinal() + 400)).notes
    assert [n for n in late if "days old" in n] == [
        f"valued with market figures up to 400 days old: difficulty ({snapshot.date}), BTC price ({snapshot.date}); "
        "`hashbench market fetch` refreshes BTC price and difficulty; --market FILE or options give the rest"]
    # Given as options, the same figures are today's: nothing to say.
    given = YieldRequest(hashrate_hps=1e15, watts=17500, btc_price_usd=9e4, difficulty=1.5e14)
    assert not any("days old" in n for n in compute_yield(given, snapshot,
                                                          today=date.fromordinal(made.toordinal() + 400)).notes)

    # The CLI dates by the clock; the packaged snapshot only gets older, so its age is always named. A fresh file
    # (dated today, every moving figure overridden) silences it.
    assert any("days old" in n for n in invoke_json("yield", "--hashrate", "1P", "--watts", "17.5k")["notes"])
    example = Path(__file__).resolve().parents[1] / "examples" / "sites.toml"
    plan = invoke_json("plan", str(example), "--no-grid")
    assert len(plan["notes"]) == 1 and "days old: BTC price" in plan["notes"][0]
    today = date.today().isoformat()
    fresh = tmp_path / "market.json"
    write_json(fresh, {"kind": "hashbench-market", "date": today,
                       "figures": {"btc_price_usd": 90000, "difficulty": 1.5e14}})
    assert load_snapshot(fresh).get("difficulty").as_of == today
    assert not any("days old" in n for n in invoke_json("yield", "--hashrate", "1P", "--watts", "17.5k",
                                                        "--market", str(fresh))["notes"])
