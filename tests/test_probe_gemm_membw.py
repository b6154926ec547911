"""The GEMM and memory-bandwidth probes on a fake clock: what each timed block ran and how often, in which order the
two paths alternate, the rates, work and seconds that come out of given block times, the correctness check of
hashbench's GEMM path against torch.matmul at each precision's tolerance, and the default problem sizes. The real
clock is tested in test_probes.py; here every figure is known in advance, so each can be asserted exactly."""

from __future__ import annotations

import json
from types import SimpleNamespace

import pytest

torch = pytest.importorskip("torch", reason="the AI probes need torch (pip install 'hashbench[ai]')")

from hashbench.energy import EnergyConfig, EnergyPlan  # noqa: E402
from hashbench.probes import gemm, membw  # noqa: E402
from hashbench.probes.device import Device, cpu_last_level_cache  # noqa: E402
from hashbench.probes.gemm import gemm_size, run_gemm, tf32_matmul  # noqa: E402
from hashbench.probes.membw import buffer_bytes, run_membw  # noqa: E402

CPU = Device("cpu", torch.device("cpu"))
MiB, GiB = 1 << 20, 1 << 30
# A block time that is an exact binary fraction, so sums of block times (the seconds a run reports) compare exactly.
FAST = 0.25


def declared_plan() -> EnergyPlan:
    return EnergyPlan(EnergyConfig(mode="declared", watts=100.0, idle_watts=10.0))


def spy(monkeypatch, owner, name: str, counts: dict, seen: dict):
    """Wrap owner.name so each call is counted and its arguments kept (the last call's)."""
    real = getattr(owner, name)

    def wrapper(*args, **kwargs):
        counts[name] += 1
        seen[name] = (args, kwargs)
        return real(*args, **kwargs)

    monkeypatch.setattr(owner, name, wrapper)


def fake_clock(monkeypatch, module, counts: dict, block_seconds: dict) -> list:
    """Replace the module's timer: each timed block runs for real, the calls it made are counted to tell which path
    it was, and the block 'takes' that path's fixed time. Returns the (path, calls) of every block, in order."""
    blocks: list[tuple[str, int]] = []

    def timed(fn, device):
        assert len(blocks) < 40, "the timing loop ran away"
        before = dict(counts)
        fn()
        [(name, calls)] = [(k, counts[k] - before[k]) for k in counts if counts[k] != before[k]]
        blocks.append((name, calls))
        return block_seconds[name]

    monkeypatch.setattr(module, "timed", timed)
    return blocks


# --- GEMM -------------------------------------------------------------------------------------------------------------


def test_gemm_default_sizes():
    """The size names the row in the history ("8192x8192x8192"): runs are compared by it, so it must not drift. A GPU
    needs a larger cube than a CPU to be compute-bound rather than launch-bound."""
    gpu = Device("cuda:0", None)
    assert [gemm_size(CPU, True), gemm_size(CPU, False), gemm_size(gpu, True), gemm_size(gpu, False)] == [
        512, 1024, 4096, 8192]


@pytest.fixture
def gemm_calls(monkeypatch):
    counts, seen = {"mm": 0, "matmul": 0}, {}
    spy(monkeypatch, torch, "mm", counts, seen)
    spy(monkeypatch, torch, "matmul", counts, seen)
    return counts, seen


@pytest.mark.parametrize("seconds, pairs", [(0.0, 3), (4.0, 4)])
def test_gemm_blocks_alternate_and_the_rates_are_flop_over_time(monkeypatch, gemm_calls, seconds, pairs):
    """n = 64, 2 calls a block: 2·64³·2 FLOP a block. Blocks of the two paths alternate ABBA so each sees the same
    drift. At least 3 pairs; past that, pairs until the timed seconds reach the budget (1 s a pair: 4 s is reached
    exactly after 4 pairs, and no fifth is started). A reference block takes 0.75 s, so its rate is not a whole
    number of FLOP a second and no rounding of it goes unseen."""
    counts, _ = gemm_calls
    monkeypatch.setattr(gemm, "calibrate", lambda fn, device, target_s: 2)
    blocks = fake_clock(monkeypatch, gemm, counts, {"mm": FAST, "matmul": 0.75})
    r = run_gemm(CPU, "fp32", 64, seconds, declared_plan(), 0.001)
    abba = [("mm", 2), ("matmul", 2), ("matmul", 2), ("mm", 2)]
    assert blocks == (abba * 2)[:2 * pairs]
    flop = 2 * 64 ** 3 * 2
    assert r.samples == [flop / FAST] * pairs and r.reference_samples == [flop / 0.75] * pairs
    assert r.reference_ratio == pytest.approx(3.0)
    assert r.work == flop * 2 * pairs / 1e12 and r.per == "TFLOP" and r.unit == "FLOP/s"
    assert r.seconds == pairs * (FAST + 0.75)
    assert (r.probe, r.device, r.preset, r.dtype, r.batch) == ("gemm", "cpu", "64x64x64", "fp32", None)
    # The labels a user reads in the table and the JSON.
    assert r.impl == "mm-out (x·Wᵀ into a preallocated buffer)" and r.reference_impl == "torch.matmul"
    assert r.detail == {"m": 64, "n": 64, "k": 64, "calls_per_block": 2, "max_relative_error": r.detail[
        "max_relative_error"], "energy_scope": "hashbench path and torch.matmul blocks, alternating",
        "allow_tf32": None}  # a CPU has no TF32 to report
    assert 0.0 <= r.detail["max_relative_error"] < 1e-5
    json.dumps(r.to_json())  # every figure is a plain number: the result file is JSON


def test_gemm_paths_compute_the_same_product_from_seeded_inputs_near_unit_scale(gemm_calls):
    """hashbench's path is x·Wᵀ with W stored [out, in] and passed as a transposed view (no copy of the weight), into
    one preallocated buffer; the reference gets the same weight materialised [in, out]. The inputs come from their
    own seeded generator, so two runs measure the same numbers whatever the global RNG did. Weights are scaled by
    1/√n so each output, a sum of n products of unit normals, has a standard deviation near 1."""
    counts, seen = gemm_calls
    runs = []
    for global_seed in (1, 2):
        torch.manual_seed(global_seed)
        run_gemm(CPU, "fp32", 64, 0.0, declared_plan(), 0.001)
        (a, wt), out = seen["mm"][0], seen["mm"][1]["out"]
        (a_ref, b), _ = seen["matmul"]
        assert not wt.is_contiguous() and wt.t().is_contiguous()
        assert b.is_contiguous() and torch.equal(b, wt) and torch.equal(a_ref, a)
        assert torch.allclose(out, a_ref @ b, rtol=1e-4, atol=1e-5)
        runs.append((a.clone(), wt.clone(), out.clone()))
    assert all(torch.equal(x, y) for x, y in zip(*runs, strict=True))
    assert 0.85 < runs[0][2].std().item() < 1.15


@pytest.mark.parametrize("dtype, torch_type", [("fp32", torch.float32), ("bf16", torch.bfloat16),
                                               ("fp16", torch.float16)])
def test_gemm_multiplies_in_the_precision_it_is_labelled_with(monkeypatch, gemm_calls, dtype, torch_type):
    """A 'gemm bf16' row must time bf16 operands on both paths: within tolerance, an fp32 product would pass the
    agreement check and be reported as bf16 (mutation testing: dropping the dtype conversion passed every test)."""
    _, seen = gemm_calls
    monkeypatch.setattr(gemm, "calibrate", lambda fn, device, target_s: 1)
    run_gemm(CPU, dtype, 64, 0.0, declared_plan(), 0.001)
    (a, wt), kw = seen["mm"]
    (a_ref, b), _ = seen["matmul"]
    assert {t.dtype for t in (a, wt, kw["out"], a_ref, b)} == {torch_type}


TOLERANCE = {"fp32": 1e-3, "bf16": 5e-2, "fp16": 1e-2}


def off_by(monkeypatch, relative: float) -> None:
    """hashbench's path made wrong by a known relative error: its output scaled by 1 + relative."""
    real = torch.mm

    def mm(a, b, *, out):
        real(a, b, out=out)
        out.mul_(1 + relative)

    monkeypatch.setattr(torch, "mm", mm)


@pytest.mark.parametrize("dtype", ["fp32", "bf16", "fp16"])
def test_gemm_within_the_precisions_tolerance_is_measured_and_reports_its_error(monkeypatch, dtype):
    """Three quarters of the tolerance: accepted, and the error reported is that relative error (the precision's
    rounding of the scaled output moves it by well under a quarter of the tolerance)."""
    relative = 0.75 * TOLERANCE[dtype]
    off_by(monkeypatch, relative)
    monkeypatch.setattr(gemm, "calibrate", lambda fn, device, target_s: 1)
    r = run_gemm(CPU, dtype, 64, 0.0, declared_plan(), 0.001)
    assert r.detail["max_relative_error"] == pytest.approx(relative, rel=0.2)
    assert r.dtype == dtype and len(r.samples) == 3


@pytest.mark.parametrize("dtype", ["fp32", "bf16", "fp16"])
def test_gemm_beyond_the_precisions_tolerance_is_refused(monkeypatch, dtype):
    """One and a half times the tolerance: the ratio to torch.matmul would compare different products, so no figure."""
    off_by(monkeypatch, 1.5 * TOLERANCE[dtype])
    with pytest.raises(RuntimeError, match=rf"^gemm {dtype}: hashbench's path differs from torch\.matmul \(relative "
                                           r"error 0\.0\d+\)$"):
        run_gemm(CPU, dtype, 64, 0.0, declared_plan(), 0.001)


def test_gemm_refusal_message_gives_the_error_to_two_figures(monkeypatch):
    off_by(monkeypatch, 2e-3)
    with pytest.raises(RuntimeError) as caught:
        run_gemm(CPU, "fp32", 64, 0.0, declared_plan(), 0.001)
    assert str(caught.value) == "gemm fp32: hashbench's path differs from torch.matmul (relative error 0.002)"


def fake_torch(matmul) -> SimpleNamespace:
    return SimpleNamespace(backends=SimpleNamespace(cuda=SimpleNamespace(matmul=matmul)))


class NewAndLegacy:
    """torch ≥ 2.9 after TF32 was set through the new API: reading the legacy flag raises."""

    def __init__(self, precision: str):
        self.fp32_precision = precision

    @property
    def allow_tf32(self) -> bool:
        raise RuntimeError("mix of the legacy and new APIs")


def test_tf32_label_reads_the_new_setting_or_before_torch_2_9_the_legacy_flag():
    assert tf32_matmul(fake_torch(NewAndLegacy("tf32"))) is True
    assert tf32_matmul(fake_torch(NewAndLegacy("ieee"))) is False
    # torch before 2.9 has no fp32_precision: the legacy flag is the answer.
    assert tf32_matmul(fake_torch(SimpleNamespace(allow_tf32=True))) is True
    assert tf32_matmul(fake_torch(SimpleNamespace(allow_tf32=False))) is False


# --- memory bandwidth -------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("quick, cache, cuda, free, expected", [
    # CPU: 4× the last-level cache (2× with --quick), at least 64 MiB; an unknown cache counts as 50 MiB.
    (True, None, False, 1 << 40, 100 * MiB),
    (False, None, False, 1 << 40, 200 * MiB),
    (True, 100 * MiB, False, 1 << 40, 200 * MiB),
    (False, 100 * MiB, False, 1 << 40, 400 * MiB),
    (True, 8 * MiB, False, 1 << 40, 64 * MiB),
    (False, 8 * MiB, False, 1 << 40, 64 * MiB),
    # GPU: twice that (8×, 4× quick), at least 1 GiB.
    (True, 50 * MiB, True, 1 << 40, GiB),
    (False, 50 * MiB, True, 1 << 40, GiB),
    (True, None, True, 1 << 40, GiB),
    (True, 300 * MiB, True, 1 << 40, 1200 * MiB),
    (False, 300 * MiB, True, 1 << 40, 2400 * MiB),
    # Two buffers are never more than a quarter of what is free, rounded down to whole 4 KiB pages.
    (False, 100 * MiB, False, 8 * (300 * MiB + 1000), 300 * MiB),
    (False, 300 * MiB, True, 8 * GiB, GiB),
])
def test_buffer_bytes_by_hand(monkeypatch, quick, cache, cuda, free, expected):
    monkeypatch.setattr(Device, "last_level_cache", lambda self: cache)
    monkeypatch.setattr(Device, "free_memory", lambda self: free)
    nbytes = buffer_bytes(Device("cuda:0" if cuda else "cpu", None), quick)
    assert nbytes == expected and 2 * nbytes <= free // 4


@pytest.fixture
def stream_calls(monkeypatch):
    counts, seen = {"copy_": 0, "sum": 0}, {}
    spy(monkeypatch, torch.Tensor, "copy_", counts, seen)
    spy(monkeypatch, torch.Tensor, "sum", counts, seen)
    return counts, seen


def fake_calibrate(counts: dict, per_block: dict, before: list):
    """Calibration on the fake clock: copy blocks of 3, sum blocks of 5. Records what had run before it started."""
    def calibrate(fn, device, target_s):
        before.append(dict(counts))
        start = dict(counts)
        fn()
        [name] = [k for k in counts if counts[k] != start[k]]
        return per_block[name]
    return calibrate


# 4.75 MiB: a buffer is named by its nearest whole MiB.
NBYTES = 5 * MiB - 64 * 4096


@pytest.mark.parametrize("seconds, pairs", [(0.0, 3), (4.0, 4)])
def test_membw_blocks_alternate_and_count_read_plus_write(monkeypatch, stream_calls, seconds, pairs):
    """A copy block of 3 copies moves 2 × NBYTES × 3 (read + write); a sum block of 5 sums reads NBYTES × 5. The
    streams alternate ABBA, at least 3 pairs, then until the timed seconds reach the budget (1 s a pair: 4 s is
    reached exactly after 4 pairs). A sum block takes 0.75 s, so its rate is not a whole number of bytes a second
    and no rounding of it goes unseen."""
    counts, seen = stream_calls
    before: list[dict] = []
    monkeypatch.setattr(membw, "calibrate", fake_calibrate(counts, {"copy_": 3, "sum": 5}, before))
    blocks = fake_clock(monkeypatch, membw, counts, {"copy_": FAST, "sum": 0.75})
    r = run_membw(CPU, NBYTES, seconds, declared_plan(), 0.001)
    # Each stream ran once before it was calibrated: first-touch page faults are not timed.
    assert before[0]["copy_"] >= 1 and before[0]["sum"] >= 1
    abba = [("copy_", 3), ("sum", 5), ("sum", 5), ("copy_", 3)]
    assert blocks == (abba * 2)[:2 * pairs]
    assert r.samples == [2 * NBYTES * 3 / FAST] * pairs and r.reference_samples == [NBYTES * 5 / 0.75] * pairs
    assert r.work == pairs * (2 * NBYTES * 3 + NBYTES * 5) / 1e9 and r.per == "GB" and r.unit == "B/s"
    assert r.seconds == pairs * (FAST + 0.75)
    assert (r.probe, r.device, r.preset, r.dtype, r.batch) == ("membw", "cpu", "5 MiB", None, None)
    assert r.impl == "tensor.copy_" and r.reference_impl == "tensor.sum (read only)"
    assert r.detail == {
        "buffer_bytes": NBYTES,
        "bytes_counted": "copy: read + write (2 × buffer per copy); read-only reference: 1 × buffer per sum",
        "copies_per_block": 3, "sums_per_block": 5, "last_level_cache_bytes": cpu_last_level_cache(),
        "energy_scope": "copy and read-only blocks, alternating"}
    # What was copied and summed is the whole NBYTES buffer.
    (dst, src), _ = seen["copy_"]
    (summed,), _ = seen["sum"]
    assert dst.nbytes == src.nbytes == summed.nbytes == NBYTES and summed is src and dst is not src


def test_membw_reads_written_numbers_not_recycled_memory(monkeypatch, stream_calls):
    """torch.empty may hand back recycled memory (the CUDA caching allocator does, after the GEMM ran): here it comes
    back full of subnormals. The source must be written before it is read, or the read-only stream sums whatever was
    there, and on x86 each subnormal add takes a microcode assist, many times slower than a normal one."""
    _, seen = stream_calls
    real_empty = torch.empty
    subnormal = torch.finfo(torch.float32).tiny / 4
    monkeypatch.setattr(torch, "empty", lambda *args, **kwargs: real_empty(*args, **kwargs).fill_(subnormal))
    run_membw(CPU, NBYTES, 0.0, declared_plan(), 0.001)
    (summed,), _ = seen["sum"]
    assert torch.isfinite(summed).all() and ((summed == 0) | (summed.abs() >= torch.finfo(torch.float32).tiny)).all()


def test_membw_buffers_are_on_the_probes_device_and_sized_in_bytes(stream_calls):
    """The meta device stands in for a device other than torch's default (the CPU): the buffers must be made there.
    Their size is NBYTES whatever torch's default dtype is, or the copy would move more bytes than it counts."""
    _, seen = stream_calls
    default = torch.get_default_dtype()
    torch.set_default_dtype(torch.float64)
    try:
        r = run_membw(Device("cpu", torch.device("meta")), NBYTES, 0.0, declared_plan(), 0.001)
    finally:
        torch.set_default_dtype(default)
    (dst, src), _ = seen["copy_"]
    (summed,), _ = seen["sum"]
    assert {t.device.type for t in (dst, src, summed)} == {"meta"}
    assert dst.nbytes == src.nbytes == NBYTES and len(r.samples) == 3
