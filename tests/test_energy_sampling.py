"""The windows themselves (counter, sampled power, constant), the integral's edges and EnergyReading's record, each
result field checked by hand. Pinned by mutation testing (benchmarks/checks/mutation.py on energy/sampling.py and
energy/reading.py)."""

from __future__ import annotations

import threading

import pytest

from hashbench.energy.reading import EnergyReading, no_reading
from hashbench.energy.sampling import (
    ConstantWindow,
    CounterWindow,
    PowerWindow,
    WindowResult,
    clock,
    estimate_update_period,
    integrate,
    open_window,
)
from hashbench.energy.source import (
    CounterSource,
    DeclaredSource,
    EnergySource,
    PowerSource,
    SumCounterSource,
    SumPowerSource,
)

# --- integrate --------------------------------------------------------------------------------------------------------


def test_held_flat_before_the_first_and_after_the_last_sample_over_spans_other_than_one_second():
    # [0.5, 2]: 10 W held for 1.5 s before the first sample; [2, 3]: 10 W. 25 J.
    assert integrate([(2.0, 10.0), (3.0, 10.0)], 0.5, 3.0) == pytest.approx(25.0)
    # [0, 1]: 10 W; [1, 3]: 10 W held for 2 s after the last sample. 30 J.
    assert integrate([(0.0, 10.0), (1.0, 10.0)], 0.0, 3.0) == pytest.approx(30.0)


def test_two_samples_at_the_same_instant_add_nothing_between_them():
    # A step from 10 W to 20 W stamped twice at t = 1: [0, 1] 10 W, [1, 2] 20 W, 30 J, and no division by zero.
    assert integrate([(0.0, 10.0), (1.0, 10.0), (1.0, 20.0), (2.0, 20.0)], 0.0, 2.0) == pytest.approx(30.0)


# --- CounterWindow ----------------------------------------------------------------------------------------------------


class Counter(CounterSource):
    """Reads come from a script: a number is the joules read, an exception is raised, "reset" counts a restart."""

    name, layer = "counter", "cpu package"
    poll_interval_s = 3600.0  # never polled between the start and stop reads unless a test says so

    def __init__(self, script: list, reset_why: str = "") -> None:
        self.script, self.why, self.reads = list(script), reset_why, 0

    def read_joules(self) -> float:
        self.reads += 1
        step = self.script.pop(0) if self.script else 0.0
        if isinstance(step, Exception):
            raise step
        if step == "reset":
            self.resets += 1
            self.reset_why = self.why
            return 0.0
        return step


def run(window) -> WindowResult:
    window.start()
    return window.stop()


def fields(r: WindowResult) -> tuple:
    return r.joules, r.samples, r.interval_s, r.failures, r.error


def test_counter_window_is_the_difference_of_its_two_reads():
    r = run(CounterWindow(Counter([1000.0, 1012.5])))
    assert fields(r) == (12.5, 2, None, 0, "") and 0 <= r.seconds < 1


def test_counter_failing_at_the_stop_read_only():
    r = run(CounterWindow(Counter([1000.0, RuntimeError("GPU is lost")])))
    assert fields(r) == (None, 1, None, 1, "RuntimeError: GPU is lost") and 0 <= r.seconds < 1


def test_counter_failing_at_both_reads_counts_two_failures():
    r = run(CounterWindow(Counter([RuntimeError("GPU is lost"), OSError("gone")])))
    assert fields(r) == (None, 0, None, 2, "OSError: gone") and 0 <= r.seconds < 1


@pytest.mark.parametrize(("why", "said"), [("", "the counter was reset during the window"),
                                           ("energy_uj went backwards", "energy_uj went backwards")])
def test_a_reset_inside_the_window_is_one_more_failure_and_says_why(why, said):
    r = run(CounterWindow(Counter([1000.0, "reset"], reset_why=why)))
    assert fields(r) == (None, 2, None, 1, said) and 0 <= r.seconds < 1


def test_the_counter_is_polled_between_the_edges():
    # The thread reads every poll_interval_s in between (so a wrap is never missed): wait for two such reads.
    source = Counter([])
    source.poll_interval_s = 0.001
    polled = threading.Event()
    read = source.read_joules

    def counting() -> float:
        value = read()
        if source.reads >= 3:
            polled.set()
        return value

    source.read_joules = counting
    window = CounterWindow(source)
    window.start()
    assert polled.wait(5.0)
    assert window.stop().samples >= 4


# --- PowerWindow ------------------------------------------------------------------------------------------------------


def test_power_window_whose_every_read_fails():
    def read() -> float:
        raise RuntimeError("sensor gone")

    r = run(PowerWindow(read, 0.001))
    assert (r.joules, r.samples, r.interval_s, r.error) == (None, 0, None, "RuntimeError: sensor gone")
    assert r.failures >= 2 and 0 < r.seconds < 1  # the read before the window and the one after it at least


def test_power_window_with_one_good_read_holds_it_and_has_no_interval():
    calls = []

    def read() -> float:
        calls.append(1)
        if len(calls) > 1:
            raise RuntimeError("sensor gone")
        return 100.0

    r = run(PowerWindow(read, 0.001))
    assert (r.samples, r.interval_s, r.error) == (1, None, "RuntimeError: sensor gone") and r.failures >= 1
    assert r.joules == pytest.approx(100.0 * r.seconds)


@pytest.mark.parametrize("interval", [3600.0, 0.002])
def test_power_window_interval_is_the_mean_gap_between_samples(interval):
    # 3600 s: exactly the read before the window and the one after it, two samples; 0.002 s: as many as it took.
    stamps = []

    def read() -> float:
        stamps.append(clock())
        return 50.0

    window = PowerWindow(read, interval)
    window.start()
    if interval > 1:
        threading.Event().wait(0.05)  # the two reads at least 50 ms apart: a gap far above the scheduler's jitter
    else:
        deadline = clock() + 5.0
        while len(stamps) < 4 and clock() < deadline:
            threading.Event().wait(0.001)
    r = window.stop()
    assert r.samples == len(stamps) and (r.samples == 2) == (interval > 1) and r.failures == 0 and r.error == ""
    # Each sample is stamped at the middle of its read, microseconds from the stamp taken inside it; with two samples
    # the interval is their whole gap, 50 ms and more.
    assert r.interval_s == pytest.approx((stamps[-1] - stamps[0]) / (len(stamps) - 1), abs=1e-3)


def test_power_window_failures_are_counted_one_by_one():
    def read() -> float:
        raise RuntimeError("no")

    window = PowerWindow(read, 3600.0)  # the read before the window and the one after it: two failures exactly
    assert run(window).failures == 2


# --- ConstantWindow, open_window --------------------------------------------------------------------------------------


def test_constant_window_is_watts_times_its_own_seconds():
    r = run(ConstantWindow(65.0))
    assert 0 <= r.seconds < 1 and r.joules == 65.0 * r.seconds and r.samples == 0


def test_open_window_refuses_a_source_of_no_known_shape():
    with pytest.raises(TypeError) as info:
        open_window(EnergySource())
    assert str(info.value) == "unknown energy source type EnergySource"


# --- estimate_update_period -------------------------------------------------------------------------------------------


def test_update_period_waits_for_six_changes_and_gives_none_for_a_counter_that_never_moves():
    values = iter(range(1000))
    reads = []

    def moving() -> float:
        reads.append(1)
        return next(values)

    # One read to start from, then a change at every poll: six changes (five gaps) and it stops.
    assert estimate_update_period(moving, poll_s=0.0) > 0 and len(reads) == 7
    assert estimate_update_period(lambda: 5.0, max_seconds=0.01, poll_s=0.0) is None


# --- EnergyReading ----------------------------------------------------------------------------------------------------


def test_reading_records_exactly():
    measured = EnergyReading("rapl", "cpu package", "energy counter", 2.0, 300.0, idle_watts=60.0, idle_seconds=5.0,
                             samples=3, update_period_s=0.001, detail="RAPL domains package-0", flags=("short",))
    # net = 300 J − 60 W × 2 s = 180 J; mean power 150 W.
    assert measured.to_json() == {
        "source": "rapl", "layer": "cpu package", "method": "energy counter", "label": "rapl (cpu package)",
        "provenance": "measured", "joules": 300.0, "joules_gross": 300.0, "joules_net": 180.0, "idle_watts": 60.0,
        "idle_seconds": 5.0, "watts": 150.0, "window_s": 2.0, "samples": 3, "update_period_s": 0.001,
        "detail": "RAPL domains package-0", "flags": ["short"], "cpu_load": None}
    declared = EnergyReading("declared", "declared", "declared constant", 2.0, 130.0).to_json()
    assert (declared["label"], declared["provenance"], declared["watts"]) == ("declared 65 W", "declared", 65.0)
    assert no_reading(1.5, "no energy source for cpu").to_json() == {
        "source": "none", "layer": "none", "method": "", "label": "none", "provenance": None, "joules": None,
        "joules_gross": None, "joules_net": None, "idle_watts": None, "idle_seconds": None, "watts": None,
        "window_s": 1.5, "samples": None, "update_period_s": None, "detail": "no energy source for cpu", "flags": [],
        "cpu_load": None}


def test_per_unit_of_no_work_is_none():
    r = EnergyReading("rapl", "cpu package", "energy counter", 2.0, 300.0)
    assert r.per_unit(0) is None and r.per_unit(-1) is None and r.per_unit(150) == 2.0


def test_per_unit_net_takes_the_idle_power_off():
    # 300 J gross over 2 s with 60 W idle: 180 J net, 1.2 J per unit over 150 units; gross stays 2 J per unit.
    r = EnergyReading("rapl", "cpu package", "energy counter", 2.0, 300.0, idle_watts=60.0)
    assert r.per_unit(150, net=True) == 1.2 and r.per_unit(150) == 2.0
    assert EnergyReading("rapl", "cpu package", "energy counter", 2.0, 300.0).per_unit(150, net=True) is None


# --- sources summed, declared -----------------------------------------------------------------------------------------


class Power(PowerSource):
    name, layer = "power", "gpu board"

    def __init__(self, watts: float, interval_s: float) -> None:
        self.watts, self.interval_s, self.detail = watts, interval_s, f"board at {interval_s:g} s"

    def read_watts(self) -> float:
        return self.watts


def test_summed_counters_poll_as_often_as_the_fastest_part_and_move_as_seldom_as_the_slowest():
    fast, slow = Counter([10.0]), Counter([2.5])
    fast.poll_interval_s, slow.poll_interval_s = 0.5, 1.0
    fast.update_period_s, slow.update_period_s = 0.02, 0.1
    fast.detail, slow.detail = "GPU 0", "GPU 1"
    summed = SumCounterSource([fast, slow])
    assert (summed.name, summed.layer, summed.detail) == ("counter", "cpu package", "GPU 0 + GPU 1")
    assert (summed.poll_interval_s, summed.update_period_s) == (0.5, 0.1)
    assert summed.read_joules() == 12.5
    # A part whose update period is unknown leaves the others' to go by; none known gives none.
    assert SumCounterSource([Counter([]), slow]).update_period_s == 0.1
    assert SumCounterSource([Counter([]), Counter([])]).update_period_s is None


def test_summed_power_is_sampled_as_slowly_as_the_slowest_part():
    summed = SumPowerSource([Power(300.0, 0.05), Power(250.5, 1.0)])
    assert (summed.interval_s, summed.read_watts(), summed.detail) == (1.0, 550.5, "board at 0.05 s + board at 1 s")


def test_declared_source_says_what_was_declared():
    assert DeclaredSource(65.0).detail == "declared 65 W"
    assert DeclaredSource(65.0, 15.0).detail == "declared 65 W, idle 15 W"
    assert DeclaredSource(65.0).window_flags(30.0) == ["declared power, not measured"]


def test_a_poll_that_failed_between_good_edges_keeps_the_joules_and_says_so():
    class Blip(CounterSource):
        name, layer, poll_interval_s = "blip", "cpu package", 0.001

        def __init__(self) -> None:
            self.reads, self.polled = 0, threading.Event()

        def read_joules(self) -> float:
            self.reads += 1
            if self.reads >= 3:
                self.polled.set()
            if self.reads == 2:  # the first poll between the edges
                raise RuntimeError("blip")
            return 1000.0 + self.reads

    source = Blip()
    window = CounterWindow(source)
    window.start()
    assert source.polled.wait(5.0)
    r = window.stop()
    # Reads 1..n, read 2 failed: n - 1 good reads, joules (1000 + n) − 1001 = n − 1.
    assert (r.joules, r.failures, r.error) == (source.reads - 1, 1, "RuntimeError: blip")
    assert r.samples == source.reads - 1
