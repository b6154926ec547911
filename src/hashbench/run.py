"""`hashbench run`: detect the host, check and bench every available backend, keep every finished figure.

The result file is rewritten after each finished measurement, so a run stopped with Ctrl-C (or
killed) keeps everything it finished. It is pytest-benchmark-compatible JSON (results/pbjson.py says
what one operation is); when the run ends, finished or stopped, it is also stored in the history
database, or the record says why it was not."""

from __future__ import annotations

import shlex
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

from .backends import all_backends, get_backend
from .bench import BenchResult, bench_backend
from .energy import EnergyConfig, EnergyPlan
from .energy.records import energy_device
from .errors import HashbenchError
from .host import Host, detect_host
from .results.fingerprint import HostFingerprint, detect_fingerprint
from .results.pbjson import to_pytest_benchmark, write_result
from .results.schema import (
    SCHEMA_VERSION,
    Check,
    RunResult,
    Skipped,
    measurement_from_bench,
    measurement_from_probe,
    new_run_id,
)
from .samples import real_headers
from .verify import VerifyResult, verify_backend

__all__ = ["SCHEMA_VERSION", "Config", "RunRecord", "execute", "plan"]

QUICK_SECONDS = 1.5
FULL_SECONDS = 5.0
QUICK_VERIFY_HEADERS = 4


@dataclass(frozen=True)
class Config:
    backend: str
    impl: str
    threads: int

    @property
    def label(self) -> str:
        return f"{self.backend} {self.impl} ×{self.threads}"


@dataclass
class RunRecord:
    host: Host
    started: str
    finished: str | None = None
    complete: bool = False
    verify: list[VerifyResult] = field(default_factory=list)
    benchmarks: list[BenchResult] = field(default_factory=list)
    skipped: list[dict] = field(default_factory=list)
    probes: list = field(default_factory=list)  # probe records (objects with to_json(), or their dicts)
    fingerprint: HostFingerprint | None = None
    run_id: str = field(default_factory=new_run_id)
    history_note: str = ""  # where the run was stored in the history, or why it was not
    probe_failures: int = 0  # probes that failed at run time (listed in skipped with the reason)

    def to_result(self) -> RunResult:
        """The run in the one result schema (results/schema.py) that files, history and exporters share."""
        probes = [p.to_json() if hasattr(p, "to_json") else p for p in self.probes]
        measurements = [measurement_from_bench(b.to_json()) for b in self.benchmarks if b.samples]
        measurements += [measurement_from_probe(p) for p in probes]
        return RunResult(
            host=self.fingerprint or detect_fingerprint(self.host), started=self.started, measurements=measurements,
            finished=self.finished, complete=self.complete, run_id=self.run_id,
            checks=[Check(v.backend, v.impl, v.headers, v.passed, tuple(v.failures)) for v in self.verify],
            skipped=[Skipped(s["backend"], s["reason"]) for s in self.skipped])

    def to_json(self) -> dict:
        return to_pytest_benchmark(self.to_result())

    def write(self, path: Path) -> None:
        write_result(self.to_result(), path)

    def store(self, db: str | None, output: Path) -> None:
        """Into the history database; a missing package or a database error becomes a note, never a lost run: the
        result file `output` is written, and the note says how to store it once the database can take it."""
        from .results.history import store_run

        try:
            where = store_run(self.to_result(), db)
        except HashbenchError as exc:
            self.history_note = f"history not stored: {exc}; {add_later(output, db)}"
        except KeyboardInterrupt:  # Ctrl-C while a locked database kept the write waiting
            self.history_note = f"history not stored: interrupted; {add_later(output, db)}"
            raise
        except Exception as exc:  # noqa: BLE001 - the result file is written; the history must not cost the run
            self.history_note = f"history not stored: {type(exc).__name__}: {exc}; {add_later(output, db)}"
        else:
            self.history_note = f"run stored in history {where}"


def add_later(output: Path, db: str | None) -> str:
    """The command that stores a kept result file in the history the run meant (a password in --db masked)."""
    from .results.history import display_url

    words = ["hashbench", "history", "--add", str(output)] + (["--db", display_url(db)] if db else [])
    return f"store it later with: {shlex.join(words)}"


def run_all_probes(record: RunRecord, output: Path, *, quick: bool, meters: EnergyPlan, listen: Listener) -> None:
    """Every AI probe on every device torch sees, each finished probe written at once (Ctrl-C keeps it)."""
    from .probes import ProbeSettings, ProbeUnavailable, available_devices, run_probes

    try:
        devices = available_devices()
    except ProbeUnavailable as exc:  # no torch: the hashing half of the run still stands
        record.skipped.append({"backend": "ai-probes", "reason": str(exc)})
        return
    for device in devices:
        def on_probe(event: str, label: str, payload: object) -> None:
            if event == "done":
                record.probes.append(payload)
                record.write(output)
            elif event == "skip":
                record.skipped.append({"backend": f"probe {label}", "reason": str(payload)})
            elif event == "fail":  # kept with the skipped, its reason saying so; the run exits 1 for it
                record.skipped.append({"backend": f"probe {label}", "reason": f"failed: {payload}"})
                record.probe_failures += 1
            listen(f"probe-{event}", None, (label, payload))

        run_probes(ProbeSettings(device=device, quick=quick), meters, on_probe)


def _probe_devices() -> list[str]:
    """The devices run_all_probes will probe, or none without torch (it records why itself)."""
    from .probes import ProbeUnavailable, available_devices

    try:
        return available_devices()
    except ProbeUnavailable:
        return []


def now() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")


def default_output() -> Path:
    return Path(f"hashbench-run-{datetime.now().strftime('%Y%m%d-%H%M%S')}.json")


def plan(host: Host) -> tuple[list[Config], list[dict]]:
    """Every implementation on one thread (their per-core speed), the best one on every usable core (as many as
    the backend can run)."""
    configs, skipped = [], []
    for backend in all_backends():
        ok, why = backend.available()
        if not ok:
            skipped.append({"backend": backend.name, "reason": why})
            continue
        impls = backend.impls()
        configs += [Config(backend.name, impl, 1) for impl in impls]
        cores = backend.all_core_threads(host.usable_cpus)
        if cores > 1 and backend.scales_with_threads:  # not python (the GIL), not a GPU
            configs.append(Config(backend.name, backend.default_impl(), cores))
    return configs, skipped


Listener = Callable[[str, Config | None, object], None]


def execute(output: Path, *, quick: bool, seconds: float | None = None, listen: Listener | None = None,
            stop: threading.Event | None = None, db: str | None = None, history: bool = True,
            energy: EnergyConfig | None = None, probes: bool = True) -> RunRecord:
    """Runs the whole plan; `listen(event, config, payload)` drives a display. KeyboardInterrupt
    propagates after the record on disk holds every finished measurement (and the history has the run,
    marked incomplete). `db` picks the history database (None: $HASHBENCH_DB or the default file);
    history=False stores nothing."""
    listen = listen or (lambda *_: None)
    seconds = seconds or (QUICK_SECONDS if quick else FULL_SECONDS)
    host = detect_host()
    record = RunRecord(host=host, started=now(), fingerprint=detect_fingerprint(host))
    configs, record.skipped = plan(host)
    headers = real_headers()[:: max(1, len(real_headers()) // QUICK_VERIFY_HEADERS)] if quick else real_headers()
    meters = EnergyPlan(energy or EnergyConfig.from_env(idle_seconds=1.0 if quick else None))
    devices = {c.backend: energy_device(get_backend(c.backend)) for c in configs}
    # Every device metered in this run: the hashing ones, then each the probes run on (on a machine with several
    # GPUs the cuda backend hashes on all of them, metered as one sum, and each probe runs on one).
    metered = list(dict.fromkeys([*devices.values(), *(_probe_devices() if probes else [])]))
    try:  # a source asked for by name (--energy rapl) that cannot be read fails here, before any file or history
        for device in metered:
            meters.source_for(device)
        record.write(output)
    except BaseException:
        meters.close()
        raise
    listen("plan", None, configs)
    try:
        for device in metered:
            meters.prepare(device)  # idle power before verify or warm-up heats anything
            listen("energy", None, (device, meters.describe(device)))
        # Every implementation benched is verified, not only the backend's default: a wrong SHA-NI or AVX2 kernel
        # must not sit in the table as checked beside the one that was.
        for backend_name, impl in dict.fromkeys((c.backend, c.impl) for c in configs):
            backend = next(b for b in all_backends() if b.name == backend_name)
            listen("verify", Config(backend_name, impl, 1), None)
            result = verify_backend(backend, impl=impl, headers=headers)
            record.verify.append(result)
            record.write(output)
            listen("verified", Config(backend_name, result.impl, 1), result)
        for config in configs:
            backend = next(b for b in all_backends() if b.name == config.backend)
            listen("start", config, None)
            device = devices[config.backend]
            result = bench_backend(backend, impl=config.impl, threads=config.threads, seconds=seconds,
                                   on_sample=lambda frac, rate, c=config: listen("sample", c, (frac, rate)), stop=stop,
                                   window=lambda d=device: meters.meter(d))
            if result.interrupted:
                break
            record.benchmarks.append(result)
            record.write(output)
            listen("done", config, result)
        else:
            if probes:
                run_all_probes(record, output, quick=quick, meters=meters, listen=listen)
            record.complete = True
    finally:
        meters.close()
        record.finished = now()
        record.write(output)
        if history:
            try:
                record.store(db, output)
            finally:  # also when stopped: the display has no record then, and must still say where the run went
                listen("history", None, record.history_note)
        else:
            record.history_note = "history not stored: turned off for this run"
    return record
