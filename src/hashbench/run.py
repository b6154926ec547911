"""`hashbench run`: detect the host, check and bench every available backend, keep every finished figure.

The result file is rewritten after each finished measurement, so a run stopped with Ctrl-C (or
killed) keeps everything it finished."""

from __future__ import annotations

import json
import os
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path

from .backends import all_backends
from .bench import BenchResult, bench_backend
from .host import Host, detect_host
from .samples import real_headers
from .verify import VerifyResult, verify_backend

SCHEMA_VERSION = 1
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

    def to_json(self) -> dict:
        return {
            "schema_version": SCHEMA_VERSION,
            "kind": "hashbench-run",
            "started": self.started,
            "finished": self.finished,
            "complete": self.complete,
            "host": self.host.to_json(),
            "verify": [v.to_json() for v in self.verify],
            "benchmarks": [b.to_json() for b in self.benchmarks],
            "skipped": self.skipped,
        }

    def write(self, path: Path) -> None:
        tmp = path.with_name(path.name + ".tmp")
        tmp.write_text(json.dumps(self.to_json(), indent=2) + "\n", encoding="utf-8")
        os.replace(tmp, path)


def now() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="seconds")


def default_output() -> Path:
    return Path(f"hashbench-run-{datetime.now().strftime('%Y%m%d-%H%M%S')}.json")


def plan(host: Host) -> tuple[list[Config], list[dict]]:
    """Every implementation on one thread (their per-core speed), the best one on every usable core."""
    configs, skipped = [], []
    for backend in all_backends():
        ok, why = backend.available()
        if not ok:
            skipped.append({"backend": backend.name, "reason": why})
            continue
        impls = backend.impls()
        configs += [Config(backend.name, impl, 1) for impl in impls]
        if host.usable_cpus > 1 and backend.name != "python":  # the GIL keeps python at one core
            configs.append(Config(backend.name, backend.default_impl(), host.usable_cpus))
    return configs, skipped


Listener = Callable[[str, Config | None, object], None]


def execute(output: Path, *, quick: bool, seconds: float | None = None, listen: Listener | None = None,
            stop: threading.Event | None = None) -> RunRecord:
    """Runs the whole plan; `listen(event, config, payload)` drives a display. KeyboardInterrupt
    propagates after the record on disk holds every finished measurement."""
    listen = listen or (lambda *_: None)
    seconds = seconds or (QUICK_SECONDS if quick else FULL_SECONDS)
    host = detect_host()
    record = RunRecord(host=host, started=now())
    configs, record.skipped = plan(host)
    listen("plan", None, configs)
    record.write(output)
    headers = real_headers()[:: max(1, len(real_headers()) // QUICK_VERIFY_HEADERS)] if quick else real_headers()
    try:
        for backend_name in dict.fromkeys(c.backend for c in configs):
            backend = next(b for b in all_backends() if b.name == backend_name)
            listen("verify", Config(backend_name, backend.default_impl(), 1), None)
            result = verify_backend(backend, headers=headers)
            record.verify.append(result)
            record.write(output)
            listen("verified", Config(backend_name, result.impl, 1), result)
        for config in configs:
            backend = next(b for b in all_backends() if b.name == config.backend)
            listen("start", config, None)
            result = bench_backend(backend, impl=config.impl, threads=config.threads, seconds=seconds,
                                   on_sample=lambda frac, rate, c=config: listen("sample", c, (frac, rate)), stop=stop)
            if result.interrupted:
                break
            record.benchmarks.append(result)
            record.write(output)
            listen("done", config, result)
        else:
            record.complete = True
    finally:
        record.finished = now()
        record.write(output)
    return record
