"""run_probes on fakes: which probes run, in what order, with which defaults and sizes, what a skip or a failure
records, and what ProbeSettings refuses. The measuring functions are replaced by recorders, so these run in
milliseconds and pin the orchestration that test_probes.py's real (slow) runs cannot vary much."""

from __future__ import annotations

import math
from dataclasses import replace
from pathlib import Path

import pytest

torch = pytest.importorskip("torch", reason="the AI probes need torch (pip install 'hashbench[ai]')")

from hashbench.energy import EnergyReading  # noqa: E402
from hashbench.errors import InputError  # noqa: E402
from hashbench.probes import runner  # noqa: E402
from hashbench.probes.device import Device  # noqa: E402
from hashbench.probes.llama import PRESETS  # noqa: E402
from hashbench.probes.llm import DtypeChoice, ProbeSkipped  # noqa: E402
from hashbench.probes.result import ProbeResult  # noqa: E402
from hashbench.probes.runner import MAX_SIZE, ProbeRun, ProbeSettings, Skipped, run_probes  # noqa: E402

FAKE_CUDA = Device("cuda:0", torch.device("cpu"))  # named like a GPU; nothing is ever allocated on it


class FakeEnergy:
    def __init__(self, calls: list) -> None:
        self.calls = calls

    def prepare(self, device: str) -> None:
        self.calls.append(("prepare", device))

    def describe(self, device: str) -> str:
        return f"fake meter on {device}"


def reading() -> EnergyReading:
    return EnergyReading("none", "none", "", 1.0, None)


def fake_result(probe: str, device: Device, preset: str, dtype: str | None, **kw) -> ProbeResult:
    return ProbeResult(probe=probe, device=device.name, preset=preset, dtype=dtype, batch=kw.pop("batch", None),
                       unit="x", samples=[kw.pop("value", 1.0)], work=1.0, per="x", seconds=1.0, energy=reading(),
                       **kw)


class Fakes:
    """Records every call run_probes makes to the measuring functions; `fail` makes one of them raise."""

    def __init__(self, monkeypatch) -> None:
        self.calls: list[tuple] = []
        self.fail: dict[str, BaseException] = {}
        self.empty_cache = 0
        self.collected = 0
        self.threads_set: list[int] = []
        self.energy = FakeEnergy(self.calls)
        self.native = ["fp32"]
        fakes = self
        self.devices: set[str] = set()  # every device the sizes and model were asked for
        self.resolved: list[str | None] = []
        resolve = runner.resolve_device
        monkeypatch.setattr(runner, "resolve_device", lambda name: self.resolved.append(name) or resolve(name))
        monkeypatch.setattr(runner, "gemm_size", lambda device, quick: self.seen(device) or (64 if quick else 128))
        monkeypatch.setattr(runner, "buffer_bytes",
                            lambda device, quick: self.seen(device) or ((3 << 20) if quick else (5 << 20)))
        monkeypatch.setattr(runner, "run_gemm", self.run_gemm)
        monkeypatch.setattr(runner, "run_membw", self.run_membw)
        monkeypatch.setattr(runner, "load_model", self.load_model)
        monkeypatch.setattr(runner, "run_prefill", self.run_prefill)
        monkeypatch.setattr(runner, "run_decode", self.run_decode)
        monkeypatch.setattr(Device, "native_dtypes", lambda self: list(fakes.native))
        monkeypatch.setattr(Device, "free_memory", lambda self: 1 << 50)
        monkeypatch.setattr(Device, "model_name", lambda self: f"model of {self.name}")
        monkeypatch.setattr(torch, "set_num_threads", self.threads_set.append)
        monkeypatch.setattr(torch.cuda, "empty_cache", self.count_empty_cache)
        monkeypatch.setattr(runner.gc, "collect", self.count_collect)  # a full collection with torch loaded is slow

    def seen(self, device: Device) -> None:
        self.devices.add(device.name)

    def count_collect(self) -> int:
        self.collected += 1
        return 0

    def count_empty_cache(self) -> None:
        self.empty_cache += 1

    def _maybe_fail(self, probe: str) -> None:
        if probe in self.fail:
            raise self.fail[probe]

    def run_gemm(self, device, dtype, n, seconds, energy, block_s):
        assert energy is self.energy
        self.calls.append(("gemm", dtype, n, seconds, block_s, torch.initial_seed()))
        self._maybe_fail("gemm")
        return fake_result("gemm", device, f"{n}x{n}x{n}", dtype, value=100.0)

    def run_membw(self, device, nbytes, seconds, energy, block_s):
        assert energy is self.energy
        self.calls.append(("membw", nbytes, seconds, block_s))
        self._maybe_fail("membw")
        return fake_result("membw", device, f"{nbytes >> 20} MiB", None, value=50.0)

    def load_model(self, device, shape, model_dir, dtype, batch, prompt, gen, dtype_source):
        self.seen(device)
        name = shape.name if shape else "checkpoint"
        self.calls.append(("load", name, model_dir, dtype, batch, prompt, gen, dtype_source))
        self._maybe_fail(f"load {name}")
        return ("model", name, dtype)

    def run_prefill(self, model, device, batch, prompt, seconds, energy):
        assert energy is self.energy
        self.calls.append(("prefill", model[1], batch, prompt, seconds))
        self._maybe_fail("llm-prefill")
        return fake_result("llm-prefill", device, model[1], model[2], batch=batch, detail={"flop_per_s": 25.0})

    def run_decode(self, model, device, batch, prompt, gen, seconds, energy, cuda_graphs):
        assert energy is self.energy
        self.calls.append(("decode", model[1], batch, prompt, gen, seconds, cuda_graphs))
        self._maybe_fail("llm-decode")
        return fake_result("llm-decode", device, model[1], model[2], batch=batch, ms_per_token=2.0,
                           detail={"bytes_per_step": 10.0, "bytes_per_s": 10.0})

    def probe_calls(self) -> list[tuple]:
        return [c for c in self.calls if c[0] != "prepare"]

    def run(self, settings: ProbeSettings, events: list | None = None) -> ProbeRun:
        listen = None if events is None else (lambda event, label, payload: events.append((event, label, payload)))
        return run_probes(settings, self.energy, listen)


@pytest.fixture
def fakes(monkeypatch) -> Fakes:
    return Fakes(monkeypatch)


@pytest.fixture
def on_gpu(monkeypatch, fakes) -> Fakes:
    """run_probes on a device named cuda:0 with compute capability 9-like dtypes and a nominal bandwidth from NVML."""
    import hashbench.energy.nvml as nvml

    monkeypatch.setattr(runner, "resolve_device", lambda name: fakes.resolved.append(name) or FAKE_CUDA)
    monkeypatch.setattr(nvml, "nominal_memory_bandwidth",
                        lambda name: (200.0, f"nominal peak of {name}") if name == "cuda:0" else None)
    fakes.native = ["bf16", "fp16", "fp32"]
    return fakes


# --- defaults --------------------------------------------------------------------------------------------------------


def test_cpu_defaults(fakes):
    events: list = []
    run = fakes.run(ProbeSettings(device="cpu"), events)
    assert fakes.probe_calls() == [
        ("gemm", "fp32", 128, 1.0, 0.05, 0),
        ("membw", 5 << 20, 1.0, 0.05),
        ("load", "cpu-small", None, "fp32", 1, 64, 16, None),
        ("prefill", "cpu-small", 1, 64, 1.0),
        ("decode", "cpu-small", 1, 64, 16, 1.0, True),
    ]
    assert fakes.calls[0] == ("prepare", "cpu") and fakes.threads_set == [] and fakes.empty_cache == 0
    assert fakes.collected == 3  # after the GEMMs, after the bandwidth buffer, after the shape's weights
    assert fakes.resolved == ["cpu"] and fakes.devices == {"cpu"}
    assert all(r.flags == [] for r in run.results)  # fp32 is native; membw has no precision to flag
    assert [(e, label) for e, label, _ in events] == [
        ("start", "gemm fp32 128³"), ("done", "gemm fp32 128³"), ("start", "membw 5 MiB"), ("done", "membw 5 MiB"),
        ("start", "llm-prefill cpu-small"), ("done", "llm-prefill cpu-small"),
        ("start", "llm-decode cpu-small"), ("done", "llm-decode cpu-small")]
    assert all(payload is None for e, _, payload in events if e == "start")
    assert [payload for e, _, payload in events if e == "done"] == run.results
    assert [(r.probe, r.preset, r.dtype) for r in run.results] == [
        ("gemm", "128x128x128", "fp32"), ("membw", "5 MiB", None), ("llm-prefill", "cpu-small", "fp32"),
        ("llm-decode", "cpu-small", "fp32")]
    assert (run.device, run.device_model, run.torch_version) == ("cpu", "model of cpu", torch.__version__)
    assert run.threads == torch.get_num_threads() and run.energy_source == "fake meter on cpu"
    assert not run.skipped and not run.failed
    # the roofs are applied: membw against the best stream measured (no nominal peak on a CPU)
    assert run.results[1].roofline_fraction == 1.0 and "no nominal peak" in run.results[1].roofline_basis
    assert run.results[2].roofline_fraction == 0.25 and run.results[3].roofline_fraction == 0.2


def test_cpu_quick_defaults(fakes):
    fakes.run(ProbeSettings(device="cpu", quick=True))
    assert fakes.probe_calls() == [
        ("gemm", "fp32", 64, 0.2, 0.02, 0),
        ("membw", 3 << 20, 0.2, 0.02),
        ("load", "cpu-tiny", None, "fp32", 1, 32, 8, None),
        ("prefill", "cpu-tiny", 1, 32, 0.2),
        ("decode", "cpu-tiny", 1, 32, 8, 0.2, True),
    ]


def test_gpu_defaults_run_each_preset_and_use_the_nominal_bandwidth(on_gpu):
    events: list = []
    run = on_gpu.run(ProbeSettings(device="cuda:0", probes=("membw", "llm-decode")), events)
    presets = ("llama-1b", "llama-8b", "llama-70b")
    assert on_gpu.probe_calls() == [("membw", 5 << 20, 10.0, 0.05)] + [
        call for name in presets for call in (("load", name, None, "bf16", 32, 512, 128, None),
                                              ("decode", name, 32, 512, 128, 10.0, True))]
    assert run.threads is None and run.device_model == "model of cuda:0" and run.energy_source == "fake meter on cuda:0"
    # freed after the bandwidth buffer and after each shape
    assert on_gpu.empty_cache == on_gpu.collected == 1 + len(presets)
    assert on_gpu.resolved == ["cuda:0"] and on_gpu.devices == {"cuda:0"}
    membw = run.results[0]
    assert membw.roofline_fraction == 0.25 and membw.roofline_basis == "nominal peak of cuda:0"
    assert [label for e, label, _ in events if e == "start"] == ["membw 5 MiB"] + [f"llm-decode {p}" for p in presets]


def test_gpu_quick_defaults(on_gpu):
    on_gpu.run(ProbeSettings(device="cuda:0", quick=True, probes=("gemm", "llm-prefill")))
    assert on_gpu.devices == {"cuda:0"}
    assert on_gpu.probe_calls() == [
        ("gemm", "bf16", 64, 1.0, 0.02, 0), ("gemm", "fp16", 64, 1.0, 0.02, 0), ("gemm", "fp32", 64, 1.0, 0.02, 0),
        ("load", "llama-1b", None, "bf16", 8, 128, 32, None),
        ("prefill", "llama-1b", 8, 128, 1.0),
    ]


def test_gpu_without_a_nominal_bandwidth_compares_membw_with_the_streams(on_gpu, monkeypatch):
    import hashbench.energy.nvml as nvml

    monkeypatch.setattr(nvml, "nominal_memory_bandwidth", lambda name: None)
    run = on_gpu.run(ProbeSettings(device="cuda:0", probes=("membw",)))
    assert run.results[0].roofline_fraction == 1.0 and "no nominal peak" in run.results[0].roofline_basis


def test_settings_override_every_default(fakes):
    run = fakes.run(ProbeSettings(device="cpu", presets=("cpu-tiny", "cpu-small"), batch=3, prompt_len=20, gen_len=5,
                                  seconds=0.5, threads=1, dtype="bf16", cuda_graphs=False))
    assert fakes.threads_set == [1]
    assert fakes.probe_calls() == [
        ("gemm", "bf16", 128, 0.5, 0.05, 0),
        ("membw", 5 << 20, 0.5, 0.05),
        ("load", "cpu-tiny", None, "bf16", 3, 20, 5, None),
        ("prefill", "cpu-tiny", 3, 20, 0.5),
        ("decode", "cpu-tiny", 3, 20, 5, 0.5, False),
        ("load", "cpu-small", None, "bf16", 3, 20, 5, None),
        ("prefill", "cpu-small", 3, 20, 0.5),
        ("decode", "cpu-small", 3, 20, 5, 0.5, False),
    ]
    # fp32 is this fake CPU's only native precision: every bf16 figure says it measures torch's emulation
    for r in run.results:
        flagged = [f for f in r.flags if f == ("cpu has no native bf16 instructions: torch computes bf16 through "
                                               "fp32 there, so its bf16 figures measure that emulation, not the "
                                               "hardware")]
        assert len(flagged) == (r.dtype == "bf16"), (r.probe, r.flags)


def test_no_energy_plan_means_energy_metering_off(fakes, monkeypatch):
    monkeypatch.setattr(runner, "run_gemm", lambda device, dtype, n, seconds, energy, block_s: fake_result(
        "gemm", device, "p", dtype))
    run = run_probes(ProbeSettings(device="cpu", probes=("gemm",)))
    assert run.energy_source.startswith("energy metering off") and len(run.results) == 1


# --- which probes, and the roofs they need ---------------------------------------------------------------------------


@pytest.mark.parametrize("probes, dtype, native, expected", [
    # gemm alone: every native precision, or the one asked for
    (("gemm",), None, ["fp32", "bf16"], [("gemm", "fp32"), ("gemm", "bf16")]),
    (("gemm",), "bf16", ["fp32", "bf16"], [("gemm", "bf16")]),
    # membw alone: no GEMM, no model
    (("membw",), None, ["fp32"], [("membw",)]),
    # prefill needs a GEMM roof in its precision; decode a bandwidth one
    (("llm-prefill",), None, ["fp32"], [("gemm", "fp32"), ("load",), ("prefill",)]),
    (("llm-decode",), None, ["fp32"], [("membw",), ("load",), ("decode",)]),
    # the roof in prefill's precision is added to the native ones, once
    (("gemm", "llm-prefill"), "bf16", ["fp32"], [("gemm", "bf16"), ("load",), ("prefill",)]),
    (("llm-prefill", "gemm"), None, ["fp32", "bf16"], [("gemm", "fp32"), ("gemm", "bf16"), ("load",), ("prefill",)]),
])
def test_the_probes_asked_for_and_their_roofs(fakes, probes, dtype, native, expected):
    fakes.native = native
    fakes.run(ProbeSettings(device="cpu", probes=probes, dtype=dtype))
    assert [c[:2] if c[0] == "gemm" else c[:1] for c in fakes.probe_calls()] == expected


def test_one_model_load_serves_prefill_and_decode_and_none_without_llm_probes(fakes):
    fakes.run(ProbeSettings(device="cpu", presets=("cpu-tiny",), probes=("llm-decode", "llm-prefill")))
    assert [c[0] for c in fakes.probe_calls()] == ["gemm", "membw", "load", "prefill", "decode"]
    fakes.calls.clear()
    fakes.run(ProbeSettings(device="cpu", presets=("cpu-tiny",), probes=("gemm", "membw")))
    assert [c[0] for c in fakes.probe_calls()] == ["gemm", "membw"]


def test_lazy_model_loads_once():
    loads = []
    lazy = runner._LazyModel(lambda: loads.append(1) or f"model {len(loads)}")
    assert lazy.get() == "model 1" and lazy.get() == "model 1" and loads == [1]


# --- a probe that cannot run, or fails -------------------------------------------------------------------------------


def test_a_skipped_probe_is_recorded_with_its_reason_and_the_rest_run(fakes):
    events: list = []
    fakes.fail["load cpu-tiny"] = ProbeSkipped("cpu-tiny does not fit")
    run = fakes.run(ProbeSettings(device="cpu", presets=("cpu-tiny", "cpu-small"), probes=("llm-decode",)), events)
    assert run.skipped == [Skipped("llm-decode", "cpu-tiny", "cpu-tiny does not fit")] and not run.failed
    assert ("skip", "llm-decode cpu-tiny", "cpu-tiny does not fit") in events
    assert [(r.probe, r.preset) for r in run.results] == [("membw", "5 MiB"), ("llm-decode", "cpu-small")]
    assert not any(e == "done" and label == "llm-decode cpu-tiny" for e, label, _ in events)


def test_out_of_device_memory_is_a_skip_with_the_first_line(on_gpu):
    events: list = []
    on_gpu.fail["llm-decode"] = torch.cuda.OutOfMemoryError("CUDA out of memory. Tried to allocate 2 GiB\nmore text")
    run = on_gpu.run(ProbeSettings(device="cuda:0", presets=("llama-1b",), probes=("llm-decode",)), events)
    reason = "out of device memory: CUDA out of memory. Tried to allocate 2 GiB"
    assert run.skipped == [Skipped("llm-decode", "llama-1b", reason)] and not run.failed
    assert ("skip", "llm-decode llama-1b", reason) in events
    assert on_gpu.empty_cache == 3  # after the OOM, after membw, after the shape


@pytest.mark.parametrize("exc, reason", [
    (RuntimeError("  CUDA error: illegal memory access\nmore  "), "CUDA error: illegal memory access"),
    (RuntimeError(""), "RuntimeError"),
    (RuntimeError("   \n "), "RuntimeError"),
    (NotImplementedError(), "NotImplementedError"),
])
def test_a_runtime_error_is_a_failure_named_on_one_line(fakes, exc, reason):
    events: list = []
    fakes.fail["membw"] = exc
    run = fakes.run(ProbeSettings(device="cpu", probes=("gemm", "membw"), dtype="fp32"), events)
    assert run.failed == [Skipped("membw", "5 MiB", reason)] and not run.skipped
    assert ("fail", "membw 5 MiB", reason) in events
    assert [r.probe for r in run.results] == ["gemm"]


def test_a_cuda_error_while_freeing_after_a_failure_is_left_to_the_next_probe(on_gpu, monkeypatch):
    def broken_empty_cache():
        raise RuntimeError("CUDA error: the context is unusable")

    on_gpu.fail["gemm"] = RuntimeError("CUDA error: illegal memory access")
    monkeypatch.setattr(torch.cuda, "empty_cache", broken_empty_cache)
    run = on_gpu.run(ProbeSettings(device="cuda:0", probes=("gemm",), dtype="fp32"))
    assert run.failed == [Skipped("gemm", "128x128x128", "CUDA error: illegal memory access")] and not run.results
    # nor do the frees between probes (after the GEMMs, the bandwidth buffer, a shape) end the run
    on_gpu.fail["membw"] = RuntimeError("CUDA error: an unusable context")
    run = on_gpu.run(ProbeSettings(device="cuda:0", presets=("llama-1b",), probes=("gemm", "llm-decode"),
                                   dtype="fp32"))
    assert [f.probe for f in run.failed] == ["gemm", "membw"] and [r.probe for r in run.results] == ["llm-decode"]


# --- refusals before any probe runs ----------------------------------------------------------------------------------


def test_a_named_preset_that_does_not_fit_is_refused_before_idle_power_is_measured(fakes, monkeypatch):
    monkeypatch.setattr(Device, "free_memory", lambda self: 1 << 30)
    with pytest.raises(InputError, match=r"^llama-70b in fp32 at batch 1, 64\+16 tokens needs .* GB free on cpu$"):
        fakes.run(ProbeSettings(device="cpu", presets=("llama-70b",)))
    assert fakes.calls == []


def test_a_default_shape_that_does_not_fit_is_skipped_at_its_turn(fakes, monkeypatch):
    monkeypatch.setattr(runner, "CPU_DEFAULTS", replace(runner.CPU_DEFAULTS, presets=("cpu-tiny", "llama-70b")))
    monkeypatch.setattr(Device, "free_memory", lambda self: 1 << 30)
    fakes.run(ProbeSettings(device="cpu", probes=("llm-decode",)))
    assert [c[:2] for c in fakes.probe_calls() if c[0] == "load"] == [("load", "cpu-tiny"), ("load", "llama-70b")]


@pytest.mark.parametrize("sizes", [{"batch": 1}, {"prompt_len": 64}, {"gen_len": 16},
                                   {"batch": 1, "prompt_len": 64, "gen_len": 16}])
def test_sizes_the_user_set_that_no_default_shape_fits_are_refused(fakes, monkeypatch, sizes):
    monkeypatch.setattr(runner, "CPU_DEFAULTS", replace(runner.CPU_DEFAULTS, presets=("llama-8b", "llama-70b")))
    monkeypatch.setattr(Device, "free_memory", lambda self: 1 << 30)
    with pytest.raises(InputError, match=r"^llama-8b in fp32"):
        fakes.run(ProbeSettings(device="cpu", probes=("llm-decode",), **sizes))
    assert fakes.calls == []


def test_default_shapes_none_of_which_fits_are_each_skipped_when_the_user_set_no_size(fakes, monkeypatch):
    """`hashbench run` passes no sizes: on a machine too small for every default shape the other probes still run."""
    monkeypatch.setattr(runner, "CPU_DEFAULTS", replace(runner.CPU_DEFAULTS, presets=("llama-8b", "llama-70b")))
    monkeypatch.setattr(Device, "free_memory", lambda self: 1 << 30)
    fakes.run(ProbeSettings(device="cpu", probes=("gemm", "llm-decode")))
    assert [c[:2] for c in fakes.probe_calls()] == [("gemm", "fp32"), ("membw", 5 << 20), ("load", "llama-8b"),
                                                    ("decode", "llama-8b"), ("load", "llama-70b"),
                                                    ("decode", "llama-70b")]


def test_sizes_the_user_set_that_one_default_shape_fits_run_it(fakes, monkeypatch):
    monkeypatch.setattr(runner, "CPU_DEFAULTS", replace(runner.CPU_DEFAULTS, presets=("cpu-tiny", "llama-70b")))
    monkeypatch.setattr(Device, "free_memory", lambda self: 1 << 30)
    fakes.run(ProbeSettings(device="cpu", probes=("llm-decode",), batch=1))
    assert [c[:2] for c in fakes.probe_calls() if c[0] == "load"] == [("load", "cpu-tiny"), ("load", "llama-70b")]


def test_the_context_limit_counts_prompt_and_generated_tokens(fakes):
    limit = PRESETS["cpu-tiny"].max_positions
    fakes.run(ProbeSettings(device="cpu", presets=("cpu-tiny",), probes=("llm-decode",), prompt_len=limit - 8,
                            gen_len=8))
    assert ("load", "cpu-tiny", None, "fp32", 1, limit - 8, 8, None) in fakes.calls
    fakes.calls.clear()
    with pytest.raises(InputError) as info:
        fakes.run(ProbeSettings(device="cpu", presets=("cpu-tiny",), probes=("llm-decode",), prompt_len=limit - 8,
                                gen_len=9))
    assert str(info.value) == (f"cpu-tiny: {limit - 8} prompt + 9 generated tokens = {limit + 1} positions, beyond "
                               f"its {limit}-position context (--prompt-len, --gen-len)")
    assert fakes.calls == []


def test_no_llm_probe_means_no_model_check(fakes, monkeypatch):
    monkeypatch.setattr(Device, "free_memory", lambda self: 1 << 30)
    fakes.run(ProbeSettings(device="cpu", presets=("llama-70b",), probes=("gemm", "membw"), prompt_len=10**6))
    assert [c[0] for c in fakes.probe_calls()] == ["gemm", "membw"]


def test_a_precision_torch_lacks_is_refused_after_the_refusals_and_before_any_probe(fakes, monkeypatch):
    monkeypatch.setattr(Device, "runs_dtype", lambda self, name: name != "fp16")
    with pytest.raises(InputError) as info:
        fakes.run(ProbeSettings(device="cpu", dtype="fp16"))
    assert str(info.value) == f"--dtype fp16: torch {torch.__version__} has no fp16 kernels on cpu"
    assert fakes.calls == [("prepare", "cpu")]
    fakes.calls.clear()
    fakes.run(ProbeSettings(device="cpu", dtype="bf16", probes=("gemm",)))  # emulated, but torch runs it
    assert [c[:2] for c in fakes.probe_calls()] == [("gemm", "bf16")]


def test_a_native_precision_is_not_checked_for_kernels(fakes, monkeypatch):
    def runs_dtype(self, name):
        raise AssertionError(f"checked {name}")

    monkeypatch.setattr(Device, "runs_dtype", runs_dtype)
    fakes.native = ["fp32", "bf16"]
    fakes.run(ProbeSettings(device="cpu", dtype="bf16", probes=("gemm",)))
    assert [c[:2] for c in fakes.probe_calls()] == [("gemm", "bf16")]


# --- a local checkpoint ----------------------------------------------------------------------------------------------


@pytest.fixture
def checkpoint(tmp_path, monkeypatch):
    """A directory check_local_model accepts as the cpu-tiny shape (no weights are read: load_model is a fake)."""
    import hashbench.probes.hf_local as hf_local

    directory = tmp_path / "my-model"
    directory.mkdir()
    checked = []
    monkeypatch.setattr(hf_local, "check_local_model", lambda d: checked.append(Path(d)) or (PRESETS["cpu-tiny"], {}))
    return directory, checked


def test_a_checkpoint_runs_in_its_dtype_and_its_note_comes_first(fakes, monkeypatch, checkpoint):
    directory, checked = checkpoint
    asked = []

    def choice(device, requested, path):
        asked.append((device.name, requested, path))
        return DtypeChoice("bf16", "the checkpoint's own", "converting, say")

    monkeypatch.setattr(runner, "checkpoint_run_dtype", choice)
    events: list = []
    run = fakes.run(ProbeSettings(device="cpu", model_dir=directory, probes=("llm-decode",), dtype="fp16"), events)
    assert asked == [("cpu", "fp16", directory)] and checked == [directory, directory]
    assert events[0] == ("note", "hf:my-model", "converting, say")
    assert fakes.probe_calls()[1:] == [("load", "checkpoint", directory, "bf16", 1, 64, 16, "the checkpoint's own"),
                                       ("decode", "checkpoint", 1, 64, 16, 1.0, True)]
    assert run.results[-1].preset == "checkpoint" and ("start", "llm-decode hf:my-model", None) in events


def test_a_checkpoint_choice_without_a_note_says_nothing(fakes, monkeypatch, checkpoint):
    directory, _ = checkpoint
    monkeypatch.setattr(runner, "checkpoint_run_dtype", lambda device, requested, path: DtypeChoice("fp32", "own"))
    events: list = []
    fakes.run(ProbeSettings(device="cpu", model_dir=directory, probes=("llm-prefill",)), events)
    assert not [e for e in events if e[0] == "note"]
    assert ("load", "checkpoint", directory, "fp32", 1, 64, 16, "own") in fakes.calls


def test_a_checkpoint_dtype_the_device_lacks_is_flagged_as_emulated_without_a_dtype_flag(fakes, monkeypatch,
                                                                                           checkpoint):
    """gemm + prefill of a bf16 checkpoint on an fp32-only CPU: bf16 joins the GEMM list as prefill's roof, and must
    not thereby count as native (the list was once the device's own list, appended to)."""
    directory, _ = checkpoint
    monkeypatch.setattr(runner, "checkpoint_run_dtype", lambda device, requested, path: DtypeChoice("bf16", "own"))
    monkeypatch.setattr(Device, "runs_dtype", lambda self, name: True)
    native = ["fp32"]
    monkeypatch.setattr(Device, "native_dtypes", lambda self: native)  # the same list each call, as a cached one is
    run = fakes.run(ProbeSettings(device="cpu", model_dir=directory, probes=("gemm", "llm-prefill")))
    assert native == ["fp32"]
    emulated = {(r.probe, r.dtype) for r in run.results if any("no native bf16 instructions" in f for f in r.flags)}
    assert emulated == {("gemm", "bf16"), ("llm-prefill", "bf16")}


def test_a_checkpoint_without_llm_probes_is_not_asked_its_dtype(fakes, monkeypatch, checkpoint):
    directory, _ = checkpoint

    def choice(*args):
        raise AssertionError("asked")

    monkeypatch.setattr(runner, "checkpoint_run_dtype", choice)
    fakes.run(ProbeSettings(device="cpu", model_dir=directory, probes=("gemm",)))
    assert [c[0] for c in fakes.probe_calls()] == ["gemm"]


def test_a_checkpoint_that_does_not_fit_is_refused_though_the_user_set_no_size(fakes, monkeypatch, checkpoint):
    directory, _ = checkpoint
    monkeypatch.setattr(runner, "checkpoint_run_dtype", lambda device, requested, path: DtypeChoice("fp32", "own"))
    monkeypatch.setattr(Device, "free_memory", lambda self: 1 << 20)
    with pytest.raises(InputError, match=r"^cpu-tiny in fp32 at batch 1"):
        fakes.run(ProbeSettings(device="cpu", model_dir=directory, probes=("llm-decode",)))
    assert fakes.calls == []


# --- ProbeSettings.validate ------------------------------------------------------------------------------------------


@pytest.mark.parametrize("flag, field", [("--batch", "batch"), ("--prompt-len", "prompt_len"),
                                         ("--gen-len", "gen_len"), ("--threads", "threads")])
def test_sizes_at_and_past_their_bounds(flag, field, monkeypatch):
    monkeypatch.setattr(runner.os, "cpu_count", lambda: MAX_SIZE)
    ProbeSettings(**{field: 1}).validate()
    ProbeSettings(**{field: MAX_SIZE}).validate()
    for value, message in [(0, f"{flag} must be >= 1, got 0"), (-5, f"{flag} must be >= 1, got -5"),
                           (MAX_SIZE + 1, f"{flag} must be at most 2,147,483,647, got 2,147,483,648"),
                           (10**30 - 1, f"{flag} must be at most 2,147,483,647, got {10**30 - 1:,}"),
                           (10**30, f"{flag} must be at most 2,147,483,647, got a 31-digit number")]:
        with pytest.raises(InputError) as info:
            ProbeSettings(**{field: value}).validate()
        assert str(info.value) == message


def test_threads_beyond_the_logical_cpus(monkeypatch):
    monkeypatch.setattr(runner.os, "cpu_count", lambda: 4)
    ProbeSettings(threads=4).validate()
    with pytest.raises(InputError) as info:
        ProbeSettings(threads=5).validate()
    assert str(info.value) == "--threads must be at most the 4 logical CPUs here, got 5"
    monkeypatch.setattr(runner.os, "cpu_count", lambda: None)  # unknown: one
    ProbeSettings(threads=1).validate()
    with pytest.raises(InputError, match="at most the 1 logical CPUs here, got 2"):
        ProbeSettings(threads=2).validate()


@pytest.mark.parametrize("seconds", [0.0, -0.0, -1.0, math.inf, math.nan])
def test_seconds_must_be_positive_and_finite(seconds):
    with pytest.raises(InputError) as info:
        ProbeSettings(seconds=seconds).validate()
    assert str(info.value) == f"--seconds must be > 0 and finite, got {seconds}"


def test_seconds_that_are_fine():
    for seconds in (1e-9, 1.0, 1e300):
        ProbeSettings(seconds=seconds).validate()


def test_unknown_names_are_refused_with_the_choices():
    with pytest.raises(InputError) as info:
        ProbeSettings(probes=("gemm", "nope", "other")).validate()
    assert str(info.value) == "unknown probe 'nope' (probes: gemm, membw, llm-prefill, llm-decode)"
    with pytest.raises(InputError) as info:
        ProbeSettings(presets=("cpu-tiny", "llama-9b")).validate()
    assert str(info.value) == f"unknown preset 'llama-9b' (presets: {', '.join(PRESETS)})"
    with pytest.raises(InputError) as info:
        ProbeSettings(dtype="int8").validate()
    assert str(info.value) == "--dtype must be one of fp32, bf16, fp16, got 'int8'"
    ProbeSettings(probes=runner.PROBES, presets=tuple(PRESETS), dtype="fp16").validate()


def test_a_model_dir_must_be_a_directory_and_a_checkpoint(tmp_path, checkpoint):
    directory, checked = checkpoint
    ProbeSettings(model_dir=directory).validate()
    assert checked == [directory]
    missing = tmp_path / "missing"
    with pytest.raises(InputError) as info:
        ProbeSettings(model_dir=missing).validate()
    assert str(info.value) == f"--model-dir {missing}: not a directory"


# --- the records -----------------------------------------------------------------------------------------------------


def test_the_run_record_as_json(fakes):
    fakes.fail["llm-decode"] = RuntimeError("boom")
    fakes.fail["llm-prefill"] = ProbeSkipped("too big")
    run = fakes.run(ProbeSettings(device="cpu", presets=("cpu-tiny",), probes=("llm-prefill", "llm-decode"),
                                  threads=1))
    j = run.to_json()
    assert {k: v for k, v in j.items() if k != "results"} == {
        "device": "cpu", "device_model": "model of cpu", "torch": torch.__version__, "threads": run.threads,
        "energy_source": "fake meter on cpu",
        "skipped": [{"probe": "llm-prefill", "preset": "cpu-tiny", "reason": "too big"}],
        "failed": [{"probe": "llm-decode", "preset": "cpu-tiny", "reason": "boom"}]}
    assert j["results"] == [r.to_json() for r in run.results] and [r["probe"] for r in j["results"]] == [
        "gemm", "membw"]


def test_a_preset_and_a_model_dir_are_refused_together(fakes, checkpoint):
    """The checkpoint ran instead of the named presets, which were silently dropped (no result, no skip, no word)."""
    directory, checked = checkpoint
    with pytest.raises(InputError) as info:
        fakes.run(ProbeSettings(device="cpu", presets=("cpu-tiny",), model_dir=directory, probes=("llm-decode",)))
    assert str(info.value) == (f"--preset cpu-tiny and --model-dir {directory}: one model or the other (a checkpoint "
                               "runs instead of the presets' random weights)")
    assert fakes.calls == [] and checked == []
