"""`hashbench run` as a pipeline, in this process: fake backends, a fake verify and bench, a fake energy plan. Which
configurations get benched and in what order, what the result file and the history hold, the exit status when a
backend gives wrong nonces or a probe fails, and what a run stopped half-way keeps. No real hashing: milliseconds."""

from __future__ import annotations

import json
import re
import threading
import types
from pathlib import Path

import pytest
from results_helpers import HOST, probe_records, run_cli

import hashbench.run as run_mod
from hashbench.backends.base import Backend
from hashbench.bench import BenchResult
from hashbench.energy import EnergyConfig
from hashbench.energy.config import DEFAULT_IDLE_SECONDS
from hashbench.errors import HashbenchError, InputError
from hashbench.run import Config
from hashbench.verify import VerifyResult


class FakeBackend(Backend):
    def __init__(self, name: str, impls: list[str], *, why: str = "", scales: bool = True, cap: int | None = None,
                 gpus: list[int] | None = None) -> None:
        self.name, self._impls, self._why, self._cap = name, impls, why, cap
        self.scales_with_threads = scales
        if gpus is not None:
            self.devices = lambda: gpus

    def available(self) -> tuple[bool, str]:
        return (not self._why, self._why)

    def impls(self) -> list[str]:
        return list(self._impls)

    def max_threads(self) -> int | None:
        return self._cap

    def _scan_part(self, *args):  # pragma: no cover - the fake bench never scans
        raise NotImplementedError


def backends() -> list[FakeBackend]:
    """A machine with a C backend of three kernels, numba capped at 2 threads, python, two GPUs and a missing one."""
    return [FakeBackend("cython", ["sha-ni", "avx2", "portable"]), FakeBackend("pycuda", ["pycuda"], why="no pycuda"),
            FakeBackend("numba", ["numba"], cap=2), FakeBackend("python", ["python"], scales=False),
            FakeBackend("cuda", ["cuda"], scales=False, gpus=[0, 1])]


EXPECTED_PLAN = [Config("cython", "sha-ni", 1), Config("cython", "avx2", 1), Config("cython", "portable", 1),
                 Config("cython", "sha-ni", 8), Config("numba", "numba", 1), Config("numba", "numba", 2),
                 Config("python", "python", 1), Config("cuda", "cuda", 1)]


class FakeMeters:
    """EnergyPlan's surface, every call written down; a device in `refuse` cannot be read (--energy rapl, no RAPL)."""

    made: list[FakeMeters] = []
    refuse: tuple[str, ...] = ()

    def __init__(self, config: EnergyConfig) -> None:
        self.config, self.calls = config, []
        FakeMeters.made.append(self)

    def source_for(self, device: str):
        self.calls.append(("source_for", device))
        if device in self.refuse:
            raise InputError(f"--energy rapl: cannot read {device}")
        return None, ""

    def prepare(self, device: str) -> None:
        self.calls.append(("prepare", device))

    def describe(self, device: str) -> str:
        return f"declared 100 W ({device})"

    def meter(self, device: str) -> str:
        self.calls.append(("meter", device))
        return f"meter of {device}"

    def close(self) -> None:
        self.calls.append(("close",))


@pytest.fixture
def pipeline(monkeypatch, tmp_path):
    """execute() on the fake machine: 8 usable CPUs, 10 real headers; `rig` says what verify and bench were asked."""
    rig = types.SimpleNamespace(backends=backends(), verified=[], benched=[], events=[], fail_verify=set(),
                                stop_at=None, interrupt_at=None, empty=set(), out=tmp_path / "run.json",
                                files=[], fingerprinted=[])
    FakeMeters.made, FakeMeters.refuse = [], ()
    by_name = {b.name: b for b in rig.backends}
    monkeypatch.setattr(run_mod, "all_backends", lambda: rig.backends)
    monkeypatch.setattr(run_mod, "get_backend", lambda name: by_name[name])
    rig.host = types.SimpleNamespace(usable_cpus=8, cpu_model="Test CPU 9000", cpu_flags=("avx2", "sha_ni"),
                                     cpu_id="GenuineIntel family 6 model 85 stepping 7")
    monkeypatch.setattr(run_mod, "detect_host", lambda: rig.host)
    monkeypatch.setattr(run_mod, "detect_fingerprint", lambda host: rig.fingerprinted.append(host) or HOST)
    monkeypatch.setattr("hashbench.probes.available_devices", lambda: [])  # no device for the AI probes
    monkeypatch.setattr(run_mod, "real_headers", lambda: tuple(f"header {i}" for i in range(10)))
    monkeypatch.setattr(run_mod, "EnergyPlan", FakeMeters)

    def verify(backend, *, impl, headers):
        rig.verified.append((backend.name, impl, headers))
        bad = backend.name in rig.fail_verify or (backend.name, impl) in rig.fail_verify
        return VerifyResult(backend.name, impl, len(headers), not bad, ["height 2016: nonce missed"] if bad else [])

    def bench(backend, *, impl, threads, seconds, on_sample, stop, window):
        config = Config(backend.name, impl, threads)
        rig.benched.append({"config": config, "seconds": seconds, "stop": stop, "meter": window()})
        if config == rig.interrupt_at:  # Ctrl-C inside a scan
            raise KeyboardInterrupt
        rate = 1e6 * len(rig.benched)  # the n-th measurement runs at n MH/s
        on_sample(0.5, rate)
        samples = [] if config in rig.empty else [rate * 0.9, rate, rate * 1.1]
        return BenchResult(backend.name, impl, threads, samples, int(rate * seconds), seconds,
                           interrupted=config == rig.stop_at)

    monkeypatch.setattr(run_mod, "verify_backend", verify)
    monkeypatch.setattr(run_mod, "bench_backend", bench)
    real_write = run_mod.RunRecord.write

    def write(record, path):  # what the file held after each write
        real_write(record, path)
        rig.files.append(json.loads(path.read_text()))

    monkeypatch.setattr(run_mod.RunRecord, "write", write)

    def execute(**kwargs):
        kwargs = {"quick": True, "history": False, **kwargs}
        return run_mod.execute(rig.out, listen=lambda *event: rig.events.append(event), **kwargs)

    rig.execute = execute
    return rig


def names(data: dict) -> list[str]:
    return [b["name"] for b in data["benchmarks"]]


def test_plan_benches_each_kernel_on_one_thread_then_the_best_on_every_core_python_and_gpus_once(monkeypatch):
    machine = backends()
    monkeypatch.setattr(run_mod, "all_backends", lambda: machine)
    configs, skipped = run_mod.plan(types.SimpleNamespace(usable_cpus=8))
    single, _ = run_mod.plan(types.SimpleNamespace(usable_cpus=1))
    assert configs == EXPECTED_PLAN
    assert skipped == [{"backend": "pycuda", "reason": "no pycuda"}]
    # one usable core: the one-thread rows are the all-core rows, not benched twice
    assert single == [c for c in EXPECTED_PLAN if c.threads == 1]
    assert Config("cython", "avx2", 8).label == "cython avx2 ×8"


VERIFIED = [("cython", "sha-ni"), ("cython", "avx2"), ("cython", "portable"), ("numba", "numba"), ("python", "python"),
            ("cuda", "cuda")]


def test_run_verifies_each_implementation_once_then_benches_the_plan_in_order(pipeline):
    record = pipeline.execute(quick=True)
    # quick: every second of the 10 real headers (5 of them); each implementation the plan benches verified once
    # (not only the backend's default: a wrong AVX2 kernel was "ok" beside a verified SHA-NI one), before any bench
    assert [(name, impl) for name, impl, _ in pipeline.verified] == VERIFIED
    assert all(headers == ("header 0", "header 2", "header 4", "header 6", "header 8")
               for _, _, headers in pipeline.verified)
    assert [b["config"] for b in pipeline.benched] == EXPECTED_PLAN
    assert {b["seconds"] for b in pipeline.benched} == {run_mod.QUICK_SECONDS}
    # each measurement's energy window is its own device's: the GPU launcher meters both its boards
    assert [b["meter"] for b in pipeline.benched] == ["meter of cpu"] * 7 + ["meter of cuda:0,1"]
    assert record.complete and record.skipped == [{"backend": "pycuda", "reason": "no pycuda"}]
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\+00:00", record.started)
    assert record.finished >= record.started and record.history_note == "history not stored: turned off for this run"

    data = json.loads(pipeline.out.read_text())
    assert data["complete"] is True and data["finished"] == record.finished and data["started"] == record.started
    assert names(data) == ["sha256d[cython-sha-ni-x1]", "sha256d[cython-avx2-x1]", "sha256d[cython-portable-x1]",
                           "sha256d[cython-sha-ni-x8]", "sha256d[numba-numba-x1]", "sha256d[numba-numba-x2]",
                           "sha256d[python-python-x1]", "sha256d[cuda-cuda-x1]"]
    assert [b["extra_info"]["hashrate"] for b in data["benchmarks"]] == [1e6 * n for n in range(1, 9)]
    assert data["host"]["cpu_model"] == HOST.cpu_model and data["run_id"] == record.run_id
    assert json.loads(json.dumps(record.to_json())) == data
    # the host is fingerprinted once (it runs git), at the start: not again at each of the 14 writes
    assert pipeline.fingerprinted == [pipeline.host]
    assert data["verify"] == [{"backend": b, "impl": i, "headers": 5, "passed": True, "failures": []}
                              for b, i in VERIFIED]
    assert data["skipped"] == [{"backend": "pycuda", "reason": "no pycuda"}]
    # the file is rewritten after each verify and each measurement: a Ctrl-C at any point keeps what was done
    assert [len(f["verify"]) for f in pipeline.files[:8]] == [0, 1, 2, 3, 4, 5, 6, 6]
    assert [len(f["benchmarks"]) for f in pipeline.files[6:]] == [0, 1, 2, 3, 4, 5, 6, 7, 8, 8]
    assert [f["complete"] for f in pipeline.files] == [False] * 15 + [True]


def test_a_full_run_verifies_every_header_and_times_longer(pipeline):
    stop = threading.Event()
    pipeline.execute(quick=False, stop=stop)
    assert all(len(headers) == 10 for _, _, headers in pipeline.verified)
    assert {b["seconds"] for b in pipeline.benched} == {run_mod.FULL_SECONDS}
    assert all(b["stop"] is stop for b in pipeline.benched)  # the display's stop reaches every scan
    # a full run measures idle power over the default span; --quick over one second
    assert FakeMeters.made[0].config.idle_seconds == DEFAULT_IDLE_SECONDS
    pipeline.execute(quick=True, seconds=0.25)
    assert pipeline.benched[-1]["seconds"] == 0.25 and FakeMeters.made[1].config.idle_seconds == 1.0
    given = EnergyConfig(mode="declared", watts=120.0)
    pipeline.execute(energy=given)
    assert FakeMeters.made[2].config is given


def test_quick_run_with_few_headers_verifies_them_all(pipeline, monkeypatch):
    monkeypatch.setattr(run_mod, "real_headers", lambda: ("a", "b", "c"))
    pipeline.execute(quick=True)
    assert {headers for _, _, headers in pipeline.verified} == {("a", "b", "c")}


def test_run_tells_the_display_each_step(pipeline):
    record = pipeline.execute()
    events = pipeline.events
    assert events[0] == ("plan", None, EXPECTED_PLAN)
    # idle power is measured for each device once, before verify or any warm-up heats it
    assert events[1:3] == [("energy", None, ("cpu", "declared 100 W (cpu)")),
                           ("energy", None, ("cuda:0,1", "declared 100 W (cuda:0,1)"))]
    meters = FakeMeters.made[0]
    assert meters.calls[:4] == [("source_for", "cpu"), ("source_for", "cuda:0,1"), ("prepare", "cpu"),
                                ("prepare", "cuda:0,1")]
    assert meters.calls[-1] == ("close",) and meters.calls.count(("close",)) == 1
    verify = events[3:15]
    assert verify[0] == ("verify", Config("cython", "sha-ni", 1), None)
    assert verify[1] == ("verified", Config("cython", "sha-ni", 1), record.verify[0])
    assert verify[2] == ("verify", Config("cython", "avx2", 1), None)
    assert [e[0] for e in verify] == ["verify", "verified"] * 6
    first = events[15:18]
    assert first == [("start", EXPECTED_PLAN[0], None), ("sample", EXPECTED_PLAN[0], (0.5, 1e6)),
                     ("done", EXPECTED_PLAN[0], record.benchmarks[0])]
    assert len(events) == 15 + 3 * len(EXPECTED_PLAN)  # history off: no history line to show


def test_run_with_an_energy_source_that_cannot_be_read_writes_nothing(pipeline):
    FakeMeters.refuse = ("cuda:0,1",)
    with pytest.raises(InputError, match="cannot read cuda:0,1"):
        pipeline.execute(history=True)
    assert not pipeline.out.exists() and pipeline.events == [] and pipeline.verified == []
    assert FakeMeters.made[0].calls[-1] == ("close",)


def test_a_stopped_run_keeps_what_it_finished_and_stores_it_as_incomplete(pipeline, tmp_path, monkeypatch):
    pytest.importorskip("sqlalchemy")
    from hashbench.results.history import open_history

    probed = []
    pipeline.stop_at = EXPECTED_PLAN[2]  # the display's stop: bench returns what it had, marked interrupted
    db = str(tmp_path / "h.sqlite")
    monkeypatch.setattr(run_mod, "run_all_probes", lambda *a, **k: probed.append(a))
    record = pipeline.execute(db=db, history=True, probes=True)
    assert not record.complete and probed == []  # no probes after a stop
    assert len(pipeline.benched) == 3 and len(record.benchmarks) == 2  # the interrupted one is not a measurement
    data = json.loads(pipeline.out.read_text())
    assert data["complete"] is False and data["finished"] and len(data["benchmarks"]) == 2
    assert record.history_note == f"run stored in history sqlite:///{db}"
    assert pipeline.events[-1] == ("history", None, record.history_note)
    h = open_history(db)
    try:
        stored = h.load(record.run_id)
        assert not stored.complete and [m.name for m in stored.measurements] == names(data)
    finally:
        h.close()


def test_ctrl_c_mid_measurement_keeps_the_finished_ones_on_disk_and_in_the_history(pipeline, tmp_path):
    pytest.importorskip("sqlalchemy")
    from hashbench.results.history import open_history

    pipeline.interrupt_at = EXPECTED_PLAN[4]
    db = str(tmp_path / "h.sqlite")
    with pytest.raises(KeyboardInterrupt):
        pipeline.execute(db=db, history=True)
    data = json.loads(pipeline.out.read_text())
    assert data["complete"] is False and data["finished"] and len(data["benchmarks"]) == 4
    assert FakeMeters.made[0].calls[-1] == ("close",)
    # the display has no record after a Ctrl-C: the history event is its only word on where the run went
    kind, _, note = pipeline.events[-1]
    assert kind == "history" and note == f"run stored in history sqlite:///{db}"
    h = open_history(db)
    try:
        assert len(h.load(data["run_id"]).measurements) == 4
    finally:
        h.close()


def test_a_measurement_without_samples_is_left_out_of_the_result(pipeline):
    pipeline.empty = {EXPECTED_PLAN[1]}
    record = pipeline.execute()
    assert len(record.benchmarks) == 8
    assert "sha256d[cython-avx2-x1]" not in names(json.loads(pipeline.out.read_text()))


@pytest.mark.parametrize("failure, note", [
    (HashbenchError("the history database needs sqlalchemy"), "history not stored: the history database needs "
                                                              "sqlalchemy; "),
    (OSError("disk I/O error"), "history not stored: OSError: disk I/O error; "),
])
def test_a_history_that_fails_is_a_note_with_the_command_to_store_the_run_later(pipeline, monkeypatch, failure,
                                                                                  note):
    import hashbench.results.history as history_mod

    def refuse(run, db):
        raise failure

    monkeypatch.setattr(history_mod, "store_run", refuse)
    record = pipeline.execute(db="postgresql://hb:s3cret@db.example/hb", history=True)
    later = f"store it later with: hashbench history --add {pipeline.out} --db 'postgresql://hb:***@db.example/hb'"
    assert record.history_note == note + later
    assert record.complete and pipeline.events[-1] == ("history", None, record.history_note)
    assert run_mod.add_later(Path("r.json"), None) == "store it later with: hashbench history --add r.json"


def test_ctrl_c_while_the_history_waits_on_a_lock_still_says_how_to_store_the_run(pipeline, monkeypatch, tmp_path):
    import hashbench.results.history as history_mod

    def locked(run, db):
        raise KeyboardInterrupt

    monkeypatch.setattr(history_mod, "store_run", locked)
    db = tmp_path / "h.sqlite"
    with pytest.raises(KeyboardInterrupt):
        pipeline.execute(history=True, db=str(db))
    kind, _, note = pipeline.events[-1]
    assert kind == "history"
    assert note == ("history not stored: interrupted; store it later with: hashbench history --add "
                    f"{pipeline.out} --db {db}")
    assert json.loads(pipeline.out.read_text())["complete"] is True  # the file was written first


def test_probes_run_after_the_hashing_on_every_device(pipeline, monkeypatch):
    import hashbench.probes as probes_mod

    asked = []
    decode, prefill, _ = probe_records()

    def run_probes(settings, meters, on_probe):
        asked.append((settings.device, settings.quick, meters))
        if settings.device == "cpu":
            on_probe("start", "llm-decode cpu-tiny", None)
            on_probe("done", "llm-decode cpu-tiny", {**decode, "device": "cpu"})
            on_probe("skip", "llm-decode llama-70b", "needs 140 GB, 60 GB free on cpu")
        else:
            on_probe("fail", "membw 4 MiB", RuntimeError("CUDA error: an illegal memory access"))
            on_probe("done", "llm-prefill llama-3.1-8b", prefill)
            on_probe("fail", "gemm bf16", RuntimeError("mismatch against torch.matmul"))

    monkeypatch.setattr(probes_mod, "available_devices", lambda: ["cpu", "cuda:0"])
    monkeypatch.setattr(probes_mod, "run_probes", run_probes)
    record = pipeline.execute(quick=True, probes=True)
    assert [(d, q) for d, q, _ in asked] == [("cpu", True), ("cuda:0", True)]
    assert asked[0][2] is FakeMeters.made[0]  # the probes share the run's meters (its idle readings)
    assert record.complete and record.probe_failures == 2
    assert record.skipped[1:] == [
        {"backend": "probe llm-decode llama-70b", "reason": "needs 140 GB, 60 GB free on cpu"},
        {"backend": "probe membw 4 MiB", "reason": "failed: CUDA error: an illegal memory access"},
        {"backend": "probe gemm bf16", "reason": "failed: mismatch against torch.matmul"}]
    probe_events = [e for e in pipeline.events if e[0].startswith("probe-")]
    assert [e[0] for e in probe_events] == ["probe-start", "probe-done", "probe-skip", "probe-fail", "probe-done",
                                            "probe-fail"]
    assert probe_events[2] == ("probe-skip", None, ("llm-decode llama-70b", "needs 140 GB, 60 GB free on cpu"))
    # each finished probe is in the file at once, beside the hashing
    after = [names(f) for f in pipeline.files if any(n.startswith("llm-") for n in names(f))]
    assert after[0][-1].startswith("llm-decode[cpu") and len(after[0]) == 9
    assert names(json.loads(pipeline.out.read_text()))[-2:] == [after[0][-1], after[-1][-1]]
    assert after[-1][-1].startswith("llm-prefill[cuda:0")


def test_idle_power_of_every_probed_gpu_is_measured_before_anything_runs(pipeline, monkeypatch):
    """The cuda backend hashes on cuda:0,1 (one summed source); the probes run on cuda:0 and cuda:1 alone, each its
    own source. Their idle power, measured lazily, came after the GPUs had been hashing: a board still clocked up
    reads a higher idle and the net energy comes out low."""
    import hashbench.probes as probes_mod

    monkeypatch.setattr(probes_mod, "available_devices", lambda: ["cpu", "cuda:0", "cuda:1"])
    seen = []
    monkeypatch.setattr(probes_mod, "run_probes", lambda settings, meters, on_probe: seen.append(settings.device))
    pipeline.execute(quick=True, probes=True)
    calls = FakeMeters.made[0].calls
    first_meter = calls.index(next(c for c in calls if c[0] == "meter"))
    assert [c for c in calls[:first_meter] if c[0] == "prepare"] == [
        ("prepare", "cpu"), ("prepare", "cuda:0,1"), ("prepare", "cuda:0"), ("prepare", "cuda:1")]
    assert seen == ["cpu", "cuda:0", "cuda:1"]
    assert ("energy", None, ("cuda:1", "declared 100 W (cuda:1)")) in pipeline.events
    # without the probes, only the hashing devices
    FakeMeters.made.clear()
    pipeline.execute(quick=True, probes=False)
    assert [c for c in FakeMeters.made[0].calls if c[0] == "prepare"] == [("prepare", "cpu"), ("prepare", "cuda:0,1")]


def test_a_machine_without_torch_still_finishes_the_hashing_run(pipeline, monkeypatch):
    import hashbench.probes as probes_mod

    def no_torch():
        raise probes_mod.ProbeUnavailable("the AI probes need torch")

    monkeypatch.setattr(probes_mod, "available_devices", no_torch)
    record = pipeline.execute()  # the probes are part of a run unless turned off
    assert record.complete and record.probe_failures == 0
    assert record.skipped[-1] == {"backend": "ai-probes", "reason": "the AI probes need torch"}


def test_run_exit_status_says_whether_every_backend_gave_the_right_nonces(pipeline, tmp_path):
    out = str(tmp_path / "cli.json")
    code, stdout, err = run_cli("run", "--quick", "--no-probes", "--no-history", "--output", out)
    assert code == 0, err
    assert "result written to" in stdout and "skipped pycuda: no pycuda" in stdout
    assert ("host: Test CPU 9000 (GenuineIntel family 6 model 85 stepping 7), 8 usable CPU(s), flags avx2 sha_ni"
            in " ".join(stdout.split()))
    pipeline.host.cpu_id = ""  # where the OS does not say: nothing in brackets
    code, stdout, err = run_cli("run", "--quick", "--no-probes", "--no-history", "--output", out)
    assert "host: Test CPU 9000, 8 usable CPU(s), flags avx2 sha_ni" in " ".join(stdout.split())
    pipeline.fail_verify = {"numba"}
    code, stdout, err = run_cli("run", "--quick", "--no-probes", "--no-history", "--output", out)
    assert code == 1 and "Traceback" not in err
    verify = json.loads(Path(out).read_text())["verify"]
    assert [v["passed"] for v in verify] == [True, True, True, False, True, True]
    assert verify[3]["failures"] == ["height 2016: nonce missed"]  # which block it got wrong
    # one implementation wrong: NO on its row alone, and the run fails
    pipeline.fail_verify = {("cython", "avx2")}
    code, stdout, err = run_cli("run", "--quick", "--no-probes", "--no-history", "--output", out)
    assert code == 1
    ok = {tuple(line.split("│")[1:3]): line.split("│")[-2].strip() for line in stdout.splitlines()
          if line.startswith("│ cython")}
    assert {(b.strip(), i.strip()): v for (b, i), v in ok.items()} == {
        ("cython", "sha-ni"): "yes", ("cython", "avx2"): "NO", ("cython", "portable"): "yes"}


def test_run_exit_status_counts_a_probe_that_failed(pipeline, monkeypatch, tmp_path):
    import hashbench.probes as probes_mod

    monkeypatch.setattr(probes_mod, "available_devices", lambda: ["cpu"])
    monkeypatch.setattr(probes_mod, "run_probes", lambda settings, meters, on_probe: on_probe(
        "fail", "gemm fp32", RuntimeError("mismatch against torch.matmul")))
    code, stdout, err = run_cli("run", "--quick", "--no-history", "--output", str(tmp_path / "cli.json"))
    assert code == 1 and "probe gemm fp32 failed: mismatch against torch.matmul" in err


def test_default_output_names_the_run_by_its_local_start_time():
    assert re.fullmatch(r"hashbench-run-\d{8}-\d{6}\.json", str(run_mod.default_output()))


def test_a_record_made_without_a_fingerprint_fingerprints_its_own_host(pipeline):
    record = run_mod.RunRecord(host=pipeline.host, started="2026-01-01T00:00:00+00:00")
    assert record.to_result().host == HOST and pipeline.fingerprinted == [pipeline.host]


def test_a_probe_handed_over_as_the_runner_gives_it_is_written_as_its_figures(pipeline, monkeypatch):
    """run_probes hands each finished probe over as a ProbeResult, not a dict: the run writes its JSON (median,
    samples, energy per token) to the file at once, as it does for the dicts of older records."""
    import hashbench.probes as probes_mod
    from hashbench.energy import EnergyReading
    from hashbench.probes.result import ProbeResult

    decode = ProbeResult(probe="llm-decode", device="cpu", preset="cpu-tiny", dtype="fp32", batch=2, unit="tokens/s",
                         samples=[40.0, 60.0, 50.0], work=150.0, per="token", seconds=3.0,
                         energy=EnergyReading("rapl", "cpu package", "energy counter", 3.0, 75.0))
    monkeypatch.setattr(probes_mod, "available_devices", lambda: ["cpu"])
    monkeypatch.setattr(probes_mod, "run_probes", lambda settings, meters, on_probe: on_probe(
        "done", "llm-decode cpu-tiny", decode))
    record = pipeline.execute(quick=True, probes=True)
    assert record.complete and record.probes == [decode]
    written = json.loads(pipeline.out.read_text())["benchmarks"]
    assert len(written) == 9 and written[-1]["name"] == "llm-decode[cpu-cpu-tiny-fp32-b2]"  # after the 8 hashing
    info = written[-1]["extra_info"]
    # the median of the three repetitions, each of them, and 75 J over the 150 tokens the window held
    assert (info["value"], info["samples"], info["unit"]) == (50.0, [40.0, 60.0, 50.0], "tokens/s")
    assert (info["energy_j"], info["joules_per_unit"], info["per"]) == (75.0, 0.5, "token")
    assert pipeline.files[-2]["benchmarks"][-1]["name"] == "llm-decode[cpu-cpu-tiny-fp32-b2]"  # before the end


# --- the closing valuation: what a kWh earns here -------------------------------------------------------------------

def _metered_run_file(path: Path) -> Path:
    """A run file with energy: cython avx2 ×16 at 200 MH/s on 200 W of RAPL, an 8B decode at 5,000 tok/s, 0.12 J/tok."""
    path.write_text(json.dumps({"schema_version": 1, "kind": "hashbench-run", "benchmarks": [
        {"backend": "cython", "impl": "avx2", "threads": 16, "hashrate": 2.0e8, "seconds": 5.0,
         "hashes": 1_000_000_000, "energy_j": 1000.0, "power_source": "rapl"}], "probes": [
        {"probe": "llm-decode", "device": "cuda:0", "preset": "llama-3.1-8b", "dtype": "bf16", "batch": 64,
         "value": 5000.0, "unit": "tokens/s", "energy_j": 36000.0, "joules_per_unit": 0.12, "power_source": "nvml"}]}))
    return path


def test_a_metered_run_ends_with_what_a_kwh_earns_hashing_and_serving_tokens(tmp_path, capsys, monkeypatch):
    """The figures are yield --from-run's, to the cent: the same valuation, not a second one."""
    from rich.console import Console

    from hashbench import cli_economics
    from hashbench.cli_economics import fmt, print_run_value

    monkeypatch.setattr(cli_economics, "out", Console(width=200, highlight=False))  # one row per section
    from hashbench.market import load_snapshot
    from hashbench.runfile import load_run
    from hashbench.yields import YieldRequest, compute_yield

    path = _metered_run_file(tmp_path / "run.json")
    market = tmp_path / "market.json"
    market.write_text(json.dumps({"date": "2026-12-01", "figures": {"btc_price_usd": 90_000, "difficulty": 1.5e14,
                                                                   "power_usd_per_kwh": 0.04}}))
    print_run_value(path, market)
    text = " ".join(capsys.readouterr().out.split())
    report = compute_yield(YieldRequest(), load_snapshot(market), load_run(path))
    assert "what a kWh earns on this machine [estimated; market snapshot 2026-12-01" in text
    assert "power $0.0400/kWh" in text
    assert "│ │ rate │ energy │ revenue/kWh │ profit/kWh │ breakeven │" in text.replace("┃", "│")
    for name, section, rate, energy in (
            ("mining", report.mining, "200.00 MH/s", "1,000,000 J/TH measured"),
            ("AI", report.ai, "5,000.0 tokens/s", "0.12 J/token measured")):
        r = section.result
        row = (f"{name} │ {rate} │ {energy} │ {fmt('revenue_usd_per_kwh', r.revenue_usd_per_kwh)} │ "
               f"{fmt('profit_usd_per_kwh', r.profit_usd_per_kwh)} │ "
               f"{fmt('breakeven_power_usd_per_kwh', r.breakeven_power_usd_per_kwh)} │")
        assert row in text, text
    assert report.ai.result.profit_usd_per_kwh > 0 > report.mining.result.profit_usd_per_kwh  # a CPU loses money
    assert "note: profit counts power only" in text
    assert text.endswith(f"every input and its source: hashbench yield --from-run {path}")


def test_a_run_without_energy_says_it_was_not_valued_and_how_to_value_it(pipeline, tmp_path):
    out = tmp_path / "cli.json"
    code, stdout, err = run_cli("run", "--quick", "--no-probes", "--no-history", "--output", str(out))
    assert code == 0, err
    text = " ".join(stdout.split())
    assert (f"not valued: nothing to value in {out}: its hashing has no energy (give --watts W, the power drawn while "
            f"hashing); it has no tokens/s (no llm-decode probe); `hashbench yield --from-run {out} --watts W` values "
            "it at a wattage you declare") in text
    assert text.index("not valued") < text.index("result written to")


def test_a_bad_market_file_is_refused_before_anything_is_measured(pipeline, tmp_path):
    code, stdout, err = run_cli("run", "--quick", "--no-history", "--market", str(tmp_path / "missing.json"),
                                "--output", str(tmp_path / "cli.json"))
    assert code == 2 and err.startswith("hashbench: error:") and "missing.json" in err
    assert pipeline.benched == [] and pipeline.verified == [] and not (tmp_path / "cli.json").exists()


def test_a_run_that_only_hashed_is_valued_for_mining_alone(tmp_path, capsys, monkeypatch):
    from rich.console import Console

    from hashbench import cli_economics
    from hashbench.cli_economics import print_run_value

    monkeypatch.setattr(cli_economics, "out", Console(width=200, highlight=False))
    data = json.loads(_metered_run_file(tmp_path / "run.json").read_text())
    del data["probes"]
    path = tmp_path / "hashing.json"
    path.write_text(json.dumps(data))
    print_run_value(path, None)
    text = " ".join(capsys.readouterr().out.split())
    assert "│ mining │ 200.00 MH/s │ 1,000,000 J/TH measured │" in text and "│ AI │" not in text
    assert f"note: {path} has no tokens/s (no llm-decode probe)" in text


def test_the_lines_to_paste_are_never_broken(tmp_path, capsys, monkeypatch):
    """The yield command under the table and in the not-valued line: each a command a person copies whole."""
    from rich.console import Console

    from hashbench import cli_economics
    from hashbench.cli_economics import print_run_value

    monkeypatch.setattr(cli_economics, "out", Console(width=40, highlight=False))
    path = _metered_run_file(tmp_path / "run.json")
    print_run_value(path, None)
    assert capsys.readouterr().out.splitlines()[-1] == f"every input and its source: hashbench yield --from-run {path}"
    bare = tmp_path / "bare.json"
    bare.write_text(json.dumps({"schema_version": 1, "kind": "hashbench-run", "benchmarks": [
        {"backend": "cython", "impl": "avx2", "threads": 1, "hashrate": 2.0e7, "seconds": 5.0, "hashes": 10**8}]}))
    print_run_value(bare, None)
    [line] = capsys.readouterr().out.splitlines()
    assert line.startswith(f"not valued: nothing to value in {bare}: its hashing has no energy")
    assert line.endswith(f"`hashbench yield --from-run {bare} --watts W` values it at a wattage you declare")
