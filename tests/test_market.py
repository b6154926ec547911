"""Market snapshots: the packaged one, files over it, and a live fetch from a real HTTP server on 127.0.0.1."""

from __future__ import annotations

import json
import re
import socket
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
from economics_helpers import assert_one_line_error, invoke, invoke_json, write_json

from hashbench import __version__
from hashbench.economics import ESTIMATED, Sourced, hashprice_usd_per_ph_day, subsidy_btc
from hashbench.errors import InputError
from hashbench.market import (
    FIGURES,
    Figure,
    Offline,
    fetch_snapshot,
    load_snapshot,
    packaged_snapshot,
    parse_snapshot,
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


HANG_S = 0.5  # a Slow(...) route answers this late: well past the tests' 0.1 s timeout


class Slow:
    """A route that answers, but only after HANG_S: a request without a timeout would get it."""

    def __init__(self, body) -> None:
        self.body = body


CLOSE = object()  # a route whose server hangs up without answering


def serve(routes: dict):
    class Handler(BaseHTTPRequestHandler):
        def do_GET(self):  # noqa: N802 (http.server's naming)
            server.seen_headers.append(dict(self.headers))
            body = routes.get(self.path)
            if isinstance(body, Slow):
                time.sleep(HANG_S)
                body = body.body
            if body is CLOSE:
                self.close_connection = True
                return
            if body is None:
                self.send_error(404)
                return
            if isinstance(body, int):
                self.send_error(body)
                return
            data = body if isinstance(body, bytes) else body.encode() if isinstance(body, str) else json.dumps(
                body).encode()
            self.send_response(200)
            self.send_header("Content-Type", "text/plain" if isinstance(body, str) else "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def log_message(self, *args):  # keep test output quiet
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.seen_headers = []
    # a client that gave up (a timeout, a 4 MiB cut) leaves the handler a broken pipe: expected here, not news
    server.handle_error = lambda request, client_address: None
    # a short poll: shutdown() waits up to one poll interval, 0.5 s by default, at every test's teardown
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.01}, daemon=True)
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

    start.servers = servers

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


def test_the_subsidy_follows_the_height_carried_forward_past_a_halving():
    """The packaged height, 923,500 on 2025-11-18, pays 3.125 BTC; carried forward at 144 blocks a day it reaches the
    halving at 1,050,000 after 878.5 days (2028-04-15). Valued later, a snapshot that old would pay twice the reward."""
    from datetime import date, timedelta

    snap = packaged_snapshot()
    source = snap.get("height").source
    assert snap.subsidy(date(2026, 12, 3)) == Sourced(3.125, "market snapshot 2025-11-18", ESTIMATED,
                                                      f"subsidy at height 923,500 ({source})")
    last = date(2025, 11, 18) + timedelta(days=878)  # 923,500 + 878 × 144 = 1,049,932: still the fourth era
    assert snap.subsidy(last).value == 3.125
    after = snap.subsidy(last + timedelta(days=1))  # 1,050,076
    assert after == Sourced(1.5625, "market snapshot 2025-11-18", ESTIMATED,
                            "subsidy at height about 1,050,076: 923,500 on 2025-11-18 carried forward 879 days at "
                            f"144 blocks/day, past a halving ({source})")
    assert snap.subsidy(date(2025, 1, 1)).value == 3.125  # a date before the snapshot's: its own height
    # yield and plan both take it
    from hashbench.plan import PlanMarket
    from hashbench.yields import YieldRequest, compute_yield

    assert PlanMarket.from_snapshot(snap, last + timedelta(days=1)).subsidy_btc == after
    report = compute_yield(YieldRequest(hashrate_hps=2e14, watts=3500.0), snap, today=last + timedelta(days=1))
    assert report.mining.inputs["subsidy_btc"] == after


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
    # the price is dated by the API's own timestamp (1763500000: 2025-11-18 UTC), not the day it was fetched: a
    # stalled or cached API's price must not pass for today's; the other figures carry no timestamp
    assert snap.get("btc_price_usd").kind == "fetched" and snap.get("btc_price_usd").as_of == "2025-11-18"
    assert snap.get("difficulty").as_of == "2026-03-01"
    assert "-1.52 %" in result.retarget and "331 blocks" in result.retarget
    hp = snap.get("hashprice_usd_per_ph_day")
    assert hp.kind == "computed" and hp.as_of == "2025-11-18"  # as old as its oldest input
    assert hp.value == pytest.approx(hashprice_usd_per_ph_day(149301205959699.4, 92000, 3.125 + 0.036))
    # AI prices are never fetched: they keep the packaged date and source
    assert snap.get("h100_usd_per_gpu_hour") == packaged_snapshot().get("h100_usd_per_gpu_hour")


@pytest.mark.parametrize("stamp", [None, "yesterday", True, 2**41])
def test_a_price_without_a_usable_timestamp_is_dated_the_fetch_day(mempool, stamp):
    routes = {**MEMPOOL, "/api/v1/prices": {"time": stamp, "USD": 92000}}
    snap = fetch_snapshot(mempool(routes), packaged_snapshot(), timeout=5, today="2026-03-01").snapshot
    assert snap.get("btc_price_usd").as_of == "2026-03-01"


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


@pytest.mark.parametrize("height", ["0", "800000", "\u00b2"])
def test_a_tip_below_the_snapshots_height_or_not_ascii_digits_is_kept_out(mempool, height):
    """The chain only grows: a tip of 0 (a broken answer) made every later valuation count a 50 BTC subsidy, and
    '²' passed str.isdigit() into float(), a traceback."""
    routes = {**MEMPOOL, "/api/blocks/tip/height": height}
    result = fetch_snapshot(mempool(routes), packaged_snapshot(), timeout=5, today="2026-03-01")
    assert "height" in result.kept and result.snapshot.value("height") == 923_500
    assert ("below the 923,500 of the market snapshot" in result.kept["height"]) == height.isascii()


def test_cli_fetch_that_gets_no_figure_fails_and_writes_nothing(mempool, tmp_path):
    """Every endpoint answering 404 wrote a file dated today holding only the old figures, exit 0."""
    out = tmp_path / "market.json"
    result = invoke("market", "fetch", "--base-url", mempool({}), "--output", str(out), "--timeout", "5")
    assert result.exit_code == 1 and not out.exists()
    assert result.stderr.splitlines()[-1].startswith("hashbench: error: http://127.0.0.1:")
    assert result.stderr.splitlines()[-1].endswith(" answered but gave no usable figure; nothing written")


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
    price, difficulty = data["mining"]["inputs"]["btc_price_usd"], data["mining"]["inputs"]["difficulty"]
    assert price["value"] == 92000 and price["source"] == "market snapshot 2025-11-18"  # the API's timestamp
    assert difficulty["value"] == 149301205959699.4 and difficulty["source"] != "market snapshot 2025-11-18"


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


# --- pinned by mutation testing: every figure's defaults, every refusal's text, every endpoint's failure ------------

def test_a_bare_number_is_declared_on_the_files_date_with_the_file_as_source():
    snap = parse_snapshot({"date": "2026-01-01", "figures": {"btc_price_usd": 70000}}, "m.json")
    assert snap.figures == {"btc_price_usd": Figure(70000.0, "USD/BTC", "2026-01-01", "declared", "market file m.json")}
    assert (snap.description, snap.origin) == ("", "m.json")


def test_a_figure_object_takes_the_files_defaults_for_what_it_leaves_out():
    data = {"date": "2026-01-01", "description": "my desk's figures", "figures": {
        "difficulty": {"value": 141e12},
        "btc_price_usd": {"value": 7e4, "unit": "USD", "as_of": "2025-12", "kind": "published", "source": "x",
                          "low": 6e4, "high": 8e4, "note": "n"}}}
    snap = parse_snapshot(data, "m.json", base=packaged_snapshot())
    assert snap.get("difficulty") == Figure(141e12, "", "2026-01-01", "declared", "market file m.json")
    assert snap.get("btc_price_usd") == Figure(7e4, "USD", "2025-12", "published", "x", 6e4, 8e4, "n")
    assert snap.description == "my desk's figures"
    assert snap.get("height") == packaged_snapshot().get("height")
    # no figures at all: the base's, every one
    assert parse_snapshot({"date": "2026-01-01"}, "m.json", base=packaged_snapshot()).figures == \
        packaged_snapshot().figures


def _refusal(data, origin="m.json") -> str:
    with pytest.raises(InputError) as err:
        parse_snapshot(data, origin)
    return str(err.value)


@pytest.mark.parametrize("figure, message", [
    (-5, "m.json: btc_price_usd must be > 0, got -5"),
    ({"value": -5}, "m.json: btc_price_usd must be > 0, got -5"),
    ({"value": 5, "low": -1}, "m.json: btc_price_usd: btc_price_usd must be > 0, got -1"),
    ({"value": 5, "zz": 1, "aa": 2}, "m.json: btc_price_usd: unknown field(s) aa, zz"),
    ({"value": 5, "unit": 1}, "m.json: btc_price_usd: unit must be text"),
    ({"value": 5, "kind": 1}, "m.json: btc_price_usd: kind must be text"),
    ({"value": 5, "source": 1}, "m.json: btc_price_usd: source must be text"),
    ({"value": 5, "note": 1}, "m.json: btc_price_usd: note must be text"),
])
def test_a_bad_figure_is_refused_in_full(figure, message):
    assert _refusal({"date": "2026-01-01", "figures": {"btc_price_usd": figure}}) == message


def test_a_bad_snapshot_is_refused_in_full():
    assert _refusal({"kind": "hashbench-run", "date": "2026-01-01"}) == \
        "m.json: not a market snapshot (kind 'hashbench-run')"
    assert _refusal({"date": "2026-1-1"}) == "m.json: date: a date must be YYYY, YYYY-MM or YYYY-MM-DD, got '2026-1-1'"
    assert _refusal({"date": "2026-01-01", "figures": [1]}) == "m.json: 'figures' must be an object"
    assert _refusal({"date": "2026-01-01", "figures": {"b": 1, "a": 1}}) == \
        f"m.json: unknown figure(s) a, b; known: {', '.join(FIGURES)}"
    assert ", difficulty, height, " in ", ".join(FIGURES)


def test_a_snapshot_without_a_base_holds_only_its_own_figures():
    snap = parse_snapshot({"date": "2026-01-01", "figures": {"height": 1}}, "m.json")
    assert list(snap.figures) == ["height"]


def test_a_figure_as_an_input_keeps_its_detail():
    snap = packaged_snapshot()
    fig = snap.get("h100_usd_per_gpu_hour")
    assert fig.detail
    assert snap.sourced("h100_usd_per_gpu_hour") == Sourced(fig.value, f"market snapshot {fig.as_of}", ESTIMATED,
                                                            fig.detail)


@pytest.mark.parametrize("low, high, shown", [
    (2e21, 3e21, "2Z to 3Z"), (1e18, 2.5e18, "1E to 2.5E"), (1e15, 4e15, "1P to 4P"), (1e12, 126e12, "1T to 126T"),
    (1e9, 9.5e11, "1G to 950G"), (60_000, 999_999, "60,000 to 999,999"),
])
def test_a_range_reads_as_people_write_it(low, high, shown):
    assert Figure(1.0, "", "2025", "range midpoint", "src", low, high, "n").detail == f"src; range {shown}; n"


def test_save_writes_indented_json_and_names_what_it_cannot_write(tmp_path):
    path = tmp_path / "m.json"
    save_snapshot(packaged_snapshot(), path)
    assert path.read_text().startswith('{\n  "kind": "hashbench-market",\n  "schema_version": 1,\n')
    with pytest.raises(InputError) as err:
        save_snapshot(packaged_snapshot(), tmp_path / "no" / "m.json")
    assert str(err.value) == f"output folder {str(tmp_path / 'no')!r} does not exist"
    (tmp_path / "d").mkdir()
    with pytest.raises(InputError) as err:
        save_snapshot(packaged_snapshot(), tmp_path / "d")
    assert str(err.value) == f"cannot write market file {str(tmp_path / 'd')!r}: Is a directory"


def test_base_url_keeps_a_trailing_letter_and_says_what_it_needs():
    assert resolve_base_url("http://proX/", {}) == "http://proX"
    with pytest.raises(InputError) as err:
        resolve_base_url("mempool.space", {})
    assert str(err.value) == "market API base URL must start with http:// or https://, got 'mempool.space'"


def test_stale_note_skips_a_snapshot_source_without_a_date_and_reads_on():
    from datetime import date
    note = stale_note([("power_usd_per_kwh", _snap("2020")), ("btc_price_usd", _snap("of my own")),
                       ("difficulty", _snap("2024-11-18"))], date(2024, 12, 19))
    assert note.startswith("valued with market figures up to 31 days old: difficulty (2024-11-18);")


def test_fetch_names_each_endpoint_it_read_and_sends_its_name(mempool):
    url = mempool()
    result = fetch_snapshot(url, packaged_snapshot(), timeout=5, today="2026-03-01")
    snap = result.snapshot
    assert {k: snap.get(k).source for k in result.fetched} == {
        "height": f"{url}/api/blocks/tip/height", "difficulty": f"{url}/api/v1/mining/hashrate/3d",
        "btc_price_usd": f"{url}/api/v1/prices",
        "fees_btc_per_block": f"{url}/api/v1/mining/blocks/fees/1w (mean of 2 interval averages)"}
    assert snap.value("fees_btc_per_block") == 0.036  # 3.6M sats, in BTC
    assert result.retarget == "next adjustment forecast -1.52 % in 331 blocks"
    assert snap.get("difficulty").note == result.retarget
    headers = mempool.servers[0].seen_headers
    assert headers and all(h["User-Agent"] == f"hashbench/{__version__}" and h["Accept"] == "application/json"
                           for h in headers)


def test_fetch_fallbacks_name_the_block_endpoints(mempool):
    routes = {k: v for k, v in MEMPOOL.items() if "/mining/" not in k}
    url = mempool({**routes, "/api/v1/difficulty-adjustment": {"difficultyChange": 2, "remainingBlocks": True}})
    result = fetch_snapshot(url, packaged_snapshot(), timeout=5, today="2026-03-01")
    snap = result.snapshot
    assert snap.get("difficulty").source == f"{url}/api/block/{TIP_HASH}"
    assert snap.get("fees_btc_per_block").source == f"{url}/api/v1/blocks (mean of the last 2 blocks)"
    assert snap.value("fees_btc_per_block") == 0.04
    assert result.retarget == "next adjustment forecast +2.00 %"  # a count that is not a number is left out


REPLACED_AND_39_NINES = "\ufffd" + "9" * 39  # an answer's first 40 characters, a bad byte shown as U+FFFD


def test_fetch_says_why_each_figure_was_kept(mempool):
    url = mempool({"/api/blocks/tip/height": b"\xff" + b"9" * 45, "/api/v1/mining/hashrate/3d": [1],
                   "/api/blocks/tip/hash": "\xe9" * 64, "/api/v1/prices": {"USD": "x"},
                   "/api/v1/mining/blocks/fees/1w": [], "/api/v1/blocks": {"a": 1}})
    result = fetch_snapshot(url, packaged_snapshot(), timeout=5, today="2026-03-01")
    assert result.fetched == () and result.retarget == ""
    assert result.kept == {
        "height": f"{url}/api/blocks/tip/height did not return a block height ({REPLACED_AND_39_NINES!r})",
        "difficulty": f"{url}/api/v1/mining/hashrate/3d: unexpected answer; fallback: "
                      f"{url}/api/blocks/tip/hash did not return a block hash",
        "btc_price_usd": f"{url}/api/v1/prices: USD is not a number ('x')",
        "fees_btc_per_block": f"{url}/api/v1/mining/blocks/fees/1w: expected a non-empty list; fallback: "
                              f"{url}/api/v1/blocks: expected a non-empty list"}
    assert result.snapshot.figures["height"] == packaged_snapshot().figures["height"]


def test_fetch_says_which_field_was_not_a_number(mempool):
    url = mempool({**MEMPOOL, "/api/v1/mining/hashrate/3d": {"currentDifficulty": "x"},
                   f"/api/block/{TIP_HASH}": {"difficulty": None}, "/api/v1/prices": [1],
                   "/api/v1/mining/blocks/fees/1w": [5], "/api/v1/blocks": [5]})
    kept = fetch_snapshot(url, packaged_snapshot(), timeout=5, today="2026-03-01").kept
    assert kept == {
        "difficulty": f"{url}/api/v1/mining/hashrate/3d: currentDifficulty is not a number ('x'); fallback: "
                      f"{url}/api/block/{TIP_HASH}: difficulty is not a number (None)",
        "btc_price_usd": f"{url}/api/v1/prices: unexpected answer",
        "fees_btc_per_block": f"{url}/api/v1/mining/blocks/fees/1w: avgFees is not a number (None); fallback: "
                              f"{url}/api/v1/blocks: extras.totalFees is not a number (None)"}
    url = mempool({**MEMPOOL, "/api/v1/mining/hashrate/3d": 404, f"/api/block/{TIP_HASH}": [1],
                   "/api/v1/mining/blocks/fees/1w": [{"avgFees": "x"}], "/api/v1/blocks": [{"extras": None}]})
    kept = fetch_snapshot(url, packaged_snapshot(), timeout=5, today="2026-03-01").kept
    assert kept == {
        "difficulty": f"HTTP 404 from {url}/api/v1/mining/hashrate/3d; fallback: {url}/api/block/{TIP_HASH}: "
                      "unexpected answer",
        "fees_btc_per_block": f"{url}/api/v1/mining/blocks/fees/1w: avgFees is not a number ('x'); fallback: "
                              f"{url}/api/v1/blocks: extras.totalFees is not a number (None)"}


def test_fetch_reads_at_most_4_mib_of_an_answer(mempool):
    url = mempool({**MEMPOOL, "/api/v1/prices": {"USD": 92000, "pad": "x" * (4 << 20)}})
    kept = fetch_snapshot(url, packaged_snapshot(), timeout=5, today="2026-03-01").kept
    assert kept == {"btc_price_usd": f"{url}/api/v1/prices did not return JSON"}


def test_fetch_waits_no_longer_than_its_timeout(mempool):
    url = mempool({**MEMPOOL, "/api/blocks/tip/height": Slow("925000")})
    with pytest.raises(Offline) as err:
        fetch_snapshot(url, packaged_snapshot(), timeout=0.1)
    assert str(err.value) == (f"offline: cannot reach {url} (no answer within 0.1 s); keeping the market snapshot "
                              "2025-11-18 (packaged)")
    slow = {k: Slow(v) for k, v in MEMPOOL.items() if k.startswith(("/api/v1/mining/", "/api/v1/prices",
                                                                     "/api/v1/difficulty"))}
    result = fetch_snapshot(mempool({**MEMPOOL, **slow}), packaged_snapshot(), timeout=0.1, today="2026-03-01")
    assert result.fetched == ("height",) and result.retarget == ""
    assert result.kept == {k: "no answer (no answer within 0.1 s)"
                           for k in ("difficulty", "btc_price_usd", "fees_btc_per_block")}


def test_fetch_says_a_server_hung_up_and_a_port_refused(mempool, closed_port_url):
    result = fetch_snapshot(mempool({**MEMPOOL, "/api/v1/prices": CLOSE}), packaged_snapshot(), timeout=5,
                            today="2026-03-01")
    assert result.kept == {"btc_price_usd": "no answer (Remote end closed connection without response)"}
    with pytest.raises(Offline, match=r"^offline: cannot reach \S+ \(\[Errno \d+\] Connection refused\); keeping"):
        fetch_snapshot(closed_port_url, packaged_snapshot(), timeout=2)


def test_a_height_and_fees_of_zero_are_figures_and_negative_fees_are_not():
    snap = parse_snapshot({"date": "2026-01-01", "figures": {"height": 0, "fees_btc_per_block": 0}}, "m.json")
    assert (snap.value("height"), snap.value("fees_btc_per_block")) == (0.0, 0.0)
    assert _refusal({"date": "2026-01-01", "figures": {"fees_btc_per_block": -1}}) == \
        "m.json: fees_btc_per_block must be >= 0, got -1"
    with pytest.raises(InputError) as err:
        snap.get("btc_price_usd")
    assert str(err.value) == "the market snapshot of 2026-01-01 (m.json) has no 'btc_price_usd'"
    with pytest.raises(InputError) as err:
        load_snapshot(Path("/nonexistent/m.json"))
    assert str(err.value) == "market file '/nonexistent/m.json' not found"


def test_fetch_refuses_a_zero_timeout_and_an_unknown_fee_window_in_full():
    with pytest.raises(InputError) as err:
        fetch_snapshot("http://127.0.0.1:9", packaged_snapshot(), timeout=0)
    assert str(err.value) == "timeout must be > 0 seconds, got 0"
    with pytest.raises(InputError) as err:
        fetch_snapshot("http://127.0.0.1:9", packaged_snapshot(), fee_window="2h")
    assert str(err.value) == "fee window must be one of 24h, 3d, 1w, 1m, 3m, 6m, 1y, 2y, 3y, got '2h'"


def test_fetch_keeps_a_fetched_figure_no_snapshot_may_hold(mempool):
    url = mempool({**MEMPOOL, "/api/v1/prices": {"USD": -5}})
    result = fetch_snapshot(url, packaged_snapshot(), timeout=5, today="2026-03-01")
    assert result.kept == {"btc_price_usd": f"{url}/api/v1/prices: btc_price_usd must be > 0, got -5.0"}


def test_a_fetched_snapshot_says_what_it_is_and_how_hashprice_was_made(mempool):
    url = mempool()
    snap = fetch_snapshot(url, packaged_snapshot(), timeout=5, today="2026-03-01").snapshot
    assert snap.description == f"fetched from {url}; figures not fetched keep their own dates"
    assert snap.get("hashprice_usd_per_ph_day").source == (
        "computed by hashbench from the difficulty, BTC price, subsidy at the height and fees in this snapshot")
    assert snap.to_json()["description"] == snap.description


def test_a_forecast_is_no_note_on_a_difficulty_that_was_not_fetched(mempool):
    result = fetch_snapshot(mempool({**MEMPOOL, "/api/v1/mining/hashrate/3d": 404, "/api/blocks/tip/hash": 404}),
                            packaged_snapshot(), timeout=5, today="2026-03-01")
    assert "difficulty" in result.kept and result.retarget
    assert result.snapshot.get("difficulty") == packaged_snapshot().get("difficulty")


def test_fetch_is_offline_when_the_first_answer_never_comes(mempool):
    url = mempool({**MEMPOOL, "/api/blocks/tip/height": CLOSE})
    with pytest.raises(Offline) as err:
        fetch_snapshot(url, packaged_snapshot(), timeout=5)
    assert str(err.value) == (f"offline: cannot reach {url} (Remote end closed connection without response); "
                              "keeping the market snapshot 2025-11-18 (packaged)")


def test_fetch_fallbacks_wait_no_longer_than_the_timeout_either(mempool):
    # a fallback request without the timeout would hang `market fetch` on a half-broken server
    block = f"/api/block/{TIP_HASH}"
    url = mempool({**MEMPOOL, "/api/v1/mining/hashrate/3d": 404, block: Slow(MEMPOOL[block]),
                   "/api/v1/mining/blocks/fees/1w": 404, "/api/v1/blocks": Slow(MEMPOOL["/api/v1/blocks"])})
    kept = fetch_snapshot(url, packaged_snapshot(), timeout=0.1, today="2026-03-01").kept
    assert kept == {"difficulty": "no answer (no answer within 0.1 s)",
                    "fees_btc_per_block": "no answer (no answer within 0.1 s)"}
    url = mempool({**MEMPOOL, "/api/v1/mining/hashrate/3d": 404, "/api/blocks/tip/hash": Slow(TIP_HASH)})
    kept = fetch_snapshot(url, packaged_snapshot(), timeout=0.1, today="2026-03-01").kept
    assert kept == {"difficulty": "no answer (no answer within 0.1 s)"}


def test_a_fetched_snapshot_is_dated_by_the_utc_day_not_the_local_one(mempool, monkeypatch):
    from datetime import UTC, datetime
    before = datetime.now(UTC)
    # a zone 14 h ahead of UTC after 10:00 UTC, 12 h behind before: its date is never UTC's
    monkeypatch.setenv("TZ", "Etc/GMT-14" if before.hour >= 10 else "Etc/GMT+12")
    time.tzset()
    try:
        assert datetime.now().date() != before.date() or datetime.now(UTC).date() != before.date()
        snap = fetch_snapshot(mempool(), packaged_snapshot(), timeout=5).snapshot
    finally:
        monkeypatch.undo()
        time.tzset()
    assert snap.date in {before.date().isoformat(), datetime.now(UTC).date().isoformat()}
