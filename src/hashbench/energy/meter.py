"""`EnergyMeter`: joules over a `with` block from one labelled source, gross and net of idle power.

    plan = EnergyPlan(EnergyConfig.from_env(mode="auto"))
    with plan.meter("cuda:0") as m:
        workload()
    m.reading()  # EnergyReading: source, layer, joules gross/net, idle watts, window, samples, flags
"""

from __future__ import annotations

import shutil
import time
from types import TracebackType
from typing import Self

from ..cpuload import CpuWatch
from .config import EnergyConfig
from .ipmi import IpmiSource, IpmiUnavailable
from .nvml import NvmlUnavailable, open_nvml
from .rapl import RaplSource, RaplUnavailable
from .reading import EnergyReading, EnergyUnavailable, IdlePower, no_reading
from .redfish import RedfishClient, RedfishSource, RedfishUnavailable
from .sampling import WindowResult, clock, open_window
from .source import CounterSource, DeclaredSource, EnergySource, PowerSource

_UNAVAILABLE = (NvmlUnavailable, RaplUnavailable, IpmiUnavailable, RedfishUnavailable)
MIN_SAMPLE_HZ = 10.0


def is_gpu(device: str) -> bool:
    return device.startswith("cuda")


def open_source(config: EnergyConfig, kind: str, device: str) -> EnergySource:
    """One source by name; raises one of the *Unavailable errors with the reason."""
    if kind == "nvml":
        return open_nvml(device if is_gpu(device) else None)
    if kind == "rapl":
        return RaplSource(config.rapl_root)
    if kind == "ipmi":
        return IpmiSource(config.ipmitool, config.ipmi_args)
    if kind == "redfish":
        if not config.redfish_url:
            raise RedfishUnavailable("no Redfish URL configured")
        return RedfishSource(RedfishClient(config.redfish_url, config.redfish_user, config.redfish_password,
                                           verify_tls=config.redfish_verify_tls))
    if kind == "declared":
        if config.watts is None:
            raise EnergyUnavailable("no declared wattage (--watts)")
        return DeclaredSource(config.watts, config.idle_watts)
    raise ValueError(kind)


def auto_candidates(config: EnergyConfig, device: str) -> list[str]:
    """Measured before declared; the device's own layer (GPU board, CPU package) before the whole node."""
    kinds = ["nvml" if is_gpu(device) else "rapl"]
    if config.redfish_url:
        kinds.append("redfish")
    if config.ipmi_args or shutil.which(config.ipmitool):
        kinds.append("ipmi")
    if config.watts is not None:
        kinds.append("declared")
    return kinds


def select_source(config: EnergyConfig, device: str) -> tuple[EnergySource | None, str]:
    """(source, "") or (None, why there is none). A source asked for by name that cannot be read is an error."""
    if config.mode == "none":
        return None, "energy metering off (--energy none)"
    if config.mode in ("nvml", "rapl") and (config.mode == "nvml") != is_gpu(device):
        # A GPU's work metered by the CPU package, or a CPU's by a GPU board, would be a number about something else.
        what = "GPU boards" if config.mode == "nvml" else "CPU packages"
        return None, (f"--energy {config.mode} meters {what}, not the work on {device} (for {device}: --energy auto, "
                      "ipmi, redfish or declared)")
    if config.mode != "auto":
        try:
            return open_source(config, config.mode, device), ""
        except _UNAVAILABLE as exc:
            raise EnergyUnavailable(f"--energy {config.mode}: {exc}") from None
    reasons = []
    for kind in auto_candidates(config, device):
        try:
            return open_source(config, kind, device), ""
        except _UNAVAILABLE as exc:
            reasons.append(f"{kind}: {exc}")
    if config.watts is None:
        reasons.append("declared: give --watts to declare a wattage")
    return None, "no energy source for " + device + " — " + "; ".join(reasons)


def measure_idle(source: EnergySource, seconds: float) -> IdlePower | None:
    """Mean power with nothing running, over `seconds`, from the same source the workload will be read with."""
    if isinstance(source, DeclaredSource):
        if source.idle_watts is None:
            return None
        return IdlePower(source.idle_watts, 0.0, 0, "declared")
    if seconds <= 0:
        return None
    window = open_window(source)
    window.start()
    try:
        time.sleep(seconds)
    finally:  # Ctrl-C in the idle wait: the sampler thread stops with it, not when the process ends
        result = window.stop()
    if result.joules is None or result.seconds <= 0:
        return None
    return IdlePower(result.joules / result.seconds, result.seconds, result.samples, source.name)


def _flags(source: EnergySource, result: WindowResult, idle: IdlePower | None, net: bool = True) -> list[str]:
    flags = []
    window = result.seconds
    if result.failures:
        flags.append(f"{result.failures} reading(s) failed during the window ({result.error})")
    if isinstance(source, CounterSource) and source.update_period_s:
        period = source.update_period_s
        if window < period:
            flags.append(f"window shorter than counter update period ({period * 1e3:.0f} ms): the difference is 0 "
                         "or one update, not a measurement")
        elif window < 10 * period:
            flags.append(f"window spans under 10 counter updates ({period * 1e3:.0f} ms each): up to "
                         f"±{period / window * 100:.0f} % from counter granularity")
    if isinstance(source, CounterSource) and result.joules == 0 and window > 0:
        flags.append("counter did not move during the window")
    if isinstance(source, PowerSource):
        if result.interval_s and source.interval_s <= 1 / MIN_SAMPLE_HZ and result.interval_s > 1 / MIN_SAMPLE_HZ:
            flags.append(f"power sampled at {1 / result.interval_s:.1f} Hz, below the {MIN_SAMPLE_HZ:g} Hz asked")
        if result.samples < 3:
            flags.append(f"only {result.samples} power sample(s) in the window")
    flags += source.window_flags(window)
    if (idle is not None and idle.seconds > 0 and isinstance(source, CounterSource) and source.update_period_s
            and idle.seconds < 10 * source.update_period_s):
        period = source.update_period_s
        flags.append(f"idle power measured over under 10 counter updates ({period * 1e3:.0f} ms each): up to "
                     f"±{period / idle.seconds * 100:.0f} % on it, and on the net energy (raise --idle-seconds)")
    if idle is None and net and not isinstance(source, DeclaredSource):
        flags.append("no idle measurement: net energy unknown")
    elif idle is not None and result.joules is not None and result.joules < idle.watts * window:
        flags.append("idle power above the window's mean power: net energy not reported (a noisy or drifting "
                     "baseline)")
    return flags


class EnergyMeter:
    """Context manager: meters the `with` block. `reading()` afterwards, also when the block raised."""

    def __init__(self, source: EnergySource | None, *, idle: IdlePower | None = None, idle_seconds: float = 0.0,
                 why_none: str = "no energy source", net: bool = True) -> None:
        self.source = source
        self.net = net  # False: gross joules only (a cross-check), no idle measured or asked for
        self.idle = idle
        self.idle_seconds = idle_seconds
        self.why_none = why_none
        self._window = None
        self._t0 = 0.0
        self._reading: EnergyReading | None = None
        self._cpus = CpuWatch()  # what else the CPUs did in the window: measured with it, not with the idle power

    def __enter__(self) -> Self:
        if self.source is not None:
            if self.idle is None and self.net:
                self.idle = measure_idle(self.source, self.idle_seconds)
            self._window = open_window(self.source)
            self._window.start()
        self._cpus.__enter__()
        self._t0 = clock()
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self._cpus.__exit__(exc_type, exc, tb)
        if self._window is None:
            self._reading = no_reading(clock() - self._t0, self.why_none, self._cpus.load)
            return
        result = self._window.stop()
        source = self.source
        period = source.update_period_s if isinstance(source, CounterSource) else result.interval_s
        declared = isinstance(source, DeclaredSource)
        self._reading = EnergyReading(
            source=source.name, layer=source.layer, method=source.method, window_s=result.seconds,
            joules_gross=result.joules, idle_watts=self.idle.watts if self.idle else None,
            idle_seconds=self.idle.seconds if self.idle and not declared else None,
            samples=None if declared else result.samples, update_period_s=period,
            detail=source.detail if result.joules is not None else result.error,
            flags=tuple(_flags(source, result, self.idle, self.net)), cpu_load=self._cpus.load)

    def reading(self) -> EnergyReading:
        if self._reading is None:
            raise RuntimeError("EnergyMeter.reading() before the with-block ended")
        return self._reading


class EnergyPlan:
    """One per run: picks each device's source once, measures its idle power once, and hands out meters.

    Sources are opened lazily, at the first meter for a device, so idle is measured right before that workload."""

    def __init__(self, config: EnergyConfig) -> None:
        self.config = config
        self._sources: dict[str, tuple[EnergySource | None, str]] = {}
        self._idle: dict[int, IdlePower | None] = {}

    @staticmethod
    def _key(device: str) -> str:
        return device if is_gpu(device) else "cpu"

    def source_for(self, device: str) -> tuple[EnergySource | None, str]:
        key = self._key(device)
        if key not in self._sources:
            self._sources[key] = select_source(self.config, device)
        return self._sources[key]

    def prepare(self, device: str) -> None:
        """Open the device's source and measure idle power now, before any warm-up heats the device."""
        source, _ = self.source_for(device)
        if source is not None and id(source) not in self._idle:
            self._idle[id(source)] = measure_idle(source, self.config.idle_seconds)

    def meter(self, device: str) -> EnergyMeter:
        self.prepare(device)
        source, why = self.source_for(device)
        if source is None:
            return EnergyMeter(None, why_none=why)
        return EnergyMeter(source, idle=self._idle[id(source)], why_none=why)

    def describe(self, device: str) -> str:
        source, why = self.source_for(device)
        if source is None:
            return why
        if isinstance(source, DeclaredSource):
            return source.detail
        return f"{source.name} ({source.layer}): {source.detail}"

    def close(self) -> None:
        for source, _ in self._sources.values():
            if source is not None:
                source.close()
        self._sources.clear()

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
