"""RAPL through a powercap-shaped tree: the exact error texts, the half-range line between a wrap and a restart, and
zones the reader must step over. Pinned by mutation testing (benchmarks/checks/mutation.py on energy/rapl.py)."""

from __future__ import annotations

from pathlib import Path

import pytest

from hashbench.energy import EnergyMeter
from hashbench.energy.rapl import RaplSource, RaplUnavailable, find_domains

MAX = 262143328850  # a real package max_energy_range_uj; MAX // 2 = 131071664425


def make_zones(root: Path, zones: dict[str, tuple[str | None, str, str]]) -> Path:
    """zones: dir name -> (name file or None for none, energy_uj text, max_energy_range_uj text)."""
    root.mkdir(parents=True, exist_ok=True)
    for zone, (name, energy, max_range) in zones.items():
        d = root / zone
        d.mkdir()
        if name is not None:
            (d / "name").write_text(name + "\n")
        (d / "energy_uj").write_text(energy + "\n")
        (d / "max_energy_range_uj").write_text(max_range + "\n")
    return root


def set_energy(root: Path, zone: str, value: int) -> None:
    (root / zone / "energy_uj").write_text(f"{value}\n")


def deny(monkeypatch, filename: str) -> None:
    """Reads of `filename` fail as a 0400 root:root file does for a normal user (whoever runs the tests)."""
    real = Path.read_text

    def guarded(self: Path, *a, **k) -> str:
        if self.name == filename:
            raise PermissionError(13, "Permission denied", str(self))
        return real(self, *a, **k)

    monkeypatch.setattr(Path, "read_text", guarded)


def test_a_zone_without_a_readable_name_is_skipped_and_the_scan_goes_on(tmp_path):
    # intel-rapl:0's name cannot be read: it is left out, and the zones sorted after it are still read. The dram
    # under it is then named by the parent's zone directory, the only name there is for it.
    root = make_zones(tmp_path, {"intel-rapl:0": (None, "1", str(MAX)), "intel-rapl:0:0": ("dram", "2", "65712999613"),
                                 "intel-rapl:1": ("package-1", "3", str(MAX))})
    assert [(d.zone, d.name) for d in find_domains(root)] == [("intel-rapl:0:0", "dram"), ("intel-rapl:1", "package-1")]
    assert f"RAPL domains dram of intel-rapl:0, package-1 under {root}, summed" in RaplSource(root).detail


def test_unreadable_energy_uj_says_which_file_and_how_to_grant_access(tmp_path, monkeypatch):
    root = make_zones(tmp_path, {"intel-rapl:0": ("package-0", "10", str(MAX))})
    deny(monkeypatch, "energy_uj")
    with pytest.raises(RaplUnavailable) as info:
        RaplSource(root)
    assert str(info.value) == (
        f"RAPL energy counters are readable by root only ({root}/intel-rapl:0/energy_uj: permission denied; Linux "
        "restricts energy_uj since the November 2020 fix for CVE-2020-8694, in 5.10 and the stable kernels): run as "
        f"root, or on a trusted machine grant read access, e.g. sudo chmod a+r {root}/*-rapl:*/energy_uj")


def test_energy_uj_that_becomes_unreadable_mid_run_says_the_same(tmp_path, monkeypatch):
    root = make_zones(tmp_path, {"intel-rapl:0": ("package-0", "10", str(MAX))})
    source = RaplSource(root)
    deny(monkeypatch, "energy_uj")
    with pytest.raises(RaplUnavailable, match=r"^RAPL energy counters are readable by root only \(") as info:
        source.read_joules()
    assert f"({root}/intel-rapl:0/energy_uj: permission denied;" in str(info.value)
    assert str(info.value).endswith(f"sudo chmod a+r {root}/*-rapl:*/energy_uj")


def test_unreadable_max_energy_range_names_that_file(tmp_path, monkeypatch):
    root = make_zones(tmp_path, {"intel-rapl:0": ("package-0", "10", str(MAX))})
    deny(monkeypatch, "max_energy_range_uj")
    with pytest.raises(RaplUnavailable) as info:
        find_domains(root)
    message = str(info.value)
    assert message.startswith(f"RAPL energy counters are readable by root only ({root}/intel-rapl:0/"
                              "max_energy_range_uj: permission denied;")
    assert message.endswith(f"sudo chmod a+r {root}/*-rapl:*/energy_uj")


def test_garbled_counter_files_are_named_with_what_int_said(tmp_path):
    root = make_zones(tmp_path / "a", {"intel-rapl:0": ("package-0", "10", "n/a")})
    with pytest.raises(RaplUnavailable) as info:
        find_domains(root)
    assert str(info.value) == (f"cannot read {root}/intel-rapl:0/max_energy_range_uj: "
                               "invalid literal for int() with base 10: 'n/a'")
    root = make_zones(tmp_path / "b", {"intel-rapl:0": ("package-0", "", str(MAX))})
    with pytest.raises(RaplUnavailable) as info:
        RaplSource(root)
    assert str(info.value) == f"cannot read {root}/intel-rapl:0/energy_uj: invalid literal for int() with base 10: ''"


class Clock:
    """time.monotonic for rapl.py, moved by hand."""

    def __init__(self, monkeypatch) -> None:
        self.now = 1000.0
        monkeypatch.setattr("hashbench.energy.rapl.time.monotonic", lambda: self.now)


def test_a_step_back_of_exactly_half_the_range_is_a_wrap_one_more_microjoule_is_a_restart(tmp_path, monkeypatch):
    # From MAX - 1000 to MAX // 2 - 1000: 1000 µJ to the top and MAX // 2 - 1000 after, MAX // 2 in all, which is
    # "not more than half": a wrap, 131071.664425 J. To MAX // 2 - 999 it is MAX // 2 + 1: a restart, nothing added.
    # The reads are an hour apart: long enough for any domain to draw that much, so the half-range rule decides.
    clock = Clock(monkeypatch)
    root = make_zones(tmp_path / "half", {"intel-rapl:0": ("package-0", str(MAX - 1000), str(MAX))})
    source = RaplSource(root)
    set_energy(root, "intel-rapl:0", MAX // 2 - 1000)
    clock.now += 3600
    assert source.read_joules() == 131071.664425 and source.resets == 0
    root = make_zones(tmp_path / "more", {"intel-rapl:0": ("package-0", str(MAX - 1000), str(MAX))})
    source = RaplSource(root)
    set_energy(root, "intel-rapl:0", MAX // 2 - 999)
    clock.now += 3600
    assert source.read_joules() == 0.0 and source.resets == 1
    assert source.reset_why == (f"RAPL intel-rapl:0 (package-0) energy_uj went backwards from {MAX - 1000} to "
                                f"{MAX // 2 - 999} without a wraparound: the counter restarted, energy across it "
                                "unknown")


def test_a_wrap_that_needs_more_power_than_a_domain_draws_since_the_last_read_is_a_restart(tmp_path, monkeypatch):
    """A counter that restarts from high up (200 kJ of a 262 kJ range, back to 1 J) steps back by less than half
    the range; read as a wrap it adds 62 kJ in a second, 62 kW. Over the time since the last read plus 10 ms of
    slack no domain draws more than 2 kW: beyond that it is a restart."""
    clock = Clock(monkeypatch)
    start = 200_000_000_000
    root = make_zones(tmp_path, {"intel-rapl:0": ("package-0", str(start), str(MAX))})
    source = RaplSource(root)
    set_energy(root, "intel-rapl:0", 1_000_000)
    clock.now += 1.0
    assert source.read_joules() == 0.0 and source.resets == 1
    assert "went backwards from 200000000000 to 1000000 without a wraparound" in source.reset_why
    # A real wrap at 500 W over one second passes: (MAX - start) + the rest = 500 J.
    top = MAX - 200_000_000
    set_energy(root, "intel-rapl:0", top)
    clock.now += 60.0  # 61.8 kJ in a minute: 1.03 kW, under the line
    source.read_joules()
    set_energy(root, "intel-rapl:0", 300_000_000)
    clock.now += 1.0
    assert source.read_joules() == pytest.approx((top - 1_000_000 + 500_000_000) / 1e6) and source.resets == 1
    # The line itself: 2 kW over the interval plus 10 ms, to the microjoule.
    set_energy(root, "intel-rapl:0", MAX - 1_000_000)
    clock.now += 100.0
    source.read_joules()
    set_energy(root, "intel-rapl:0", 2_019_000_000)  # 1 J to the top + 2,019 J = 2,020 J = 2 kW × 1.01 s
    clock.now += 1.0
    before = source.read_joules()
    assert source.resets == 1
    set_energy(root, "intel-rapl:0", MAX - 1_000_000)
    clock.now += 200.0
    source.read_joules()
    set_energy(root, "intel-rapl:0", 2_019_000_001)  # one microjoule more: a restart
    clock.now += 1.0
    assert source.read_joules() == pytest.approx(before + (MAX - 1_000_000 - 2_019_000_000) / 1e6)
    assert source.resets == 2


def test_a_second_restart_inside_a_window_is_seen_after_one_before_it(tmp_path):
    # The window compares the source's reset count at its start and end: a restart before the window (count 1) and
    # another inside it must make 2, or the window takes a restarted counter's difference for energy.
    root = make_zones(tmp_path, {"intel-rapl:0": ("package-0", "50000000", str(MAX))})
    source = RaplSource(root)
    set_energy(root, "intel-rapl:0", 40_000_000)
    source.read_joules()
    assert source.resets == 1
    with EnergyMeter(source, idle_seconds=0.0) as meter:
        set_energy(root, "intel-rapl:0", 30_000_000)
        source.read_joules()
        set_energy(root, "intel-rapl:0", 35_000_000)
    assert source.resets == 2
    r = meter.reading()
    assert r.joules_gross is None and "went backwards from 40000000 to 30000000" in r.detail


def test_a_restart_between_windows_seen_at_the_next_windows_first_read_leaves_that_window_whole(tmp_path):
    """The counter is read only while a window is open: a restart (or a wrap too large to tell from one) in the gap
    between two windows shows at the next window's first read. That read is the window's baseline, so its energy,
    j1 - j0, does not cross the restart and stands."""
    root = make_zones(tmp_path, {"intel-rapl:0": ("package-0", "50000000", str(MAX))})
    source = RaplSource(root)
    set_energy(root, "intel-rapl:0", 40_000_000)  # went back while no window was open: nobody has read it yet
    with EnergyMeter(source, idle_seconds=0.0) as meter:
        set_energy(root, "intel-rapl:0", 90_000_000)  # a clean 50 J inside the window
    assert source.resets == 1  # seen, at the window's first read
    r = meter.reading()
    assert r.joules_gross == pytest.approx(50.0) and "went backwards" not in r.detail
