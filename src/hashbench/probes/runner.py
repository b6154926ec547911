"""Run the probe set on one device: roofs first (GEMM, bandwidth), then each model shape's prefill and decode,
each timed window inside its own energy meter; roofline fractions filled in at the end."""

from __future__ import annotations

import gc
import math
import os
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path

from ..energy import EnergyConfig, EnergyPlan
from ..errors import InputError
from .device import DTYPE_NAMES, Device, require_torch, resolve_device
from .gemm import gemm_size, run_gemm
from .llama import PRESETS, LlamaShape
from .llm import (
    LoadedModel,
    ProbeSkipped,
    checkpoint_run_dtype,
    load_model,
    run_decode,
    run_prefill,
    why_not_fits,
)
from .membw import buffer_bytes, run_membw
from .result import ProbeResult
from .roofline import apply_rooflines

PROBES = ("gemm", "membw", "llm-prefill", "llm-decode")
# Sizes beyond any memory (the check refuses far smaller ones with what they need); also torch's int32 limit for a
# dimension some kernels index with.
MAX_SIZE = 2**31 - 1


@dataclass(frozen=True)
class Defaults:
    presets: tuple[str, ...]
    batch: int
    prompt_len: int
    gen_len: int
    seconds: float
    block_s: float  # one timed block of GEMM calls or copies


# pp512/tg128 as llama.cpp reports them on GPUs; a serving-like batch, since J/token at batch 1 prices no business.
GPU_DEFAULTS = Defaults(("llama-1b", "llama-8b", "llama-70b"), 32, 512, 128, 10.0, 0.05)
GPU_QUICK = Defaults(("llama-1b",), 8, 128, 32, 1.0, 0.02)
CPU_DEFAULTS = Defaults(("cpu-small",), 1, 64, 16, 1.0, 0.05)
CPU_QUICK = Defaults(("cpu-tiny",), 1, 32, 8, 0.2, 0.02)


@dataclass(frozen=True)
class ProbeSettings:
    """None or empty means the device's default (see *_DEFAULTS)."""

    device: str | None = None
    probes: tuple[str, ...] = ()
    presets: tuple[str, ...] = ()
    model_dir: Path | None = None
    batch: int | None = None
    prompt_len: int | None = None
    gen_len: int | None = None
    dtype: str | None = None
    seconds: float | None = None
    quick: bool = False
    threads: int | None = None
    cuda_graphs: bool = True  # False: decode runs eagerly on a GPU too (the A/B against graph replay)

    def validate(self) -> None:
        for name, value in (("--batch", self.batch), ("--prompt-len", self.prompt_len), ("--gen-len", self.gen_len),
                            ("--threads", self.threads)):
            if value is not None and value < 1:
                raise InputError(f"{name} must be >= 1, got {value}")
            if value is not None and value > MAX_SIZE:
                # a 400-digit --batch overflowed the memory estimate's float arithmetic into a traceback
                got = f"{value:,}" if value < 10**30 else f"a {len(str(value))}-digit number"
                raise InputError(f"{name} must be at most {MAX_SIZE:,}, got {got}")
        if self.threads is not None and self.threads > (cpus := os.cpu_count() or 1):
            # torch's OpenMP pool aborts, or crashes the process, when the system refuses its threads
            raise InputError(f"--threads must be at most the {cpus} logical CPUs here, got {self.threads}")
        if self.seconds is not None and not 0 < self.seconds < math.inf:
            raise InputError(f"--seconds must be > 0 and finite, got {self.seconds}")
        unknown = [p for p in self.probes if p not in PROBES]
        if unknown:
            raise InputError(f"unknown probe {unknown[0]!r} (probes: {', '.join(PROBES)})")
        unknown = [p for p in self.presets if p not in PRESETS]
        if unknown:
            raise InputError(f"unknown preset {unknown[0]!r} (presets: {', '.join(PRESETS)})")
        if self.dtype is not None and self.dtype not in DTYPE_NAMES:
            raise InputError(f"--dtype must be one of {', '.join(DTYPE_NAMES)}, got {self.dtype!r}")
        if self.model_dir is not None:
            if self.presets:
                # the checkpoint replaced the presets, which ran nowhere and were named nowhere
                raise InputError(f"--preset {self.presets[0]} and --model-dir {self.model_dir}: one model or the "
                                 "other (a checkpoint runs instead of the presets' random weights)")
            if not Path(self.model_dir).is_dir():
                raise InputError(f"--model-dir {self.model_dir}: not a directory")
            from .hf_local import check_local_model

            # config.json and every safetensors header now, not after the GEMM and bandwidth probes ran
            check_local_model(Path(self.model_dir))


@dataclass(frozen=True)
class Skipped:
    probe: str
    preset: str
    reason: str

    def to_json(self) -> dict:
        return {"probe": self.probe, "preset": self.preset, "reason": self.reason}


@dataclass
class ProbeRun:
    device: str
    device_model: str
    torch_version: str
    threads: int | None
    energy_source: str
    results: list[ProbeResult] = field(default_factory=list)
    skipped: list[Skipped] = field(default_factory=list)
    failed: list[Skipped] = field(default_factory=list)  # probes torch or the device failed at run time

    def to_json(self) -> dict:
        return {"device": self.device, "device_model": self.device_model, "torch": self.torch_version,
                "threads": self.threads, "energy_source": self.energy_source,
                "results": [r.to_json() for r in self.results], "skipped": [s.to_json() for s in self.skipped],
                "failed": [s.to_json() for s in self.failed]}


Listener = Callable[[str, str, object], None]  # (event: start|done|skip, label, payload)


class _LazyModel:
    """Loaded by the first probe that needs it, so a shape that does not fit is skipped per probe, with the reason."""

    def __init__(self, load: Callable[[], LoadedModel]) -> None:
        self._load = load
        self._model: LoadedModel | None = None

    def get(self) -> LoadedModel:
        if self._model is None:
            self._model = self._load()
        return self._model


def _free(device: Device) -> None:
    gc.collect()
    if device.is_cuda:
        try:
            require_torch().cuda.empty_cache()
        except RuntimeError:  # a CUDA error can leave the context unusable: the next probe says so itself
            pass


def _refuse_what_cannot_run(device: Device, settings: ProbeSettings, shapes: list[LlamaShape | None], batch: int,
                            prompt: int, gen: int, dtype: str) -> None:
    """Refuses, before any probe runs (not after a GEMM and a bandwidth window), a context longer than a model's or
    a model the user asked for that cannot fit. The default list means 'each that fits' (70B where it does; `run`
    passes no sizes), so there a shape that does not fit is skipped at its turn, unless the sizes the user set let
    none of them fit."""
    if settings.model_dir is not None:
        from .hf_local import check_local_model

        shapes = [check_local_model(Path(settings.model_dir))[0]]  # config.json and headers only: no weight read
    known = [shape for shape in shapes if shape is not None]
    for shape in known:
        if shape.max_positions is not None and prompt + gen > shape.max_positions:
            raise InputError(f"{shape.name}: {prompt} prompt + {gen} generated tokens = {prompt + gen} positions, "
                             f"beyond its {shape.max_positions}-position context (--prompt-len, --gen-len)")
    unfit = [reason for shape in known if (reason := why_not_fits(device, shape, batch, prompt, gen, dtype))]
    named = bool(settings.presets or settings.model_dir)
    sized = any(v is not None for v in (settings.batch, settings.prompt_len, settings.gen_len))
    if unfit and (named or (sized and len(unfit) == len(known))):
        raise InputError(unfit[0])


def run_probes(settings: ProbeSettings, energy: EnergyPlan | None = None,
               listen: Listener | None = None) -> ProbeRun:
    """Every requested probe on one device. Probes that cannot fit are skipped with the reason; roofs the
    requested probes need (GEMM for prefill, bandwidth for decode) are measured too, and reported."""
    settings.validate()
    torch = require_torch()
    listen = listen or (lambda *_: None)
    energy = energy or EnergyPlan(EnergyConfig(mode="none"))
    device = resolve_device(settings.device)
    if settings.threads:
        torch.set_num_threads(settings.threads)
    torch.manual_seed(0)
    d = (GPU_QUICK if settings.quick else GPU_DEFAULTS) if device.is_cuda else (
        CPU_QUICK if settings.quick else CPU_DEFAULTS)
    probes = settings.probes or PROBES
    batch = settings.batch or d.batch
    prompt, gen = settings.prompt_len or d.prompt_len, settings.gen_len or d.gen_len
    seconds = settings.seconds or d.seconds
    llm_dtype = settings.dtype or device.default_llm_dtype()
    dtype_source = None
    if settings.model_dir and any(p.startswith("llm-") for p in probes):
        choice = checkpoint_run_dtype(device, settings.dtype, Path(settings.model_dir))
        llm_dtype, dtype_source = choice.name, choice.source
        if choice.note:
            listen("note", f"hf:{Path(settings.model_dir).name}", choice.note)  # once, before any probe runs
    shapes: list[LlamaShape | None] = [None] if settings.model_dir else [PRESETS[p] for p in
                                                                         settings.presets or d.presets]
    llm = [p for p in probes if p.startswith("llm-")]
    if llm:
        _refuse_what_cannot_run(device, settings, shapes, batch, prompt, gen, llm_dtype)
    energy.prepare(device.name)  # idle power first, before anything warms the device (and after any refusal)
    native = device.native_dtypes()
    for dtype in dict.fromkeys(d for d in (settings.dtype, llm_dtype) if d and d not in native):
        if not device.runs_dtype(dtype):
            raise InputError(f"--dtype {dtype}: torch {torch.__version__} has no {dtype} kernels on {device.name}")
    # A copy of `native`: prefill's dtype appended below must not make a non-native dtype look native (its flag).
    gemm_dtypes = ([settings.dtype] if settings.dtype else list(native)) if "gemm" in probes else []
    if "llm-prefill" in llm and llm_dtype not in gemm_dtypes:
        gemm_dtypes.append(llm_dtype)  # prefill's roof
    run = ProbeRun(device.name, device.model_name(), torch.__version__,
                   torch.get_num_threads() if not device.is_cuda else None, energy.describe(device.name))

    def attempt(label: str, probe: str, preset: str, fn: Callable[[], ProbeResult]) -> None:
        listen("start", label, None)
        try:
            result = fn()
        except ProbeSkipped as exc:
            run.skipped.append(Skipped(probe, preset, str(exc)))
            listen("skip", label, str(exc))
            return
        except torch.cuda.OutOfMemoryError as exc:
            _free(device)
            reason = f"out of device memory: {str(exc).splitlines()[0]}"
            run.skipped.append(Skipped(probe, preset, reason))
            listen("skip", label, reason)
            return
        except RuntimeError as exc:
            # torch or the GPU failed at run time (a CUDA error, a kernel torch lacks, a wrong GEMM result): the
            # probes measured before stand and the ones after still run; the command names it and exits 1.
            reason = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
            _free(device)
            run.failed.append(Skipped(probe, preset, reason))
            listen("fail", label, reason)
            return
        if result.dtype is not None and result.dtype not in native:
            # A figure in a precision the hardware lacks measures torch's emulation, not the machine
            result.flags.append(f"{device.name} has no native {result.dtype} instructions: torch computes "
                                f"{result.dtype} through fp32 there, so its {result.dtype} figures measure that "
                                "emulation, not the hardware")
        run.results.append(result)
        listen("done", label, result)

    for dtype in gemm_dtypes:
        n = gemm_size(device, settings.quick)
        attempt(f"gemm {dtype} {n}³", "gemm", f"{n}x{n}x{n}",
                lambda dt=dtype, n=n: run_gemm(device, dt, n, seconds, energy, d.block_s))
    if gemm_dtypes:
        _free(device)  # the GEMM buffers go before the next probe reads the free memory (a model's fit)
    if "membw" in probes or "llm-decode" in llm:
        nbytes = buffer_bytes(device, settings.quick)
        attempt(f"membw {nbytes >> 20} MiB", "membw", f"{nbytes >> 20} MiB",
                lambda: run_membw(device, nbytes, seconds, energy, d.block_s))
        _free(device)
    for shape in shapes if llm else []:
        name = shape.name if shape else f"hf:{Path(settings.model_dir).name}"
        lazy = _LazyModel(partial(load_model, device, shape, settings.model_dir, llm_dtype, batch, prompt, gen,
                                  dtype_source))
        if "llm-prefill" in llm:
            attempt(f"llm-prefill {name}", "llm-prefill", name,
                    lambda m=lazy: run_prefill(m.get(), device, batch, prompt, seconds, energy))
        if "llm-decode" in llm:
            attempt(f"llm-decode {name}", "llm-decode", name,
                    lambda m=lazy: run_decode(m.get(), device, batch, prompt, gen, seconds, energy,
                                               settings.cuda_graphs))
        del lazy  # the weights and KV cache go before the next shape is allocated
        _free(device)
    nominal = {}
    if device.is_cuda:
        from ..energy.nvml import nominal_memory_bandwidth

        peak = nominal_memory_bandwidth(device.name)
        if peak:
            nominal[device.name] = peak
    apply_rooflines(run.results, nominal)
    return run
