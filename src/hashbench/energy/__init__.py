"""Energy over a measured window, always labelled with its source and layer (see meter.py for the API)."""

from .config import MODES, EnergyConfig
from .meter import EnergyMeter, EnergyPlan, measure_idle, select_source
from .reading import CPU_PACKAGE, DECLARED, GPU_BOARD, NODE, EnergyReading, EnergyUnavailable, IdlePower, no_reading
from .records import device_for_backend, energy_device, hash_energy_fields

__all__ = [
    "CPU_PACKAGE", "DECLARED", "GPU_BOARD", "MODES", "NODE", "EnergyConfig", "EnergyMeter", "EnergyPlan",
    "EnergyReading", "EnergyUnavailable", "IdlePower", "device_for_backend", "energy_device", "hash_energy_fields",
    "measure_idle", "no_reading", "select_source",
]
