"""The energy window's reading (flags at their edges, idle, defaults), the choice of source under --energy auto and the
reasons given when none is readable, the plan's one source and one idle per device, and energy-check's sources,
verdicts and record. Pinned by mutation testing (benchmarks/checks/mutation.py on energy/meter.py and
energy/check.py); every figure is worked out by hand in the comments."""

from __future__ import annotations

import sys
import time
from dataclasses import replace

import pytest
from test_energy import (
    DCMI_OUTPUT,
    MAX,
    FailingCounter,
    FakeNvmlError,
    FakePower,
    fake_ipmitool,
    fake_nvml,
    make_rapl,
    power_doc,
)

from hashbench.backends.base import Backend, ScanResult
from hashbench.cpuload import CpuLoad
from hashbench.energy import EnergyConfig, EnergyMeter, EnergyPlan, EnergyReading, EnergyUnavailable, IdlePower
from hashbench.energy import meter as meter_module
from hashbench.energy import nvml as nvml_module
from hashbench.energy.check import (
    CheckResult,
    MeterSet,
    Opened,
    PairVerdict,
    comparable_pairs,
    describe,
    hashing_load,
    idle_load,
    open_check_sources,
    run_check,
    verdicts,
)
from hashbench.energy.ipmi import IpmiSource, IpmiUnavailable
from hashbench.energy.meter import _flags, measure_idle, open_source, select_source
from hashbench.energy.rapl import RaplSource, RaplUnavailable
from hashbench.energy.redfish import RedfishClient, RedfishSource, RedfishUnavailable
from hashbench.energy.sampling import WindowResult, clock
from hashbench.energy.source import CounterSource, DeclaredSource, PowerSource

BMC_URL = "https://bmc.example/redfish/v1/Chassis/1U/Power"


class Counter(CounterSource):
    name, layer = "counter", "cpu package"

    def __init__(self, period: float | None = None) -> None:
        self.update_period_s = period

    def read_joules(self) -> float:
        return 0.0


class Power(PowerSource):
    name, layer = "power", "node"

    def __init__(self, interval_s: float) -> None:
        self.interval_s = interval_s

    def read_watts(self) -> float:
        return 0.0


def reason(opener) -> str:
    """What a source says when it cannot be opened (each source's own wording is pinned in test_energy.py)."""
    with pytest.raises((RaplUnavailable, IpmiUnavailable, RedfishUnavailable)) as info:
        opener()
    return str(info.value)


# --- the flags a window's reading carries, at their edges -------------------------------------------------------------


def test_counter_granularity_flags_at_one_and_at_ten_updates():
    counter = Counter(period=2.0)  # a counter that moves every 2 s (a slow BMC or firmware counter)

    def flags(seconds: float) -> list[str]:
        return _flags(counter, WindowResult(1000.0, seconds, 5), None, net=False)

    assert flags(1.0) == ["window shorter than counter update period (2000 ms): the difference is 0 or one update, "
                          "not a measurement"]
    # Exactly one period is one update, not less: one update in 2 s is ±100 %.
    assert flags(2.0) == ["window spans under 10 counter updates (2000 ms each): up to ±100 % from counter "
                          "granularity"]
    assert flags(19.0) == ["window spans under 10 counter updates (2000 ms each): up to ±11 % from counter "
                           "granularity"]  # 2 / 19 = 10.5 %
    assert flags(20.0) == []  # ten updates: enough


def test_a_counter_that_did_not_move_is_said_and_one_that_moved_is_not():
    assert _flags(Counter(), WindowResult(0.0, 0.5, 3), None, net=False) == ["counter did not move during the window"]
    assert _flags(Counter(), WindowResult(0.001, 0.5, 3), None, net=False) == []
    # A window of no time (both reads at one clock tick) gives the counter no chance to move: not a stuck counter.
    assert _flags(Counter(), WindowResult(0.0, 0.0, 2), None, net=False) == []


def test_power_sampling_flags_at_ten_hertz_and_three_samples():
    def flags(asked: float, achieved: float, samples: int = 10) -> list[str]:
        return _flags(Power(asked), WindowResult(10.0, 1.0, samples, interval_s=achieved), None, net=False)

    assert flags(0.1, 0.15) == ["power sampled at 6.7 Hz, below the 10 Hz asked"]  # 10 Hz asked, 1 / 0.15 s got
    assert flags(0.05, 0.1) == []  # 20 Hz asked, exactly 10 Hz got: not below
    assert flags(0.2, 0.25) == []  # 5 Hz asked: a slower sensor is not held to 10 Hz
    assert flags(1.0, 1.2) == []  # an IPMI BMC polled once a second
    assert flags(0.05, 0.05, samples=3) == []
    assert flags(0.05, 0.05, samples=2) == ["only 2 power sample(s) in the window"]


def test_idle_flags_at_ten_counter_updates_and_at_a_net_of_zero():
    window = WindowResult(8000.0, 100.0, 50)  # 80 W over 100 s: long enough for either counter below
    assert _flags(Counter(period=0.1), window, IdlePower(50.0, 1.0, 10, "counter")) == []  # exactly 10 updates
    assert _flags(Counter(period=2.0), window, IdlePower(50.0, 2.5, 3, "counter")) == [
        "idle power measured over under 10 counter updates (2000 ms each): up to ±80 % on it, and on the net energy "
        "(raise --idle-seconds)"]  # 2 / 2.5 = 80 %
    # An idle that took no time (stated, not measured) is not a short measurement.
    assert _flags(Counter(period=2.0), window, IdlePower(50.0, 0.0, 0, "declared")) == []

    sampled = Power(0.05)
    # 120 J in 2 s at a 60 W idle: a net of exactly 0 J, which the reading reports (joules_net 0.0), so no flag;
    # 100 J is 20 J under the idle's 120 J: flagged (as 100 J against 60 / 2 = 30 J would not be).
    assert _flags(sampled, WindowResult(120.0, 2.0, 41, 0.05), IdlePower(60.0, 5.0, 100, "power")) == []
    assert EnergyReading("power", "node", "sampled power", 2.0, 120.0, idle_watts=60.0).joules_net == 0.0
    assert _flags(sampled, WindowResult(100.0, 2.0, 41, 0.05), IdlePower(60.0, 5.0, 100, "power")) == [
        "idle power above the window's mean power: net energy not reported (a noisy or drifting baseline)"]
    assert _flags(sampled, WindowResult(120.0, 2.0, 41, 0.05), None) == ["no idle measurement: net energy unknown"]
    assert _flags(sampled, WindowResult(120.0, 2.0, 41, 0.05), None, net=False) == []


# --- the meter itself -------------------------------------------------------------------------------------------------


def test_meter_without_a_source_and_a_reading_asked_for_too_early():
    t0 = clock()
    with EnergyMeter(None) as meter:
        with pytest.raises(RuntimeError, match=r"^EnergyMeter\.reading\(\) before the with-block ended$"):
            meter.reading()
        time.sleep(0.01)
    t1 = clock()
    r = meter.reading()
    assert r.source == "none" and r.joules_gross is None and r.detail == "no energy source"
    assert 0 < r.window_s <= t1 - t0  # the block's own length


def test_meter_measures_no_idle_unless_asked_and_none_at_all_without_net():
    with EnergyMeter(FakePower(30.0)) as meter:  # idle_seconds defaults to 0: no idle wait
        time.sleep(0.02)
    r = meter.reading()
    assert r.idle_watts is None and r.idle_seconds is None and r.joules_net is None
    assert "no idle measurement: net energy unknown" in r.flags
    # net=False (energy-check's cross-check): gross joules only, no idle measured even when idle_seconds is given,
    # and nothing said about the net.
    with EnergyMeter(FakePower(30.0), idle_seconds=0.05, net=False) as meter:
        time.sleep(0.02)
    r = meter.reading()
    assert r.idle_watts is None and r.joules_gross == pytest.approx(30.0 * r.window_s, rel=1e-6)
    assert not any("idle" in f for f in r.flags)


def test_declared_reading_has_no_samples_and_no_idle_window():
    plan = EnergyPlan(EnergyConfig(mode="declared", watts=65.0, idle_watts=15.0))
    with plan.meter("cpu") as meter:
        pass
    r = meter.reading()
    assert r.idle_watts == 15.0 and r.idle_seconds is None and r.samples is None


def test_measure_idle_reports_what_it_measured_and_with_which_source():
    assert measure_idle(DeclaredSource(65.0, 15.0), 5.0) == IdlePower(15.0, 0.0, 0, "declared")
    assert measure_idle(DeclaredSource(65.0), 5.0) is None
    assert measure_idle(FakePower(20.0), 0.0) is None
    idle = measure_idle(FakePower(20.0), 0.05)
    assert idle.source == "fake" and idle.watts == pytest.approx(20.0) and idle.seconds > 0 and idle.samples >= 2
    # A counter that fails during the idle wait (GPU lost): no idle, and no traceback.
    assert measure_idle(FailingCounter(1, "lost"), 0.02) is None


class InstantWindow:
    """A window whose two reads fell on one tick of a coarse clock: 0 J over 0 s."""

    def start(self) -> None:
        pass

    def stop(self) -> WindowResult:
        return WindowResult(0.0, 0.0, 2)


def test_an_idle_window_of_no_time_is_no_idle_power_not_a_division_by_zero(monkeypatch):
    monkeypatch.setattr(meter_module, "open_window", lambda source: InstantWindow())
    assert measure_idle(Counter(), 0.001) is None  # 0 J / 0 s is no power at all


def test_the_cpu_load_over_the_window_is_in_the_reading_with_a_source_and_without(monkeypatch):
    # Other work kept 3.5 of 4 CPUs busy and 0.2 were idle: shared (over 0.25 busy, under 0.5 idle), and the reading
    # says so beside its joules whatever metered them.
    shared = CpuLoad(4, 0.5, 3.5, 0.0, 0.2)

    class Watch:
        def __init__(self) -> None:
            self.load = None

        def __enter__(self) -> Watch:
            return self

        def __exit__(self, *exc: object) -> None:
            self.load = shared

    monkeypatch.setattr(meter_module, "CpuWatch", Watch)
    for source in (None, FakePower(30.0)):
        with EnergyMeter(source) as meter:
            pass
        r = meter.reading()
        assert r.cpu_load is shared
        assert r.to_json()["cpu_load"]["note"] == ("CPUs shared while it was measured: other work kept 3.5 of the 4 "
                                                   "CPUs busy (means over its 0.50 s); the figure may be below what "
                                                   "this machine does alone")


# --- choosing the source ----------------------------------------------------------------------------------------------


def test_auto_takes_the_device_layer_then_the_node_then_declared(tmp_path, monkeypatch):
    monkeypatch.setattr(RedfishClient, "get", lambda self, url=None: power_doc(250.0))
    tool = str(fake_ipmitool(tmp_path, DCMI_OUTPUT))
    rapl = make_rapl(tmp_path / "powercap", {"intel-rapl:0": ("package-0", 10, MAX)})
    everything = EnergyConfig(rapl_root=rapl, redfish_url=BMC_URL, ipmitool=tool, watts=100.0)

    def pick(config: EnergyConfig) -> str:
        source, why = select_source(config, "cpu")
        assert why == ""
        return source.name

    assert pick(everything) == "rapl"
    no_rapl = replace(everything, rapl_root=tmp_path / "none")
    assert pick(no_rapl) == "redfish"
    assert pick(replace(no_rapl, redfish_url=None)) == "ipmi"  # ipmitool found, no interface arguments needed
    assert pick(replace(no_rapl, redfish_url=None, ipmitool="no-such-ipmitool")) == "declared"

    # Nothing readable: every candidate's reason, in the order tried. IPMI interface arguments make ipmitool a
    # candidate even where it is not on PATH (the reason then says so).
    nothing = replace(no_rapl, redfish_url=None, ipmitool="no-such-ipmitool", ipmi_args=("-H", "10.0.0.5"), watts=None)
    source, why = select_source(nothing, "cpu")
    rapl_why = reason(lambda: RaplSource(tmp_path / "none"))
    ipmi_why = reason(lambda: IpmiSource("no-such-ipmitool", ("-H", "10.0.0.5")))
    assert source is None
    assert why == (f"no energy source for cpu — rapl: {rapl_why}; ipmi: {ipmi_why}; "
                   "declared: give --watts to declare a wattage")


def test_named_sources_get_their_settings_or_say_what_is_missing(tmp_path, monkeypatch):
    tool = str(fake_ipmitool(tmp_path, DCMI_OUTPUT))
    source, why = select_source(EnergyConfig(mode="ipmi", ipmitool=tool, ipmi_args=("-I", "lanplus", "-H", "10.0.0.5")),
                                "cpu")
    assert (source.name, why) == ("ipmi", "") and "(-I lanplus -H 10.0.0.5)" in source.detail

    monkeypatch.setattr(RedfishClient, "get", lambda self, url=None: power_doc(250.0))
    verified, _ = select_source(EnergyConfig(mode="redfish", redfish_url=BMC_URL), "cpu")
    assert verified.name == "redfish" and "not verified" not in verified.detail
    insecure, _ = select_source(EnergyConfig(mode="redfish", redfish_url=BMC_URL, redfish_verify_tls=False), "cpu")
    assert "TLS certificate not verified (HASHBENCH_REDFISH_INSECURE=1)" in insecure.detail

    # Configurations built without from_env() (no validate()): refused with the reason, never a half-made source.
    with pytest.raises(EnergyUnavailable, match=r"^--energy redfish: no Redfish URL configured$"):
        select_source(EnergyConfig(mode="redfish"), "cpu")
    with pytest.raises(EnergyUnavailable, match=r"^no declared wattage \(--watts\)$"):
        select_source(EnergyConfig(mode="declared"), "cpu")
    # A kind no source has (a caller's typo, never a user's: the CLI offers only these) is named in the error.
    with pytest.raises(ValueError, match=r"^pdu$"):
        open_source(EnergyConfig(), "pdu", "cpu")


# --- the plan: one source and one idle per device ---------------------------------------------------------------------


class ClosingPower(FakePower):
    def __init__(self, watts: float, detail: str) -> None:
        super().__init__(watts)
        self.detail, self.closed = detail, 0

    def close(self) -> None:
        self.closed += 1


def test_plan_opens_one_source_per_device_and_measures_its_idle_once(monkeypatch):
    opened = []

    def open_source(config: EnergyConfig, kind: str, device: str) -> ClosingPower:
        opened.append((kind, device))
        return ClosingPower(40.0, f"stand-in for {device}")

    monkeypatch.setattr(meter_module, "open_source", open_source)
    plan = EnergyPlan(EnergyConfig(mode="ipmi", idle_seconds=0.05))
    cpu = plan.source_for("cpu")[0]
    gpu0, gpu1 = plan.source_for("cuda:0")[0], plan.source_for("cuda:1")[0]
    assert plan.source_for("cpu")[0] is cpu and plan.source_for("cuda:0")[0] is gpu0
    assert opened == [("ipmi", "cpu"), ("ipmi", "cuda:0"), ("ipmi", "cuda:1")]  # each GPU its own board
    assert plan.describe("cuda:1") == "fake (node): stand-in for cuda:1"

    meter = plan.meter("cpu")  # idle measured now, at 40 W
    cpu.watts = 100.0
    with meter:
        time.sleep(0.03)
    r = meter.reading()
    assert r.idle_watts == pytest.approx(40.0) and r.joules_net == pytest.approx(60.0 * r.window_s, rel=1e-6)
    # A second workload on the same device keeps the idle measured before the first one warmed it.
    with plan.meter("cpu") as again:
        time.sleep(0.01)
    assert again.reading().idle_watts == pytest.approx(40.0)

    plan.close()
    assert [s.closed for s in (cpu, gpu0, gpu1)] == [1, 1, 1]
    assert plan.source_for("cpu")[0] is not cpu  # closed sources are forgotten: the next use opens a new one


def test_leaving_a_plan_closes_its_sources_also_when_the_run_failed(monkeypatch):
    # NVML handles, Redfish sessions and ipmitool settings are released with the plan, not when the process ends.
    monkeypatch.setattr(meter_module, "open_source", lambda config, kind, device: ClosingPower(40.0, device))
    with pytest.raises(KeyError):
        with EnergyPlan(EnergyConfig(mode="ipmi")) as plan:
            cpu, gpu = plan.source_for("cpu")[0], plan.source_for("cuda:0")[0]
            raise KeyError("the run failed")
    assert (cpu.closed, gpu.closed) == (1, 1)


def test_plan_without_a_source_says_why_in_the_reading_and_in_its_description():
    with EnergyPlan(EnergyConfig(mode="none")) as plan:  # leaving it closes a plan whose source is None
        with plan.meter("cpu") as meter:
            pass
        assert plan.describe("cpu") == "energy metering off (--energy none)"
    assert meter.reading().detail == "energy metering off (--energy none)"
    assert EnergyPlan(EnergyConfig(mode="declared", watts=65.0, idle_watts=15.0)).describe("cpu") == \
        "declared 65 W, idle 15 W"


# --- energy-check -----------------------------------------------------------------------------------------------------


def test_check_opens_every_measured_source_of_a_cpu_node_or_says_why_not(tmp_path, monkeypatch):
    monkeypatch.setattr(RedfishClient, "get", lambda self, url=None: power_doc(250.0))
    tool = str(fake_ipmitool(tmp_path, DCMI_OUTPUT))
    rapl = make_rapl(tmp_path / "powercap", {"intel-rapl:0": ("package-0", 10, MAX)})
    config = EnergyConfig(rapl_root=rapl, redfish_url=BMC_URL, ipmitool=tool, watts=100.0)
    opened = open_check_sources(config, "cpu")
    opened.close()
    # A declared wattage is no measurement: left out. Only the two node sources make a pair.
    assert [describe(s) for s in opened.sources] == ["rapl energy counter", "redfish sampled power",
                                                     "ipmi sampled power"]
    assert opened.missing == [] and comparable_pairs(opened.sources) == [(1, 2)]

    def refused(self: RedfishClient, url: str | None = None) -> object:
        raise RedfishUnavailable("bmc.example: connection refused")

    monkeypatch.setattr(RedfishClient, "get", refused)
    none = replace(config, rapl_root=tmp_path / "none", ipmitool="no-such-ipmitool", ipmi_args=("-H", "10.0.0.5"))
    opened = open_check_sources(none, "cpu")
    assert opened.sources == []
    assert opened.missing == [f"rapl: {reason(lambda: RaplSource(tmp_path / 'none'))}",
                              f"redfish: {reason(lambda: RedfishSource(RedfishClient(BMC_URL)))}",
                              f"ipmi: {reason(lambda: IpmiSource('no-such-ipmitool', ('-H', '10.0.0.5')))}"]


def test_check_opens_counter_and_sampled_power_of_the_board_asked_for(monkeypatch):
    monkeypatch.setattr(nvml_module, "_torch_uuid", lambda index: None)
    monkeypatch.setattr(nvml_module, "_driver_uuid", lambda index: None)
    monkeypatch.delenv("CUDA_VISIBLE_DEVICES", raising=False)
    nvml = fake_nvml(counter=False)  # a board without the total-energy counter
    monkeypatch.setitem(sys.modules, "pynvml", nvml)
    no_node = EnergyConfig(ipmitool="no-such-ipmitool")
    opened = open_check_sources(no_node, "cuda:1")
    opened.close()
    assert [describe(s) for s in opened.sources] == ["nvml sampled power"]
    assert "NVML index 1" in opened.sources[0].detail  # the board asked for, not the first
    no_counter = "nvml counter: NVML reads no counter on NVML index 1 (energy counter: Not Supported)"
    assert opened.missing == [no_counter]

    def unsupported(*args: object) -> object:
        raise FakeNvmlError("Not Supported")

    nvml.nvmlDeviceGetFieldValues = unsupported
    nvml.nvmlDeviceGetPowerUsage = unsupported
    opened = open_check_sources(no_node, "cuda:1")
    assert opened.sources == []
    assert opened.missing == [no_counter,
                              "nvml sampled power: NVML reads no power on NVML index 1 (power: Not Supported)"]


def node_power(name: str, watts: float) -> FakePower:
    source = FakePower(watts)
    source.name = name
    return source


def test_pairs_agree_up_to_the_tolerance_inclusive_and_never_without_both_readings():
    a, b = node_power("bmc", 0.0), node_power("pdu", 0.0)

    def verdict(joules_a: float | None, joules_b: float | None) -> PairVerdict:
        (v,) = verdicts([a, b], [EnergyReading("bmc", "node", "sampled power", 2.0, joules_a),
                                 EnergyReading("pdu", "node", "sampled power", 2.0, joules_b)], 0.05)
        return v

    # 100 W against 105 W and 95 W: exactly 5 % either way, which a 5 % tolerance allows.
    assert verdict(200.0, 210.0) == PairVerdict("bmc sampled power", "pdu sampled power", "node", 0.05, 0.05)
    assert verdict(200.0, 210.0).agree is True and verdict(200.0, 190.0).agree is True
    assert verdict(200.0, 210.0).to_json() == {"reference": "bmc sampled power", "other": "pdu sampled power",
                                               "layer": "node", "relative_difference": 0.05, "tolerance": 0.05,
                                               "agree": True}
    over = verdict(200.0, 210.2)  # 105.1 W: 5.1 %
    assert over.relative_difference == pytest.approx(0.051) and over.agree is False
    # A source without a reading (its counter failed), or a reference at 0 W: nothing to compare, never agreement.
    for joules_a, joules_b in ((None, 200.0), (200.0, None), (0.0, 200.0)):
        v = verdict(joules_a, joules_b)
        assert v.relative_difference is None and v.agree is None

    def result(*found: PairVerdict) -> CheckResult:
        return CheckResult("cpu", "idle", 2.0, 0, None, [], [], list(found), [])

    assert result(verdict(200.0, 210.0)).passed
    assert not result(verdict(200.0, 210.0), verdict(None, 200.0)).passed
    assert not result(over).passed and not result().passed


class SimulatedBackend(Backend):
    """Hashes at a simulated 1 MH/s: bench's timing adds up the scans' own seconds, so the run is instant."""

    name = "simulated"

    def available(self) -> tuple[bool, str]:
        return True, ""

    def _scan_part(self, *args):  # pragma: no cover - scan() is overridden
        raise NotImplementedError

    def scan(self, job, start, count, *, impl=None, threads=1, max_found=0, stop=None) -> ScanResult:
        return ScanResult(self.name, self.name, threads, start, count, count / 1e6, 0, [])


def test_check_meters_the_hashing_window_with_every_source_and_records_it():
    bmc, pdu = node_power("bmc", 100.0), node_power("pdu", 104.0)
    opened = Opened([bmc, pdu], ["rapl: no powercap interface"])
    result = run_check(opened, "cpu", 0.05, hashing_load(SimulatedBackend(), 0.5, threads=2))
    assert (result.device, result.load) == ("cpu", "simulated (simulated, 2 thread(s))")
    # 0.5 s at 1 MH/s in samples of 0.05 s (50 000 hashes): 10 samples, or 11 where the float sum falls short.
    assert 500_000 <= result.hashes <= 550_000 and result.hashrate == pytest.approx(1e6)
    first, second = result.readings
    assert result.seconds == first.window_s  # the first source's window (each source's window is its own)
    assert first.joules_gross == pytest.approx(100.0 * first.window_s, rel=1e-9)
    assert second.joules_gross == pytest.approx(104.0 * second.window_s, rel=1e-9)
    assert first.idle_watts is None and not any("idle" in f for r in result.readings for f in r.flags)
    (pair,) = result.verdicts
    assert pair.relative_difference == pytest.approx(0.04, rel=1e-6) and pair.agree and result.passed
    terahashes = result.hashes / 1e12
    assert result.to_json() == {
        "device": "cpu", "load": "simulated (simulated, 2 thread(s))", "seconds": result.seconds,
        "hashes": result.hashes, "hashrate": result.hashrate,
        "sources": [{**first.to_json(), "name": "bmc sampled power", "joules_per_th": first.joules_gross / terahashes},
                    {**second.to_json(), "name": "pdu sampled power",
                     "joules_per_th": second.joules_gross / terahashes}],
        "pairs": [pair.to_json()], "passed": True, "not_opened": ["rapl: no powercap interface"]}


def test_check_hashes_on_one_thread_unless_told():
    result = run_check(Opened([node_power("bmc", 100.0)], []), "cpu", 0.05, hashing_load(SimulatedBackend(), 0.1))
    assert result.load == "simulated (simulated, 1 thread(s))"


def test_a_load_that_opened_no_window_metered_nothing_and_did_not_pass():
    bmc, pdu = node_power("bmc", 100.0), node_power("pdu", 100.0)
    result = run_check(Opened([bmc, pdu], ["ipmi: no ipmitool"]), "cpu", 0.05, lambda window: ("nothing", 0, None))
    assert (result.seconds, result.names, result.readings, result.verdicts, result.passed) == (0.0, [], [], [], False)
    # Its record still writes (before, two names against no readings made to_json raise).
    assert result.to_json() == {"device": "cpu", "load": "nothing", "seconds": 0.0, "hashes": 0, "hashrate": None,
                                "sources": [], "pairs": [], "passed": False, "not_opened": ["ipmi: no ipmitool"]}


def test_a_record_never_pairs_names_and_readings_of_different_lengths():
    # Two sources named, one reading: written short, the record would drop the second source without a word.
    reading = EnergyReading("bmc", "node", "sampled power", 2.0, 200.0)
    result = CheckResult("cpu", "idle", 2.0, 0, None, ["bmc sampled power", "pdu sampled power"], [reading], [], [])
    with pytest.raises(ValueError):
        result.to_json()


class BrokenFlags(FakePower):
    """A source that fails as its window is read (a sensor driver gone between the reads)."""

    def window_flags(self, window_s: float) -> list[str]:
        raise RuntimeError("sensor gone")


def test_a_meter_that_fails_while_the_workload_failed_keeps_the_workload_error_in_the_traceback():
    # As nested with-statements do: the second error's context is the first, so both are in the traceback.
    with pytest.raises(RuntimeError, match="^sensor gone$") as info:
        with MeterSet([node_power("bmc", 100.0), BrokenFlags(100.0)]):
            raise KeyError("workload")
    assert isinstance(info.value.__context__, KeyError)


def test_check_under_idle_load_and_the_meter_set_reading():
    bmc, pdu = node_power("bmc", 100.0), node_power("pdu", 100.0)
    result = run_check(Opened([bmc, pdu], []), "cpu", 0.05, idle_load(0.05))
    assert (result.load, result.hashes, result.hashrate) == ("idle", 0, None)
    assert [s["joules_per_th"] for s in result.to_json()["sources"]] == [None, None]  # no hashes: no J/TH
    # bench reads one reading from the window it is given: the first source's.
    with MeterSet([bmc, pdu]) as window:
        pass
    assert window.reading() == window.readings()[0] and window.reading().source == "bmc"
