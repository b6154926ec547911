"""Roofline fractions and the basis text a user reads, from hand-computed figures. No torch needed: apply_rooflines
works on finished ProbeResults, so these run wherever the test suite does (tests/test_probes.py has the measured
end-to-end case)."""

from __future__ import annotations

import pytest

from hashbench.energy import EnergyReading
from hashbench.probes.result import ProbeResult
from hashbench.probes.roofline import apply_rooflines, best_gemm

G = 1e9


def result(probe: str, value: float, device: str = "cpu", dtype: str | None = "fp32", preset: str = "4096",
           **kw) -> ProbeResult:
    reading = EnergyReading("none", "none", "", 1.0, None)
    return ProbeResult(probe=probe, device=device, preset=preset, dtype=dtype, batch=1, unit="x", samples=[value],
                       work=1.0, per="x", seconds=1.0, energy=reading, **kw)


def gemm(value: float, ref: float | None = None, **kw) -> ProbeResult:
    return result("gemm", value, impl="own", reference_samples=[] if ref is None else [ref],
                  reference_impl="torch.matmul", **kw)


def prefill(flop_per_s: float, **kw) -> ProbeResult:
    return result("llm-prefill", 1.0, detail={"flop_per_s": flop_per_s}, **kw)


def decode(bytes_per_step: float, bytes_per_s: float, ms: float, **kw) -> ProbeResult:
    return result("llm-decode", 1.0, ms_per_token=ms, detail={"bytes_per_step": bytes_per_step,
                                                              "bytes_per_s": bytes_per_s}, **kw)


def membw(copy: float, read_only: float | None = None, **kw) -> ProbeResult:
    return result("membw", copy, dtype=None, reference_samples=[] if read_only is None else [read_only], **kw)


# --- compute roofs -------------------------------------------------------------------------------------------------


def test_gemm_and_prefill_are_measured_against_the_best_gemm_in_their_precision():
    g = gemm(80 * G, 100 * G)
    p = prefill(50 * G)
    apply_rooflines([g, p])
    assert g.roofline_fraction == 0.8  # 80 ÷ 100: torch.matmul was the faster path, so it is the roof
    assert g.roofline_basis == "80.00 GFLOP/s ÷ best fp32 GEMM measured on cpu: 100.00 GFLOP/s (torch.matmul 4096)"
    assert p.roofline_fraction == 0.5
    assert p.roofline_basis == "50.00 GFLOP/s ÷ best fp32 GEMM measured on cpu: 100.00 GFLOP/s (torch.matmul 4096)"


def test_a_gemm_without_torch_matmul_beside_it_is_its_own_roof():
    g = gemm(80 * G)
    apply_rooflines([g])
    assert g.roofline_fraction == 1.0
    assert g.roofline_basis == "80.00 GFLOP/s ÷ best fp32 GEMM measured on cpu: 80.00 GFLOP/s (own 4096)"


def test_the_best_of_several_gemms_is_the_roof_and_a_tie_keeps_the_first():
    assert best_gemm([gemm(90 * G, preset="2048"), gemm(120 * G, 110 * G), gemm(100 * G, preset="8192")]) == {
        ("cpu", "fp32"): (120 * G, "own 4096")}
    # own path and torch.matmul equally fast: the roof is credited to the path measured first, hashbench's own
    assert best_gemm([gemm(100 * G, 100 * G)]) == {("cpu", "fp32"): (100 * G, "own 4096")}
    # other probes are passed over, wherever they sit in the list
    assert best_gemm([membw(1e12), prefill(1e12), gemm(100 * G)]) == {("cpu", "fp32"): (100 * G, "own 4096")}


def test_prefill_uses_the_gemm_of_its_own_precision_even_when_another_is_faster():
    p = prefill(50 * G)
    apply_rooflines([gemm(100 * G), gemm(400 * G, dtype="fp16"), p])
    assert p.roofline_fraction == 0.5  # 50 ÷ the fp32 100, not the fp16 400
    assert p.roofline_basis == "50.00 GFLOP/s ÷ best fp32 GEMM measured on cpu: 100.00 GFLOP/s (own 4096)"


def test_without_a_gemm_in_its_precision_prefill_uses_the_best_gemm_of_its_device_and_says_which():
    # fp32 100 and fp16 400 GFLOP/s on the CPU; a far faster bf16 GEMM on another device is no roof for the CPU
    results = [gemm(100 * G), gemm(400 * G, dtype="fp16"), gemm(1000e12, dtype="bf16", device="cuda:0"),
               prefill(50 * G, dtype="bf16")]
    apply_rooflines(results)
    p = results[-1]
    assert p.roofline_fraction == 0.125  # 50 ÷ 400
    assert p.roofline_basis == "50.00 GFLOP/s ÷ best fp16 GEMM measured on cpu: 400.00 GFLOP/s (own 4096)"


def test_prefill_with_no_gemm_on_its_device_has_no_roof_and_says_so():
    # a bandwidth figure is not a FLOP/s roof, and neither is another device's GEMM
    p, d = prefill(50 * G), decode(100e6, 10 * G, 10.0)
    apply_rooflines([membw(1e15), gemm(100 * G, device="cuda:0"), p, d])
    assert p.roofline_fraction is None
    assert p.roofline_basis == "no GEMM measured on cpu"
    assert d.roofline_fraction == 1e-5  # the results after it still get their roofs: 10 GB/s of 1 PB/s


# --- bandwidth roofs -----------------------------------------------------------------------------------------------


def test_decode_against_the_better_measured_stream():
    # 100 MB a step at the read-only stream's 20 GB/s: 5 ms at best; 10 GB/s moved is half the roof
    m, d = membw(16 * G, 20 * G), decode(100e6, 10 * G, 10.0)
    apply_rooflines([m, d])
    assert d.roofline_fraction == 0.5
    assert d.roofline_basis == ("(weights + KV cache read) 100.0 MB per step ÷ measured read-only 20.00 GB/s "
                                "= 5.000 ms ideal vs 10.000 ms measured")
    assert m.roofline_fraction == 0.8
    assert m.roofline_basis == ("copy ÷ the best stream measured here (read-only 20.00 GB/s); no nominal peak known "
                                "for this device")


def test_a_copy_faster_than_the_read_only_stream_is_the_roof():
    m, d = membw(25 * G, 20 * G), decode(100e6, 10 * G, 10.0)
    apply_rooflines([m, d])
    assert m.roofline_fraction == 1.0 and "(copy 25.00 GB/s)" in m.roofline_basis
    assert d.roofline_fraction == 0.4  # 10 ÷ 25
    assert "÷ measured copy 25.00 GB/s = 4.000 ms ideal vs 10.000 ms measured" in d.roofline_basis


def test_a_70b_class_decode_on_an_h200():
    # 140 GB of bf16 weights a step at 4.8 TB/s: 29.167 ms at best; 3.6 TB/s moved is 38.889 ms, 75 % of the roof
    m, d = membw(4.2e12, 4.8e12, device="cuda:0"), decode(140e9, 3.6e12, 140e9 / 3.6e12 * 1e3, device="cuda:0")
    apply_rooflines([m, d])
    assert d.roofline_fraction == 0.75
    assert d.roofline_basis == ("(weights + KV cache read) 140000.0 MB per step ÷ measured read-only 4.80 TB/s "
                                "= 29.167 ms ideal vs 38.889 ms measured")


def test_a_copy_as_fast_as_the_read_only_stream_is_named_the_roof():
    m = membw(20 * G, 20 * G)
    apply_rooflines([m])
    assert m.roofline_fraction == 1.0 and "(copy 20.00 GB/s)" in m.roofline_basis


def test_a_copy_measured_alone_is_its_own_roof():
    m = membw(16 * G)
    apply_rooflines([m])
    assert m.roofline_fraction == 1.0 and "(copy 16.00 GB/s)" in m.roofline_basis


def test_a_nominal_peak_is_the_copy_roof_but_decode_keeps_the_measured_stream():
    m, d = membw(16 * G, 20 * G), decode(100e6, 10 * G, 10.0)
    apply_rooflines([m, d], {"cpu": (32 * G, "NVML nominal peak 32.00 GB/s")})
    assert m.roofline_fraction == 0.5 and m.roofline_basis == "NVML nominal peak 32.00 GB/s"
    assert d.roofline_fraction == 0.5 and "measured read-only 20.00 GB/s" in d.roofline_basis
    # a nominal peak for another device changes nothing here
    m = membw(16 * G, 20 * G)
    apply_rooflines([m], {"cuda:0": (4800 * G, "NVML nominal peak 4.80 TB/s")})
    assert m.roofline_fraction == 0.8 and "no nominal peak" in m.roofline_basis


def test_decode_with_bandwidth_measured_only_on_another_device_has_no_roof():
    d, p = decode(100e6, 10 * G, 10.0, device="cuda:0"), prefill(50 * G)
    apply_rooflines([membw(16 * G, 20 * G), d, gemm(100 * G), p])
    assert d.roofline_fraction is None
    assert d.roofline_basis == "no memory bandwidth measured on cuda:0"
    assert p.roofline_fraction == 0.5  # the results after it still get their roofs


def test_a_probe_outside_the_four_is_left_alone():
    other = result("hash", 5.0)
    apply_rooflines([gemm(100 * G), other])
    assert other.roofline_fraction is None and other.roofline_basis == ""


@pytest.mark.parametrize("bw, text", [(4.8e12, "4.80 TB/s"), (999.999 * G, "1.00 TB/s"), (950 * G, "950.00 GB/s")])
def test_roofline_basis_reads_bandwidth_with_the_shared_si_prefixes(bw, text):
    m = membw(bw)
    apply_rooflines([m])
    assert f"(copy {text})" in m.roofline_basis


def test_a_prefill_above_its_compute_roof_says_the_roof_measured_low():
    """A prefill at 215 % of the best GEMM was blamed on the last-level cache, which raises no FLOP/s roof: the GEMM
    that set the roof ran below the device (CPUs shared while it ran). A prefill at or under its roof says nothing."""
    fast, at_roof = prefill(75 * G), prefill(35 * G)
    apply_rooflines([gemm(30 * G, 35 * G), fast, at_roof])
    assert fast.roofline_fraction == pytest.approx(75 / 35) and at_roof.roofline_fraction == pytest.approx(1.0)
    assert fast.flags == ["above its roof (214%): the best fp32 GEMM measured here (35.00 GFLOP/s) ran below what "
                          "this prefill reached, so that GEMM measured less than the device does (CPUs shared while "
                          "it ran?): the fraction says little"]
    assert at_roof.flags == []
