"""How good is hashbench's compare gate on the real kernels of this machine? False alarms and misses, measured.

    python benchmarks/compare_quality.py [--comparisons 20] [--samples 100] [--sample-seconds 0.02]
        [--run-pairs 4] [--seconds 1.0] [--impl portable] [--slowdown 0.10] [--threshold 5%] [--output FILE]

Two experiments on the cython backend, one thread:

  identical  base = the real kernel, candidate = the same real kernel. Every "slower" verdict is a false alarm.
  slowed     base = the real kernel, candidate = the same kernel throttled by --slowdown: after each chunk it
             spins so that its hashrate is exactly (1 - slowdown) of what that chunk achieved. Real kernel
             timing noise, a known true regression. Every verdict other than "slower" is a miss.

Each experiment is measured two ways:

  interleaved  what `hashbench ab` does: both sides take turns sample by sample (A B B A ...) over identical
               nonce ranges, --samples each of about --sample-seconds, then the compare gate. --comparisons
               independent comparisons per experiment.
  runs         what `hashbench run` + `hashbench compare` do: two complete bench_backend measurements (warm-up,
               calibration, --seconds of timed scans) one after the other, then the gate. --run-pairs
               comparisons: a smaller illustration of why back-to-back runs on a shared machine mislead.

Beside the gate (Hodges-Lehmann change worse than the threshold + one-sided Mann-Whitney p < 0.05) the script
counts a naive gate on the same data: "ratio of the medians below 1 - threshold", the percentage gate most CI
setups use. It also
records the load average, since neighbours are the noise. Nothing asserts: it prints, and with --output writes
the figures as JSON.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

from hashbench.backends import ScanJob, get_backend
from hashbench.backends.base import Backend
from hashbench.bench import bench_backend
from hashbench.results.ab import InProcessWorker, interleave
from hashbench.results.compare import SLOWER, Gate, compare_runs, parse_threshold
from hashbench.results.fingerprint import detect_fingerprint
from hashbench.results.schema import HASHRATE, Measurement, RunResult, measurement_from_bench


class Throttled(Backend):
    """The real cython kernel made `slowdown` slower: after each chunk it spins (busy, like slower code would
    be) for the fraction of the chunk's own time that leaves exactly (1 - slowdown) of the chunk's hashrate.
    A sleep would give the core away and overshoot on a loaded machine; spinning keeps the variant honest."""

    threads_via_python = True

    def __init__(self, inner: Backend, slowdown: float) -> None:
        self.inner = inner
        self.name = inner.name  # same benchmark name on both sides, so compare pairs them
        self.chunk = inner.chunk
        self.factor = 1 / (1 - slowdown) - 1  # extra time, as a fraction of the chunk's own time

    def available(self) -> tuple[bool, str]:
        return self.inner.available()

    def impls(self) -> list[str]:
        return self.inner.impls()

    def warm_up(self, impl: str) -> None:
        self.inner.warm_up(impl)

    def _scan_part(self, job: ScanJob, impl: str, start: int, count: int, max_found: int, threads: int):
        t0 = time.perf_counter()
        result = self.inner._scan_part(job, impl, start, count, max_found, threads)
        until = time.perf_counter() + (time.perf_counter() - t0) * self.factor
        while time.perf_counter() < until:
            pass
        return result


def _run(host, measurement: Measurement) -> RunResult:
    return RunResult(host=host, started=datetime.now(UTC).isoformat(timespec="seconds"),
                     measurements=[measurement], complete=True)


def compare_interleaved(base: Backend, cand: Backend, impl: str, args, gate: Gate, host):
    workers = {"A": InProcessWorker(base, impl, 1, args.sample_seconds),
               "B": InProcessWorker(cand, impl, 1, args.sample_seconds)}
    _, rates = interleave(workers, args.samples)
    a, b = (_run(host, Measurement(name="sha256d", kind=HASHRATE, unit="H/s", samples=tuple(rates[k])))
            for k in "AB")
    return compare_runs(a, b, gate).rows[0]


def compare_back_to_back(base: Backend, cand: Backend, impl: str, args, gate: Gate, host, i: int):
    def measure(backend: Backend) -> RunResult:
        return _run(host, measurement_from_bench(bench_backend(backend, impl=impl, seconds=args.seconds).to_json()))

    if i % 2 == 0:
        a = measure(base)
        b = measure(cand)
    else:
        b = measure(cand)
        a = measure(base)
    return compare_runs(a, b, gate).rows[0]


def experiment(name: str, compare, count: int, gate: Gate) -> dict:
    rows = []
    for i in range(count):
        row = compare(i)
        rows.append({"ratio": row.ratio, "change": row.change, "p_value": row.p_value, "effect": row.effect,
                     "verdict": row.verdict,
                     "n_base": row.n_base, "n_cand": row.n_cand, "base_hps": row.base, "cand_hps": row.cand,
                     "naive_slower": row.ratio < 1 - gate.threshold, "load": os.getloadavg()[0]})
        print(f"  {name} {i + 1:2}/{count}: ratio {row.ratio:.4f}  change {row.change:+.2%}  p {row.p_value:.2g}  "
              f"A {row.effect:.2f}  "
              f"-> {row.verdict}", flush=True)
    ratios = [r["ratio"] for r in rows]
    return {"comparisons": len(rows), "flagged_slower": sum(r["verdict"] == SLOWER for r in rows),
            "naive_flagged_slower": sum(r["naive_slower"] for r in rows),
            "ratio_median": statistics.median(ratios), "ratio_min": min(ratios), "ratio_max": max(ratios),
            "load_average": [min(r["load"] for r in rows), max(r["load"] for r in rows)], "rows": rows}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--comparisons", type=int, default=20, help="interleaved comparisons per experiment")
    parser.add_argument("--samples", type=int, default=100, help="interleaved samples per side")
    parser.add_argument("--sample-seconds", type=float, default=0.02)
    parser.add_argument("--run-pairs", type=int, default=4, help="back-to-back comparisons per experiment (0: none)")
    parser.add_argument("--seconds", type=float, default=1.0, help="timed seconds of one back-to-back run")
    parser.add_argument("--impl", default="portable", help="cython implementation (default: portable)")
    parser.add_argument("--slowdown", type=float, default=0.10)
    parser.add_argument("--threshold", default="5%")
    parser.add_argument("--output", type=Path, default=None)
    args = parser.parse_args(argv)
    backend = get_backend("cython")
    impl = backend.resolve_impl(args.impl)
    gate = Gate(parse_threshold(args.threshold))
    slowed = Throttled(backend, args.slowdown)
    host = detect_fingerprint()
    print(f"{host.label}; cython {impl} x1; gate: change worse than {gate.threshold:.0%} and one-sided "
          f"Mann-Whitney p < {gate.alpha}; load average {os.getloadavg()[0]:.2f}", flush=True)
    t0 = time.perf_counter()
    results = {}
    for label, cand in (("identical", backend), (f"slowed {args.slowdown:.0%}", slowed)):
        results[label] = {"interleaved": experiment(
            f"{label} interleaved", lambda i, c=cand: compare_interleaved(backend, c, impl, args, gate, host),
            args.comparisons, gate)}
        if args.run_pairs:
            results[label]["runs"] = experiment(
                f"{label} back-to-back runs",
                lambda i, c=cand: compare_back_to_back(backend, c, impl, args, gate, host, i), args.run_pairs,
                gate)
    print()
    for label, by_mode in results.items():
        what = "false alarms" if label == "identical" else "caught"
        for mode, r in by_mode.items():
            print(f"{label:>12} {mode:>11}: {r['flagged_slower']}/{r['comparisons']} {what} (naive ratio-only gate: "
                  f"{r['naive_flagged_slower']}); ratios {r['ratio_min']:.3f}..{r['ratio_max']:.3f}; load "
                  f"{r['load_average'][0]:.1f}..{r['load_average'][1]:.1f}")
    summary = {"date": datetime.now(UTC).isoformat(timespec="seconds"), "machine": host.label,
               "fingerprint": host.fingerprint, "commit": host.git_commit, "dirty": host.git_dirty, "impl": impl,
               "samples": args.samples, "sample_seconds": args.sample_seconds, "seconds": args.seconds,
               "slowdown": args.slowdown, "threshold": gate.threshold, "alpha": gate.alpha,
               "elapsed_s": time.perf_counter() - t0, "results": results}
    if args.output:
        args.output.parent.mkdir(parents=True, exist_ok=True)
        args.output.write_text(json.dumps(summary, indent=2) + "\n", encoding="utf-8")
        print(f"written to {args.output}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
