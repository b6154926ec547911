"""Energy meters: integration math, RAPL on a sysfs-shaped tree, ipmitool output, a real Redfish HTTP server,
NVML through a stand-in module (and the real one where a GPU is present)."""

from __future__ import annotations

import base64
import json
import os
import subprocess
import sys
import threading
import time
import types
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from hashbench.energy import EnergyConfig, EnergyMeter, EnergyPlan, EnergyReading, EnergyUnavailable, select_source
from hashbench.energy.ipmi import IpmiSource, IpmiUnavailable, parse_dcmi_power
from hashbench.energy.meter import measure_idle
from hashbench.energy.nvml import NvmlCounterSource, NvmlPowerSource, NvmlUnavailable, open_nvml
from hashbench.energy.rapl import RaplSource, RaplUnavailable, find_domains, wrapped_delta
from hashbench.energy.redfish import RedfishClient, RedfishSource, RedfishUnavailable, parse_power
from hashbench.energy.sampling import PowerWindow, clock, estimate_update_period, integrate
from hashbench.energy.source import CounterSource, PowerSource
from hashbench.errors import InputError

# --- integration math ------------------------------------------------------------------------------------------------


def test_integrate_constant_and_ramp_exactly():
    assert integrate([(0.0, 100.0), (1.0, 100.0), (2.0, 100.0)], 0.0, 2.0) == pytest.approx(200.0)
    ramp = [(t / 10, 50.0 + 10.0 * t / 10) for t in range(31)]  # 50 W rising 10 W/s over 3 s
    # ∫ 50 + 10 t dt over [0.55, 2.35] = 50·1.8 + 5·(2.35² − 0.55²)
    assert integrate(ramp, 0.55, 2.35) == pytest.approx(50 * 1.8 + 5 * (2.35 ** 2 - 0.55 ** 2))


def test_integrate_uneven_samples_with_partial_first_and_last_intervals():
    samples = [(0.0, 100.0), (0.1, 200.0), (0.4, 200.0), (1.0, 50.0)]
    # [0.05, 0.1]: 150 → 200 W, 175 W × 0.05 s = 8.75 J; [0.1, 0.4]: 200 W × 0.3 s = 60 J; [0.4, 0.7]: 200 → 125 W
    # (−250 W/s), 162.5 W × 0.3 s = 48.75 J. 117.5 J; holding each sample to the next would give 125 J.
    assert integrate(samples, 0.05, 0.7) == pytest.approx(117.5)


def test_integrate_holds_flat_outside_samples_and_handles_empty():
    assert integrate([(1.0, 10.0), (2.0, 30.0)], 0.0, 3.0) == pytest.approx(10 * 1 + 20 * 1 + 30 * 1)
    assert integrate([], 0.0, 1.0) == 0.0
    assert integrate([(0.0, 5.0)], 1.0, 1.0) == 0.0
    assert integrate([(2.0, 7.0), (0.0, 7.0)], 0.0, 2.0) == pytest.approx(14.0)  # unsorted input


def test_power_window_integrates_a_constant_source_over_exactly_the_window():
    window = PowerWindow(lambda: 100.0, 0.01)
    window.start()
    time.sleep(0.2)
    result = window.stop()
    assert result.joules == pytest.approx(100.0 * result.seconds, rel=1e-9)
    # One sample before the window opens and one after it closes are all a loaded machine guarantees (how often
    # the thread got to sample in between is a timing, and a slow rate is flagged: the test below).
    assert result.samples >= 2 and result.interval_s > 0


def test_power_window_integrates_a_ramp_exactly():
    t0 = clock()
    window = PowerWindow(lambda: 40.0 + 200.0 * (clock() - t0), 0.05)  # 20 Hz, as the NVML fallback samples
    window.start()
    start = clock()
    time.sleep(0.4)
    end = clock()
    result = window.stop()
    exact = 40.0 * (end - start) + 100.0 * ((end - t0) ** 2 - (start - t0) ** 2)
    assert result.joules == pytest.approx(exact, rel=0.02)


def test_power_sampled_slower_than_asked_is_flagged():
    """A sensor read that takes 0.15 s cannot be sampled at the 20 Hz asked: the reading says at what rate it was."""
    class SlowSensor(FakePower):
        interval_s = 0.05

        def read_watts(self) -> float:
            time.sleep(0.15)
            return self.watts

    with EnergyMeter(SlowSensor(80.0), idle_seconds=0.0) as meter:
        time.sleep(0.5)
    r = meter.reading()
    assert r.update_period_s >= 0.15 and r.joules_gross == pytest.approx(80.0 * r.window_s)
    assert any(f"power sampled at {1 / r.update_period_s:.1f} Hz, below the 10 Hz asked" in f for f in r.flags)
    with EnergyMeter(FakePower(80.0), idle_seconds=0.0) as meter:  # 100 Hz asked, the read is instant
        time.sleep(0.2)
    flagged = any("below the 10 Hz asked" in f for f in meter.reading().flags)
    assert flagged == (meter.reading().update_period_s > 0.1)  # flagged exactly when it fell below 10 Hz


def test_power_window_counts_failed_reads():
    calls = iter([50.0, RuntimeError("sensor busy"), 50.0, 50.0, 50.0, 50.0, 50.0, 50.0, 50.0, 50.0] + [50.0] * 100)

    def read() -> float:
        value = next(calls)
        if isinstance(value, Exception):
            raise value
        return value

    window = PowerWindow(read, 0.01)
    window.start()
    time.sleep(0.05)
    result = window.stop()
    assert result.failures == 1 and "sensor busy" in result.error
    assert result.joules == pytest.approx(50.0 * result.seconds)


class FakePower(PowerSource):
    name, layer = "fake", "node"
    interval_s = 0.01

    def __init__(self, watts: float) -> None:
        self.watts = watts

    def read_watts(self) -> float:
        return self.watts


class FakeCounter(CounterSource):
    """Joules = watts × time, moving in steps of `period` like a real counter."""

    name, layer = "fakecounter", "cpu package"
    poll_interval_s = 0.01

    def __init__(self, watts: float, period: float | None = None) -> None:
        self.watts, self.update_period_s, self._origin = watts, period, clock()

    def read_joules(self) -> float:
        t = clock() - self._origin
        if self.update_period_s:
            t = (t // self.update_period_s) * self.update_period_s
        return self.watts * t


def test_meter_reports_gross_idle_and_net():
    source = FakePower(20.0)
    idle = measure_idle(source, 0.1)
    assert idle.watts == pytest.approx(20.0) and idle.samples >= 2
    source.watts = 80.0
    with EnergyMeter(source, idle=idle) as meter:
        time.sleep(0.1)
    r = meter.reading()
    assert (r.source, r.layer, r.method) == ("fake", "node", "sampled power")
    assert r.joules_gross == pytest.approx(80.0 * r.window_s, rel=1e-6)
    assert r.joules_net == pytest.approx(60.0 * r.window_s, rel=1e-6)
    assert r.idle_watts == pytest.approx(20.0) and r.samples >= 3
    j = r.to_json()
    assert {"source", "layer", "joules_gross", "idle_watts", "joules_net", "window_s", "samples", "update_period_s",
            "flags"} <= j.keys()
    assert j["joules"] == j["joules_gross"]


def test_meter_measures_idle_itself_and_flags_a_missing_idle():
    with EnergyMeter(FakePower(30.0), idle_seconds=0.05) as meter:
        time.sleep(0.02)
    assert meter.reading().idle_watts == pytest.approx(30.0)
    with EnergyMeter(FakePower(30.0), idle_seconds=0.0) as meter:
        time.sleep(0.02)
    r = meter.reading()
    assert r.joules_net is None and any("no idle measurement" in f for f in r.flags)


def test_an_idle_measurement_over_few_counter_updates_is_flagged():
    """Idle over 0.2 s of a counter updating every 0.05 s: 4 updates, up to one update (25 %) off."""
    with EnergyMeter(FakeCounter(100.0, period=0.05), idle_seconds=0.2) as meter:
        time.sleep(0.6)
    r = meter.reading()
    flag = next(f for f in r.flags if f.startswith("idle power measured over under 10 counter updates"))
    # one update over the idle window actually slept: 25 % at exactly 0.2 s, less for a longer sleep
    assert "(50 ms each)" in flag and f"±{5 / r.idle_seconds:.0f} %" in flag
    with EnergyMeter(FakeCounter(100.0, period=0.01), idle_seconds=0.2) as meter:
        time.sleep(0.05)
    assert not any(f.startswith("idle power measured") for f in meter.reading().flags)


def test_counter_window_shorter_than_update_period_is_flagged():
    with EnergyMeter(FakeCounter(100.0, period=0.5), idle_seconds=0.0) as meter:
        time.sleep(0.05)
    r = meter.reading()
    assert r.method == "energy counter" and r.update_period_s == 0.5
    assert any("window shorter than counter update period" in f for f in r.flags)
    with EnergyMeter(FakeCounter(100.0, period=0.02), idle_seconds=0.0) as meter:
        time.sleep(0.1)
    r = meter.reading()
    assert any("under 10 counter updates" in f for f in r.flags)
    assert r.joules_gross == pytest.approx(100.0 * r.window_s, abs=100.0 * 0.02 * 1.5)


def test_estimate_update_period_of_a_stepping_counter():
    counter = FakeCounter(100.0, period=0.02)
    assert estimate_update_period(counter.read_joules, max_seconds=0.5) == pytest.approx(0.02, rel=0.3)


def test_idle_above_load_is_flagged_not_hidden():
    source = FakePower(50.0)
    idle = measure_idle(source, 0.03)
    source.watts = 40.0
    with EnergyMeter(source, idle=idle) as meter:
        time.sleep(0.03)
    r = meter.reading()
    # 40 W under load against a 50 W idle: the net would be -10 W × the window. Flagged, and no net figure.
    assert r.joules_gross == pytest.approx(40.0 * r.window_s, rel=1e-6) and r.idle_watts == pytest.approx(50.0)
    assert r.joules_net is None and any("net energy not reported" in f for f in r.flags)


def test_net_energy_is_idle_watts_times_the_workload_window_and_never_negative():
    from hashbench.energy import hash_energy_fields

    # 300 J in a 2 s window over a 60 W idle measured for 5 s: net 300 − 60 × 2 = 180 J (the idle's own 5 s play
    # no part); 3 TH hashed: 100 J/TH gross, 60 J/TH net.
    r = EnergyReading("rapl", "cpu package", "energy counter", 2.0, 300.0, idle_watts=60.0, idle_seconds=5.0)
    assert r.joules_net == pytest.approx(180.0)
    fields = hash_energy_fields(r, hashes=3 * 10 ** 12)
    assert fields["joules_per_th"] == pytest.approx(100.0) and fields["joules_per_th_net"] == pytest.approx(60.0)
    # Exactly idle: 120 J in 2 s at 60 W idle is a net of 0, reported as 0.
    assert EnergyReading("rapl", "cpu package", "energy counter", 2.0, 120.0, idle_watts=60.0).joules_net == 0.0
    # 100 J in 2 s under a 60 W idle would be −20 J net, −6.7 J/TH: no such figure comes out.
    low = EnergyReading("rapl", "cpu package", "energy counter", 2.0, 100.0, idle_watts=60.0)
    assert low.joules_net is None and low.per_unit(3.0, net=True) is None
    assert low.per_unit(3.0) == pytest.approx(100 / 3)
    fields = hash_energy_fields(low, hashes=3 * 10 ** 12)
    assert fields["joules_per_th_net"] is None and fields["energy"]["joules_net"] is None
    assert fields["energy"]["joules_gross"] == 100.0 and fields["energy"]["idle_watts"] == 60.0


def test_ctrl_c_in_the_idle_wait_stops_the_sampler(monkeypatch):
    from hashbench.energy import meter as meter_module

    def interrupted(seconds: float) -> None:
        raise KeyboardInterrupt

    monkeypatch.setattr(meter_module.time, "sleep", interrupted)
    with pytest.raises(KeyboardInterrupt):
        measure_idle(FakePower(40.0), 5.0)
    assert not [t for t in threading.enumerate() if t.name == "hashbench-power-sampler"]


def test_declared_watts_with_a_named_measured_source_or_none_is_refused():
    # --energy rapl --watts 300 used RAPL and dropped the 300 W without a word; --energy none --watts 300 likewise.
    for mode in ("rapl", "nvml", "ipmi", "none"):
        with pytest.raises(InputError, match=f"--watts declares the power and --energy {mode}"):
            EnergyConfig.from_env({}, mode=mode, watts=300.0)
    assert EnergyConfig.from_env({}, mode="auto", watts=300.0).watts == 300.0  # auto: the fallback
    proc = _hashbench("bench", "--backend", "python", "--energy", "none", "--watts", "300", env=dict(os.environ))
    assert proc.returncode != 0 and proc.stdout == ""
    assert proc.stderr.strip().count("\n") == 0 and "turns metering off" in proc.stderr


def test_no_source_gives_none_never_a_number():
    with EnergyMeter(None, why_none="no energy source for cpu — rapl: nothing") as meter:
        time.sleep(0.01)
    r = meter.reading()
    assert r.source == "none" and r.joules_gross is None and r.joules_net is None and r.watts is None
    assert r.per_unit(100) is None and "rapl: nothing" in r.detail and r.label == "none"


def test_declared_source_is_labelled_declared():
    plan = EnergyPlan(EnergyConfig(mode="declared", watts=65.0, idle_watts=15.0))
    with plan.meter("cpu") as meter:
        time.sleep(0.02)
    r = meter.reading()
    assert (r.source, r.layer, r.label) == ("declared", "declared", "declared 65 W")
    assert r.joules_gross == pytest.approx(65.0 * r.window_s)
    assert r.joules_net == pytest.approx(50.0 * r.window_s)
    assert "declared power, not measured" in r.flags


def test_reading_flows_into_runfile_as_joules_per_token():
    from hashbench.runfile import parse_run

    reading = EnergyReading("rapl", "cpu package", "energy counter", 2.0, 100.0, idle_watts=10.0)
    record = {"probe": "llm-decode", "device": "cpu", "preset": "cpu-small", "dtype": "fp32", "batch": 1,
              "value": 50.0, "unit": "tokens/s", "joules_per_unit": reading.per_unit(100), "power_source":
              reading.label, "energy": reading.to_json()}
    run = parse_run({"benchmarks": [{"backend": "cython", "impl": "avx2", "threads": 1, "hashrate": 1e7,
                                     "seconds": 2.0, "energy": reading.to_json()}], "probes": [record]}, "x.json")
    assert run.tokens[0].joules_per_token == pytest.approx(1.0)
    assert run.hashing[0].watts == pytest.approx(50.0) and run.hashing[0].power_source == "rapl"


# --- config and selection --------------------------------------------------------------------------------------------


def test_config_from_environment_and_flags(tmp_path):
    env = {"HASHBENCH_RAPL_ROOT": str(tmp_path), "HASHBENCH_REDFISH_URL": "https://bmc/redfish/v1",
           "HASHBENCH_REDFISH_USER": "root", "HASHBENCH_REDFISH_PASSWORD": "pw", "HASHBENCH_REDFISH_INSECURE": "1",
           "HASHBENCH_IPMI_ARGS": "-I lanplus -H 10.0.0.5 -U admin -E"}
    config = EnergyConfig.from_env(env, mode="redfish", idle_seconds=2.0, watts=None)
    assert config.rapl_root == tmp_path and config.redfish_verify_tls is False
    assert config.ipmi_args == ("-I", "lanplus", "-H", "10.0.0.5", "-U", "admin", "-E")
    assert config.idle_seconds == 2.0 and config.watts is None and "pw" not in repr(config)
    with pytest.raises(InputError, match="--energy declared needs --watts"):
        EnergyConfig.from_env({}, mode="declared")
    with pytest.raises(InputError, match="--energy must be one of"):
        EnergyConfig.from_env({}, mode="wall")
    with pytest.raises(InputError, match="--idle-seconds"):
        EnergyConfig.from_env({}, idle_seconds=-1.0)


def test_auto_finds_nothing_and_says_why_each_source_failed(tmp_path):
    config = EnergyConfig(rapl_root=tmp_path / "none", ipmitool="no-such-ipmitool")
    source, why = select_source(config, "cpu")
    assert source is None
    assert "rapl: no powercap interface" in why and "--watts" in why
    config = EnergyConfig(rapl_root=tmp_path / "none", ipmitool="no-such-ipmitool", watts=120.0)
    source, _ = select_source(config, "cpu")
    assert source.name == "declared"


def test_named_source_that_cannot_be_read_is_an_error(tmp_path):
    with pytest.raises(EnergyUnavailable, match="--energy rapl: no powercap interface"):
        select_source(EnergyConfig(mode="rapl", rapl_root=tmp_path / "none"), "cpu")
    assert select_source(EnergyConfig(mode="none"), "cpu") == (None, "energy metering off (--energy none)")


def test_a_device_layer_source_never_meters_the_other_devices_work(tmp_path, monkeypatch):
    """--energy nvml for the CPU's work would be GPU 0's board joules per CPU terahash; --energy rapl for a GPU's,
    the CPU package's per GPU terahash: no energy for that device, saying which sources would measure it. Neither
    source is even opened."""
    monkeypatch.setitem(sys.modules, "pynvml", fake_nvml(counter=True))
    root = make_rapl(tmp_path, {"intel-rapl:0": ("package-0", 5_000_000, 262_143_328_850)})
    assert select_source(EnergyConfig(mode="nvml"), "cpu") == (None, (
        "--energy nvml meters GPU boards, not the work on cpu (for cpu: --energy auto, ipmi, redfish or declared)"))
    assert select_source(EnergyConfig(mode="rapl", rapl_root=root), "cuda:0,1") == (None, (
        "--energy rapl meters CPU packages, not the work on cuda:0,1 (for cuda:0,1: --energy auto, ipmi, redfish or "
        "declared)"))
    assert select_source(EnergyConfig(mode="nvml"), "cuda:0")[0].layer == "gpu board"
    assert select_source(EnergyConfig(mode="rapl", rapl_root=root), "cpu")[0].layer == "cpu package"


# --- RAPL ------------------------------------------------------------------------------------------------------------


def make_rapl(root: Path, zones: dict[str, tuple[str, int, int]]) -> Path:
    """zones: dir name -> (name file, energy_uj, max_energy_range_uj), laid out as /sys/class/powercap is."""
    (root / "intel-rapl").mkdir(parents=True)  # the control-type directory: no energy_uj, must be ignored
    for zone, (name, energy, max_range) in zones.items():
        d = root / zone
        d.mkdir()
        (d / "name").write_text(name + "\n")
        (d / "energy_uj").write_text(f"{energy}\n")
        (d / "max_energy_range_uj").write_text(f"{max_range}\n")
    return root


def set_energy(root: Path, zone: str, value: int) -> None:
    (root / zone / "energy_uj").write_text(f"{value}\n")


MAX = 262143328850  # a real package max_energy_range_uj


def test_rapl_sums_package_and_dram_only(tmp_path):
    root = make_rapl(tmp_path, {
        "intel-rapl:0": ("package-0", 1_000_000, MAX), "intel-rapl:0:0": ("core", 5, MAX),
        "intel-rapl:0:1": ("dram", 2_000_000, 65712999613), "intel-rapl:1": ("package-1", 3_000_000, MAX),
        "intel-rapl:1:0": ("dram", 4_000_000, 65712999613),
        "intel-rapl:2": ("psys", 9, MAX), "intel-rapl-mmio:0": ("package-0", 7, MAX)})
    assert [d.name for d in find_domains(root)] == ["package-0", "dram", "package-1", "dram"]
    source = RaplSource(root)
    start = source.read_joules()
    set_energy(root, "intel-rapl:0", 1_500_000)  # +0.5 J
    set_energy(root, "intel-rapl:0:1", 2_250_000)  # +0.25 J
    set_energy(root, "intel-rapl:0:0", 999_999_999)  # core: inside package-0, not added again
    assert source.read_joules() - start == pytest.approx(0.75)
    # Two sockets: both packages and each one's dram, summed, every dram named by the package it belongs to.
    assert source.layer == "cpu package"
    assert "package-0, dram of package-0, package-1, dram of package-1 under" in source.detail


def test_rapl_wraparound(tmp_path):
    root = make_rapl(tmp_path, {"intel-rapl:0": ("package-0", MAX - 400_000, MAX)})
    source = RaplSource(root)
    start = source.read_joules()
    set_energy(root, "intel-rapl:0", 600_000)  # wrapped: 0.4 J to the top, 0.6 J after
    assert source.read_joules() - start == pytest.approx(1.0)
    set_energy(root, "intel-rapl:0", 700_000)
    assert source.read_joules() - start == pytest.approx(1.1)
    assert wrapped_delta(10, 5, 20) == 15 and wrapped_delta(5, 10, 20) == 5


def test_rapl_amd_zone_names(tmp_path):
    root = make_rapl(tmp_path, {"amd-rapl:0": ("package-0", 10, MAX), "amd-rapl:0:0": ("core", 1, MAX)})
    assert [(d.zone, d.name) for d in find_domains(root)] == [("amd-rapl:0", "package-0")]


def test_rapl_missing_tree_and_no_domains(tmp_path):
    with pytest.raises(RaplUnavailable, match="no powercap interface"):
        find_domains(tmp_path / "missing")
    make_rapl(tmp_path / "p", {"intel-rapl:0": ("psys", 1, MAX)})
    with pytest.raises(RaplUnavailable, match="no RAPL package or dram zone"):
        find_domains(tmp_path / "p")


def test_rapl_root_only_message(tmp_path, monkeypatch):
    root = make_rapl(tmp_path, {"intel-rapl:0": ("package-0", 10, MAX)})
    real = Path.read_text

    def guarded(self: Path, *a, **k) -> str:
        if self.name == "energy_uj":  # what a 0400 root:root file gives a normal user
            raise PermissionError(13, "Permission denied", str(self))
        return real(self, *a, **k)

    monkeypatch.setattr(Path, "read_text", guarded)
    with pytest.raises(RaplUnavailable, match="readable by root only") as info:
        RaplSource(root)
    assert "energy_uj" in str(info.value) and "run as root" in str(info.value)
    with pytest.raises(EnergyUnavailable, match="--energy rapl: RAPL energy counters are readable by root only"):
        select_source(EnergyConfig(mode="rapl", rapl_root=root), "cpu")
    source, why = select_source(EnergyConfig(rapl_root=root, ipmitool="no-such-ipmitool"), "cpu")
    assert source is None and "root only" in why


@pytest.mark.skipif(hasattr(os, "geteuid") and os.geteuid() == 0, reason="root reads a 0400 file anyway")
def test_rapl_root_only_with_real_file_modes(tmp_path):
    root = make_rapl(tmp_path, {"intel-rapl:0": ("package-0", 10, MAX)})
    (root / "intel-rapl:0" / "energy_uj").chmod(0)  # the kernel's 0400 root:root, as seen by a normal user
    with pytest.raises(RaplUnavailable, match="readable by root only"):
        RaplSource(root)


def test_rapl_through_the_meter(tmp_path):
    root = make_rapl(tmp_path, {"intel-rapl:0": ("package-0", 5_000_000, MAX)})
    plan = EnergyPlan(EnergyConfig(mode="rapl", rapl_root=root, idle_seconds=0.0))
    with plan.meter("cpu") as meter:
        set_energy(root, "intel-rapl:0", 7_500_000)
    r = meter.reading()
    assert (r.source, r.layer, r.joules_gross) == ("rapl", "cpu package", pytest.approx(2.5))
    assert r.samples >= 2 and r.update_period_s == pytest.approx(0.001)
    assert "update period 1 ms nominal, not measured" in r.detail  # NVML's is measured; this one is a constant


def test_rapl_counter_that_goes_backwards_is_no_reading_not_a_wrap(tmp_path):
    # A backwards step that no wraparound explains (the counter restarted: driver reload, a firmware glitch) read as
    # a wrap would add max_energy_range_uj, 262 kJ here, to the window. The window's energy is unknown instead.
    root = make_rapl(tmp_path, {"intel-rapl:0": ("package-0", 50_000_000, MAX)})
    source = RaplSource(root)
    with EnergyMeter(source, idle_seconds=0.0) as meter:
        set_energy(root, "intel-rapl:0", 40_000_000)  # 10 J backwards
        assert source.read_joules() == 0.0  # what the poller would read: nothing added, the reset counted
        set_energy(root, "intel-rapl:0", 45_000_000)
    r = meter.reading()
    assert r.joules_gross is None and "went backwards" in r.detail and source.resets == 1
    # A real wrap, from near the top to near 0, still counts.
    set_energy(root, "intel-rapl:0", MAX - 100)
    before = source.read_joules()
    set_energy(root, "intel-rapl:0", 900)
    assert source.read_joules() - before == pytest.approx(1000e-6) and source.resets == 1


class FailingCounter(FakeCounter):
    """A counter whose reads start failing (NVML: GPU is lost) after `good` reads, or that restarts from 0 (driver
    reload) at that read."""

    def __init__(self, good: int, how: str) -> None:
        super().__init__(100.0)
        self.good, self.how, self.reads = good, how, 0

    def read_joules(self) -> float:
        self.reads += 1
        if self.reads > self.good:
            if self.how == "lost":
                raise RuntimeError("GPU is lost")
            self.resets, self.reset_why = 1, "counter went backwards (driver reloaded)"  # as the real sources do
        return 1000.0 + super().read_joules()


@pytest.mark.parametrize(("good", "how", "said"), [(0, "lost", "GPU is lost"), (1, "lost", "GPU is lost"),
                                                   (1, "reset", "went backwards")])
def test_counter_failing_at_either_edge_of_the_window_is_no_reading_and_the_workload_runs(good, how, said):
    ran = []
    with EnergyMeter(FailingCounter(good, how), idle_seconds=0.0) as meter:
        ran.append(True)
    r = meter.reading()
    assert ran and r.joules_gross is None and said in r.detail and r.source == "fakecounter"
    assert any("failed during the window" in f for f in r.flags)


# --- IPMI ------------------------------------------------------------------------------------------------------------

# `ipmitool dcmi power reading` as ipmitool 1.8.18 prints it (leading newline, 4-space indent, blank lines after).
DCMI_OUTPUT = """
    Instantaneous power reading:                   247 Watts
    Minimum during sampling period:                 68 Watts
    Maximum during sampling period:                424 Watts
    Average power reading over sample period:      213 Watts
    IPMI timestamp:                           Thu Feb 15 08:36:01 2024
    Sampling period:                          00000001 Seconds.
    Power reading state is:                   activated

"""

DCMI_DEACTIVATED = """
    Instantaneous power reading:                   235 Watts
    Minimum during sampling period:                235 Watts
    Maximum during sampling period:                235 Watts
    Average power reading over sample period:      235 Watts
    IPMI timestamp:                           Thu Jan  1 00:00:00 1970
    Sampling period:                          00000000 Seconds.
    Power reading state is:                   deactivated

"""


def test_parse_dcmi_power_reading():
    r = parse_dcmi_power(DCMI_OUTPUT)
    assert (r.instantaneous_w, r.minimum_w, r.maximum_w, r.average_w) == (247, 68, 424, 213)
    assert r.sampling_period_s == 1 and r.active and r.timestamp == "Thu Feb 15 08:36:01 2024"
    off = parse_dcmi_power(DCMI_DEACTIVATED)
    assert off.instantaneous_w == 235 and not off.active and off.sampling_period_s == 0
    tabbed = DCMI_OUTPUT.replace("    ", "\t").replace("00000001 Seconds.", "5_sec")
    assert parse_dcmi_power(tabbed).sampling_period_s == 5
    with pytest.raises(ValueError, match="Instantaneous"):
        parse_dcmi_power("Error: Unable to establish IPMI v2 / RMCP+ session\n")


def fake_ipmitool(tmp_path: Path, stdout: str, stderr: str = "", code: int = 0) -> Path:
    script = tmp_path / "ipmitool"
    script.write_text(f"#!/bin/sh\ncat <<'EOF'\n{stdout}\nEOF\n" + (f"echo '{stderr}' >&2\n" if stderr else "")
                      + f"exit {code}\n")
    script.chmod(0o755)
    return script


def test_ipmi_source_runs_ipmitool_and_integrates(tmp_path):
    tool = fake_ipmitool(tmp_path, DCMI_OUTPUT)
    source = IpmiSource(str(tool), ["-I", "lanplus", "-H", "10.0.0.5", "-U", "admin", "-P", "secret"])
    assert source.read_watts() == 247 and "secret" not in source.detail and "lanplus" in source.detail
    source.interval_s = 0.05  # BMCs refresh once a second; the stand-in can go faster
    with EnergyMeter(source, idle_seconds=0.0) as meter:
        time.sleep(0.2)
    r = meter.reading()
    assert (r.source, r.layer) == ("ipmi", "node")
    assert r.joules_gross == pytest.approx(247 * r.window_s)
    deactivated = IpmiSource(str(fake_ipmitool(tmp_path, DCMI_DEACTIVATED)))
    assert any("deactivated" in f for f in deactivated.window_flags(30.0))


def test_ipmi_failures_say_why(tmp_path):
    tool = fake_ipmitool(tmp_path, "", "Could not open device at /dev/ipmi0 or /dev/ipmi/0 or /dev/ipmidev/0: "
                                       "No such file or directory", 1)
    with pytest.raises(IpmiUnavailable, match="no local BMC interface"):
        IpmiSource(str(tool))
    with pytest.raises(IpmiUnavailable, match="not found on PATH"):
        IpmiSource("no-such-ipmitool-here")


# ipmitool 1.8.19 prints the timestamp (now "MM/DD/YYYY HH:MM:SS UTC") without its newline, so the sampling period
# runs on in the same line: as posted from a real server in a Prometheus textfile-collector script's comment, and in
# ipmitool's lib/ipmi_dcmi.c (ipmi_timestamp_numeric() has no trailing newline since 1.8.19).
DCMI_1_8_19 = "\n".join([
    "",
    "    Instantaneous power reading:                   240 Watts",
    "    Minimum during sampling period:                132 Watts",
    "    Maximum during sampling period:                384 Watts",
    "    Average power reading over sample period:      204 Watts",
    "    IPMI timestamp:                           03/06/2025 07:40:35 UTC"
    "    Sampling period:                          00000001 Seconds.",  # the same line
    "    Power reading state is:                   activated",
    "", ""])

# OpenBMC without a total-power sensor (openbmc/phosphor-host-ipmid issue #167): zeros, state deactivated.
DCMI_ZERO_DEACTIVATED = DCMI_DEACTIVATED.replace("235 Watts", "  0 Watts")


def test_parse_dcmi_power_reading_of_ipmitool_1_8_19(tmp_path):
    r = parse_dcmi_power(DCMI_1_8_19)
    assert (r.instantaneous_w, r.average_w) == (240, 204)
    assert r.timestamp == "03/06/2025 07:40:35 UTC" and r.sampling_period_s == 1 and r.active
    assert "statistics period 1 s" in IpmiSource(str(fake_ipmitool(tmp_path, DCMI_1_8_19))).detail


def test_ipmi_that_cannot_start_is_unavailable_and_auto_goes_on(tmp_path):
    # An ipmitool that is on PATH but cannot be executed (here a script whose interpreter is missing; a binary for
    # another architecture fails the same way) is an unavailable source with the reason, so --energy auto moves on
    # to the next source instead of ending the command.
    tool = tmp_path / "ipmitool"
    tool.write_text("#!/no/such/interpreter\n")
    tool.chmod(0o755)
    with pytest.raises(IpmiUnavailable, match=r"could not run .*ipmitool: No such file or directory"):
        IpmiSource(str(tool))
    env = {**os.environ, "HASHBENCH_IPMITOOL": str(tool), "HASHBENCH_RAPL_ROOT": str(tmp_path / "none")}
    env.pop("HASHBENCH_REDFISH_URL", None)
    proc = _hashbench("bench", "--backend", "python", "--seconds", "0.5", "--watts", "100", "--json", env=env)
    assert proc.returncode == 0, proc.stderr
    (record,) = json.loads(proc.stdout)
    assert record["power_source"] == "declared 100 W" and record["hashrate"] > 0


def test_ipmi_zero_watts_is_no_reading_never_zero_joules(tmp_path):
    with pytest.raises(IpmiUnavailable, match=r"reports 0 W, reading state deactivated: it has no power measurement"):
        IpmiSource(str(fake_ipmitool(tmp_path, DCMI_ZERO_DEACTIVATED)))
    # A BMC that drops to 0 W inside a window: those samples fail and are counted, none of them is a 0 W sample.
    tool = fake_ipmitool(tmp_path, DCMI_OUTPUT)
    source = IpmiSource(str(tool))
    source.interval_s = 0.02
    fake_ipmitool(tmp_path, DCMI_ZERO_DEACTIVATED)  # the same path, now printing zeros
    with EnergyMeter(source, idle_seconds=0.0) as meter:
        time.sleep(0.1)
    r = meter.reading()
    assert r.joules_gross is None and "0 W" in r.detail
    assert any("reading(s) failed" in f for f in r.flags)


def test_ipmi_errors_are_explained_from_what_ipmitool_printed(tmp_path):
    # Non-root on a host with the driver loaded: the open fails with EACCES, not ENOENT.
    tool = fake_ipmitool(tmp_path, "", "Could not open device at /dev/ipmi0 or /dev/ipmi/0 or /dev/ipmidev/0: "
                                       "Permission denied", 1)
    with pytest.raises(IpmiUnavailable, match="root only") as info:
        IpmiSource(str(tool))
    assert "no local BMC interface" not in str(info.value)
    # DCMI not supported: ipmitool's chk_rsp() prints the completion code on stderr (lib/ipmi_dcmi.c).
    tool = fake_ipmitool(tmp_path, "", "\n    DCMI request failed because: Invalid command (c1)", 1)
    with pytest.raises(IpmiUnavailable, match=r"no DCMI power reading \(DCMI request failed because: Invalid "):
        IpmiSource(str(tool))
    # ... but "A valid DCMI command was not returned!" goes to stdout.
    tool = fake_ipmitool(tmp_path, "\n    A valid DCMI command was not returned! (80)", "", 1)
    with pytest.raises(IpmiUnavailable, match=r"^the BMC gives no DCMI power reading \(A valid DCMI command was not "
                                              r"returned! \(80\)\): try Redfish, or declare --watts$"):
        IpmiSource(str(tool))
    tool = fake_ipmitool(tmp_path, "Get Device ID command failed", "", 0)  # exit 0 and no reading
    with pytest.raises(IpmiUnavailable, match=r"no 'Instantaneous power reading'.*Get Device ID command failed"):
        IpmiSource(str(tool))


def test_an_ipmi_password_never_reaches_a_label(tmp_path):
    from hashbench.energy.ipmi import _redact

    assert _redact(["-I", "lanplus", "-H", "10.0.0.5", "-U", "admin", "-Psecret"]) == [
        "-I", "lanplus", "-H", "10.0.0.5", "-U", "admin", "-P***"]
    assert _redact(["-P", "secret", "-E"]) == ["-P", "***", "-E"]
    assert _redact(["-E", "-P"]) == ["-E", "-P"]  # nothing after -P to hide, and the first word is never hidden
    # the Kg key (-k, or -y in hex) is as secret as the password
    assert _redact(["-I", "lanplus", "-y", "0123456789abcdef", "-kkgsecret", "-k", "kg2", "-ysecret", "-U", "u"]) == [
        "-I", "lanplus", "-y", "***", "-k***", "-k", "***", "-y***", "-U", "u"]
    source = IpmiSource(str(fake_ipmitool(tmp_path, DCMI_OUTPUT)), ["-I", "lanplus", "-U", "admin", "-Ps3cr3t"])
    assert source.detail == ("ipmitool dcmi power reading (-I lanplus -U admin '-P***'), instantaneous reading; BMC "
                             "statistics period 1 s")
    local = IpmiSource(str(fake_ipmitool(tmp_path, DCMI_OUTPUT.replace("    Sampling period:", "    Other:"))))
    assert local.detail == ("ipmitool dcmi power reading (local BMC), instantaneous reading; BMC statistics period "
                            "not printed")


@pytest.mark.parametrize("period, seconds", [("00000002 Minutes.", 120.0), ("1_hour", 3600.0), ("1_day", 86400.0),
                                             ("250 ms", 0.25), ("00000007", 7.0), ("garbled", None)])
def test_the_bmc_statistics_period_is_read_in_its_unit(period, seconds):
    text = DCMI_OUTPUT.replace("00000001 Seconds.", period)
    assert parse_dcmi_power(text).sampling_period_s == seconds


def test_ipmi_window_flags_and_their_threshold(tmp_path):
    source = IpmiSource(str(fake_ipmitool(tmp_path, DCMI_OUTPUT)))
    assert source.window_flags(10.0) == []  # ten BMC readings: enough, and the BMC says its readings are live
    assert source.window_flags(9.9) == [
        "node power sampled once a second: a 9.9 s window holds few BMC readings"]
    deactivated = IpmiSource(str(fake_ipmitool(tmp_path, DCMI_DEACTIVATED)))
    assert deactivated.window_flags(60.0) == [
        "the BMC reports its DCMI power reading state as deactivated: readings may be stale"]


def test_ipmi_refusals_name_what_happened(tmp_path, monkeypatch):
    from hashbench.energy import ipmi

    zero_active = DCMI_OUTPUT.replace("247 Watts", "0 Watts")
    with pytest.raises(IpmiUnavailable, match=r"^the BMC reports 0 W: it has no power measurement behind DCMI; try "
                                              r"Redfish, or declare --watts$"):
        IpmiSource(str(fake_ipmitool(tmp_path, zero_active)))
    with pytest.raises(IpmiUnavailable, match=r"^ipmitool failed: Error: Unable to establish IPMI v2 / RMCP\+ "
                                              r"session$"):
        IpmiSource(str(fake_ipmitool(tmp_path, "", "Error: Unable to establish IPMI v2 / RMCP+ session", 1)))
    with pytest.raises(IpmiUnavailable, match=r"^ipmitool failed: exit status 3$"):
        IpmiSource(str(fake_ipmitool(tmp_path, "", "", 3)))
    with pytest.raises(IpmiUnavailable, match=r"^no 'Instantaneous power reading' in ipmitool's output \(it printed "
                                              r"nothing\)$"):
        IpmiSource(str(fake_ipmitool(tmp_path, "", "", 0)))
    with pytest.raises(IpmiUnavailable, match=r"^no local BMC interface \(Could not open device at /dev/ipmi0\); "
                                              r"load ipmi_devintf/ipmi_si, or point HASHBENCH_IPMI_ARGS at the BMC "
                                              r"over the network \(-I lanplus -H \.\.\. -U \.\.\. -E\)$"):
        IpmiSource(str(fake_ipmitool(tmp_path, "", "Could not open device at /dev/ipmi0", 1)))
    hung = tmp_path / "hung" / "ipmitool"
    hung.parent.mkdir()
    hung.write_text("#!/bin/sh\nexec sleep 30\n")
    hung.chmod(0o755)
    monkeypatch.setattr(ipmi, "TIMEOUT_S", 0.3)
    started = time.monotonic()
    with pytest.raises(IpmiUnavailable, match=r"^ipmitool gave no answer in 0\.3 s$"):
        IpmiSource(str(hung))
    assert time.monotonic() - started < 10


# --- Redfish ---------------------------------------------------------------------------------------------------------

USER, PASSWORD = "monitor", "s3cret"
ROOT_DOC = {"@odata.id": "/redfish/v1", "Chassis": {"@odata.id": "/redfish/v1/Chassis"}}
CHASSIS_COLLECTION = {"@odata.id": "/redfish/v1/Chassis", "Members@odata.count": 1,
                      "Members": [{"@odata.id": "/redfish/v1/Chassis/1U"}]}
CHASSIS = {"@odata.id": "/redfish/v1/Chassis/1U", "Id": "1U", "Power": {"@odata.id": "/redfish/v1/Chassis/1U/Power"}}


def power_doc(watts: float) -> dict:
    return {"@odata.id": "/redfish/v1/Chassis/1U/Power", "@odata.type": "#Power.v1_5_0.Power", "Id": "Power",
            "PowerControl": [{"@odata.id": "/redfish/v1/Chassis/1U/Power#/PowerControl/0", "MemberId": "0",
                              "Name": "System Power Control", "PowerConsumedWatts": watts,
                              "PowerMetrics": {"IntervalInMin": 1, "AverageConsumedWatts": watts - 5}}]}


@pytest.fixture
def redfish_server():
    state = {"watts": 350.0, "requests": 0, "docs": {}}  # docs: paths a test adds or replaces

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:  # noqa: N802 - http.server's name
            state["requests"] += 1
            expected = "Basic " + base64.b64encode(f"{USER}:{PASSWORD}".encode()).decode()
            if self.headers.get("Authorization") != expected:
                self.send_response(401)
                self.send_header("WWW-Authenticate", 'Basic realm="redfish"')
                self.end_headers()
                return
            docs = {"/redfish/v1": ROOT_DOC, "/redfish/v1/Chassis": CHASSIS_COLLECTION,
                    "/redfish/v1/Chassis/1U": CHASSIS, "/redfish/v1/Chassis/1U/Power": power_doc(state["watts"]),
                    **state["docs"]}
            doc = docs.get(self.path.rstrip("/"))
            if doc is None:
                self.send_response(404)
                self.end_headers()
                return
            body = json.dumps(doc).encode()
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    # A short poll so that shutdown() returns at once (the default half second was most of each Redfish test).
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.01}, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}", state
    server.shutdown()
    server.server_close()


def test_parse_power_documents():
    assert parse_power(power_doc(412.0)) == (412.0, "PowerControl[0] (System Power Control)")
    assert parse_power({"PowerWatts": {"Reading": 99.5}}) == (99.5, "PowerWatts.Reading")
    with pytest.raises(ValueError):
        parse_power({"PowerControl": [{"PowerConsumedWatts": None}]})


def test_redfish_reads_power_with_basic_auth(redfish_server):
    base, _ = redfish_server
    client = RedfishClient(base + "/redfish/v1/Chassis/1U/Power", USER, PASSWORD)
    source = RedfishSource(client)
    assert source.read_watts() == 350.0 and (source.name, source.layer) == ("redfish", "node")
    assert source.detail.endswith("; plain HTTP, not authenticated by TLS")  # the reading says what it trusted


def test_redfish_unverified_tls_is_said_in_the_detail(monkeypatch):
    # HASHBENCH_REDFISH_INSECURE=1 accepts a BMC's self-signed certificate: the reading must say it was not checked.
    client = RedfishClient("https://bmc.example/redfish/v1/Chassis/1/Power", verify_tls=False)
    monkeypatch.setattr(client, "get", lambda url=None: power_doc(420.0))
    assert "TLS certificate not verified (HASHBENCH_REDFISH_INSECURE=1)" in RedfishSource(client).detail
    assert RedfishClient("https://bmc.example/redfish/v1").verified


def test_redfish_finds_power_from_the_service_root(redfish_server):
    base, _ = redfish_server
    source = RedfishSource(RedfishClient(base + "/redfish/v1", USER, PASSWORD))
    assert source.power_url.endswith("/redfish/v1/Chassis/1U/Power")


def test_redfish_finds_environment_metrics_where_a_bmc_has_no_power_resource(redfish_server):
    """Redfish 2020.4 deprecated Chassis Power; newer BMCs give a Chassis EnvironmentMetrics (PowerWatts) instead.
    With several chassis listed the node's is taken, not a GPU's listed before it, and the detail says why."""
    base, state = redfish_server
    node, gpu = "/redfish/v1/Chassis/Node", "/redfish/v1/Chassis/GPU_SXM_1"
    state["docs"].update({
        "/redfish/v1/Chassis": {"@odata.id": "/redfish/v1/Chassis", "Members@odata.count": 2,
                                "Members": [{"@odata.id": gpu}, {"@odata.id": node}]},
        node: {"@odata.id": node, "Id": "Node", "ChassisType": "RackMount",
               "EnvironmentMetrics": {"@odata.id": node + "/EnvironmentMetrics"}},
        node + "/EnvironmentMetrics": {"@odata.id": node + "/EnvironmentMetrics",
                                       "@odata.type": "#EnvironmentMetrics.v1_3_0.EnvironmentMetrics",
                                       "PowerWatts": {"DataSourceUri": node + "/Sensors/TotalPower",
                                                      "Reading": 612.5}},
        gpu: {"@odata.id": gpu, "Id": "GPU_SXM_1", "Links": {"ContainedBy": {"@odata.id": node}},
              "EnvironmentMetrics": {"@odata.id": gpu + "/EnvironmentMetrics"}},
        gpu + "/EnvironmentMetrics": {"PowerWatts": {"Reading": 301.0}},
    })
    source = RedfishSource(RedfishClient(base + "/redfish/v1", USER, PASSWORD))
    assert source.power_url.endswith(node + "/EnvironmentMetrics") and source.read_watts() == 612.5
    assert f"PowerWatts.Reading (chassis Node, the one not part of another, of 2 listed at {base}/redfish/v1/Chassis)" \
        in source.detail
    # The single-chassis tree of the other tests names no choice.
    state["docs"].clear()
    assert "listed at" not in RedfishSource(RedfishClient(base + "/redfish/v1", USER, PASSWORD)).detail


def test_redfish_a_chassis_whose_power_fails_is_passed_over_and_the_choice_said(redfish_server):
    # An HGX-like tree: the first chassis listed is the GPU baseboard, whose Power resource the BMC does not serve;
    # the BMC says nothing of which chassis holds which, and the third cannot be read.
    base, state = redfish_server
    listed = ["/redfish/v1/Chassis/HGX_Baseboard_0", "/redfish/v1/Chassis/1U", "/redfish/v1/Chassis/BMC_0"]
    state["docs"].update({
        "/redfish/v1/Chassis": {"@odata.id": "/redfish/v1/Chassis", "Members@odata.count": 3,
                                "Members": [{"@odata.id": m} for m in listed]},
        listed[0]: {"@odata.id": listed[0], "Id": "HGX_Baseboard_0", "Power": {"@odata.id": listed[0] + "/Power"}},
    })
    source = RedfishSource(RedfishClient(base + "/redfish/v1", USER, PASSWORD))
    assert source.power_url == base + "/redfish/v1/Chassis/1U/Power" and source.read_watts() == 350.0
    assert (f"(chassis 1U, the first with a power reading of 3 that may be the node (the BMC does not say which "
            f"contains which), of 3 listed at {base}/redfish/v1/Chassis; name another in HASHBENCH_REDFISH_URL)"
            in source.detail)


def test_redfish_null_power_consumed_watts_says_the_bmc_measures_nothing(redfish_server):
    # PowerConsumedWatts is null on BMCs with the host powered off or with no power sensor (DMTF Power schema: the
    # property is nullable); that is no reading, not "no Power resource here".
    base, state = redfish_server
    doc = power_doc(0.0)
    doc["PowerControl"][0]["PowerConsumedWatts"] = None
    state["docs"]["/redfish/v1/Chassis/1U/Power"] = doc
    with pytest.raises(RedfishUnavailable, match=r"Chassis/1U/Power: the power resource is there but holds no number"):
        RedfishSource(RedfishClient(base + "/redfish/v1", USER, PASSWORD))


def test_redfish_rejected_credentials_and_bad_urls(redfish_server):
    base, _ = redfish_server
    with pytest.raises(RedfishUnavailable, match=r"credentials rejected \(HTTP 401\)"):
        RedfishClient(base + "/redfish/v1/Chassis/1U/Power", USER, "wrong").get()
    with pytest.raises(RedfishUnavailable, match="HTTP 404"):
        RedfishClient(base + "/redfish/v1/Chassis/9/Power", USER, PASSWORD).get()
    with pytest.raises(RedfishUnavailable, match="not an http"):
        RedfishClient("bmc.example/redfish")
    with pytest.raises(RedfishUnavailable, match="cannot reach"):
        RedfishClient("http://127.0.0.1:9/redfish/v1", timeout_s=1).get()


def test_redfish_through_the_plan_from_environment(redfish_server):
    base, state = redfish_server
    env = {"HASHBENCH_REDFISH_URL": base + "/redfish/v1/Chassis/1U/Power", "HASHBENCH_REDFISH_USER": USER,
           "HASHBENCH_REDFISH_PASSWORD": PASSWORD}
    config = EnergyConfig.from_env(env, mode="redfish", idle_seconds=0.0)
    with EnergyPlan(config) as plan:
        source, _ = plan.source_for("cpu")
        source.interval_s = 0.05
        with plan.meter("cpu") as meter:
            time.sleep(0.2)
    r = meter.reading()
    assert r.source == "redfish" and r.joules_gross == pytest.approx(350.0 * r.window_s)
    assert r.samples >= 3 and state["requests"] >= 5


# --- NVML ------------------------------------------------------------------------------------------------------------


class FakeNvmlError(Exception):
    pass


def fake_nvml(*, counter: bool, instant: bool = True, step_s: float = 0.02, watts: float = 300.0):
    """A stand-in for the pynvml module: the calls hashbench makes, with a board drawing `watts`."""
    m = types.ModuleType("pynvml")
    origin = clock()
    m.NVMLError = FakeNvmlError
    m.NVML_FI_DEV_POWER_INSTANT = 186
    m.NVML_CLOCK_MEM = 2
    m.shutdowns = 0
    m.nvmlInit = lambda: None

    def shutdown() -> None:
        m.shutdowns += 1

    m.nvmlShutdown = shutdown
    m.nvmlDeviceGetHandleByIndex = lambda i: f"gpu{i}"
    m.nvmlDeviceGetHandleByUUID = lambda u: u
    m.nvmlDeviceGetName = lambda h: "NVIDIA H100 80GB HBM3"
    m.nvmlDeviceGetEnforcedPowerLimit = lambda h: 700_000

    def energy(handle: str) -> int:
        if not counter:
            raise FakeNvmlError("Not Supported")
        t = clock() - origin
        return int((t // step_s) * step_s * watts * 1000)  # mJ, moving every step_s

    m.nvmlDeviceGetTotalEnergyConsumption = energy

    class Value:
        def __init__(self) -> None:
            self.nvmlReturn = 0 if instant else 3
            self.value = types.SimpleNamespace(uiVal=int(watts * 1000))

    m.nvmlDeviceGetFieldValues = lambda h, ids: [Value()]
    m.nvmlDeviceGetPowerUsage = lambda h: int(watts * 1000)
    m.nvmlDeviceGetMaxClockInfo = lambda h, kind: 2619
    m.nvmlDeviceGetMemoryBusWidth = lambda h: 5120
    return m


def test_nvml_counter_path(monkeypatch):
    monkeypatch.setitem(sys.modules, "pynvml", fake_nvml(counter=True))
    source = open_nvml("cuda:0")
    assert isinstance(source, NvmlCounterSource)
    assert source.update_period_s == pytest.approx(0.02, rel=0.3) and "H100" in source.detail
    with EnergyMeter(source, idle_seconds=0.0) as meter:
        time.sleep(0.3)
    r = meter.reading()
    assert (r.source, r.layer, r.method) == ("nvml", "gpu board", "energy counter")
    assert r.joules_gross == pytest.approx(300.0 * r.window_s, abs=300.0 * 0.02 * 1.5)
    assert any("under 60 s" in f for f in r.flags)


@pytest.mark.parametrize("event", ["driver reload", "GPU lost"])
def test_nvml_counter_reset_or_lost_gpu_mid_window_is_no_reading(monkeypatch, event):
    # nvmlDeviceGetTotalEnergyConsumption counts mJ "since the driver was last reloaded": a reload restarts it, and
    # a fallen-off-the-bus GPU answers NVML_ERROR_GPU_IS_LOST. Neither may become a negative or made-up joule.
    nvml = fake_nvml(counter=True)
    monkeypatch.setitem(sys.modules, "pynvml", nvml)
    source = open_nvml("cuda:0")
    with EnergyMeter(source, idle_seconds=0.0) as meter:
        time.sleep(0.05)

        def after(handle: str) -> int:
            if event == "GPU lost":
                raise FakeNvmlError("GPU is lost")
            return 5  # restarted from 0

        nvml.nvmlDeviceGetTotalEnergyConsumption = after
    r = meter.reading()
    assert r.joules_gross is None and r.source == "nvml"
    assert ("went backwards" if event == "driver reload" else "GPU is lost") in r.detail


def test_nvml_without_counter_samples_power_at_twenty_hertz(monkeypatch):
    monkeypatch.setitem(sys.modules, "pynvml", fake_nvml(counter=False))
    source = open_nvml("cuda:0")
    assert isinstance(source, NvmlPowerSource) and source.instant and 1 / source.interval_s >= 10
    with EnergyMeter(source, idle_seconds=0.0) as meter:
        time.sleep(0.3)
    r = meter.reading()
    assert r.method == "sampled power" and r.samples >= 4
    assert r.joules_gross == pytest.approx(300.0 * r.window_s, rel=1e-6)
    assert 1 / r.update_period_s >= 10


def test_nvml_instant_power_that_fails_is_a_failed_sample_never_the_averaged_reading(monkeypatch):
    nvml = fake_nvml(counter=False)
    monkeypatch.setitem(sys.modules, "pynvml", nvml)
    source = open_nvml("cuda:0")
    assert source.instant
    nvml.nvmlDeviceGetPowerUsage = lambda handle: 999_000  # the ~1 s average: must not leak into this window
    failed = types.SimpleNamespace(nvmlReturn=3, value=types.SimpleNamespace(uiVal=0))  # NVML_ERROR_NOT_SUPPORTED
    nvml.nvmlDeviceGetFieldValues = lambda handle, ids: [failed]
    with EnergyMeter(source, idle_seconds=0.0) as meter:
        time.sleep(0.1)
    r = meter.reading()
    assert r.joules_gross is None and "NVML_FI_DEV_POWER_INSTANT read failed" in r.detail


def test_nvml_averaged_power_is_flagged(monkeypatch):
    monkeypatch.setitem(sys.modules, "pynvml", fake_nvml(counter=False, instant=False))
    source = open_nvml(0)
    assert not source.instant and any("~1 s average" in f for f in source.window_flags(100.0))


def test_nvml_cuda_visible_devices_maps_to_uuid(monkeypatch):
    """Without torch or a CUDA driver to ask, CUDA_VISIBLE_DEVICES says which board cuda:N is."""
    from hashbench.energy import nvml as nvml_module

    nvml = fake_nvml(counter=True)
    monkeypatch.setitem(sys.modules, "pynvml", nvml)
    monkeypatch.setattr(nvml_module, "_driver_uuid", lambda index: None)
    monkeypatch.setenv("CUDA_VISIBLE_DEVICES", "GPU-aaaa,GPU-bbbb")
    assert nvml_module.handle_for(nvml, "cuda:1") == ("GPU-bbbb", "GPU-bbbb")
    monkeypatch.setenv("CUDA_VISIBLE_DEVICES", "3,1")
    assert nvml_module.handle_for(nvml, "cuda:0") == ("gpu3", "NVML index 3")


def test_nvml_board_of_a_cuda_device_comes_from_the_cuda_driver(monkeypatch):
    """The cuda backend hashes on CUDA ordinals, in CUDA's order (fastest first unless CUDA_DEVICE_ORDER says
    otherwise); NVML counts in PCI order. The board metered is the one whose UUID the driver gives that ordinal,
    not NVML's board of the same number."""
    from hashbench.energy.nvml import handle_for

    ok, bad = object(), object()
    uuids = {0: bytes(range(16)), 1: bytes(range(100, 116))}
    driver = types.ModuleType("cuda.bindings.driver")
    driver.CUresult = types.SimpleNamespace(CUDA_SUCCESS=ok)
    driver.cuInit = lambda flags: (ok,)
    driver.cuDeviceGet = lambda index: (ok, index) if index in uuids else (bad, None)
    driver.cuDeviceGetUuid = lambda dev: (ok, types.SimpleNamespace(bytes=uuids[dev]))
    monkeypatch.setitem(sys.modules, "cuda.bindings.driver", driver)
    monkeypatch.delenv("CUDA_VISIBLE_DEVICES", raising=False)
    nvml = fake_nvml(counter=True)
    assert handle_for(nvml, "cuda:1") == ("GPU-64656667-6869-6a6b-6c6d-6e6f70717273",) * 2
    assert handle_for(nvml, "cuda:0,1")[1] == "GPU-00010203-0405-0607-0809-0a0b0c0d0e0f"
    assert handle_for(nvml, "cuda:2") == ("gpu2", "NVML index 2")  # the driver knows no such device
    monkeypatch.setenv("CUDA_VISIBLE_DEVICES", "MIG-1234")
    with pytest.raises(NvmlUnavailable, match="MIG instance"):
        handle_for(nvml, "cuda:0")


def test_nvml_nominal_bandwidth(monkeypatch):
    monkeypatch.setitem(sys.modules, "pynvml", fake_nvml(counter=True))
    from hashbench.energy.nvml import nominal_memory_bandwidth

    peak, basis = nominal_memory_bandwidth("cuda:0")
    assert peak == pytest.approx(3.352e12, rel=1e-3) and "5120-bit" in basis


def test_no_nvml_reason():
    """Without a driver (or without nvidia-ml-py) the reason names what is missing."""
    try:
        import pynvml

        pynvml.nvmlInit()
    except ImportError:
        expected = "nvidia-ml-py is not installed"
    except Exception:  # noqa: BLE001
        expected = "no NVIDIA driver"
    else:
        pynvml.nvmlShutdown()
        pytest.skip("NVML works here: there is a driver")
    with pytest.raises(NvmlUnavailable, match=expected):
        open_nvml("cuda:0")
    source, why = select_source(EnergyConfig(rapl_root=Path("/nonexistent"), ipmitool="no-such-ipmitool"), "cuda:0")
    assert source is None and "nvml: " in why and expected in why


def _has_nvml() -> bool:
    try:
        import pynvml

        pynvml.nvmlInit()
        pynvml.nvmlShutdown()
        return True
    except Exception:  # noqa: BLE001
        return False


@pytest.mark.gpu
@pytest.mark.skipif(not _has_nvml(), reason="needs an NVIDIA GPU and driver (NVML)")
def test_real_nvml_reads_board_energy():
    source = open_nvml("cuda:0")
    try:
        with EnergyMeter(source, idle_seconds=0.5) as meter:
            time.sleep(1.0)
        r = meter.reading()
        assert r.source == "nvml" and r.layer == "gpu board" and r.joules_gross > 0
        assert r.idle_watts > 0 and r.joules_net is not None
    finally:
        source.close()


# --- glue for `hashbench run` ----------------------------------------------------------------------------------------


def test_hash_energy_fields_for_a_benchmark_record():
    from hashbench.energy import device_for_backend, hash_energy_fields

    assert device_for_backend("cuda") == "cuda:0" and device_for_backend("cython") == "cpu"
    reading = EnergyReading("rapl", "cpu package", "energy counter", 2.0, 60.0, idle_watts=10.0)
    fields = hash_energy_fields(reading, hashes=3 * 10 ** 9)
    assert fields["joules_per_th"] == pytest.approx(60.0 / 0.003)
    assert fields["joules_per_th_net"] == pytest.approx(40.0 / 0.003)
    assert fields["power_source"] == "rapl (cpu package)" and fields["energy"]["provenance"] == "measured"
    schema = pytest.importorskip("hashbench.results.schema")
    bench = {"backend": "cython", "impl": "avx2", "threads": 1, "samples": [1.5e9], "hashes": 3 * 10 ** 9,
             "seconds": 2.0, **fields}
    energy = schema.measurement_from_bench(bench).energy
    assert energy.joules == pytest.approx(60.0) and energy.layer == "cpu package"
    assert energy.provenance == "measured"


def test_hash_energy_fields_when_the_window_held_warm_up():
    from hashbench.energy import hash_energy_fields

    reading = EnergyReading("rapl", "cpu package", "energy counter", 4.0, 400.0, idle_watts=20.0)
    fields = hash_energy_fields(reading, hashes=10 ** 12, timed_seconds=3.0)
    assert fields["energy_j"] == pytest.approx(300.0) and fields["joules_per_th"] == pytest.approx(300.0)
    assert fields["joules_per_th_net"] == pytest.approx(300.0 - 20.0 * 3.0)
    assert fields["energy"]["window_s"] == 3.0 and "warm-up and calibration" in fields["energy"]["flags"][-1]
    assert hash_energy_fields(reading, 10 ** 12, timed_seconds=3.99)["energy_j"] == 400.0  # within 2 %: as is


def test_bench_meters_the_timed_scans_only():
    """J/TH divides the window's joules by the hashes bench counted: warm-up and calibration scans must fall
    outside the window, and every counted scan inside it."""
    from hashbench.backends.base import Backend, ScanResult
    from hashbench.bench import bench_backend

    inside = {"open": False, "hashes": 0, "scans": 0, "outside": 0}

    class SimulatedBackend(Backend):
        name = "simulated"

        def available(self) -> tuple[bool, str]:
            return True, ""

        def _scan_part(self, *args):  # pragma: no cover - scan() is overridden
            raise NotImplementedError

        def scan(self, job, start, count, *, impl=None, threads=1, max_found=0, stop=None) -> ScanResult:
            if inside["open"]:
                inside["hashes"] += count
                inside["scans"] += 1
            else:
                inside["outside"] += 1
            return ScanResult(self.name, "sim", threads, start, count, count / 1e6, 0, [])  # 1 MH/s, simulated

    class Window:
        def __enter__(self):
            inside["open"] = True
            return self

        def __exit__(self, *exc) -> None:
            inside["open"] = False

        def reading(self) -> EnergyReading:
            return EnergyReading("rapl", "cpu package", "energy counter", 1.0, 50.0)

    result = bench_backend(SimulatedBackend(), seconds=0.5, window=Window)
    assert inside["outside"] >= 1  # calibration ran, outside the window
    assert inside["scans"] == len(result.samples) >= 3 and inside["hashes"] == result.hashes
    fields = result.to_json()
    assert fields["joules_per_th"] == pytest.approx(50.0 / (result.hashes / 1e12))


def test_bench_keeps_its_hashrate_when_the_counter_fails_mid_window():
    from hashbench.backends import get_backend
    from hashbench.bench import bench_backend

    source = FailingCounter(1, "lost")  # the window's first read works, every later one fails (GPU lost)
    result = bench_backend(get_backend("python"), seconds=0.2, window=lambda: EnergyMeter(source, idle_seconds=0.0))
    fields = result.to_json()
    assert result.hashes > 0 and result.hashrate > 0
    assert fields["energy_j"] is None and fields["joules_per_th"] is None
    assert "GPU is lost" in fields["energy"]["detail"]


# --- several GPUs metered as one ------------------------------------------------------------------------------------


def test_several_gpus_are_metered_as_one_sum(monkeypatch):
    from hashbench.energy import device_for_backend
    from hashbench.energy.source import SumCounterSource, SumPowerSource

    monkeypatch.setitem(sys.modules, "pynvml", fake_nvml(counter=True))
    assert device_for_backend("cuda", [0, 1]) == "cuda:0,1" and device_for_backend("pycuda") == "cuda:0"
    with EnergyPlan(EnergyConfig(mode="nvml", idle_seconds=0.0)) as plan:
        source, _ = plan.source_for("cuda:0,1")
        assert isinstance(source, SumCounterSource) and len(source.parts) == 2
        with plan.meter("cuda:0,1") as meter:
            time.sleep(0.3)
    r = meter.reading()
    # Two boards at 300 W each: the sum, within one counter step per board.
    assert r.joules_gross == pytest.approx(600.0 * r.window_s, abs=2 * 300.0 * 0.02 * 1.5)
    assert "NVML index 0" in r.detail and "NVML index 1" in r.detail
    monkeypatch.setitem(sys.modules, "pynvml", fake_nvml(counter=False, watts=250.0))
    power = open_nvml("cuda:0,1")
    assert isinstance(power, SumPowerSource) and power.read_watts() == pytest.approx(500.0)


# --- energy-check: sources of one layer over one shared window ------------------------------------------------------


def test_energy_check_nvml_counter_against_sampled_power(monkeypatch):
    from hashbench.energy.check import idle_load, open_check_sources, run_check

    nvml = fake_nvml(counter=True, watts=300.0)
    monkeypatch.setitem(sys.modules, "pynvml", nvml)
    config = EnergyConfig(ipmitool="no-such-ipmitool")
    opened = open_check_sources(config, "cuda:0")
    assert [s.method for s in opened.sources] == ["energy counter", "sampled power"]
    result = run_check(opened, "cuda:0", 0.05, idle_load(1.0))
    opened.close()
    assert result.seconds >= 1.0 and len(result.readings) == 2  # the window holds the whole 1 s of idle load
    (verdict,) = result.verdicts
    assert verdict.layer == "gpu board" and verdict.agree and result.passed
    assert abs(verdict.relative_difference) < 0.05
    record = result.to_json()
    assert record["passed"] and record["pairs"][0]["reference"] == "nvml energy counter"

    # A power sensor reading 20 % high is caught, not averaged away.
    class High:
        nvmlReturn = 0
        value = types.SimpleNamespace(uiVal=360_000)

    nvml.nvmlDeviceGetFieldValues = lambda h, ids: [High()]
    opened = open_check_sources(config, "cuda:0")
    result = run_check(opened, "cuda:0", 0.05, idle_load(0.6))
    opened.close()
    assert not result.passed and result.verdicts[0].relative_difference == pytest.approx(0.2, abs=0.05)


def _node_env(tmp_path: Path, base: str, ipmi_output: str) -> dict:
    return {**os.environ, "HASHBENCH_IPMITOOL": str(fake_ipmitool(tmp_path, ipmi_output)),
            "HASHBENCH_REDFISH_URL": base + "/redfish/v1/Chassis/1U/Power", "HASHBENCH_REDFISH_USER": USER,
            "HASHBENCH_REDFISH_PASSWORD": PASSWORD, "HASHBENCH_RAPL_ROOT": str(tmp_path / "no-powercap")}


def _hashbench(*args: str, env: dict) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "hashbench", *args], capture_output=True, text=True, env=env,
                          timeout=300)


def test_energy_check_command_judges_two_node_sources_under_hashing(tmp_path, redfish_server):
    base, state = redfish_server
    state["watts"] = 250.0  # the fake ipmitool reports 247 W: 1.2 % apart
    env = _node_env(tmp_path, base, DCMI_OUTPUT)
    proc = _hashbench("energy-check", "--backend", "cython", "--threads", "1", "--seconds", "2", "--json", env=env)
    assert proc.returncode == 0, proc.stderr
    record = json.loads(proc.stdout)
    assert record["device"] == "cpu" and record["hashes"] > 0 and record["hashrate"] > 0
    names = [s["name"] for s in record["sources"]]
    assert names == ["redfish sampled power", "ipmi sampled power"]
    (pair,) = record["pairs"]
    assert pair["layer"] == "node" and pair["agree"]
    assert pair["relative_difference"] == pytest.approx(247 / 250 - 1, abs=0.01)
    assert all(s["joules_per_th"] > 0 for s in record["sources"])
    assert any("rapl" in why for why in record["not_opened"])

    state["watts"] = 300.0  # 18 % apart: exit 1 and say so
    proc = _hashbench("energy-check", "--backend", "idle", "--device", "cpu", "--seconds", "1.5", env=env)
    assert proc.returncode == 1, proc.stderr
    assert "DISAGREE" in proc.stdout and "ipmi sampled power vs redfish sampled power (node)" in proc.stdout


def test_energy_check_without_a_pair_is_a_one_line_error(tmp_path):
    env = {**os.environ, "HASHBENCH_RAPL_ROOT": str(tmp_path / "none"), "HASHBENCH_IPMITOOL": "no-such-ipmitool"}
    env.pop("HASHBENCH_REDFISH_URL", None)
    proc = _hashbench("energy-check", "--backend", "idle", "--device", "cpu", "--seconds", "1", env=env)
    assert proc.returncode == 2 and proc.stdout == ""
    assert proc.stderr.count("\n") == 1 and "no two sources of one layer" in proc.stderr
    proc = _hashbench("energy-check", "--tolerance", "5", env=env)
    assert proc.returncode == 2 and "--tolerance must be between 0 and 1" in proc.stderr
    proc = _hashbench("energy-check", "--backend", "gpu", env=env)
    assert proc.returncode == 2 and "unknown load 'gpu' (a backend: cython" in proc.stderr and "or idle" in proc.stderr
    proc = _hashbench("energy-check", "--device", "gpu0", env=env)
    assert proc.returncode == 2 and "--device must be cpu, cuda:N" in proc.stderr and proc.stderr.count("\n") == 1


@pytest.mark.gpu
@pytest.mark.skipif(not _has_nvml(), reason="needs an NVIDIA GPU and driver (NVML)")
def test_real_nvml_counter_and_sampled_power_over_one_window():
    """Both NVML readings of the same board open and meter the same seconds (agreement itself is judged by
    `hashbench energy-check` over a minute; a few idle seconds only show both are live)."""
    from hashbench.energy.check import idle_load, open_check_sources, run_check

    opened = open_check_sources(EnergyConfig(ipmitool="no-such-ipmitool"), "cuda:0")
    try:
        assert [s.method for s in opened.sources][:2] == ["energy counter", "sampled power"], opened.missing
        result = run_check(opened, "cuda:0", 0.05, idle_load(3.0))
    finally:
        opened.close()
    counter, sampled = result.readings[:2]
    assert counter.joules_gross > 0 and sampled.joules_gross > 0 and sampled.samples >= 30
    assert result.verdicts[0].layer == "gpu board" and result.verdicts[0].relative_difference is not None


@pytest.mark.gpu
@pytest.mark.skipif(not _has_nvml(), reason="needs an NVIDIA GPU and driver (NVML)")
def test_real_cuda_bench_reports_joules_per_terahash():
    from hashbench.backends import get_backend

    ok, why = get_backend("cuda", require_available=False).available()
    if not ok:
        pytest.skip(why)
    proc = subprocess.run([sys.executable, "-m", "hashbench", "bench", "--backend", "cuda", "--seconds", "2",
                           "--idle-seconds", "1", "--json"], capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr
    (row,) = json.loads(proc.stdout)
    assert row["power_source"] == "nvml (gpu board)" and row["joules_per_th"] > 0
    assert row["energy"]["idle_watts"] > 0 and row["hashrate"] > 1e8
