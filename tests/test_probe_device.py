"""The probes' device layer on the CPU: dtype names, what /proc/cpuinfo and /proc/meminfo and sysfs say about the
machine, which precisions it computes natively, whether torch can run the decoder in one, device names, and the
timing helpers (on a fake clock: what they count, not how fast anything is). The CUDA branches need a GPU and are
exercised by the tests marked `gpu` in test_probes.py and test_decode_graphs.py."""

from __future__ import annotations

import builtins
import os

import pytest

torch = pytest.importorskip("torch", reason="the AI probes need torch (pip install 'hashbench[ai]')")

from hashbench.errors import InputError  # noqa: E402
from hashbench.probes import device as dev  # noqa: E402
from hashbench.probes.device import (  # noqa: E402
    Device,
    available_devices,
    calibrate,
    cpu_available_memory,
    cpu_last_level_cache,
    element_bytes,
    repeat,
    resolve_device,
    timed,
    torch_dtype,
)

CPU = Device("cpu", torch.device("cpu"))


def redirect(monkeypatch, real: str, fake) -> None:
    """Make the device module's open() read `fake` where it asks for `real` (a /proc file)."""
    def fake_open(path, *args, **kwargs):
        return builtins.open(fake if path == real else path, *args, **kwargs)
    monkeypatch.setattr(dev, "open", fake_open, raising=False)


# --- dtypes -----------------------------------------------------------------------------------------------------------

def test_dtype_names_map_to_torch_dtypes_and_element_sizes():
    assert [torch_dtype(n) for n in ("fp32", "bf16", "fp16")] == [torch.float32, torch.bfloat16, torch.float16]
    assert [element_bytes(n) for n in ("fp32", "bf16", "fp16")] == [4, 2, 2]
    for name in ("fp32", "bf16", "fp16"):
        assert torch.empty((), dtype=torch_dtype(name)).element_size() == element_bytes(name)


def test_an_unknown_dtype_name_is_one_line():
    with pytest.raises(InputError) as raised:
        torch_dtype("fp64")
    assert str(raised.value) == "--dtype must be one of fp32, bf16, fp16, got 'fp64'"


# --- /proc/cpuinfo flags and the native precisions --------------------------------------------------------------------

@pytest.mark.parametrize("text, flags", [
    # x86: the first "flags" line
    ("processor\t: 0\nmodel name\t: X\nflags\t\t: fpu avx2 avx512_bf16\nbugs\t: none\n"
     "processor\t: 1\nflags\t\t: other\n", {"fpu", "avx2", "avx512_bf16"}),
    # Arm: "Features"
    ("processor\t: 0\nFeatures\t: fp asimd asimdhp bf16\nCPU implementer\t: 0x41\n",
     {"fp", "asimd", "asimdhp", "bf16"}),
    ("processor\t: 0\nmodel name\t: no flags here\n", set()),
])
def test_cpu_flags_come_from_proc_cpuinfo(monkeypatch, tmp_path, text, flags):
    (tmp_path / "cpuinfo").write_text(text)
    redirect(monkeypatch, "/proc/cpuinfo", tmp_path / "cpuinfo")
    assert dev._cpu_flags() == flags


def test_cpu_flags_without_proc_cpuinfo_are_none(monkeypatch, tmp_path):
    redirect(monkeypatch, "/proc/cpuinfo", tmp_path / "missing")
    assert dev._cpu_flags() == set()


@pytest.mark.parametrize("flags, native", [
    (set(), ["fp32"]),
    ({"avx2", "fma"}, ["fp32"]),
    ({"avx512_bf16"}, ["fp32", "bf16"]),
    ({"amx_bf16"}, ["fp32", "bf16"]),
    ({"bf16", "asimd"}, ["fp32", "bf16"]),  # Arm
    ({"avx512_fp16"}, ["fp32", "fp16"]),
    ({"amx_fp16"}, ["fp32", "fp16"]),
    ({"fphp"}, ["fp32", "fp16"]),
    ({"asimdhp"}, ["fp32", "fp16"]),
    ({"avx512_bf16", "amx_bf16", "amx_fp16", "avx512_fp16"}, ["fp32", "bf16", "fp16"]),
])
def test_native_cpu_dtypes_follow_the_flags(monkeypatch, flags, native):
    monkeypatch.setattr(dev, "_cpu_flags", lambda: set(flags))
    assert CPU.native_dtypes() == native
    assert CPU.default_llm_dtype() == "fp32"  # random weights on a CPU run in fp32 whatever it has


def test_torch_runs_the_decoder_in_every_dtype_here_and_a_missing_kernel_says_no(monkeypatch):
    assert [CPU.runs_dtype(n) for n in ("fp32", "bf16", "fp16")] == [True, True, True]
    F = torch.nn.functional
    real = F.scaled_dot_product_attention
    for error in (RuntimeError('"baddbmm_cpu" not implemented for \'Half\''), NotImplementedError("no kernel")):
        def sdpa(q, *args, _error=error, **kwargs):
            if q.dtype == torch.float16:
                raise _error
            return real(q, *args, **kwargs)
        monkeypatch.setattr(F, "scaled_dot_product_attention", sdpa)
        assert [CPU.runs_dtype(n) for n in ("fp32", "bf16", "fp16")] == [True, True, False]


def test_a_missing_rms_norm_kernel_says_no_too(monkeypatch):
    F = torch.nn.functional
    real = F.rms_norm

    def rms_norm(x, *args, **kwargs):
        if x.dtype == torch.bfloat16:
            raise RuntimeError("no bf16 rms_norm")
        return real(x, *args, **kwargs)
    monkeypatch.setattr(F, "rms_norm", rms_norm)
    assert [CPU.runs_dtype(n) for n in ("fp32", "bf16", "fp16")] == [True, False, True]


# --- memory and caches ------------------------------------------------------------------------------------------------

def test_available_memory_is_memavailable_from_proc_meminfo(monkeypatch, tmp_path):
    (tmp_path / "meminfo").write_text("MemTotal:       16000000 kB\nMemFree:         1000 kB\n"
                                      "MemAvailable:    1234567 kB\nBuffers:  1 kB\n")
    redirect(monkeypatch, "/proc/meminfo", tmp_path / "meminfo")
    assert cpu_available_memory() == 1234567 * 1024
    assert CPU.free_memory() == 1234567 * 1024


@pytest.mark.parametrize("text", ["MemTotal: 16 kB\n", "MemAvailable: lots kB\n", "MemAvailable:\n", None])
def test_without_a_readable_memavailable_the_free_pages_count(monkeypatch, tmp_path, text):
    if text is not None:
        (tmp_path / "meminfo").write_text(text)
    redirect(monkeypatch, "/proc/meminfo", tmp_path / "meminfo")
    pages = {"SC_AVPHYS_PAGES": 1000, "SC_PAGE_SIZE": 4096}
    monkeypatch.setattr(dev.os, "sysconf", lambda name: pages[name])
    assert cpu_available_memory() == 1000 * 4096


def test_this_machine_reports_its_memory_and_cache():
    if os.path.exists("/proc/meminfo"):
        assert 0 < cpu_available_memory() <= os.sysconf("SC_PHYS_PAGES") * os.sysconf("SC_PAGE_SIZE")
    assert CPU.last_level_cache() == cpu_last_level_cache()


@pytest.mark.parametrize("text, size", [("32768K", 32 << 20), ("1024K\n", 1 << 20), ("2M", 2 << 20), ("1G", 1 << 30),
                                        ("512", 512), ("  48 K", 48 << 10), ("", 0), ("big", 0)])
def test_cache_sizes_as_sysfs_writes_them(text, size):
    assert dev._size(text) == size


def cache_entry(root, cpu: int, index: int, **files: str) -> None:
    d = root / f"cpu{cpu}" / "cache" / f"index{index}"
    d.mkdir(parents=True)
    for name, text in files.items():
        (d / name).write_text(text + "\n")


def test_last_level_cache_is_the_highest_level_and_skips_what_it_cannot_read(tmp_path):
    # Two cores with a private L2 each, no L3: the L2s, summed.
    for cpu in range(2):
        cache_entry(tmp_path, cpu, 0, level="1", type="Data", size="48K", shared_cpu_list=str(cpu))
        cache_entry(tmp_path, cpu, 2, level="2", type="Unified", size="2048K", shared_cpu_list=str(cpu))
    assert cpu_last_level_cache(tmp_path) == 4 << 20
    # An instruction cache at a higher level is no data cache; an entry missing a file or with a level that is not
    # a number is passed over; the same shared list counts once.
    cache_entry(tmp_path, 0, 3, level="3", type="Instruction", size="64M", shared_cpu_list="0-1")
    cache_entry(tmp_path, 0, 4, level="4", type="Unified", size="64M")
    cache_entry(tmp_path, 0, 5, level="four", type="Unified", size="64M", shared_cpu_list="0-1")
    assert cpu_last_level_cache(tmp_path) == 4 << 20
    cache_entry(tmp_path, 0, 6, level="3", type="Unified", size="8M", shared_cpu_list="0-1")
    cache_entry(tmp_path, 1, 6, level="3", type="Unified", size="8M", shared_cpu_list="0-1")
    assert cpu_last_level_cache(tmp_path) == 8 << 20


def test_last_level_cache_without_shared_lists_counts_each_cpus_own(tmp_path):
    """An empty shared_cpu_list: each CPU's entry is its own instance (told apart by the CPU's directory)."""
    for cpu in range(3):
        cache_entry(tmp_path, cpu, 3, level="3", type="Unified", size="4M", shared_cpu_list="")
    assert cpu_last_level_cache(tmp_path) == 12 << 20


def test_last_level_cache_of_size_zero_is_unknown(tmp_path):
    cache_entry(tmp_path, 0, 3, level="3", type="Unified", size="unknown", shared_cpu_list="0")
    cache_entry(tmp_path, 0, 2, level="2", type="Unified", size="1M", shared_cpu_list="0")
    assert cpu_last_level_cache(tmp_path) is None


# --- device names -----------------------------------------------------------------------------------------------------

@pytest.mark.parametrize("name", ["cpu", " CPU ", "Cpu"])
def test_cpu_resolves_however_it_is_spelled(name):
    d = resolve_device(name)
    assert d == CPU and not d.is_cuda and d.torch_device == torch.device("cpu")


@pytest.mark.parametrize("name", ["gpu", "cuda:", "cuda:x", "cuda0", "cpu:0", "cuda:1:2", ""])
def test_a_device_name_that_is_neither_is_one_line(name):
    with pytest.raises(InputError) as raised:
        resolve_device(name)
    assert str(raised.value) == f"--device must be cpu or cuda:N, got {name.strip().lower()!r}"


@pytest.mark.skipif(torch.cuda.is_available(), reason="this machine has a GPU")
@pytest.mark.parametrize("name", ["cuda", "cuda:0", "CUDA:3"])
def test_without_a_gpu_cuda_names_say_so_and_the_default_is_the_cpu(name):
    with pytest.raises(InputError) as raised:
        resolve_device(name)
    assert str(raised.value) == f"--device {name.lower()}: torch sees no CUDA GPU (torch {torch.__version__})"
    assert resolve_device(None) == CPU
    assert available_devices() == ["cpu"]


def test_a_device_is_cuda_by_its_name():
    assert Device("cuda:1", None).is_cuda and Device("cuda", None).is_cuda and not CPU.is_cuda


def test_the_cpu_model_name_is_the_hosts(monkeypatch):
    from hashbench import host

    monkeypatch.setattr(host, "_cpuinfo", lambda: ("Some CPU @ 3 GHz", [], ""))
    assert CPU.model_name() == "Some CPU @ 3 GHz"


# --- timing, on a fake clock ------------------------------------------------------------------------------------------

class Clock:
    """perf_counter for the device module: time moves only when a fake workload says so."""

    def __init__(self) -> None:
        self.now = 100.0
        self.calls = 0

    def __call__(self) -> float:
        return self.now

    def work(self, seconds: float):
        def fn() -> None:
            self.calls += 1
            self.now += seconds
        return fn


@pytest.fixture
def clock(monkeypatch) -> Clock:
    c = Clock()
    monkeypatch.setattr(dev.time, "perf_counter", c)
    return c


def test_timed_is_one_call_between_two_clock_reads(clock):
    assert timed(clock.work(0.25), CPU) == 0.25 and clock.calls == 1


def test_repeat_makes_count_calls_and_keeps_no_result():
    calls = []
    run = repeat(lambda: calls.append(1) or [0] * 10, 5)
    assert run() is None and len(calls) == 5
    assert repeat(lambda: calls.append(1), 0)() is None and len(calls) == 5


def test_calibrate_scales_the_count_to_the_target_with_ten_percent_to_spare(clock):
    # 1/64 s a call: one call is short; 64 · 1.1 = 70.4, so 70 calls (1.09 s) make the block.
    assert calibrate(clock.work(1 / 64), CPU, 1.0) == 70
    assert clock.calls == 1 + 70


def test_calibrate_at_least_doubles_and_stops_once_the_target_is_reached(clock):
    # 0.6 s a call: 1 / 0.6 · 1.1 = 1.8 rounds down to 1, so the count doubles to 2 (1.2 s).
    assert calibrate(clock.work(0.6), CPU, 1.0) == 2
    # Exactly the target counts as reached: 0.5 s, then 2 calls make 1.0 s.
    clock.calls = 0
    assert calibrate(clock.work(0.5), CPU, 1.0) == 2 and clock.calls == 3
    # One call already long enough.
    clock.calls = 0
    assert calibrate(clock.work(2.0), CPU, 1.0) == 1 and clock.calls == 1


def test_calibrate_stops_at_the_cap(clock):
    # A call that takes no measurable time would ask for an unbounded count: the cap holds it.
    assert calibrate(clock.work(0.0), CPU, 1.0, cap=1000) == 1000
    assert clock.calls == 1  # the capped count is returned without being timed
    clock.calls = 0
    assert calibrate(clock.work(1e-6), CPU, 1.0) == 1 << 16  # the default cap
    # Below the cap the estimate is kept: 1/1024 s a call, 1024 · 1.1 = 1126.4, so 1126 calls.
    assert calibrate(clock.work(1 / 1024), CPU, 1.0, cap=5000) == 1126


def test_runs_dtype_tries_decodes_masked_attention_and_prefills_causal_one(monkeypatch):
    """Decode attends with an additive mask in the model's dtype over the keys, prefill with is_causal: a torch
    lacking either kernel in a precision cannot run the decoder in it."""
    F = torch.nn.functional
    real = F.scaled_dot_product_attention
    calls = []

    def sdpa(q, k, v, attn_mask=None, is_causal=False, **kwargs):
        calls.append((q.dtype, None if attn_mask is None else (attn_mask.dtype, attn_mask.dim()), is_causal))
        return real(q, k, v, attn_mask=attn_mask, is_causal=is_causal, **kwargs)
    monkeypatch.setattr(F, "scaled_dot_product_attention", sdpa)
    assert CPU.runs_dtype("bf16")
    assert calls == [(torch.bfloat16, (torch.bfloat16, 4), False), (torch.bfloat16, None, True)]

    def no_masked_fp16(q, k, v, attn_mask=None, is_causal=False, **kwargs):
        if q.dtype == torch.float16 and attn_mask is not None:
            raise RuntimeError("no masked fp16 attention")
        return real(q, k, v, attn_mask=attn_mask, is_causal=is_causal, **kwargs)
    monkeypatch.setattr(F, "scaled_dot_product_attention", no_masked_fp16)
    assert [CPU.runs_dtype(n) for n in ("fp32", "bf16", "fp16")] == [True, True, False]

    def no_causal_bf16(q, k, v, attn_mask=None, is_causal=False, **kwargs):
        if q.dtype == torch.bfloat16 and is_causal:
            raise NotImplementedError("no causal bf16 attention")
        return real(q, k, v, attn_mask=attn_mask, is_causal=is_causal, **kwargs)
    monkeypatch.setattr(F, "scaled_dot_product_attention", no_causal_bf16)
    assert [CPU.runs_dtype(n) for n in ("fp32", "bf16", "fp16")] == [True, False, True]


def test_cpu_flags_survive_bytes_that_are_not_utf8(monkeypatch, tmp_path):
    (tmp_path / "cpuinfo").write_bytes(b"model name\t: \xff\xfe odd vendor string\nflags\t\t: fpu avx512_bf16\n")
    redirect(monkeypatch, "/proc/cpuinfo", tmp_path / "cpuinfo")
    assert dev._cpu_flags() == {"fpu", "avx512_bf16"}


def test_without_torch_the_probes_say_how_to_get_it(monkeypatch):
    import sys

    from hashbench.probes.device import ProbeUnavailable, require_torch

    monkeypatch.setitem(sys.modules, "torch", None)  # import torch raises ImportError
    with pytest.raises(ProbeUnavailable) as raised:
        require_torch()
    assert str(raised.value) == "the AI probes need torch: pip install 'hashbench[ai]'"
    assert raised.value.exit_code == 2 and raised.value.__suppress_context__  # no ImportError traceback above it
