"""The host fingerprint `compare` refuses mismatches by and the history keys its series on: it moves with the
machine (CPU model, flags, core count, architecture, GPU models) and with nothing else, and what it reads the
machine from (nvidia-smi, sysfs, git, a pytest-benchmark file's machine_info) is read the way it is written."""

from __future__ import annotations

import json
import shutil
import subprocess
from dataclasses import replace
from pathlib import Path

import pytest
from results_helpers import HOST

from hashbench.results import fingerprint as fp_mod
from hashbench.results.fingerprint import GpuInfo, HostFingerprint, from_pytest_machine_info
from hashbench.results.pbjson import load_result

H100 = GpuInfo("NVIDIA H100 80GB HBM3", "580.65", 81559)
ZEN1, ZEN3 = "AuthenticAMD family 23 model 1 stepping 2", "AuthenticAMD family 25 model 1 stepping 1"


def test_the_fingerprint_moves_with_the_machine_and_nothing_else():
    # a literal: history series and `history --fingerprint` are keyed on it across hashbench versions
    assert HOST.fingerprint == "c1ea96055333d6b5"
    other_machines = [replace(HOST, cpu_model="Other CPU 1000"), replace(HOST, logical_cpus=4),
                      replace(HOST, machine="aarch64"), replace(HOST, cpu_flags=("avx2", "sha_ni", "avx512f")),
                      replace(HOST, gpus=()), replace(HOST, gpus=(H100, H100)),
                      replace(HOST, gpus=(GpuInfo("NVIDIA A100-SXM4-80GB", "580.65", 81920),))]
    prints = {h.fingerprint for h in other_machines}
    assert len(prints) == len(other_machines) and HOST.fingerprint not in prints
    same_machine = replace(HOST, hostname="ci-99", system="Linux 6.8", python="3.13.0", hashbench="9.9",
                           cpu_impls=("portable",), usable_cpus=1, packages={"numpy": "3.0"}, git_commit="b" * 40,
                           git_dirty=True, git_branch="topic", cpu_governor="powersave", turbo=False,
                           cpu_flags=("sha_ni", "avx2"), gpus=(GpuInfo(H100.model, "535.1", None),))
    assert same_machine.fingerprint == HOST.fingerprint and not HOST.machine_differences(same_machine)
    two = (H100, GpuInfo("NVIDIA A10", "580.65", 23028))
    assert replace(HOST, gpus=two).fingerprint == replace(HOST, gpus=two[::-1]).fingerprint
    assert HOST.machine_differences(replace(HOST, cpu_model="X", logical_cpus=4)) == [
        "cpu_model: 'Test CPU 9000' vs 'X'", "logical_cpus: 2 vs 4"]


def test_label_names_cpu_count_and_gpus():
    assert HOST.label == "Test CPU 9000 (2 CPUs, 1× NVIDIA H100 80GB HBM3)"
    eight = replace(HOST, gpus=(H100, H100), logical_cpus=64)
    assert eight.label == "Test CPU 9000 (64 CPUs, 2× NVIDIA H100 80GB HBM3)"
    assert replace(HOST, gpus=()).label == "Test CPU 9000 (2 CPUs)"


def test_condition_differences_name_what_was_read_on_both_sides():
    changed = replace(HOST, cpu_governor="powersave", turbo=False, usable_cpus=1, python="3.12.1", system="Linux 6.8",
                      gpus=(replace(H100, driver="535.1"),), hostname="elsewhere",
                      packages={"hashbench": "0.2.0", "numpy": "2.2.0", "torch": "2.5"})
    assert HOST.condition_differences(changed) == [
        "cpu_governor: 'performance' vs 'powersave'", "turbo: True vs False", "usable_cpus: 2 vs 1",
        "python: '3.11.7' vs '3.12.1'", "system: 'Linux 6.1' vs 'Linux 6.8'",
        "GPU driver: ['580.65'] vs ['535.1']", "numpy: 2.1.0 vs 2.2.0"]
    # None, "" and a CPU count of 0 are "could not read": no difference to report; nor a GPU driver nobody read
    unread = replace(HOST, cpu_governor=None, turbo=None, usable_cpus=0, python="", system="",
                     gpus=(replace(H100, driver=""),))
    assert HOST.condition_differences(unread) == unread.condition_differences(HOST) == []
    no_gpu = replace(HOST, gpus=())
    assert HOST.condition_differences(no_gpu) == no_gpu.condition_differences(HOST) == []


def test_host_json_round_trips_and_older_or_damaged_hosts_read_as_they_should():
    data = HOST.to_json()
    assert HostFingerprint.from_json(data) == HOST and data["fingerprint"] == HOST.fingerprint
    # docs/schema-history.md's host record, in plain JSON types (lists, not tuples)
    assert set(data) == {"hostname", "system", "machine", "cpu_model", "cpu_flags", "logical_cpus", "usable_cpus",
                         "python", "hashbench", "cpu_impls", "gpus", "packages", "git_commit", "git_dirty",
                         "git_branch", "cpu_governor", "turbo", "fingerprint", "cpu_id"}
    assert json.loads(json.dumps(data)) == data
    assert HostFingerprint.from_json({}) == HostFingerprint()
    older = {"cpu_model": "Test CPU 9000", "logical_cpus": "2", "turbo": None, "git_dirty": None, "gone": 1,
             "gpus": [{"model": "NVIDIA A10"}, {}, "not a gpu"], "packages": {"numpy": 2}, "cpu_flags": ["avx2", 3]}
    host = HostFingerprint.from_json(older)
    assert host == HostFingerprint(cpu_model="Test CPU 9000", logical_cpus=2,
                                   gpus=(GpuInfo("NVIDIA A10", "", None), GpuInfo("", "", None)),
                                   packages={"numpy": "2"}, cpu_flags=("avx2", "3"))
    assert GpuInfo.from_json({"model": "x", "driver": None, "memory_mib": 1}) == GpuInfo("x", "", 1)
    for damaged in ({"turbo": "yes"}, {"git_dirty": 1}, {"cpu_model": 5}, {"git_branch": ["main"]}):
        with pytest.raises(TypeError, match=next(iter(damaged))):
            HostFingerprint.from_json(damaged)


def test_turbo_and_governor_read_from_sysfs(monkeypatch):
    files: dict[str, str] = {}
    monkeypatch.setattr(fp_mod, "_read", files.get)
    assert fp_mod.turbo() is None and fp_mod.cpu_governor() is None
    files["/sys/devices/system/cpu/cpu0/cpufreq/scaling_governor"] = "performance"
    assert fp_mod.cpu_governor() == "performance"
    files["/sys/devices/system/cpu/cpufreq/boost"] = "1"  # acpi-cpufreq, amd-pstate
    assert fp_mod.turbo() is True
    files["/sys/devices/system/cpu/cpufreq/boost"] = "0"
    assert fp_mod.turbo() is False
    files["/sys/devices/system/cpu/intel_pstate/no_turbo"] = "0"  # intel_pstate says it the other way round
    assert fp_mod.turbo() is True
    files["/sys/devices/system/cpu/cpufreq/boost"] = "1"
    files["/sys/devices/system/cpu/intel_pstate/no_turbo"] = "1"
    assert fp_mod.turbo() is False
    files["/sys/devices/system/cpu/intel_pstate/no_turbo"] = "?"
    files["/sys/devices/system/cpu/cpufreq/boost"] = "1"
    assert fp_mod.turbo() is True


def test_read_strips_and_says_none_for_what_is_not_there(tmp_path):
    (tmp_path / "gov").write_text("schedutil\n")
    assert fp_mod._read(str(tmp_path / "gov")) == "schedutil"
    assert fp_mod._read(str(tmp_path / "missing")) is None


def _fake_tool(folder: Path, name: str, script: str) -> None:
    tool = folder / name
    tool.write_text("#!/bin/sh\n" + script + "\n")
    tool.chmod(0o755)


@pytest.mark.skipif(not Path("/bin/sh").exists() or not shutil.which("sleep"), reason="needs /bin/sh and sleep")
def test_gpus_from_nvidia_smi(tmp_path, monkeypatch):
    """nvidia-smi's CSV, as the tool prints it: read quietly, and nothing claimed when it fails or hangs."""
    sleep = shutil.which("sleep") or "/bin/sleep"
    monkeypatch.setenv("PATH", str(tmp_path))
    assert fp_mod.gpus() == ()  # not installed
    rows = ("NVIDIA H100 80GB HBM3, 580.65, 81559", "NVIDIA A10, 535.1, [N/A]", "NVIDIA L4, 550.2, 23034.5",
            "NVIDIA T4, 470.1, 1.2.3", ", 1, 2", "broken", "NVIDIA T4, 470.1")
    _fake_tool(tmp_path, "nvidia-smi", f"""case "$*" in
  *--query-gpu=name,driver_version,memory.total*--format=csv,noheader,nounits*) printf '{chr(10).join(rows)}\\n';;
  *) exit 2;;
esac""")
    assert fp_mod.gpus() == (H100, GpuInfo("NVIDIA A10", "535.1", None), GpuInfo("NVIDIA L4", "550.2", 23034),
                             GpuInfo("NVIDIA T4", "470.1", None), GpuInfo("NVIDIA T4", "470.1", None))
    _fake_tool(tmp_path, "nvidia-smi", "echo 'NVIDIA H100 80GB HBM3, 580.65, 81559'; exit 9")  # driver not loaded
    assert fp_mod.gpus() == ()
    monkeypatch.setattr(fp_mod, "NVIDIA_SMI_TIMEOUT_S", 0.2)
    _fake_tool(tmp_path, "nvidia-smi", f"{sleep} 5; echo 'NVIDIA H100 80GB HBM3, 580.65, 81559'")
    assert fp_mod.gpus() == ()  # a hung driver: no GPU claimed, and no hang


def test_packages_lists_the_tracked_ones_installed(monkeypatch):
    def version(name):
        if name in ("numpy", "torch"):
            return {"numpy": "2.1.0", "torch": "2.5.1"}[name]
        raise fp_mod.PackageNotFoundError(name)

    monkeypatch.setattr(fp_mod, "version", version)
    assert fp_mod.packages() == {"numpy": "2.1.0", "torch": "2.5.1"}


@pytest.mark.skipif(not Path("/bin/sh").exists() or not shutil.which("sleep"), reason="needs /bin/sh and sleep")
def test_git_state_claims_nothing_git_could_not_say(tmp_path, monkeypatch):
    sleep = shutil.which("sleep") or "/bin/sleep"
    monkeypatch.setenv("PATH", str(tmp_path))
    _fake_tool(tmp_path, "git", """case "$*" in
  "rev-parse HEAD") echo abc123;;
  "status"*) echo 'fatal: not allowed' >&2; exit 128;;
  "rev-parse --abbrev-ref HEAD") echo topic;;
esac""")
    assert fp_mod.git_state(tmp_path) == ("abc123", None, "topic")  # a status git refused is not "clean"
    monkeypatch.setattr(fp_mod, "GIT_TIMEOUT_S", 0.2)
    _fake_tool(tmp_path, "git", f"{sleep} 5; echo abc123")
    assert fp_mod.git_state(tmp_path) == (None, None, None)


@pytest.mark.skipif(shutil.which("git") is None, reason="git not installed")
def test_git_state_of_a_checkout(tmp_path):
    assert fp_mod.git_state(tmp_path) == (None, None, None)  # no checkout: nothing claimed
    env = ["-c", "user.name=t", "-c", "user.email=t@e", "-c", "init.defaultBranch=main"]

    def git(*args):
        return subprocess.run(["git", *env, *args], cwd=tmp_path, check=True, capture_output=True, text=True).stdout

    git("init", "-q")
    (tmp_path / "f.txt").write_text("a")
    git("add", "f.txt")
    git("commit", "-q", "-m", "one")
    head = git("rev-parse", "HEAD").strip()
    (tmp_path / "untracked.txt").write_text("x")  # not the code that ran: not dirty
    assert fp_mod.git_state(tmp_path) == (head, False, "main")
    (tmp_path / "f.txt").write_text("b")
    assert fp_mod.git_state(tmp_path) == (head, True, "main")
    git("checkout", "-q", "--detach")
    assert fp_mod.git_state(tmp_path) == (head, True, None)


def test_detect_fingerprint_carries_every_field_it_read(monkeypatch):
    from hashbench.host import Host

    host = Host(hostname="n1", system="Linux 6.1", machine="x86_64", cpu_model="Test CPU 9000",
                cpu_flags=["avx2", "sha_ni"], logical_cpus=8, usable_cpus=6, python="3.11.7", hashbench="0.1.0",
                cpu_impls=["sha-ni", "portable"], cpu_id=ZEN3)
    monkeypatch.setattr(fp_mod, "gpus", lambda: (H100,))
    monkeypatch.setattr(fp_mod, "packages", lambda: {"numpy": "2.1.0"})
    monkeypatch.setattr(fp_mod, "git_state", lambda: ("c" * 40, True, "main"))
    monkeypatch.setattr(fp_mod, "cpu_governor", lambda: "performance")
    monkeypatch.setattr(fp_mod, "turbo", lambda: False)
    assert fp_mod.detect_fingerprint(host) == HostFingerprint(
        hostname="n1", system="Linux 6.1", machine="x86_64", cpu_model="Test CPU 9000", cpu_id=ZEN3,
        cpu_flags=("avx2", "sha_ni"),
        logical_cpus=8, usable_cpus=6, python="3.11.7", hashbench="0.1.0", cpu_impls=("sha-ni", "portable"),
        gpus=(H100,), packages={"numpy": "2.1.0"}, git_commit="c" * 40, git_dirty=True, git_branch="main",
        cpu_governor="performance", turbo=False)


def test_a_pytest_benchmark_machine_info_reads_as_the_host_it_describes():
    info = {"node": "runner-3", "machine": "x86_64", "processor": "x86_64", "system": "Linux", "release": "6.1.0",
            "python_version": "3.11.7",
            "cpu": {"brand_raw": "Test CPU 9000", "count": 2, "flags": ["fpu", "sha_ni", "avx2", "avx512f"]}}
    host = from_pytest_machine_info(info, {"id": "c" * 40, "dirty": True, "branch": "main"})
    # the flags hashbench's kernels care about, in hashbench's order
    assert host == HostFingerprint(hostname="runner-3", system="Linux 6.1.0", machine="x86_64",
                                   cpu_model="Test CPU 9000", cpu_flags=("sha_ni", "avx2", "avx512f"), logical_cpus=2,
                                   python="3.11.7", git_commit="c" * 40, git_dirty=True, git_branch="main")
    # the same CPU seen by hashbench itself: the same machine
    assert host.fingerprint == replace(HOST, cpu_flags=("avx2", "sha_ni", "avx512f"), gpus=()).fingerprint
    bare = from_pytest_machine_info({"processor": "arm64", "cpu": "not a dict"})
    assert (bare.cpu_model, bare.cpu_flags, bare.logical_cpus, bare.system, bare.git_commit) == (
        "arm64", (), 0, "", None)
    assert (bare.hostname, bare.machine, bare.python) == ("", "", "")
    assert from_pytest_machine_info({}).cpu_model == "unknown"
    for commit in ({"id": "unversioned", "branch": "main"}, {"id": "unknown"}, {"id": ""}, {"id": 7}):
        assert from_pytest_machine_info(info, commit).git_commit is None
    detached = from_pytest_machine_info(info, {"id": "c" * 40, "dirty": "yes", "branch": "(detached head)"})
    assert (detached.git_commit, detached.git_dirty, detached.git_branch) == ("c" * 40, None, None)
    # stamped by the benchmarks/ conftest hook: hashbench's own host, whose commit a commit_info does not replace
    stamped = from_pytest_machine_info({**info, "hashbench_host": HOST.to_json()}, {"id": "c" * 40})
    assert stamped == HOST
    unstamped_commit = from_pytest_machine_info({"hashbench_host": replace(HOST, git_commit=None).to_json()},
                                                {"id": "c" * 40, "dirty": False, "branch": "main"})
    assert unstamped_commit == replace(HOST, git_commit="c" * 40, git_dirty=False, git_branch="main")


def test_stored_results_keep_the_fingerprint_they_were_written_with():
    """The run files in benchmarks/results: the fingerprint recomputed from each host record is the one written
    beside it, so history series and `compare` keep recognising those machines."""
    files = sorted((Path(__file__).resolve().parents[1] / "benchmarks" / "results").glob("cpu-*.json"))
    assert files
    prints = {}
    for path in files:
        data = json.loads(path.read_text())
        run = load_result(path)
        assert run.fingerprint == data["fingerprint"] == data["machine_info"]["fingerprint"], path.name
        prints[path.name.split("-2core")[0]] = run.fingerprint
    # AVX-512 (zen4, the Xeon) or not (zen1): different kernels run, different machines
    assert len({prints["cpu-epyc-zen1"], prints["cpu-epyc-zen4"], prints["cpu-xeon-avx512"]}) == 3


# --- the CPU's identity below its brand string ------------------------------------------------------------------------

ZEN5_CPUINFO = """processor\t: 0
vendor_id\t: AuthenticAMD
cpu family\t: 26
model\t\t: 2
model name\t: AMD EPYC
stepping\t: 1
flags\t\t: fpu sse4_1 ssse3 sha_ni avx2 avx512f bmi2

processor\t: 1
vendor_id\t: AuthenticAMD
cpu family\t: 25
model\t\t: 1
model name\t: AMD EPYC 7763
stepping\t: 0
flags\t\t: fpu
"""

NEOVERSE_CPUINFO = """processor\t: 0
BogoMIPS\t: 2000.00
Features\t: fp asimd sha2 crc32
CPU implementer\t: 0x41
CPU architecture: 8
CPU variant\t: 0x1
CPU part\t: 0xd0c
CPU revision\t: 1
"""


def test_cpu_id_reads_the_first_cpus_family_model_and_stepping(tmp_path):
    from hashbench.host import _cpuinfo

    (tmp_path / "x86").write_text(ZEN5_CPUINFO)
    assert _cpuinfo(str(tmp_path / "x86")) == (
        "AMD EPYC", ["fpu", "sse4_1", "ssse3", "sha_ni", "avx2", "avx512f", "bmi2"],
        "AuthenticAMD family 26 model 2 stepping 1")
    (tmp_path / "arm").write_text(NEOVERSE_CPUINFO)
    assert _cpuinfo(str(tmp_path / "arm")).cpu_id == "implementer 0x41 part 0xd0c r1p1"
    (tmp_path / "odd").write_text(NEOVERSE_CPUINFO.replace("0x1\n", "one\n"))
    assert _cpuinfo(str(tmp_path / "odd")).cpu_id == ""  # a variant that is no number: nothing claimed
    (tmp_path / "bare").write_text("processor\t: 0\nmodel name\t: Some CPU\n")
    assert _cpuinfo(str(tmp_path / "bare")) == ("Some CPU", [], "")
    assert _cpuinfo(str(tmp_path / "missing")).cpu_id == ""


def test_cpuinfo_reads_arm_boards_names_and_features_and_survives_odd_bytes(tmp_path, monkeypatch):
    """Arm kernels name the CPU's features "Features" and the board "Model" (Raspberry Pi OS) or "Hardware" (older
    kernels), never "model name"; a byte that is not UTF-8 is replaced, not a crash; an x86 record without vendor_id
    and an Arm one without an implementer keep what they do know and claim nothing else."""
    import hashbench.host as host

    (tmp_path / "pi").write_text(NEOVERSE_CPUINFO + "\nHardware\t: BCM2835\nModel\t\t: Raspberry Pi 5 Model B\n")
    assert host._cpuinfo(str(tmp_path / "pi")) == (
        "Raspberry Pi 5 Model B", ["fp", "asimd", "sha2", "crc32"], "implementer 0x41 part 0xd0c r1p1")
    (tmp_path / "old").write_text(NEOVERSE_CPUINFO + "\nHardware\t: BCM2835\n")
    assert host._cpuinfo(str(tmp_path / "old")).model == "BCM2835"
    (tmp_path / "bytes").write_bytes(b"model name\t: Vendor \xff CPU\nflags\t\t: sse4_1\n")
    assert host._cpuinfo(str(tmp_path / "bytes")) == ("Vendor \ufffd CPU", ["sse4_1"], "")
    (tmp_path / "novendor").write_text("cpu family\t: 6\nmodel\t\t: 85\n")
    assert host._cpuinfo(str(tmp_path / "novendor")).cpu_id == "family 6 model 85"
    (tmp_path / "partonly").write_text("CPU part\t: 0xd0c\nCPU variant\t: 0x1\nCPU revision\t: 1\n")
    assert host._cpuinfo(str(tmp_path / "partonly")).cpu_id == ""
    (tmp_path / "norev").write_text(NEOVERSE_CPUINFO.replace("CPU variant\t: 0x1\n", ""))
    assert host._cpuinfo(str(tmp_path / "norev")).cpu_id == "implementer 0x41 part 0xd0c"
    # no name in the file: the platform's, else "unknown"
    (tmp_path / "noname").write_text("processor\t: 0\n")
    monkeypatch.setattr(host.platform, "processor", lambda: "x86_64")
    assert host._cpuinfo(str(tmp_path / "noname")).model == "x86_64"
    monkeypatch.setattr(host.platform, "processor", lambda: "")
    assert host._cpuinfo(str(tmp_path / "noname")).model == "unknown"


def test_detect_host_records_this_machine_from_its_parts(monkeypatch):
    """Every field of the host record a result carries, each from where it is read: the kernel-relevant flags only
    (in RELEVANT_FLAGS' order), the CPUs the process may use beside those the machine has, and the C kernels' paths
    only where the extension is built."""
    import hashbench.backends as backends
    import hashbench.host as host

    monkeypatch.setattr(host, "_cpuinfo", lambda: host.CpuInfo(
        "Test CPU", ["fpu", "avx2", "sha_ni", "vmx", "sse4_1"], "GenuineIntel family 6 model 85 stepping 7"))
    monkeypatch.setattr(host.platform, "node", lambda: "rig-7")
    monkeypatch.setattr(host.platform, "system", lambda: "Linux")
    monkeypatch.setattr(host.platform, "release", lambda: "6.1.0")
    monkeypatch.setattr(host.platform, "machine", lambda: "x86_64")
    monkeypatch.setattr(host.os, "cpu_count", lambda: 64)
    monkeypatch.setattr(host.os, "sched_getaffinity", lambda pid: {0, 1, 2, 3}, raising=False)
    monkeypatch.setattr(host.sys, "version", "3.11.9 (main, Apr  2 2024, 08:25:04) [GCC 12.2.0]")

    class Cython:
        def __init__(self, built: bool) -> None:
            self.built = built

        def available(self):
            return (True, "") if self.built else (False, "the C extension was not built")

        def impls(self):
            return ["avx512", "portable"]

    asked = []

    def get_backend(name, *, require_available=True):
        asked.append((name, require_available))
        return Cython(built)

    monkeypatch.setattr(backends, "get_backend", get_backend)
    built = True
    h = host.detect_host()
    assert h == host.Host(hostname="rig-7", system="Linux 6.1.0", machine="x86_64", cpu_model="Test CPU",
                          cpu_flags=["sse4_1", "sha_ni", "avx2"], logical_cpus=64, usable_cpus=4, python="3.11.9",
                          hashbench=host.__version__, cpu_impls=["avx512", "portable"],
                          cpu_id="GenuineIntel family 6 model 85 stepping 7")
    assert asked == [("cython", False)]  # a machine without the extension is still described, not refused
    built = False
    assert host.detect_host().cpu_impls == []
    # no affinity call (macOS) or one the OS refuses: every CPU the machine has; none known: one
    monkeypatch.delattr(host.os, "sched_getaffinity")
    assert host.usable_cpus() == 64

    def refused(pid):
        raise OSError("not permitted")

    monkeypatch.setattr(host.os, "sched_getaffinity", refused, raising=False)
    monkeypatch.setattr(host.os, "cpu_count", lambda: None)
    assert host.usable_cpus() == 1
    assert host.detect_host().logical_cpus == 1


def test_cpu_id_spells_every_source_alike():
    from hashbench.host import cpu_id

    assert cpu_id(vendor="AuthenticAMD", family="25", model="1", stepping="1") == ZEN3
    assert cpu_id(vendor="AuthenticAMD", family=25, model=1, stepping=1) == ZEN3  # py-cpuinfo's integers
    assert cpu_id(family=6, model=85, stepping=7) == "family 6 model 85 stepping 7"
    assert cpu_id(vendor="GenuineIntel", family=6, model=85) == "GenuineIntel family 6 model 85"
    assert cpu_id(vendor="GenuineIntel", family=6, model=0, stepping=0) == "GenuineIntel family 6 model 0 stepping 0"
    for unknown in ({}, {"family": 6}, {"model": 85}, {"family": True, "model": 1}, {"family": " ", "model": 1},
                    {"implementer": "0x41"}, {"vendor": "AuthenticAMD", "stepping": 1}):
        assert cpu_id(**unknown) == "", unknown
    assert cpu_id(implementer="0x41", part="0xd0c") == "implementer 0x41 part 0xd0c"
    assert cpu_id(implementer="0x41", part="0xd0c", variant="0x3", revision=0) == "implementer 0x41 part 0xd0c r3p0"
    # half a revision is none: r3p? would claim a stepping nobody read
    assert cpu_id(implementer="0x41", part="0xd0c", variant="0x3") == "implementer 0x41 part 0xd0c"
    assert cpu_id(implementer="0x41", part="0xd0c", revision=1) == "implementer 0x41 part 0xd0c"
    assert cpu_id(part="0xd0c", variant="0x1", revision=1) == ""


def test_the_cpu_id_tells_generations_apart_and_leaves_older_records_their_fingerprint():
    amd = replace(HOST, cpu_model="AMD EPYC")
    zen1, zen3 = replace(amd, cpu_id=ZEN1), replace(amd, cpu_id=ZEN3)
    assert len({amd.fingerprint, zen1.fingerprint, zen3.fingerprint}) == 3
    assert replace(HOST, cpu_id="").fingerprint == "c1ea96055333d6b5"  # unread: the fingerprint it always had
    assert zen1.fingerprint == replace(zen1, hostname="other", turbo=True).fingerprint
    assert zen1.machine_differences(zen3) == [f"cpu_id: {ZEN1!r} vs {ZEN3!r}"]
    assert amd.machine_differences(zen3) == [f"cpu_id: not recorded vs {ZEN3!r}"]
    assert zen3.machine_differences(amd) == [f"cpu_id: {ZEN3!r} vs not recorded"]
    assert amd.unmatched_cpu_id(zen3) and zen3.unmatched_cpu_id(amd)
    assert not zen1.unmatched_cpu_id(zen3) and not amd.unmatched_cpu_id(amd) and not zen3.unmatched_cpu_id(zen3)
    assert not amd.unmatched_cpu_id(replace(zen3, logical_cpus=4))  # another machine whatever the CPU is
    assert zen3.label == "AMD EPYC (family 25 model 1 stepping 1, 2 CPUs, 1× NVIDIA H100 80GB HBM3)"
    assert replace(HOST, cpu_id="implementer 0x41 part 0xd0c r1p1", gpus=()).label == (
        "Test CPU 9000 (implementer 0x41 part 0xd0c r1p1, 2 CPUs)")
    assert replace(HOST, cpu_id="CentaurHauls family 7 model 15", gpus=()).label == (
        "Test CPU 9000 (CentaurHauls family 7 model 15, 2 CPUs)")
    assert HostFingerprint.from_json(zen3.to_json()) == zen3


def test_py_cpuinfo_numbers_give_the_fingerprint_hashbench_reads_itself():
    info = {"machine": "x86_64", "cpu": {"brand_raw": "AMD EPYC", "count": 2, "flags": ["sha_ni", "avx2"],
                                         "vendor_id_raw": "AuthenticAMD", "family": 25, "model": 1, "stepping": 1}}
    host = from_pytest_machine_info(info)
    assert host.cpu_id == ZEN3
    assert host.fingerprint == HostFingerprint(machine="x86_64", cpu_model="AMD EPYC", cpu_id=ZEN3,
                                               cpu_flags=("sha_ni", "avx2"), logical_cpus=2).fingerprint
    info["cpu"].pop("family")
    assert from_pytest_machine_info(info).cpu_id == ""


def test_without_proc_cpuinfo_a_mac_is_named_by_its_chip_not_by_arm(monkeypatch):
    """macOS has no /proc/cpuinfo, and platform.processor() says only "arm": an M1 and an M3 of one core count had
    one fingerprint. sysctl's brand string names the chip; elsewhere it is not asked."""
    import types

    import hashbench.host as host

    asked = []

    def run(cmd, **kw):
        asked.append(cmd)
        return types.SimpleNamespace(returncode=0, stdout="Apple M3 Max\n")

    monkeypatch.setattr(host.subprocess, "run", run)
    monkeypatch.setattr(host.platform, "processor", lambda: "arm")
    monkeypatch.setattr(host.platform, "system", lambda: "Darwin")
    assert host._cpuinfo("/nonexistent").model == "Apple M3 Max"
    assert asked == [["sysctl", "-n", "machdep.cpu.brand_string"]]
    monkeypatch.setattr(host.subprocess, "run", lambda cmd, **kw: (_ for _ in ()).throw(subprocess.TimeoutExpired(
        cmd, 5)))
    assert host._cpuinfo("/nonexistent").model == "arm"  # sysctl that hangs: the little there is
    monkeypatch.setattr(host.platform, "system", lambda: "Linux")
    asked.clear()
    monkeypatch.setattr(host.subprocess, "run", run)
    assert host._cpuinfo("/nonexistent").model == "arm" and asked == []
