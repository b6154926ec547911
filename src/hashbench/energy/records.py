"""Glue for `hashbench run`: which device's meter a hashing backend uses, and the energy fields of its record."""

from __future__ import annotations

from dataclasses import replace

from .reading import EnergyReading

GPU_BACKENDS = ("cuda", "pycuda")


def device_for_backend(backend: str, gpus: list[int] | None = None) -> str:
    """The device whose energy a backend's hashing draws: the GPU boards it hashes on for the CUDA launchers
    ("cuda:0,1": metered as one sum), else the CPU."""
    if backend not in GPU_BACKENDS:
        return "cpu"
    return "cuda:" + ",".join(str(g) for g in (gpus or [0]))


def energy_device(backend: object) -> str:
    """`device_for_backend` for a backend object: a GPU launcher's selected GPUs, else the CPU."""
    devices = getattr(backend, "devices", None)
    return device_for_backend(backend.name, devices() if callable(devices) else None)


def hash_energy_fields(reading: EnergyReading, hashes: int, timed_seconds: float | None = None) -> dict:
    """Fields to merge into a hashing benchmark's JSON: joules gross and net, J/TH both ways, and the source.

    Best: the reading's window wraps only the timed scans, so `hashes` were all done inside it. When the window
    also held warm-up and calibration (hashes not counted), pass `timed_seconds`: the joules are then the window's
    mean power over the timed seconds, and a flag says so."""
    if timed_seconds is not None and reading.joules_gross is not None and reading.window_s > 1.02 * timed_seconds:
        share = timed_seconds / reading.window_s
        flag = (f"window {reading.window_s:.2f} s held warm-up and calibration: joules are its mean power over the "
                f"{timed_seconds:.2f} s of timed scans")
        reading = replace(reading, joules_gross=reading.joules_gross * share, window_s=timed_seconds,
                          flags=(*reading.flags, flag))
    terahashes = hashes / 1e12
    return {
        "energy": reading.to_json(),
        "energy_j": reading.joules_gross,
        "power_source": reading.label,
        "joules_per_unit": reading.per_unit(hashes),  # J/hash, as runfile and the results schema read it
        "joules_per_th": reading.per_unit(terahashes),
        "joules_per_th_net": reading.per_unit(terahashes, net=True),
    }
