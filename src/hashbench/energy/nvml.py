"""NVIDIA GPU board energy through NVML (nvidia-ml-py): the total-energy counter where the board has one (Volta and
newer, millijoules since the driver loaded), otherwise instantaneous power sampled at 20 Hz and integrated."""

from __future__ import annotations

import importlib
import os
import sys
from types import ModuleType
from typing import Any

from .reading import GPU_BOARD
from .sampling import estimate_update_period
from .source import CounterSource, PowerSource, SumCounterSource, SumPowerSource

# GPU power sensors of A100/H100-class boards sample only part of the time and the counter moves every ~20-100 ms:
# windows shorter than this are flagged (the notes ask for a steady window of a minute or more).
STEADY_WINDOW_S = 60.0
SAMPLE_HZ = 20.0  # fallback sampling rate; the issue asks for at least 10 Hz


class NvmlUnavailable(Exception):
    """NVML cannot give energy for the GPU asked for; the message says why in one line."""


def load_nvml() -> ModuleType:
    try:
        import pynvml
    except ImportError:
        raise NvmlUnavailable("nvidia-ml-py is not installed (pip install 'hashbench[nvml]')") from None
    try:
        pynvml.nvmlInit()
    except Exception as exc:  # noqa: BLE001 - NVMLError_LibraryNotFound, DriverNotLoaded, ...
        raise NvmlUnavailable(f"NVML cannot start ({exc}): no NVIDIA driver on this machine") from None
    return pynvml


def cuda_indices(device: str | int | None) -> list[int]:
    """"cuda:0,2" -> [0, 2] (several GPUs metered as one sum), "cuda:1" -> [1], "cuda" / None -> [0]."""
    if device is None or isinstance(device, int):
        return [device or 0]
    _, _, rest = str(device).partition(":")
    indices = [int(p) for p in rest.split(",") if p.strip().isdigit()]
    return list(dict.fromkeys(indices)) or [0]


def cuda_index(device: str | int | None) -> int:
    """"cuda:1" -> 1, "cuda" / None -> 0 (the first GPU of a "cuda:0,2" list)."""
    return cuda_indices(device)[0]


def _torch_uuid(index: int) -> str | None:
    """The UUID torch sees for cuda:index, when torch has already set CUDA up (never imported just for this)."""
    torch = sys.modules.get("torch")
    try:
        if torch is not None and torch.cuda.is_initialized():
            uuid = str(torch.cuda.get_device_properties(index).uuid)
            return uuid if uuid.startswith("GPU-") else f"GPU-{uuid}"
    except Exception:  # noqa: BLE001 - older torch without .uuid: fall back to the environment
        return None
    return None


def _driver_uuid(index: int) -> str | None:
    """The UUID the CUDA driver gives cuda:index, in NVML's form, where cuda-bindings and a driver are there. The
    driver applies CUDA_VISIBLE_DEVICES and CUDA_DEVICE_ORDER as the cuda backend saw them; NVML applies neither."""
    try:
        driver = importlib.import_module("cuda.bindings.driver")
        ok = driver.CUresult.CUDA_SUCCESS
        if driver.cuInit(0)[0] != ok:
            return None
        err, dev = driver.cuDeviceGet(index)
        if err != ok:
            return None
        err, uuid = getattr(driver, "cuDeviceGetUuid_v2", driver.cuDeviceGetUuid)(dev)
        if err != ok:
            return None
        raw = bytes(uuid.bytes).hex()
    except Exception:  # noqa: BLE001 - no cuda-bindings, or its loader finds no libcuda
        return None
    if len(raw) != 32:
        return None
    return f"GPU-{raw[:8]}-{raw[8:12]}-{raw[12:16]}-{raw[16:20]}-{raw[20:]}"


def handle_for(nvml: ModuleType, device: str | int | None) -> tuple[Any, str]:
    """NVML handle of CUDA device `device`. CUDA and NVML number GPUs differently (CUDA_VISIBLE_DEVICES renumbers,
    and CUDA's default order is fastest-first), so match by the UUID torch or the CUDA driver gives the device; only
    without either, read CUDA_VISIBLE_DEVICES, else take the CUDA index for NVML's."""
    index = cuda_index(device)
    visible = [v.strip() for v in os.environ.get("CUDA_VISIBLE_DEVICES", "").split(",") if v.strip()]
    entry = visible[index] if index < len(visible) else ""
    if entry.startswith("MIG-"):
        raise NvmlUnavailable(f"cuda:{index} is a MIG instance ({entry}): NVML has no energy per instance")
    uuid = _torch_uuid(index) or _driver_uuid(index)
    if uuid is None:
        if entry.startswith("GPU-"):
            uuid = entry
        elif entry.isdigit():
            index = int(entry)
    try:
        if uuid is not None:
            return nvml.nvmlDeviceGetHandleByUUID(uuid), uuid
        return nvml.nvmlDeviceGetHandleByIndex(index), f"NVML index {index}"
    except Exception as exc:  # noqa: BLE001
        raise NvmlUnavailable(f"NVML has no GPU for cuda:{index} ({exc})") from None


def _describe(nvml: ModuleType, handle: Any, which: str) -> str:
    parts = [which]
    try:
        name = nvml.nvmlDeviceGetName(handle)
        parts.insert(0, name.decode() if isinstance(name, bytes) else str(name))
    except Exception:  # noqa: BLE001 - description only
        pass
    try:
        parts.append(f"power limit {nvml.nvmlDeviceGetEnforcedPowerLimit(handle) / 1000:g} W")
    except Exception:  # noqa: BLE001
        pass
    return ", ".join(parts)


def _short_window(window_s: float) -> list[str]:
    if window_s < STEADY_WINDOW_S:
        return [(f"GPU window {window_s:.1f} s is under {STEADY_WINDOW_S:g} s: board power sensors average or "
                 "sample part of the time, so short windows can be off")]
    return []


class NvmlCounterSource(CounterSource):
    name = "nvml"
    layer = GPU_BOARD

    def __init__(self, nvml: ModuleType, handle: Any, which: str) -> None:
        self._nvml, self._handle, self._which = nvml, handle, which
        self._total_mj = 0
        # Raises NVMLError_NotSupported on boards without the counter.
        self._last_mj = nvml.nvmlDeviceGetTotalEnergyConsumption(handle)
        self.update_period_s = estimate_update_period(self.read_joules)
        self.detail = f"{_describe(nvml, handle, which)}; nvmlDeviceGetTotalEnergyConsumption counter"

    def read_joules(self) -> float:
        mj = self._nvml.nvmlDeviceGetTotalEnergyConsumption(self._handle)  # millijoules since the driver loaded
        if mj < self._last_mj:  # the driver reloaded (or the GPU was reset): the counter restarted from 0
            self.resets += 1
            self.reset_why = (f"NVML energy counter of {self._which} went backwards ({self._last_mj} mJ, then {mj} mJ):"
                              " the driver reloaded or the GPU was reset; energy across it unknown")
        else:
            self._total_mj += mj - self._last_mj
        self._last_mj = mj
        return self._total_mj / 1000.0

    def window_flags(self, window_s: float) -> list[str]:
        return _short_window(window_s)

    def close(self) -> None:
        _shutdown(self._nvml)


class NvmlPowerSource(PowerSource):
    name = "nvml"
    layer = GPU_BOARD
    interval_s = 1.0 / SAMPLE_HZ

    def __init__(self, nvml: ModuleType, handle: Any, which: str) -> None:
        self._nvml, self._handle = nvml, handle
        self.instant = self._instant_mw() is not None
        call = "NVML_FI_DEV_POWER_INSTANT" if self.instant else "nvmlDeviceGetPowerUsage"
        self.read_watts()
        self.detail = f"{_describe(nvml, handle, which)}; no energy counter, {call} sampled at {SAMPLE_HZ:g} Hz"

    def _instant_mw(self) -> float | None:
        field = getattr(self._nvml, "NVML_FI_DEV_POWER_INSTANT", None)
        if field is None:
            return None
        try:
            value = self._nvml.nvmlDeviceGetFieldValues(self._handle, [field])[0]
        except Exception:  # noqa: BLE001 - older drivers: no field values
            return None
        if value.nvmlReturn != 0:
            return None
        return float(value.value.uiVal)

    def read_watts(self) -> float:
        if self.instant:
            # No quiet fallback to nvmlDeviceGetPowerUsage: its ~1 s average would mix into a window labelled
            # instantaneous. A failed read is a failed sample, counted and reported.
            mw = self._instant_mw()
            if mw is None:
                raise NvmlUnavailable("NVML_FI_DEV_POWER_INSTANT read failed")
            return mw / 1000.0
        return self._nvml.nvmlDeviceGetPowerUsage(self._handle) / 1000.0

    def window_flags(self, window_s: float) -> list[str]:
        flags = _short_window(window_s)
        if not self.instant:
            flags.append("power from nvmlDeviceGetPowerUsage, a ~1 s average on recent GPUs: the window's edges "
                         "are smeared")
        return flags

    def close(self) -> None:
        _shutdown(self._nvml)


def _shutdown(nvml: ModuleType) -> None:
    try:
        nvml.nvmlShutdown()
    except Exception:  # noqa: BLE001 - already shut down
        pass


def _open_one(device: str, kinds: tuple[str, ...]) -> CounterSource | PowerSource:
    nvml = load_nvml()
    try:
        handle, which = handle_for(nvml, device)
    except NvmlUnavailable:
        _shutdown(nvml)
        raise
    errors = []
    for kind in kinds:
        try:
            return NvmlCounterSource(nvml, handle, which) if kind == "counter" else NvmlPowerSource(nvml, handle, which)
        except nvml.NVMLError as exc:
            errors.append(f"{'energy counter' if kind == 'counter' else 'power'}: {exc}")
    _shutdown(nvml)
    raise NvmlUnavailable(f"NVML reads no {' or '.join(kinds)} on {which} ({'; '.join(errors)})")


def open_nvml(device: str | int | None, kinds: tuple[str, ...] = ("counter", "power")) -> CounterSource | PowerSource:
    """The best NVML energy source for a CUDA device, or for several ("cuda:0,1") summed: the counter, else sampled
    power. `kinds` narrows the choice (energy-check opens the counter and sampled power of the same boards)."""
    indices = cuda_indices(device)
    if len(indices) == 1:
        return _open_one(f"cuda:{indices[0]}", kinds)
    for kind in kinds:  # one kind for every board, so the sum is one method
        parts: list = []
        try:
            for index in indices:
                parts.append(_open_one(f"cuda:{index}", (kind,)))
        except NvmlUnavailable:
            for part in parts:
                part.close()
            if kind == kinds[-1]:
                raise
            continue
        return SumCounterSource(parts) if kind == "counter" else SumPowerSource(parts)
    raise NvmlUnavailable(f"no NVML source kind asked for ({kinds})")


def nominal_memory_bandwidth(device: str | int | None) -> tuple[float, str] | None:
    """Peak DRAM bandwidth from NVML (max memory clock × bus width × 2 transfers per clock), bytes/s, with how it was
    derived; None when NVML cannot tell."""
    try:
        nvml = load_nvml()
    except NvmlUnavailable:
        return None
    try:
        handle, _ = handle_for(nvml, device)
        mhz = nvml.nvmlDeviceGetMaxClockInfo(handle, nvml.NVML_CLOCK_MEM)
        bits = nvml.nvmlDeviceGetMemoryBusWidth(handle)
    except Exception:  # noqa: BLE001
        return None
    finally:
        _shutdown(nvml)
    peak = mhz * 1e6 * 2 * bits / 8
    return peak, f"NVML nominal peak: {mhz} MHz × {bits}-bit bus × 2 = {peak / 1e12:.2f} TB/s"
