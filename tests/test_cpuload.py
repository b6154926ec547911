"""The CPU load recorded with every measurement window: other work, a hypervisor's steal, idle CPUs, and the note a
person reads when they were shared."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import pytest
from results_helpers import hash_measurement, make_run, noisy, with_cpu_load

from hashbench.cli import energy_notes
from hashbench.cli_probe import probe_flags
from hashbench.cpuload import CpuLoad, CpuTimes, CpuWatch, shared_note
from hashbench.energy.meter import EnergyMeter
from hashbench.results.compare import compare_runs
from hashbench.results.pbjson import parse_result, to_pytest_benchmark

TICK = os.sysconf("SC_CLK_TCK")
STAT = """cpu  900 90 900 9000 90 9 9 90 7 7
cpu0 100 10 100 1000 10 1 1 10 7 7
cpu1 200 20 200 2000 20 2 2 20 0 0
cpu2 300 30 300 3000 30 3 3 30
cpu3 400 40 400 4000
intr 1 2 3
ctxt 99
"""


def stat_file(tmp_path: Path, text: str = STAT) -> Path:
    path = tmp_path / "stat"
    path.write_text(text)
    return path


def test_times_sum_the_columns_of_the_cpus_this_process_may_run_on(tmp_path):
    t = CpuTimes.read(stat_file(tmp_path), cpus={0, 2})
    # busy = user + nice + system + irq + softirq (guest is inside user, so not added again); idle = idle + iowait
    assert t.cpus == 2
    assert t.busy == pytest.approx((100 + 10 + 100 + 1 + 1 + 300 + 30 + 300 + 3 + 3) / TICK)
    assert t.idle == pytest.approx((1000 + 10 + 3000 + 30) / TICK)
    assert t.steal == pytest.approx((10 + 30) / TICK)
    assert t.own > 0  # this process has run: getrusage counts it


def test_an_old_kernels_short_lines_count_as_zero_and_the_summary_line_is_not_a_cpu(tmp_path):
    t = CpuTimes.read(stat_file(tmp_path), cpus={3})
    assert (t.cpus, t.busy, t.idle, t.steal) == (1, pytest.approx(840 / TICK), pytest.approx(4000 / TICK), 0.0)
    every = CpuTimes.read(stat_file(tmp_path), cpus={0, 1, 2, 3, 4})
    assert every.cpus == 4  # "cpu" (the sum) is not counted again, and cpu4 is not in the file


@pytest.mark.parametrize("text, cpus", [("intr 1 2\n", None), (STAT, {7})])
def test_no_matching_cpu_lines_record_nothing(tmp_path, text, cpus):
    assert CpuTimes.read(stat_file(tmp_path, text), cpus=cpus) is None


def test_a_missing_proc_stat_records_nothing(tmp_path):
    assert CpuTimes.read(tmp_path / "absent") is None
    with CpuWatch(tmp_path / "absent") as watch:
        pass
    assert watch.load is None


def times(busy: float, idle: float, steal: float, own: float, cpus: int = 2) -> CpuTimes:
    return CpuTimes(cpus, busy, idle, steal, own)


def test_load_is_other_work_per_second_of_window():
    load = CpuLoad.between(times(100, 50, 3, 10), times(104, 50.5, 3.2, 11.5), 2.0)
    # 4 busy CPU-seconds, 1.5 of them this process's: 2.5 others over 2 s
    assert (load.cpus, load.window_s) == (2, 2.0)
    assert (load.others, load.idle, load.steal) == (pytest.approx(1.25), pytest.approx(0.25), pytest.approx(0.1))
    # this process's time counted in ns by getrusage, the others' in ticks: a tick short never goes below zero
    assert CpuLoad.between(times(100, 0, 0, 10), times(101, 0, 0, 11.02), 1.0).others == 0.0


@pytest.mark.parametrize("window, cpus_end", [(0.0, 2), (-1.0, 2), (1.0, 3)])
def test_no_load_from_an_empty_window_or_a_changed_cpu_set(window, cpus_end):
    assert CpuLoad.between(times(1, 1, 0, 0), times(2, 1, 0, 0, cpus=cpus_end), window) is None


@pytest.mark.parametrize("others, idle, steal, shared", [
    (0.25, 0.49, 0.0, True),  # a quarter of a CPU of other work and nowhere idle to put it
    (0.24, 0.0, 0.0, False),
    (1.9, 0.5, 0.0, False),  # other work on CPUs the measurement left idle: it had them to itself
    (0.0, 1.0, 0.1, True),  # a hypervisor's steal is taken from this machine's own CPUs
    (0.0, 1.0, 0.09, False),
])
def test_shared_cpus(others, idle, steal, shared):
    load = CpuLoad(2, 1.5, others, steal, idle)
    assert load.shared is shared
    assert (load.note() is not None) is shared
    assert load.to_json()["shared"] is shared and load.to_json()["note"] == load.note()


def test_the_note_gives_the_figures_of_the_window():
    note = CpuLoad(4, 2.5, 1.94, 0.31, 0.1).note()
    assert "other work kept 1.9 of the 4 CPUs busy" in note
    assert "the hypervisor gave 0.3 of the 4 CPUs to other guests" in note
    assert "2.50 s" in note and "may be below what this machine does alone" in note
    assert "other work" not in CpuLoad(4, 2.5, 1.94, 0.31, 2.0).note()  # steal alone: idle CPUs were there


def load_json(others: float, steal: float = 0.0, idle: float = 0.0, cpus: int = 2) -> dict:
    return CpuLoad(cpus, 1.0, others, steal, idle).to_json()


def test_one_line_names_the_shared_records_and_the_spread():
    assert shared_note([("a", load_json(0.0, idle=1.0)), ("b", None)], "benches") is None
    everyone = shared_note([("a", load_json(0.6)), ("b", load_json(1.3)), ("c", None)], "benches")
    # "all": of the records that have a load; a record from elsewhere without one is not counted
    assert everyone.startswith("CPUs shared while all 2 benches were measured: other work kept 0.6–1.3 of the 2")
    assert "their figures may be" in everyone
    some = shared_note([("a", load_json(0.0, idle=2.0)), ("b", load_json(1.0)), ("c", load_json(1.04))], "probes")
    assert some.startswith("CPUs shared while b, c were measured: other work kept 1.0 of the 2 CPUs busy")
    one = shared_note([("gemm fp32", load_json(0.0, steal=0.4, idle=1.5)), ("x", load_json(0.0, idle=2.0))], "p")
    assert one == ("CPUs shared while gemm fp32 was measured: the hypervisor gave 0.4 of them to other guests "
                   "(window means); its figure may be below what this machine does alone")


def bench_row(load: dict | None, impl: str = "avx2", flags: tuple[str, ...] = ()) -> dict:
    return {"backend": "cython", "impl": impl, "threads": 2, "power_source": "none",
            "energy": {"flags": list(flags), "cpu_load": load}}


def test_bench_notes_name_the_benches_measured_on_shared_cpus_and_each_window_flag_once():
    rows = [bench_row(load_json(1.2), flags=("no idle measurement: net energy unknown",)),
            bench_row(load_json(0.0, idle=1.0), impl="sha-ni", flags=("no idle measurement: net energy unknown",))]
    assert energy_notes(rows) == [
        "J/TH energy: none", "note: no idle measurement: net energy unknown",
        "note: CPUs shared while cython avx2 ×2 was measured: other work kept 1.2 of the 2 CPUs busy (window means); "
        "its figure may be below what this machine does alone"]
    assert energy_notes([bench_row(None)]) == ["J/TH energy: none"]  # nothing recorded: nothing said


def test_probe_notes_name_the_probes_measured_on_shared_cpus():
    row = {"probe": "gemm", "dtype": "fp32", "preset": "512x512x512", "batch": None, "flags": [],
           "energy": {"flags": [], "cpu_load": load_json(1.0)}}
    assert probe_flags([row]) == [
        "CPUs shared while gemm fp32 512³ was measured: other work kept 1.0 of the 2 CPUs busy (window means); its "
        "figure may be below what this machine does alone"]
    # On the CPU, torch's threads wait on the busy core: decode measured 12 tok/s on 2 threads beside other work
    # and 1,335 on 1. The note says how to measure the free cores alone.
    on_cpu = {**row, "device": "cpu"}
    assert probe_flags([on_cpu])[1:] == [
        "the CPU probes' threads wait for one another at each step: with other work on the CPUs they can run many "
        "times slower than on the free ones alone (`hashbench probe --device cpu --threads 1` measures those)"]
    quiet = {**on_cpu, "energy": {"flags": [], "cpu_load": load_json(0.0, idle=1.0)}}
    assert probe_flags([quiet]) == [] and probe_flags([{**on_cpu, "device": "cuda:0"}])[1:] == []


def test_compare_says_which_side_was_measured_on_shared_cpus_through_a_result_file():
    base = make_run([with_cpu_load(hash_measurement(noisy(2.0e7, 12, 1)), load_json(0.0, idle=2.0))])
    shared = make_run([with_cpu_load(hash_measurement(noisy(2.0e7, 12, 2)), load_json(1.5))])
    cand = parse_result(to_pytest_benchmark(shared), "cand.json")  # the load survives the file
    assert cand.measurements[0].cpu_load == load_json(1.5)
    notes = compare_runs(base, cand).notes
    assert [n for n in notes if "CPUs shared" in n] == [
        "candidate: CPUs shared while sha256d[cython-avx2-x1] was measured: other work kept 1.5 of the 2 CPUs busy "
        "(window means); its figure may be below what this machine does alone"]
    assert not any("CPUs shared" in n for n in compare_runs(base, base).notes)


def spin(seconds: float) -> None:
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        pass


@pytest.mark.skipif(not Path("/proc/stat").exists(), reason="no /proc/stat (not Linux): no CPU load is recorded")
def test_a_window_beside_busy_processes_is_recorded_as_shared():
    # As many busy processes as this process has CPUs, and this process busy too: there is no idle CPU for anyone.
    busy = [subprocess.Popen([sys.executable, "-c", "while True: pass"]) for _ in os.sched_getaffinity(0)]
    try:
        time.sleep(0.3)  # they are running
        with EnergyMeter(None) as meter:
            spin(1.0)
    finally:
        for p in busy:
            p.kill()
            p.wait()
    load = meter.reading().cpu_load
    assert load is not None and load.window_s >= 1.0
    assert load.others >= 0.5 * len(busy) and load.idle < 0.5 and load.shared
    assert meter.reading().to_json()["cpu_load"]["note"].startswith("CPUs shared while it was measured")


def test_this_process_own_time_counts_every_thread(tmp_path):
    # Its own time is what is taken out of the busy time; a worker thread's (a C kernel's, numba's) must be in it.
    import threading

    def work() -> None:
        end = time.thread_time() + 0.3  # CPU time, not wall time: the same work however busy the machine is
        while time.thread_time() < end:
            pass

    before = CpuTimes.read(stat_file(tmp_path))
    worker = threading.Thread(target=work)
    worker.start()
    worker.join()
    after = CpuTimes.read(stat_file(tmp_path))
    assert after.own - before.own >= 0.3


# --- the cgroup's CPU quota ---------------------------------------------------------------------------------------

HYBRID_CGROUP = "4:memory:/jobs/42\n1:cpu:/jobs/42\n0::/\n"  # cgroup v1 holding cpu, v2 mounted beside it
HYBRID_MOUNTS = """31 23 0:28 / {root} rw,relatime - tmpfs tmpfs rw,mode=755
32 31 0:29 / {root}/cpu rw,relatime - cgroup cgroup rw,cpu
33 31 0:30 / {root}/memory rw,relatime - cgroup cgroup rw,memory
40 31 0:38 / {root}/unified rw,relatime - cgroup2 cgroup2 rw
"""


def proc_files(tmp_path: Path, cgroup: str, mounts: str) -> tuple[Path, Path]:
    (tmp_path / "cgroup").write_text(cgroup)
    (tmp_path / "mountinfo").write_text(mounts.format(root=tmp_path / "fs"))
    return tmp_path / "cgroup", tmp_path / "mountinfo"


def write(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)


def test_v1_cpu_hierarchy_is_found_and_read_up_to_its_root(tmp_path):
    from hashbench.cpuload import Cgroup

    fs = tmp_path / "fs" / "cpu"
    write(fs / "jobs" / "42" / "cpu.stat", "nr_periods 10\nnr_throttled 4\nthrottled_time 1500000000\n")
    write(fs / "jobs" / "42" / "cpu.cfs_quota_us", "-1\n")
    write(fs / "jobs" / "42" / "cpu.cfs_period_us", "100000\n")
    write(fs / "jobs" / "cpu.stat", "throttled_time 250000000\n")
    write(fs / "jobs" / "cpu.cfs_quota_us", "150000\n")  # the parent's quota holds the child too
    write(fs / "jobs" / "cpu.cfs_period_us", "100000\n")
    cg = Cgroup.find(*proc_files(tmp_path, HYBRID_CGROUP, HYBRID_MOUNTS))
    assert cg == Cgroup((fs / "jobs" / "42", fs / "jobs", fs), v2=False)
    assert cg.throttled() == (pytest.approx(1.5), pytest.approx(0.25), 0.0)  # ns; the root has no file here
    assert cg.quota() == pytest.approx(1.5)


def test_v2_is_read_where_no_v1_hierarchy_holds_cpu(tmp_path):
    from hashbench.cpuload import Cgroup

    mounts = "40 23 0:38 / {root} rw,nosuid - cgroup2 cgroup2 rw,nsdelegate\n"
    fs = tmp_path / "fs"
    write(fs / "system.slice" / "x.service" / "cpu.stat", "usage_usec 9\nthrottled_usec 700000\n")
    write(fs / "system.slice" / "x.service" / "cpu.max", "50000 100000\n")
    write(fs / "system.slice" / "cpu.max", "max 100000\n")
    cg = Cgroup.find(*proc_files(tmp_path, "0::/system.slice/x.service\n", mounts))
    assert cg.v2 and cg.dirs[0] == fs / "system.slice" / "x.service" and cg.dirs[-1] == fs
    assert cg.throttled()[0] == pytest.approx(0.7)
    assert cg.quota() == pytest.approx(0.5)
    write(fs / "system.slice" / "x.service" / "cpu.max", "max\n")
    assert cg.quota() is None  # "max" is no limit; the period may be left out


def test_a_containers_namespaced_mount_is_its_own_cgroup(tmp_path):
    from hashbench.cpuload import Cgroup

    fs = tmp_path / "fs"
    write(fs / "cpu.stat", "throttled_usec 5\n")
    # a cgroup namespace: the container's cgroup is "/" to it and the mount's root is "/" too
    namespaced = Cgroup.find(*proc_files(tmp_path, "0::/\n", "40 23 0:38 / {root} rw - cgroup2 cgroup2 rw\n"))
    assert namespaced == Cgroup((fs,), v2=True)
    # no namespace, but only the container's subtree is mounted (Docker's older layout): the path is taken below it
    write(fs / "inner" / "cpu.stat", "throttled_usec 5\n")
    bind = Cgroup.find(*proc_files(tmp_path, "0::/docker/abc/inner\n",
                                   "40 23 0:38 /docker/abc {root} rw - cgroup2 cgroup2 rw\n"))
    assert bind.dirs == (fs / "inner", fs)


@pytest.mark.parametrize("cgroup, mounts", [
    ("4:memory:/x\n", HYBRID_MOUNTS),  # this process is in no cpu hierarchy
    (HYBRID_CGROUP, "31 23 0:28 / {root} rw - tmpfs tmpfs rw\n"),  # and nothing mounted that holds cpu
    ("1:cpu:/x\n", "garbled\n"),
])
def test_no_cpu_cgroup_is_none(tmp_path, cgroup, mounts):
    from hashbench.cpuload import Cgroup

    assert Cgroup.find(*proc_files(tmp_path, cgroup, mounts)) is None
    assert Cgroup.find(tmp_path / "absent", tmp_path / "absent") is None


def test_the_window_takes_the_cgroup_held_back_hardest():
    start = CpuTimes(2, 10, 10, 0, 1, throttled=(1.0, 5.0))
    end = CpuTimes(2, 11, 10, 0, 2, throttled=(1.2, 5.9))
    load = CpuLoad.between(start, end, 2.0, quota=1.5)
    assert (load.throttled, load.quota) == (pytest.approx(0.45), 1.5)
    assert load.shared and "its cgroup's CPU quota of 1.5 CPUs held it off 0.5 CPUs" in load.note()
    assert load.to_json()["throttled_cpus"] == 0.45 and load.to_json()["quota_cpus"] == 1.5
    unthrottled = CpuLoad.between(start, CpuTimes(2, 11, 11, 0, 2, throttled=(1.05, 5.1)), 2.0)
    assert unthrottled.throttled == pytest.approx(0.05) and not unthrottled.shared
    assert CpuLoad.between(CpuTimes(2, 1, 1, 0, 0), CpuTimes(2, 2, 2, 0, 0), 1.0).to_json()["quota_cpus"] is None


def test_the_one_line_note_gives_the_quota_and_reads_records_from_before_it_was_recorded():
    throttled = CpuLoad(4, 1.0, 0.0, 0.0, 2.0, throttled=0.8, quota=2.0).to_json()
    older = {k: v for k, v in load_json(1.0, cpus=4).items() if k not in ("throttled_cpus", "quota_cpus")}
    assert shared_note([("numba ×4", throttled), ("cython ×4", older)], "benches") == (
        "CPUs shared while all 2 benches were measured: other work kept 1.0 of the 4 CPUs busy and the cgroup's CPU "
        "quota of 2 CPUs held it off 0.8 CPUs (window means); their figures may be below what this machine does alone")


def make_cpu_cgroup(name: str):
    """A real cgroup with a CPU quota of 0.2 CPUs under this process's own cpu hierarchy, or a reason it cannot be."""
    from hashbench.cpuload import Cgroup

    cg = Cgroup.find()
    if cg is None:
        return None, "no cpu cgroup hierarchy is mounted"
    path = cg.dirs[0] / name
    try:
        if cg.v2:
            (cg.dirs[0] / "cgroup.subtree_control").write_text("+cpu")
        path.mkdir()
        if cg.v2:
            (path / "cpu.max").write_text("20000 100000")
        else:
            (path / "cpu.cfs_period_us").write_text("100000")
            (path / "cpu.cfs_quota_us").write_text("20000")
    except OSError as exc:
        if path.exists():
            path.rmdir()
        return None, f"cannot make a cgroup with a CPU quota here ({exc.strerror}; needs root and a writable cgroup fs)"
    return path, ""


def test_a_real_cgroup_quota_is_recorded_as_throttling():
    path, why = make_cpu_cgroup(f"hashbench-test-{os.getpid()}")
    if path is None:
        pytest.skip(why)
    child = ("import json, os, sys, time\n"
             "from hashbench.cpuload import CpuWatch\n"
             "open(sys.argv[1] + '/cgroup.procs', 'w').write(str(os.getpid()))\n"
             "with CpuWatch() as w:\n"
             "    end = time.monotonic() + 1.0\n"
             "    while time.monotonic() < end: pass\n"
             "print(json.dumps(w.load.to_json()))\n")
    try:
        out = subprocess.run([sys.executable, "-c", child, str(path)], capture_output=True, text=True, check=True,
                             timeout=60)
    finally:
        path.rmdir()  # the child has exited, so the cgroup is empty
    import json

    load = json.loads(out.stdout)
    # 0.2 CPUs of quota for a thread that wants 1: held off about 0.8 CPUs of each second
    assert load["quota_cpus"] == 0.2
    assert load["throttled_cpus"] >= 0.5 and load["shared"], load
    assert "its cgroup's CPU quota of 0.2 CPUs held it off" in load["note"]


# --- what mutation testing of cpuload.py found unpinned ----------------------------------------------------------

def test_a_v1_cpu_cpuacct_hierarchy_is_found_among_real_shaped_mountinfo_lines(tmp_path):
    """cgroup v1 usually mounts cpu together with cpuacct, under a source named anything ("none", "cgroup"); real
    mountinfo lines carry optional fields (shared:N) before " - "; a cgroup path may hold a colon. A garbled or
    truncated line is passed over, not the end of the file."""
    from hashbench.cpuload import Cgroup

    mounts = ("garbled\n"
              "41 23 0:39 / {root}/x rw - cgroup2\n"  # truncated after the type
              "25 18 0:22 / {root} ro,nosuid,nodev,noexec shared:9 - tmpfs tmpfs ro,mode=755\n"
              "29 25 0:26 / {root}/cpu,cpuacct rw,nosuid,nodev,noexec,relatime shared:12 - cgroup none "
              "rw,cpu,cpuacct\n")
    fs = tmp_path / "fs" / "cpu,cpuacct"
    write(fs / "batch" / "job:7" / "cpu.cfs_quota_us", "50000\n")
    write(fs / "batch" / "job:7" / "cpu.cfs_period_us", "100000\n")
    cg = Cgroup.find(*proc_files(tmp_path, "5:memory:/batch/job:7\n4:cpu,cpuacct:/batch/job:7\n", mounts))
    assert cg == Cgroup((fs / "batch" / "job:7", fs / "batch", fs), v2=False)
    assert cg.quota() == 0.5
    # the fewest fields a line needs: ID PARENT MAJ:MIN ROOT MOUNTPOINT - TYPE SOURCE OPTIONS
    bare = Cgroup.find(*proc_files(tmp_path, "0::/\n", "40 23 0:38 / {root} - cgroup2 cgroup2 rw\n"))
    assert bare == Cgroup((tmp_path / "fs",), v2=True)


def test_a_cgroup_outside_the_mounted_subtree_or_gone_is_read_at_the_mount(tmp_path):
    from hashbench.cpuload import Cgroup

    fs = tmp_path / "fs"
    fs.mkdir()
    # a namespace shows this process's cgroup as "/" while the mount's root is a host path
    outside = Cgroup.find(*proc_files(tmp_path, "0::/\n", "40 23 0:38 /docker/abc {root} rw - cgroup2 cgroup2 rw\n"))
    assert outside == Cgroup((fs,), v2=True)
    # the mounted subtree is this process's own cgroup; a sibling whose name merely starts like it is outside
    at_root = Cgroup.find(*proc_files(tmp_path, "0::/docker/abc\n", "40 23 0:38 /docker/abc {root} rw - cgroup2 "
                                                                     "cgroup2 rw\n"))
    assert at_root == Cgroup((fs,), v2=True)
    (fs / "def").mkdir()
    sibling = Cgroup.find(*proc_files(tmp_path, "0::/docker/abcdef\n", "40 23 0:38 /docker/abc {root} rw - "
                                                                       "cgroup2 cgroup2 rw\n"))
    assert sibling == Cgroup((fs,), v2=True)
    # a cgroup whose directory is not there (removed, or not visible): the mount itself
    gone = Cgroup.find(*proc_files(tmp_path, "0::/gone/away\n", "40 23 0:38 / {root} rw - cgroup2 cgroup2 rw\n"))
    assert gone == Cgroup((fs,), v2=True)


def test_the_quota_is_read_past_a_directory_that_cannot_be_read(tmp_path):
    from hashbench.cpuload import Cgroup

    fs = tmp_path / "fs"
    (fs / "a" / "b").mkdir(parents=True)  # b has no cpu.max (unreadable here), a limits to 0.75 CPUs
    write(fs / "a" / "cpu.max", "75000 100000\n")
    assert Cgroup((fs / "a" / "b", fs / "a", fs), v2=True).quota() == 0.75


def test_times_count_only_the_cpus_this_process_may_run_on_by_default(tmp_path, monkeypatch):
    asked = []
    monkeypatch.setattr(os, "sched_getaffinity", lambda pid: asked.append(pid) or {1})
    t = CpuTimes.read(stat_file(tmp_path))
    assert asked == [0] and t.cpus == 1 and t.idle == pytest.approx((2000 + 20) / TICK)


def test_load_figures_round_trip_through_json_at_a_thousandth_of_a_cpu():
    load = CpuLoad(4, 2.5, 1.23456, 0.34567, 0.45678, throttled=0.56789, quota=1.23456)
    data = load.to_json()
    assert {k: data[k] for k in ("others_cpus", "steal_cpus", "idle_cpus", "throttled_cpus", "quota_cpus")} == {
        "others_cpus": 1.235, "steal_cpus": 0.346, "idle_cpus": 0.457, "throttled_cpus": 0.568, "quota_cpus": 1.235}
    assert CpuLoad.from_json(data) == CpuLoad(4, 2.5, 1.235, 0.346, 0.457, 0.568, 1.235)
    # readings without a cgroup: nothing throttled, and the window is not called shared for it
    quiet = CpuLoad.between(times(1, 5, 0, 0), times(2, 6, 0, 1), 1.0)
    assert (quiet.throttled, quiet.shared) == (0.0, False)


def test_each_cause_of_a_shared_window_is_named_in_one_sentence():
    note = CpuLoad(2, 1.0, 1.0, 0.2, 0.1, throttled=0.5).note()
    assert note == ("CPUs shared while it was measured: other work kept 1.0 of the 2 CPUs busy and the hypervisor "
                    "gave 0.2 of the 2 CPUs to other guests and its cgroup's CPU quota held it off 0.5 CPUs (means "
                    "over its 1.00 s); the figure may be below what this machine does alone")  # no quota was readable
    throttled = CpuLoad(2, 1.0, 0.0, 0.0, 1.0, throttled=0.5).to_json()
    assert shared_note([("cython ×2", throttled)], "benches") == (
        "CPUs shared while cython ×2 was measured: the cgroup's CPU quota held it off 0.5 CPUs (window means); its "
        "figure may be below what this machine does alone")


def test_a_watch_reads_the_stat_file_and_cgroup_it_is_given(tmp_path, monkeypatch):
    from hashbench.cpuload import Cgroup

    # the same readings at both ends: nothing happened in the window, whatever the real /proc/stat says
    fixed = stat_file(tmp_path, "".join(f"cpu{i} 1000000 0 0 1000000 0 0 0 0\n" for i in range(1024)))
    monkeypatch.setattr(Cgroup, "find", classmethod(lambda cls: pytest.fail("find() when told not to")))
    with CpuWatch(fixed, cgroup=None) as watch:
        pass
    assert watch.cgroup is None and (watch.load.others, watch.load.idle, watch.load.throttled) == (0.0, 0.0, 0.0)
    given = Cgroup((tmp_path,), v2=True)
    write(tmp_path / "cpu.max", "150000 100000\n")
    with CpuWatch(fixed, cgroup=given) as watch:
        pass
    assert watch.cgroup is given and watch.load.quota == 1.5
