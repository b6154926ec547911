"""Bencher Metric Format (BMF): {benchmark: {measure: {value, lower_value, upper_value}}}.

Measures are named by unit (custom measure slugs in Bencher): hashrate, tokens-per-second, ... Timings use
Bencher's built-in `latency` measure, which is in nanoseconds. Energy per unit (J/hash, J/token) is a second
measure on the same benchmark when it was metered. A benchmark whose backend failed verification in the run is left
out: BMF has no field to flag a metric, and Bencher would store it and hold it against its thresholds like any
other; the CLI says so on stderr."""

from __future__ import annotations

import json
import re

from ..schema import Measurement, RunResult
from . import kept, single

MEASURES = {"H/s": "hashrate", "tokens/s": "tokens-per-second", "FLOP/s": "flops", "B/s": "bytes-per-second"}


def measure_slug(unit: str) -> str:
    """Per second only where the unit ends in /s: tokens/step is tokens-per-step, not tokens-per-secondtep."""
    return MEASURES.get(unit) or re.sub(r"/s$", "-per-second", unit.lower()).replace("/", "-per-")


def metrics(m: Measurement) -> dict:
    s = m.summary
    if m.unit == "s":  # Bencher's latency is in ns
        out = {"latency": {"value": m.value * 1e9, "lower_value": s.min * 1e9, "upper_value": s.max * 1e9}}
    else:
        out = {measure_slug(m.unit): {"value": m.value, "lower_value": s.min, "upper_value": s.max}}
    if m.joules_per_unit is not None and m.higher_is_better:
        out[f"joules-per-{m.energy_per.lower()}"] = {"value": m.joules_per_unit}
    return out


def export(runs: list[RunResult]) -> str:
    run = single(runs, "bencher")
    measurements = kept(run)
    return json.dumps({m.name: metrics(m) for m in measurements}, indent=2) + "\n"
