"""AI probes on CPU: the Llama block against a naive reference, the static KV cache, FLOP/byte accounting, a local
checkpoint directory, GEMM beside torch.matmul, bandwidth, roofline fractions, the whole set and the command line.
GPU-only checks are marked `gpu`."""

from __future__ import annotations

import json
import math
import statistics
from dataclasses import replace

import pytest

torch = pytest.importorskip("torch", reason="the AI probes need torch (pip install 'hashbench[ai]')")

from hashbench.energy import EnergyConfig, EnergyPlan, EnergyReading  # noqa: E402
from hashbench.probes import ProbeSettings, run_probes  # noqa: E402
from hashbench.probes import runner as runner_module  # noqa: E402
from hashbench.probes.device import Device, cpu_last_level_cache, resolve_device  # noqa: E402
from hashbench.probes.gemm import run_gemm  # noqa: E402
from hashbench.probes.hf_local import load_local_model, read_safetensors, write_safetensors  # noqa: E402
from hashbench.probes.llama import (  # noqa: E402
    PRESETS,
    DynamicNtkRope,
    KVCache,
    LinearRope,
    LlamaModel,
    LlamaShape,
    RopeScaling,
    YarnRope,
    inverse_frequencies,
    random_weights,
    yarn_mscale,
)
from hashbench.probes.llm import ProbeSkipped, load_model  # noqa: E402
from hashbench.probes.membw import run_membw  # noqa: E402
from hashbench.probes.result import ProbeResult  # noqa: E402
from hashbench.probes.roofline import apply_rooflines  # noqa: E402

SMALL = LlamaShape("test-small", hidden=64, intermediate=96, layers=2, heads=4, kv_heads=2, vocab=97,
                   rope_theta=10000.0)
CPU = Device("cpu", torch.device("cpu"))


@pytest.fixture(autouse=True, scope="module")
def one_thread():
    """Two shared cores on CI: one torch thread keeps these tests from fighting each other's OpenMP spin-waits."""
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


def declared_plan(watts: float = 100.0) -> EnergyPlan:
    return EnergyPlan(EnergyConfig(mode="declared", watts=watts, idle_watts=10.0))


# --- the model -------------------------------------------------------------------------------------------------------


def naive_logits(shape: LlamaShape, w, tokens):
    """Llama written the long way, in float64: rotation by angle pairs, explicit causal softmax, K/V heads repeated
    for their query groups. Independent of LlamaModel's fused, cached path."""
    f64 = lambda t: t.double()  # noqa: E731
    batch, length = tokens.shape
    hd, groups = shape.hd, shape.heads // shape.kv_heads

    def norm(v, g):
        return v / torch.sqrt((v * v).mean(-1, keepdim=True) + shape.rms_eps) * f64(g)

    inv = 1.0 / shape.rope_theta ** (torch.arange(0, hd, 2, dtype=torch.float64) / hd)
    angle = torch.arange(length, dtype=torch.float64)[:, None] * inv[None, :]
    cos, sin = angle.cos()[None, :, None, :], angle.sin()[None, :, None, :]

    def rope(v):
        a, b = v[..., : hd // 2], v[..., hd // 2:]
        return torch.cat((a * cos - b * sin, b * cos + a * sin), dim=-1)

    x = f64(w.embed)[tokens]
    causal = torch.ones(length, length, dtype=torch.bool).tril()
    for layer in w.layers:
        wq, wk, wv = f64(layer.wqkv).split((shape.q_dim, shape.kv_dim, shape.kv_dim))
        h = norm(x, layer.attn_norm)
        q = rope((h @ wq.T).view(batch, length, shape.heads, hd))
        k = rope((h @ wk.T).view(batch, length, shape.kv_heads, hd)).repeat_interleave(groups, dim=2)
        v = (h @ wv.T).view(batch, length, shape.kv_heads, hd).repeat_interleave(groups, dim=2)
        scores = torch.einsum("bthd,bshd->bhts", q, k) / math.sqrt(hd)
        p = scores.masked_fill(~causal, float("-inf")).softmax(-1)
        x = x + torch.einsum("bhts,bshd->bthd", p, v).reshape(batch, length, -1) @ f64(layer.wo).T
        gate, up = (norm(x, layer.mlp_norm) @ f64(layer.w_gate_up).T).chunk(2, dim=-1)
        x = x + (torch.nn.functional.silu(gate) * up) @ f64(layer.w_down).T
    return norm(x[:, -1], w.norm) @ f64(w.lm_head).T


def tokens_for(shape: LlamaShape, batch: int, length: int, seed: int = 3):
    return torch.randint(0, shape.vocab, (batch, length), generator=torch.Generator().manual_seed(seed))


def scramble_norms(w, seed: int = 4) -> None:
    """Random weights have every RMSNorm gain 1, so a norm that dropped its gain would go unseen: make them differ."""
    gen = torch.Generator().manual_seed(seed)
    for gain in [w.norm] + [g for layer in w.layers for g in (layer.attn_norm, layer.mlp_norm)]:
        gain.uniform_(0.5, 1.5, generator=gen)


# rms_eps 0.5: large enough that the norm's epsilon (not torch's default for the dtype) shows in the logits.
@pytest.mark.parametrize("shape", [SMALL, replace(SMALL, rms_eps=0.5)], ids=["eps-1e-5", "eps-0.5"])
def test_llama_block_matches_a_naive_reference(shape):
    w = random_weights(shape, "cpu", torch.float32, seed=5)
    scramble_norms(w)
    model = LlamaModel(shape, w, "cpu", torch.float32, max_len=16)
    tokens = tokens_for(shape, 2, 11)
    got = model.forward(tokens, 0, KVCache(shape, 2, 16, "cpu", torch.float32))
    want = naive_logits(shape, w, tokens)
    assert got.shape == (2, shape.vocab)
    torch.testing.assert_close(got.double(), want, rtol=1e-4, atol=1e-4)


def test_static_kv_cache_decode_matches_full_prefill():
    w = random_weights(SMALL, "cpu", torch.float32, seed=6)
    model = LlamaModel(SMALL, w, "cpu", torch.float32, max_len=12)
    tokens = tokens_for(SMALL, 3, 12)
    cache = KVCache(SMALL, 3, 12, "cpu", torch.float32)
    pointer, size = cache.k.data_ptr(), cache.k.shape
    model.forward(tokens[:, :6], 0, cache)
    for pos in range(6, 9):  # decode one token at a time, teacher-forced
        step = model.forward(tokens[:, pos:pos + 1], pos, cache)
        full = model.forward(tokens[:, :pos + 1], 0, KVCache(SMALL, 3, 12, "cpu", torch.float32))
        torch.testing.assert_close(step, full, rtol=1e-4, atol=1e-5)
    # The smallest chunk (2 positions) right after the first: the masked path, not the causal one nor decode's.
    short = KVCache(SMALL, 3, 12, "cpu", torch.float32)
    model.forward(tokens[:, :1], 0, short)
    torch.testing.assert_close(model.forward(tokens[:, 1:3], 1, short),
                               model.forward(tokens[:, :3], 0, KVCache(SMALL, 3, 12, "cpu", torch.float32)),
                               rtol=1e-4, atol=1e-5)
    chunk = model.forward(tokens[:, 9:12], 9, cache)  # a multi-token chunk after cached positions (masked path)
    torch.testing.assert_close(chunk, model.forward(tokens, 0, KVCache(SMALL, 3, 12, "cpu", torch.float32)),
                               rtol=1e-4, atol=1e-5)
    assert cache.k.data_ptr() == pointer and cache.k.shape == size  # preallocated, never grown
    with pytest.raises(ValueError, match="beyond the KV cache"):
        model.forward(tokens[:, :1], 12, cache)


def test_llama3_rope_scaling_keeps_high_and_slows_low_frequencies():
    shape = replace(SMALL, head_dim=64, rope_theta=500000.0,
                    rope_scaling=RopeScaling(8.0, 1.0, 4.0, 8192))
    plain, scaled = inverse_frequencies(replace(shape, rope_scaling=None)), inverse_frequencies(shape)
    assert scaled[0] == plain[0]  # shortest wavelength: untouched
    assert scaled[-1] == pytest.approx(plain[-1] / 8.0)  # longest: divided by the factor
    assert torch.all(scaled <= plain)


def test_llama3_rope_scaling_by_hand():
    """head_dim 8 and base 16 give inverse frequencies 1, 1/2, 1/4, 1/8: wavelengths 2 pi, 4 pi, 8 pi, 16 pi (6.28,
    12.57, 25.13, 50.27). Original context 100, low_freq_factor 2, high_freq_factor 10: wavelengths under 100 / 10 = 10
    are kept, those over 100 / 2 = 50 divided by the factor (4), and between them the blend
    (1 - s) inv / 4 + s inv, s = (100 / wavelength - 2) / (10 - 2): s = 0.7447 for 4 pi, 0.2474 for 8 pi."""
    shape = replace(SMALL, head_dim=8, rope_theta=16.0, rope_scaling=RopeScaling(4.0, 2.0, 10.0, 100))
    s1, s2 = (100 / (4 * math.pi) - 2) / 8, (100 / (8 * math.pi) - 2) / 8
    assert (s1, s2) == (pytest.approx(0.74472, abs=1e-5), pytest.approx(0.24736, abs=1e-5))
    want = [1.0, 0.5 * ((1 - s1) / 4 + s1), 0.25 * ((1 - s2) / 4 + s2), 0.125 / 4]
    assert inverse_frequencies(shape).tolist() == pytest.approx(want, rel=1e-14)


def test_linear_rope_at_position_p_is_the_plain_rope_at_p_over_factor():
    """Position interpolation: a factor-2 model rotates position 2k exactly as the unscaled model rotates k."""
    plain = LlamaModel(SMALL, random_weights(SMALL, "cpu", torch.float32), "cpu", torch.float64, 16)
    linear = LlamaModel(replace(SMALL, rope_scaling=LinearRope(2.0)), plain.w, "cpu", torch.float64, 16)
    torch.testing.assert_close(linear.cos[0::2], plain.cos[:8], rtol=0, atol=0)
    torch.testing.assert_close(linear.sin[0::2], plain.sin[:8], rtol=0, atol=0)
    assert not torch.equal(linear.cos[1], plain.cos[1])


def test_yarn_rope_by_hand():
    """head_dim 16, base 10000, original context 64, factor 4, beta_fast 32, beta_slow 1. The dimension pair i turns
    64 / (2 pi 10000^(i/8)) times over the original context: 10.2 for i=0, 3.22 for i=1, 1.02 for i=2, 0.32 for i=3.
    The ramp's ends are where that is 32 (i = -0.99, floored and clamped to 0) and 1 (i = 2.016, ceiled to 3), so
    pairs 0, 1, 2 keep 1, 2/3, 1/3 of their frequency's extrapolated share and the rest is divided by 4:
    multipliers 1, 2/3 + 1/12 = 0.75, 1/3 + 1/6 = 0.5, then 0.25. cos and sin carry 0.1 ln 4 + 1."""
    shape = replace(SMALL, hidden=64, heads=4, kv_heads=2, rope_scaling=YarnRope(4.0, 64, 32.0, 1.0, 1.0 + 0.1 *
                                                                                   math.log(4.0)))
    plain = inverse_frequencies(replace(shape, rope_scaling=None))
    multipliers = torch.tensor([1.0, 0.75, 0.5, 0.25, 0.25, 0.25, 0.25, 0.25], dtype=torch.float64)
    torch.testing.assert_close(inverse_frequencies(shape), plain * multipliers, rtol=1e-15, atol=0)
    model = LlamaModel(shape, random_weights(shape, "cpu", torch.float32), "cpu", torch.float64, 4)
    assert model.cos[0].tolist() == [pytest.approx(1.1386294361119890)] * 16  # cos 0 = 1, times the temperature
    # sin carries the temperature too (multiplied, as cos): position 1's row is sin(inv) · (1 + 0.1 ln 4).
    torch.testing.assert_close(model.sin[1, :8], inverse_frequencies(shape).sin() * (1 + 0.1 * math.log(4.0)),
                               rtol=1e-15, atol=0)
    # without truncation the ends stay fractional: 0 (clamped) and 2.016, so pair 1 keeps 1 - 1/2.016
    loose = inverse_frequencies(replace(shape, rope_scaling=replace(shape.rope_scaling, truncate=False)))
    high = 16 * math.log(64 / (2 * math.pi)) / (2 * math.log(10000.0))
    assert loose[1].item() == pytest.approx(plain[1].item() * ((1 - 1 / high) + 1 / high / 4), rel=1e-12)


@pytest.mark.parametrize("rope, theta, multipliers", [
    # beta_fast 2: its end is at i = 16 ln(64 / 4 pi) / (2 ln 10000) = 1.414, floored to 1; beta_slow's at 3 as above.
    # The ramp (i - 1) / 2 is 0 for pairs 0 and 1 (pair 0's -1/2 clamped), 1/2 for pair 2: 1/2 + 1/8 = 0.625.
    (YarnRope(4.0, 64, beta_fast=2.0, beta_slow=1.0), 10000.0, [1.0, 1.0, 0.625] + [0.25] * 5),
    # Base 10, original context 1000: beta_fast 200's end is 16 ln(1000 / 400 pi) / (2 ln 10) = -0.79 (floored and
    # clamped to 0), beta_slow 1's is 17.6, ceiled to 18 and capped at head_dim - 1 = 15: the ramp is i / 15, so
    # pair i keeps (1 - i/15) + i/60 = 1 - i/20 of its frequency.
    (YarnRope(4.0, 1000, beta_fast=200.0, beta_slow=1.0), 10.0, [1 - i / 20 for i in range(8)]),
    # Both ends at 2.016 (untruncated): a ramp of no width is a step just past it, pairs 0..2 kept, the rest / 4.
    (YarnRope(4.0, 64, beta_fast=1.0, beta_slow=1.0, truncate=False), 10000.0, [1.0] * 3 + [0.25] * 5),
])
def test_yarn_ramp_ends_by_hand(rope, theta, multipliers):
    shape = replace(SMALL, rope_theta=theta, rope_scaling=rope)
    plain = inverse_frequencies(replace(shape, rope_scaling=None))
    assert (inverse_frequencies(shape) / plain).tolist() == pytest.approx(multipliers, rel=1e-14)


def test_yarn_attention_temperature():
    """The paper's sqrt(1/t) = 0.1 ln(s) + 1 (mscale scaling the 0.1), and 1 for a context not stretched."""
    assert yarn_mscale(math.e ** 2) == pytest.approx(1.2, rel=1e-15)
    assert yarn_mscale(math.e ** 2, 0.5) == pytest.approx(1.1, rel=1e-15)
    assert yarn_mscale(4.0) == pytest.approx(1.1386294361119890, rel=1e-15)
    assert yarn_mscale(2.0) == pytest.approx(1.0693147180559945, rel=1e-15)  # any stretch past 1: 1 + 0.1 ln 2
    assert yarn_mscale(1.0) == yarn_mscale(0.5) == yarn_mscale(0.5, 3.0) == 1.0


DYNAMIC = replace(SMALL, rope_scaling=DynamicNtkRope(2.0, 8))  # head_dim 16, base 10000, original context 8


def test_dynamic_ntk_base_by_hand():
    """transformers' formula: base · (factor · seq_len / original − (factor − 1)) ^ (d / (d − 2)), seq_len never
    below the original. A pass reaching 12 positions: 10000 · (2 · 12 / 8 − 1) ^ (16 / 14) = 10000 · 2^(8/7)
    = 22,081.79; at 8 or fewer the base stays 10000, the default RoPE."""
    plain = inverse_frequencies(SMALL)
    assert torch.equal(inverse_frequencies(DYNAMIC), plain) and torch.equal(inverse_frequencies(DYNAMIC, 5), plain)
    base = 10000 * 2 ** (8 / 7)
    assert base == pytest.approx(22081.79, abs=0.01)
    want = 1 / base ** (torch.arange(0, 16, 2, dtype=torch.float64) / 16)
    torch.testing.assert_close(inverse_frequencies(DYNAMIC, 12), want, rtol=1e-14, atol=0)
    # The table holds each position as one decode step writes it: row p with the base of p + 1 positions.
    model = LlamaModel(DYNAMIC, random_weights(SMALL, "cpu", torch.float32), "cpu", torch.float64, 16)
    torch.testing.assert_close(model.cos[11, :8], (11 * want).cos(), rtol=1e-14, atol=0)
    torch.testing.assert_close(model.cos[:8], LlamaModel(SMALL, model.w, "cpu", torch.float64, 16).cos[:8],
                               rtol=0, atol=1e-15)
    # head_dim 24, whose exponents 2i/24 are not binary fractions: the table is still float64 throughout.
    # Base at 12 positions: 10000 · 2^(24/22).
    wide = replace(DYNAMIC, hidden=96)
    want = 1 / (10000 * 2 ** (24 / 22)) ** (torch.arange(0, 24, 2, dtype=torch.float64) / 24)
    table = LlamaModel(wide, random_weights(wide, "cpu", torch.float32), "cpu", torch.float64, 16)
    torch.testing.assert_close(table.cos[11, :12], (11 * want).cos(), rtol=1e-13, atol=0)


def test_dynamic_ntk_within_the_original_context_is_the_default_rope():
    w = random_weights(SMALL, "cpu", torch.float32, seed=6)
    tokens = tokens_for(SMALL, 2, 8)
    logits = []
    for shape in (SMALL, DYNAMIC):
        model, cache = LlamaModel(shape, w, "cpu", torch.float32, 8), KVCache(shape, 2, 8, "cpu", torch.float32)
        logits.append([model.forward(tokens[:, :6], 0, cache)] + [model.forward(tokens[:, i:i + 1], i, cache)
                                                                  for i in (6, 7)])
    for plain, dynamic in zip(*logits, strict=True):
        torch.testing.assert_close(dynamic, plain, rtol=0, atol=0)


def test_dynamic_ntk_past_the_original_context_rotates_as_each_pass_reaches():
    """A prefill of 11 positions (original 8) rotates all of them with 11's base; the decode step at position 11
    then rotates its query and key with 12's while the cached keys keep 11's (they are cached rotated)."""
    w = random_weights(SMALL, "cpu", torch.float64, seed=7)
    tokens = tokens_for(SMALL, 2, 12)

    def fixed(seq_len: int) -> LlamaModel:  # the default RoPE at the base a pass of seq_len positions uses
        base = DYNAMIC.rope_scaling.base(SMALL.rope_theta, SMALL.hd, seq_len).item()
        return LlamaModel(replace(SMALL, rope_theta=base), w, "cpu", torch.float64, 16)

    model = LlamaModel(DYNAMIC, w, "cpu", torch.float64, 16)
    cache = KVCache(SMALL, 2, 16, "cpu", torch.float64)
    got = model.forward(tokens[:, :11], 0, cache)
    want_cache = KVCache(SMALL, 2, 16, "cpu", torch.float64)
    torch.testing.assert_close(got, fixed(11).forward(tokens[:, :11], 0, want_cache), rtol=1e-12, atol=1e-12)
    torch.testing.assert_close(cache.k, want_cache.k, rtol=1e-12, atol=1e-12)
    # Position 11 by the 12-position base, attending to keys rotated by the 11-position one.
    step = model.forward(tokens[:, 11:12], 11, cache)
    twelve = fixed(12)
    want_cache.k[:, :, :, 11:], want_cache.v[:, :, :, 11:] = 0, 0
    torch.testing.assert_close(step, twelve.forward(tokens[:, 11:12], 11, want_cache), rtol=1e-12, atol=1e-12)
    # The decode graphs' step reads the same row from the table.
    again = KVCache(SMALL, 2, 16, "cpu", torch.float64)
    model.forward(tokens[:, :11], 0, again)
    graph_step = model.decode_step(tokens[:, 11:12], torch.tensor([11]), again, 16)
    torch.testing.assert_close(graph_step, step, rtol=1e-12, atol=1e-12)
    # A chunk of two positions after the original eight: both rotated with the base of 10 positions, not each with
    # its own row's (9's and 10's); the first eight were cached with the default RoPE.
    chunked, want_cache = KVCache(SMALL, 2, 16, "cpu", torch.float64), KVCache(SMALL, 2, 16, "cpu", torch.float64)
    model.forward(tokens[:, :8], 0, chunked)
    LlamaModel(SMALL, w, "cpu", torch.float64, 16).forward(tokens[:, :8], 0, want_cache)
    torch.testing.assert_close(model.forward(tokens[:, 8:10], 8, chunked),
                               fixed(10).forward(tokens[:, 8:10], 8, want_cache), rtol=1e-12, atol=1e-12)


def test_dynamic_ntk_past_the_original_context_in_float32():
    """The rotary rows recomputed for a long pass come back in the model's dtype: a float32 model stays float32."""
    w32 = random_weights(SMALL, "cpu", torch.float32, seed=7)
    w = random_weights(SMALL, "cpu", torch.float64, seed=7)
    w.embed, w.norm, w.lm_head = w32.embed.double(), w32.norm.double(), w32.lm_head.double()
    for layer, layer32 in zip(w.layers, w32.layers, strict=True):
        for name in ("attn_norm", "wqkv", "wo", "mlp_norm", "w_gate_up", "w_down"):
            setattr(layer, name, getattr(layer32, name).double())
    tokens = tokens_for(SMALL, 1, 11)
    got = LlamaModel(DYNAMIC, w32, "cpu", torch.float32, 16).forward(tokens, 0, KVCache(SMALL, 1, 16, "cpu",
                                                                                        torch.float32))
    want = LlamaModel(DYNAMIC, w, "cpu", torch.float64, 16).forward(tokens, 0, KVCache(SMALL, 1, 16, "cpu",
                                                                                      torch.float64))
    assert got.dtype == torch.float32
    torch.testing.assert_close(got.double(), want, rtol=1e-4, atol=1e-4)


def test_presets_have_the_published_parameter_counts():
    assert PRESETS["llama-1b"].params() == pytest.approx(1.236e9, rel=0.005)
    assert PRESETS["llama-8b"].params() == pytest.approx(8.030e9, rel=0.005)
    assert PRESETS["llama-70b"].params() == pytest.approx(70.55e9, rel=0.005)
    assert PRESETS["cpu-tiny"].params() < 3e6


@pytest.mark.parametrize("name, config", [
    # The published config.json of each model (meta-llama/Llama-3.2-1B, Llama-3.1-8B, Llama-3.1-70B).
    ("llama-1b", dict(hidden_size=2048, intermediate_size=8192, num_hidden_layers=16, num_attention_heads=32,
                      num_key_value_heads=8, vocab_size=128256, rope_theta=500000.0, tie_word_embeddings=True,
                      max_position_embeddings=131072, rms_norm_eps=1e-5, head_dim=64,
                      rope_scaling={"factor": 32.0, "low_freq_factor": 1.0, "high_freq_factor": 4.0,
                                    "original_max_position_embeddings": 8192, "rope_type": "llama3"})),
    ("llama-8b", dict(hidden_size=4096, intermediate_size=14336, num_hidden_layers=32, num_attention_heads=32,
                      num_key_value_heads=8, vocab_size=128256, rope_theta=500000.0, tie_word_embeddings=False,
                      max_position_embeddings=131072, rms_norm_eps=1e-5,
                      rope_scaling={"factor": 8.0, "low_freq_factor": 1.0, "high_freq_factor": 4.0,
                                    "original_max_position_embeddings": 8192, "rope_type": "llama3"})),
    ("llama-70b", dict(hidden_size=8192, intermediate_size=28672, num_hidden_layers=80, num_attention_heads=64,
                       num_key_value_heads=8, vocab_size=128256, rope_theta=500000.0, tie_word_embeddings=False,
                       max_position_embeddings=131072, rms_norm_eps=1e-5,
                       rope_scaling={"factor": 8.0, "low_freq_factor": 1.0, "high_freq_factor": 4.0,
                                     "original_max_position_embeddings": 8192, "rope_type": "llama3"})),
])
def test_presets_are_the_published_configs(name, config):
    """Every field a preset holds, as the checkpoint's own config.json gives it (the presets had no rope scaling and
    no context length, so a 200,000-token prompt ran on an 8B shape whose model stops at 131,072)."""
    from hashbench.probes.hf_local import shape_from_config

    published = shape_from_config({"model_type": "llama", "architectures": ["LlamaForCausalLM"], **config}, name)
    assert replace(published, description="") == replace(PRESETS[name], description="")


def test_last_level_cache_sums_every_instance_not_cpu0s(tmp_path):
    """Two CCXs of two cores: a 32 MB L3 each, a 1 MB L2 per core, a 32 KB L1 instruction cache (not data)."""
    def cache(cpu: int, index: int, level: int, kind: str, size: str, shared: str) -> None:
        d = tmp_path / f"cpu{cpu}" / "cache" / f"index{index}"
        d.mkdir(parents=True)
        for name, text in (("level", str(level)), ("type", kind), ("size", size), ("shared_cpu_list", shared)):
            (d / name).write_text(text + "\n")

    for cpu in range(4):
        cache(cpu, 0, 1, "Instruction", "32K", str(cpu))
        cache(cpu, 2, 2, "Unified", "1024K", str(cpu))
        cache(cpu, 3, 3, "Unified", "32768K", "0-1" if cpu < 2 else "2-3")
    assert cpu_last_level_cache(tmp_path) == 64 << 20
    assert cpu_last_level_cache(tmp_path / "nothing") is None


def test_flop_and_byte_accounting():
    s = PRESETS["llama-8b"]
    linear = s.layers * s.layer_linear_params()
    # One prompt token: 2 FLOPs per weight it meets, plus the attention to itself, plus the LM head.
    assert s.prefill_flops(1, 1) == 2 * linear + s.layers * 4 * s.heads * s.hd + 2 * s.hidden * s.vocab
    # Causal prefill attention is half the square, not all of it.
    attention = s.prefill_flops(1, 1000) - 1000 * 2 * linear - 2 * s.hidden * s.vocab
    assert attention == pytest.approx(s.layers * 4 * s.heads * s.hd * 1000 * 1001 / 2)
    # A decode step at batch 1 moves every weight once (bf16: ~16 GB for 8B) plus the KV cache read.
    step = s.decode_step_bytes(1, 1000, 2)
    kv = s.layers * 2 * s.kv_dim * 1001 * 2
    assert step == pytest.approx(s.weight_bytes(2) - s.vocab * s.hidden * 2 + s.hidden * 2 + kv, rel=1e-6)
    assert s.decode_step_bytes(8, 1000, 2) - s.decode_step_bytes(1, 1000, 2) == pytest.approx(7 * (kv + s.hidden * 2))


def test_flops_bytes_and_parameters_against_hand_counts():
    """Counted by hand from the published config.json shapes, not from the code's formulas."""
    # Llama-3.1-8B: hidden 4096, 32 layers, 32 query heads and 8 KV heads of 128, MLP 14336, vocab 128256.
    # A layer's matmul weights: q 4096·4096 = 16,777,216; k and v 2·4096·1024 = 8,388,608; o 16,777,216;
    # gate, up, down 3·4096·14336 = 176,160,768; together 218,103,808, so 6,979,321,856 in 32 layers.
    # Norms 2·4096 a layer (262,144) + the final 4096; embedding and LM head 128256·4096 = 525,336,576 each.
    assert PRESETS["llama-8b"].params() == 6_979_321_856 + 262_144 + 4096 + 2 * 525_336_576 == 8_030_261_248
    # Llama-3.2-1B (tied head): 16 layers of 60,817,408 + 16·2·2048 + 2048 + 128256·2048 once = 1,235,814,400.
    assert PRESETS["llama-1b"].params() == 1_235_814_400
    # Llama-3.1-70B: 80 layers of 8192·(8192 + 2·1024) + 8192·8192 + 3·8192·28672 = 855,638,016
    # (68,451,041,280), norms 80·2·8192 + 8192 = 1,318,912, embedding and head 2·128256·8192 = 2,101,346,304.
    assert PRESETS["llama-70b"].params() == 70_553_706_496
    s = PRESETS["llama-8b"]
    # Prefill of 512 tokens at batch 1: 2 FLOPs per weight per token, 2·512·6,979,321,856 = 7,146,825,580,544;
    # causal attention: query i meets i + 1 keys, 512·513/2 = 131,328 pairs per head, 2·128 FLOPs each for QKᵀ
    # and 2·128 for AV, over 32 query heads (GQA shares K/V, not the FLOPs) and 32 layers: 68,853,694,464;
    # the LM head for the last position only: 2·525,336,576. Total 7,216,729,948,160.
    assert s.prefill_flops(1, 512) == 7_216_729_948_160
    # A decode step attending to 1000 positions: 2·(6,979,321,856 + 525,336,576) + 4·128·32·1000·32.
    assert s.decode_step_flops(1, 1000) == 15_533_604_864
    # Its bytes in bf16 at batch 1: every matmul weight, the norms, the whole LM head and one embedding row
    # (7,504,928,768 elements, the 525 M-element embedding table not read in full), the KV cache of 1000
    # positions read (1000·32 layers·2·1024) and one written (65,536): 7,570,530,304 elements, 2 bytes each.
    assert s.decode_step_bytes(1, 1000, 2) == 15_141_060_608
    # Llama-3.2-1B, tied, batch 4, 100 positions, bf16: weights are read once for the whole batch (973,078,528
    # + 65,536 + 2048 + 262,668,288 head + 4 embedding rows of 2048), KV per sequence 4·16·2·512·101:
    # (1,235,822,592 + 6,619,136)·2 bytes.
    assert PRESETS["llama-1b"].decode_step_bytes(4, 100, 2) == 2_484_883_456


def test_batched_flops_and_kv_bytes_by_hand():
    """Every sequence of a batch does the same work: prefill and decode FLOPs at batch B are B times batch 1's (the
    LM head included, one last position per sequence). The KV cache of Llama-3.1-8B holds K and V for 32 layers of 8
    KV heads of 128: 2 sequences of 1000 positions in bf16 are 32·2·2·1024·1000·2 = 262,144,000 bytes."""
    s = PRESETS["llama-8b"]
    assert s.prefill_flops(4, 512) == 4 * 7_216_729_948_160
    assert s.decode_step_flops(8, 1000) == 8 * 15_533_604_864
    assert s.kv_bytes(2, 1000, 2) == 262_144_000
    assert s.kv_bytes(1, 1, 1) == 65_536


def test_query_heads_must_group_over_kv_heads():
    with pytest.raises(ValueError) as raised:
        replace(SMALL, name="odd", heads=4, kv_heads=3)
    assert str(raised.value) == "odd: 4 query heads do not group over 3 KV heads"


def test_random_weights_shapes_bounds_and_seed():
    """Linear weights uniform in ±sqrt(3 / fan_in) (std 1/sqrt(fan_in)), the embedding in ±1.7, norms all ones, in the
    dtype asked for; the same seed (0 by default) gives the same weights; a tied head is the embedding itself."""
    untied = SMALL
    w = random_weights(untied, "cpu", torch.float64)
    layer = w.layers[0]
    for weight, fan_in in ((layer.wqkv, 64), (layer.wo, 64), (layer.w_gate_up, 64), (layer.w_down, 96),
                           (w.lm_head, 64)):
        bound = math.sqrt(3 / fan_in)
        assert weight.dtype == torch.float64
        assert -bound <= weight.min() < -0.95 * bound and 0.95 * bound < weight.max() <= bound
    assert (layer.wqkv.shape, layer.wo.shape, layer.w_gate_up.shape, layer.w_down.shape, w.lm_head.shape) == (
        (128, 64), (64, 64), (192, 64), (64, 96), (97, 64))
    assert w.embed.shape == (97, 64) and -1.7 <= w.embed.min() < -1.6 and 1.6 < w.embed.max() <= 1.7
    for gain in (w.norm, layer.attn_norm, layer.mlp_norm):
        assert gain.dtype == torch.float64 and torch.equal(gain, torch.ones(64, dtype=torch.float64))
    assert w.lm_head is not w.embed and not torch.equal(w.lm_head, w.embed[:, :64])
    again = random_weights(untied, "cpu", torch.float64, seed=0)
    assert torch.equal(again.embed, w.embed) and torch.equal(again.layers[1].w_down, w.layers[1].w_down)
    assert torch.equal(again.lm_head, w.lm_head)
    assert not torch.equal(random_weights(untied, "cpu", torch.float64, seed=1).embed, w.embed)
    tied = random_weights(replace(SMALL, tie_embeddings=True), "cpu", torch.float64)
    assert tied.lm_head is tied.embed and torch.equal(tied.embed, w.embed)


def test_memory_check_skips_before_allocating(monkeypatch):
    from hashbench.probes import llm

    def allocates(*args, **kwargs):
        raise AssertionError("weights or a KV cache were allocated before the memory check")

    monkeypatch.setattr(Device, "free_memory", lambda self: 1 << 30)
    for name in ("random_weights", "LlamaModel", "KVCache"):
        monkeypatch.setattr(llm, name, allocates)
    with pytest.raises(ProbeSkipped, match=r"llama-70b in bf16 at batch 1.*needs 14\d\.\d GB; 1\.1 GB free on cpu"):
        load_model(CPU, PRESETS["llama-70b"], None, "bf16", 1, 128, 32)


# --- a local Hugging Face directory ----------------------------------------------------------------------------------


def hf_config(shape: LlamaShape, tie: bool, **extra) -> dict:
    config = {"model_type": "llama", "architectures": ["LlamaForCausalLM"], "hidden_size": shape.hidden,
              "intermediate_size": shape.intermediate, "num_hidden_layers": shape.layers,
              "num_attention_heads": shape.heads, "num_key_value_heads": shape.kv_heads, "vocab_size": shape.vocab,
              "rms_norm_eps": shape.rms_eps, "rope_theta": shape.rope_theta, "tie_word_embeddings": tie,
              "hidden_act": "silu", "torch_dtype": "float32"}
    return {k: v for k, v in (config | extra).items() if v is not ...}  # ...: leave the key out


def hf_tensors(shape: LlamaShape, w, tie: bool) -> dict:
    tensors = {"model.embed_tokens.weight": w.embed, "model.norm.weight": w.norm}
    if not tie:
        tensors["lm_head.weight"] = w.lm_head
    for i, layer in enumerate(w.layers):
        p = f"model.layers.{i}."
        q, k, v = layer.wqkv.split((shape.q_dim, shape.kv_dim, shape.kv_dim))
        gate, up = layer.w_gate_up.chunk(2)
        tensors |= {p + "input_layernorm.weight": layer.attn_norm, p + "post_attention_layernorm.weight":
                    layer.mlp_norm, p + "self_attn.q_proj.weight": q, p + "self_attn.k_proj.weight": k,
                    p + "self_attn.v_proj.weight": v, p + "self_attn.o_proj.weight": layer.wo,
                    p + "mlp.gate_proj.weight": gate, p + "mlp.up_proj.weight": up,
                    p + "mlp.down_proj.weight": layer.w_down}
    return tensors


def write_hf_dir(path, shape: LlamaShape, w, tie: bool, index: bool = False, dtype=None, tensors=None,
                 **config) -> None:
    """Two shards, as larger checkpoints come; with `index`, mapped by model.safetensors.index.json."""
    (path / "config.json").write_text(json.dumps(hf_config(shape, tie, **config)))
    tensors = tensors if tensors is not None else hf_tensors(shape, w, tie)
    if dtype is not None:
        tensors = {n: t.to(dtype) for n, t in tensors.items()}
    names = sorted(tensors)
    shards = {n: f"model-0000{1 + i % 2}-of-00002.safetensors" for i, n in enumerate(names)}
    for shard in sorted(set(shards.values())):
        write_safetensors(path / shard, {n: tensors[n] for n in names if shards[n] == shard})
    if index:
        (path / "model.safetensors.index.json").write_text(json.dumps({"metadata": {}, "weight_map": shards}))


def assert_same_logits(shape: LlamaShape, w, loaded_shape: LlamaShape, loaded, dtype=torch.float32) -> None:
    tokens = tokens_for(shape, 1, 7)
    want = LlamaModel(shape, w, "cpu", dtype, 8).forward(tokens, 0, KVCache(shape, 1, 8, "cpu", dtype))
    got = LlamaModel(loaded_shape, loaded, "cpu", dtype, 8).forward(
        tokens, 0, KVCache(loaded_shape, 1, 8, "cpu", dtype))
    torch.testing.assert_close(got, want, rtol=0, atol=0)


@pytest.mark.parametrize("tie", [False, True])
def test_local_checkpoint_gives_the_same_logits(tmp_path, tie):
    shape = replace(SMALL, tie_embeddings=tie)
    w = random_weights(shape, "cpu", torch.float32, seed=9)
    write_hf_dir(tmp_path, shape, w, tie)
    loaded_shape, loaded = load_local_model(tmp_path, "cpu", torch.float32)
    assert loaded_shape.params() == shape.params() and loaded_shape.name == f"hf:{tmp_path.name}"
    assert_same_logits(shape, w, loaded_shape, loaded)


def test_a_tied_checkpoint_whose_config_says_untied_ties_and_one_that_says_tied_ignores_lm_head(tmp_path):
    shape = replace(SMALL, tie_embeddings=True)
    w = random_weights(shape, "cpu", torch.float32, seed=2)
    write_hf_dir(tmp_path, shape, w, tie=False, tensors=hf_tensors(shape, w, tie=True))  # no lm_head in the files
    loaded_shape, loaded = load_local_model(tmp_path, "cpu", torch.float32)
    assert loaded_shape.tie_embeddings and loaded.lm_head is loaded.embed
    assert_same_logits(shape, w, loaded_shape, loaded)
    # tie_word_embeddings true with an lm_head.weight saved anyway: transformers ties it to the embedding, so here
    tensors = hf_tensors(shape, w, tie=True) | {"lm_head.weight": torch.zeros(shape.vocab, shape.hidden)}
    write_hf_dir(tmp_path, shape, w, tie=True, tensors=tensors)
    loaded_shape, loaded = load_local_model(tmp_path, "cpu", torch.float32)
    assert_same_logits(shape, w, loaded_shape, loaded)


@pytest.mark.parametrize("case", ["index-bf16", "mha-head_dim", "llama3-rope", "v5-rope_parameters", "mistral",
                                  "linear-rope", "yarn-rope", "yarn-v5-mscale", "dynamic-rope"])
def test_real_checkpoint_layouts_give_the_same_logits(tmp_path, case):
    """The config.json and file layouts published checkpoints use: an index naming the shards (and Meta's own
    consolidated.safetensors beside them, not read; a saved rotary inv_freq), BF16 weights, no
    num_key_value_heads (plain multi-head attention), an explicit head_dim, Llama 3.1 rope_scaling, transformers
    v5's rope_parameters, Mistral."""
    shape, config, dtype, index = SMALL, {}, torch.float32, False
    if case == "index-bf16":
        dtype, index = torch.bfloat16, True
        write_safetensors(tmp_path / "consolidated.safetensors", {"tok_embeddings.weight": torch.zeros(3, 2)})
    elif case == "mha-head_dim":
        shape = replace(SMALL, heads=2, kv_heads=2, head_dim=48)  # 2 x 48 != hidden 64
        config = {"num_key_value_heads": ..., "head_dim": 48}
    elif case == "llama3-rope":
        shape = replace(SMALL, rope_scaling=RopeScaling(8.0, 1.0, 4.0, 4))
        config = {"rope_scaling": {"rope_type": "llama3", "factor": 8.0, "low_freq_factor": 1.0,
                                   "high_freq_factor": 4.0, "original_max_position_embeddings": 4}}
    elif case == "linear-rope":  # transformers 4's spelling: rope_scaling with "type"
        shape = replace(SMALL, rope_scaling=LinearRope(4.0))
        config = {"rope_scaling": {"type": "linear", "factor": 4.0}}
    elif case == "yarn-rope":  # the original context from max_position_embeddings, the temperature from the factor
        shape = replace(SMALL, rope_scaling=YarnRope(4.0, 8, 32.0, 1.0, 1 + 0.1 * math.log(4.0)), max_positions=8)
        config = {"max_position_embeddings": 8, "rope_scaling": {"rope_type": "yarn", "factor": 4.0}}
    elif case == "yarn-v5-mscale":  # DeepSeek's two temperatures, as a ratio; beta and truncate given
        ratio = (1 + 0.1 * 0.5 * math.log(8.0)) / (1 + 0.1 * math.log(8.0))
        shape = replace(SMALL, rope_theta=500.0, rope_scaling=YarnRope(8.0, 4, 16.0, 2.0, ratio, False))
        config = {"rope_theta": ..., "rope_parameters": {
            "rope_type": "yarn", "rope_theta": 500.0, "factor": 8.0, "original_max_position_embeddings": 4,
            "beta_fast": 16, "beta_slow": 2, "mscale": 0.5, "mscale_all_dim": 1.0, "truncate": False}}
    elif case == "dynamic-rope":  # the original context from max_position_embeddings; 7 tokens run past it
        shape = replace(SMALL, rope_scaling=DynamicNtkRope(2.0, 4))
        config = {"max_position_embeddings": 4, "rope_scaling": {"type": "dynamic", "factor": 2.0}}
    elif case == "v5-rope_parameters":
        shape = replace(SMALL, rope_theta=500.0)
        config = {"rope_theta": ..., "rope_parameters": {"rope_type": "default", "rope_theta": 500.0}}
    else:
        config = {"model_type": "mistral", "architectures": ["MistralForCausalLM"], "sliding_window": None}
    w = random_weights(shape, "cpu", dtype, seed=4)
    tensors = hf_tensors(shape, w, False)
    if index:  # a buffer older conversions saved; recomputed from config.json, as transformers does
        tensors["model.layers.0.self_attn.rotary_emb.inv_freq"] = torch.ones(shape.hd // 2)
    write_hf_dir(tmp_path, shape, w, False, index=index, dtype=dtype, tensors=tensors, **config)
    loaded_shape, loaded = load_local_model(tmp_path, "cpu", dtype)
    assert replace(loaded_shape, name=shape.name, description="") == replace(shape, description="")
    assert_same_logits(shape, w, loaded_shape, loaded, dtype)


def test_safetensors_round_trip_keeps_bf16_bits(tmp_path):
    t = {"a": torch.randn(3, 5).to(torch.bfloat16), "b": torch.arange(7, dtype=torch.int64), "c": torch.ones(0)}
    write_safetensors(tmp_path / "x.safetensors", t)
    header_len = int.from_bytes((tmp_path / "x.safetensors").read_bytes()[:8], "little")
    assert (8 + header_len) % 8 == 0
    back = read_safetensors(tmp_path / "x.safetensors")
    assert torch.equal(back["a"], t["a"]) and torch.equal(back["b"], t["b"]) and back["c"].shape == (0,)


def raw_safetensors(path, header: dict, data: bytes) -> None:
    raw = json.dumps(header).encode()
    path.write_bytes(len(raw).to_bytes(8, "little") + raw + data)


def test_safetensors_metadata_and_tensors_out_of_order(tmp_path):
    a, b = torch.arange(4, dtype=torch.float32), torch.arange(3, dtype=torch.float16)
    data = b.numpy().tobytes() + a.numpy().tobytes()
    raw_safetensors(tmp_path / "x.safetensors", {"__metadata__": {"format": "pt"},
                                                 "a": {"dtype": "F32", "shape": [2, 2], "data_offsets": [6, 22]},
                                                 "b": {"dtype": "F16", "shape": [3], "data_offsets": [0, 6]}}, data)
    back = read_safetensors(tmp_path / "x.safetensors")
    assert set(back) == {"a", "b"} and torch.equal(back["a"], a.view(2, 2)) and torch.equal(back["b"], b)


def test_local_checkpoint_errors(tmp_path):
    from hashbench.errors import InputError

    with pytest.raises(InputError, match="no config.json"):
        load_local_model(tmp_path, "cpu", torch.float32)
    (tmp_path / "config.json").write_text(json.dumps({"model_type": "gpt2"}))
    with pytest.raises(InputError, match="not a Llama-architecture"):
        load_local_model(tmp_path, "cpu", torch.float32)


def _break(case: str, path) -> str:
    """Make `path` a broken or unsupported checkpoint of SMALL; return what its one error line must say."""
    w = random_weights(SMALL, "cpu", torch.float32, seed=1)
    tensors = hf_tensors(SMALL, w, False)
    config: dict = {}
    q = "model.layers.0.self_attn.q_proj.weight"
    if case == "empty-file":
        write_hf_dir(path, SMALL, w, False)
        (path / "model-00001-of-00002.safetensors").write_bytes(b"")
        return "0 bytes, not a safetensors file"
    if case == "header-length":
        write_hf_dir(path, SMALL, w, False)
        (path / "model-00001-of-00002.safetensors").write_bytes((1 << 40).to_bytes(8, "little") + b"{}")
        return "header length 1099511627776 is beyond the file"
    if case in ("truncated", "not-json", "overlap", "beyond"):
        write_hf_dir(path, SMALL, w, False)
        shard = path / "model-00001-of-00002.safetensors"
        if case == "truncated":
            shard.write_bytes(shard.read_bytes()[:-100])
            return "(truncated?)"
        if case == "not-json":
            shard.write_bytes((4).to_bytes(8, "little") + b"{ab}")
            return "the header is not JSON"
        spans = {"overlap": ([0, 16], [8, 24]), "beyond": ([0, 16], [16, 32])}[case]
        raw_safetensors(shard, {n: {"dtype": "F32", "shape": [4], "data_offsets": s}
                                for n, s in zip("xy", spans, strict=True)}, bytes(24))
        return "overlap in the file" if case == "overlap" else "lie beyond the file's 24 bytes"
    if case == "fp8":
        write_hf_dir(path, SMALL, w, False, tensors={n: t for n, t in tensors.items() if n != q})
        raw_safetensors(path / "model-fp8.safetensors",
                        {q: {"dtype": "F8_E4M3", "shape": [64, 64], "data_offsets": [0, 4096]}}, bytes(4096))
        return f"tensor {q} is F8_E4M3: quantized checkpoints are not supported"
    if case == "int8":
        tensors[q] = torch.zeros(64, 64, dtype=torch.uint8)
        expected = f"tensor {q} is U8: quantized"
    elif case == "quantization_config":
        config = {"quantization_config": {"quant_method": "bitsandbytes"}}
        expected = "a quantized checkpoint (bitsandbytes) is not supported"
    elif case == "wrong-shape":
        tensors[q] = torch.zeros(64, 32)
        expected = f"{q} has shape [64, 32], config.json implies [64, 64]"
    elif case == "missing":
        del tensors[q]
        expected = f"weight {q} missing"
    elif case == "bias-in-files":
        tensors["model.layers.0.self_attn.q_proj.bias"] = torch.zeros(64)
        expected = "q_proj.bias is not part of the Llama decoder"
    elif case == "attention_bias":
        config = {"attention_bias": True}
        expected = "attention_bias is true"
    elif case == "qwen2":
        config = {"model_type": "qwen2", "architectures": ["Qwen2ForCausalLM"]}
        expected = "model_type 'qwen2' is not a Llama-architecture checkpoint"
    elif case == "classifier":
        config = {"architectures": ["LlamaForSequenceClassification"]}
        expected = "is not a causal language model"
    elif case == "sliding-window":
        config = {"model_type": "mistral", "sliding_window": 4096}
        expected = "sliding_window 4096 attention is not supported"
    elif case == "rope-dynamic-no-context":
        config = {"rope_scaling": {"rope_type": "dynamic", "factor": 4.0}}
        expected = "config.json (dynamic rope needs the original context) lacks max_position_embeddings"
    elif case == "rope-dynamic-no-factor":
        config = {"max_position_embeddings": 64, "rope_scaling": {"type": "dynamic"}}
        expected = "dynamic rope_scaling lacks factor"
    elif case == "context-too-long":  # --quick: 32 + 8 positions
        config = {"max_position_embeddings": 16}
        expected = "32 prompt + 8 generated tokens = 40 positions, beyond its 16-position context"
    elif case == "rope-longrope":
        config = {"rope_scaling": {"rope_type": "longrope", "factor": 4.0}}
        expected = "rope_scaling type 'longrope' is not supported"
    elif case == "rope-yarn-no-factor":
        config = {"rope_scaling": {"rope_type": "yarn"}}
        expected = "yarn rope_scaling lacks factor"
    elif case == "rope-yarn-no-context":
        config = {"max_position_embeddings": ..., "rope_scaling": {"rope_type": "yarn", "factor": 4.0}}
        expected = "config.json (yarn needs the original context) lacks max_position_embeddings"
    elif case == "rope-llama3-incomplete":
        config = {"rope_scaling": {"rope_type": "llama3", "factor": 8.0}}
        expected = "llama3 rope_scaling lacks low_freq_factor"
    elif case == "gelu":
        config = {"hidden_act": "gelu"}
        expected = "hidden_act 'gelu' is not supported"
    elif case == "bad-number":
        config = {"hidden_size": "64"}
        expected = "hidden_size must be a positive integer, got '64'"
    elif case == "kv-heads":
        config = {"num_key_value_heads": 3}
        expected = "4 query heads do not group over 3 KV heads"
    elif case == "index-missing-shard":
        write_hf_dir(path, SMALL, w, False, index=True)
        (path / "model-00002-of-00002.safetensors").unlink()
        return "shard model-00002-of-00002.safetensors"
    else:
        raise AssertionError(case)
    write_hf_dir(path, SMALL, w, False, tensors=tensors, **config)
    return expected


BROKEN = ["empty-file", "header-length", "truncated", "not-json", "overlap", "beyond", "fp8", "int8",
          "quantization_config", "wrong-shape", "missing", "bias-in-files", "attention_bias", "qwen2", "classifier",
          "sliding-window", "rope-dynamic-no-context", "rope-dynamic-no-factor", "context-too-long", "rope-longrope",
          "rope-yarn-no-factor", "rope-yarn-no-context",
          "rope-llama3-incomplete", "gelu", "bad-number", "kv-heads",
          "index-missing-shard"]


@pytest.mark.parametrize("case", BROKEN)
def test_a_broken_or_unsupported_checkpoint_is_one_line_before_any_probe(capsys, tmp_path, case):
    expected = _break(case, tmp_path)
    code, out, err = invoke(capsys, "probe", "--device", "cpu", "--quick", "--energy", "none",
                            "--model-dir", str(tmp_path))
    assert code == 2 and expected in err and "Traceback" not in err
    assert len(err.strip().splitlines()) == 1 and out == ""  # no probe started first


def _probe_checkpoint(capsys, path, *extra: str) -> tuple[dict, str]:
    code, out, err = invoke(capsys, "probe", "--device", "cpu", "--quick", "--energy", "none", "--probe",
                            "llm-decode", "--seconds", "0.01", "--gen-len", "2", "--prompt-len", "4", "--model-dir",
                            str(path), *extra, "--json")
    assert code == 0, err
    [record] = [r for r in json.loads(out) if r["probe"] == "llm-decode"]  # membw ran too: decode's roof
    return record, err


@pytest.mark.parametrize("key", ["torch_dtype", "dtype"])  # transformers 4 and 5 spell it differently
def test_a_checkpoint_runs_in_its_own_dtype_and_says_why(capsys, tmp_path, monkeypatch, key):
    """config.json's dtype was ignored: a bf16 checkpoint ran in fp32 on a CPU (the default for random weights),
    with nothing in the result saying the weights had been converted."""
    w = random_weights(SMALL, "cpu", torch.bfloat16, seed=3)
    write_hf_dir(tmp_path, SMALL, w, False, dtype=torch.bfloat16, torch_dtype=...)
    config = json.loads((tmp_path / "config.json").read_text())
    (tmp_path / "config.json").write_text(json.dumps(config | {key: "bfloat16"}))
    monkeypatch.setattr(Device, "native_dtypes", lambda self: ["fp32", "bf16"])  # a CPU with AVX-512 BF16 or AMX
    record, err = _probe_checkpoint(capsys, tmp_path)
    assert record["dtype"] == "bf16" and record["preset"] == f"hf:{tmp_path.name}"
    assert record["detail"]["dtype_source"] == f"the checkpoint's own (config.json {key} bfloat16)"
    assert "note:" not in err
    # where the CPU has no bf16 instructions it still runs bf16 (torch has the kernels), and says what that costs
    monkeypatch.setattr(Device, "native_dtypes", lambda self: ["fp32"])
    record, err = _probe_checkpoint(capsys, tmp_path)
    assert record["dtype"] == "bf16" and "no native bf16 instructions" in record["detail"]["dtype_source"]
    assert len([line for line in err.splitlines() if line.startswith("note:")]) == 1


def test_an_explicit_dtype_converts_the_checkpoint_and_says_so_once(capsys, tmp_path):
    w = random_weights(SMALL, "cpu", torch.float16, seed=3)
    write_hf_dir(tmp_path, SMALL, w, False, dtype=torch.float16, torch_dtype="float16")
    record, err = _probe_checkpoint(capsys, tmp_path, "--dtype", "fp32", "--probe", "llm-prefill")
    assert record["dtype"] == "fp32"
    assert record["detail"]["dtype_source"] == "--dtype fp32, converted from the checkpoint's fp16 (config.json " \
                                               "torch_dtype float16)"
    notes = [line for line in err.splitlines() if line.startswith("note:")]
    assert notes == [f"note: hf:{tmp_path.name}: converting the checkpoint from fp16 (config.json torch_dtype "
                     "float16) to fp32 (--dtype)"]  # once, though two LLM probes ran
    record, err = _probe_checkpoint(capsys, tmp_path, "--dtype", "fp16")
    assert record["detail"]["dtype_source"] == "--dtype fp16 (config.json torch_dtype float16)" and "note:" not in err


def test_a_checkpoint_dtype_torch_cannot_run_here_falls_back_to_fp32_and_says_why(capsys, tmp_path, monkeypatch):
    """An older torch build lacked half-precision CPU kernels: the run must say it converted, not fail or hide it."""
    w = random_weights(SMALL, "cpu", torch.float16, seed=3)
    write_hf_dir(tmp_path, SMALL, w, False, dtype=torch.float16, torch_dtype="float16")
    monkeypatch.setattr(Device, "runs_dtype", lambda self, name: name == "fp32")
    record, err = _probe_checkpoint(capsys, tmp_path)
    assert record["dtype"] == "fp32" and "has no fp16 kernels on cpu" in record["detail"]["dtype_source"]
    assert "torch has no fp16 kernels on cpu: running the checkpoint's fp16 weights in fp32" in err


def test_torch_here_runs_the_decoder_in_every_probe_dtype_on_cpu():
    """What the fallback above guards against is not this torch: 2.13's CPU build has bf16 and fp16 kernels."""
    assert [CPU.runs_dtype(name) for name in ("fp32", "bf16", "fp16")] == [True, True, True]


def test_a_checkpoint_naming_no_dtype_runs_in_the_device_default(capsys, tmp_path):
    w = random_weights(SMALL, "cpu", torch.float32, seed=3)
    write_hf_dir(tmp_path, SMALL, w, False, torch_dtype=...)
    record, err = _probe_checkpoint(capsys, tmp_path)
    assert record["dtype"] == "fp32" and record["detail"]["dtype_source"] == "cpu's default (config.json names no " \
                                                                              "dtype)"
    write_hf_dir(tmp_path, SMALL, w, False, torch_dtype="float64")
    record, err = _probe_checkpoint(capsys, tmp_path)
    assert record["dtype"] == "fp32" and "float64 is not a dtype the probes compute in" in err


# --- GEMM, bandwidth, rooflines --------------------------------------------------------------------------------------


def test_gemm_beside_torch_matmul():
    r = run_gemm(CPU, "fp32", 128, 0.05, declared_plan(), 0.005)
    j = r.to_json()
    assert j["unit"] == "FLOP/s" and j["value"] > 0 and j["reference_value"] > 0
    assert j["reference_impl"] == "torch.matmul"
    pairs = sorted(a / b for a, b in zip(r.samples, r.reference_samples, strict=True))
    assert j["reference_ratio"] == pytest.approx(pairs[len(pairs) // 2] if len(pairs) % 2 else
                                                 (pairs[len(pairs) // 2 - 1] + pairs[len(pairs) // 2]) / 2)
    assert len(r.samples) >= 3 and len(r.reference_samples) == len(r.samples)
    assert r.detail["max_relative_error"] < 1e-3
    # Both paths ran inside the window: the energy is divided over the FLOPs of both.
    flop = 2 * 128 ** 3 * r.detail["calls_per_block"] * 2 * len(r.samples)
    assert j["work"] == pytest.approx(flop / 1e12) and j["per"] == "TFLOP"
    assert j["joules_per_unit"] == pytest.approx(j["energy_j"] / j["work"])


def test_membw_counts_read_and_write():
    r = run_membw(CPU, 1 << 20, 0.05, declared_plan(), 0.005)
    assert r.unit == "B/s" and r.value > 0 and "read + write" in r.detail["bytes_counted"]
    assert r.reference_impl == "tensor.sum (read only)" and len(r.reference_samples) == len(r.samples)
    copied = 2 * (1 << 20) * r.detail["copies_per_block"] * len(r.samples)
    read = (1 << 20) * r.detail["sums_per_block"] * len(r.reference_samples)
    assert r.work == pytest.approx((copied + read) / 1e9)


def fake_result(probe: str, value: float, dtype: str | None = "fp32", **kw) -> ProbeResult:
    reading = EnergyReading("none", "none", "", 1.0, None)
    return ProbeResult(probe=probe, device="cpu", preset="p", dtype=dtype, batch=1, unit="x", samples=[value],
                       work=1.0, per="x", seconds=1.0, energy=reading, **kw)


def test_roofline_fractions():
    gemm = fake_result("gemm", 80e9, reference_samples=[100e9], impl="own", reference_impl="torch.matmul")
    membw = fake_result("membw", 16e9, dtype=None, reference_samples=[20e9])
    prefill = fake_result("llm-prefill", 1.0, detail={"flop_per_s": 50e9})
    prefill_bf16 = fake_result("llm-prefill", 1.0, dtype="bf16", detail={"flop_per_s": 50e9})
    decode = fake_result("llm-decode", 1.0, ms_per_token=10.0, detail={"bytes_per_step": 100e6, "bytes_per_s": 10e9})
    apply_rooflines([gemm, membw, prefill, prefill_bf16, decode])
    assert gemm.roofline_fraction == pytest.approx(0.8)  # the best GEMM here was torch.matmul's
    assert prefill.roofline_fraction == pytest.approx(0.5)
    assert prefill_bf16.roofline_fraction == pytest.approx(0.5) and "best fp32 GEMM" in prefill_bf16.roofline_basis
    assert decode.roofline_fraction == pytest.approx(0.5) and "5.000 ms ideal vs 10.000 ms" in decode.roofline_basis
    assert membw.roofline_fraction == pytest.approx(0.8) and "read-only 20.00 GB/s" in membw.roofline_basis
    assert "measured read-only 20.00 GB/s" in decode.roofline_basis
    lone = fake_result("llm-decode", 1.0, ms_per_token=1.0, detail={"bytes_per_step": 1.0, "bytes_per_s": 1.0})
    apply_rooflines([lone])
    assert lone.roofline_fraction is None and "no memory bandwidth" in lone.roofline_basis


# --- the whole set, and the command line -----------------------------------------------------------------------------

KEYS = {"probe", "device", "preset", "dtype", "batch", "value", "unit", "roofline_fraction", "energy_j",
        "joules_per_unit", "power_source"}


def test_quick_cpu_run_of_the_whole_set(monkeypatch):
    monkeypatch.setattr(runner_module, "buffer_bytes", lambda device, quick: 4 << 20)
    events = []
    run = run_probes(ProbeSettings(device="cpu", quick=True, seconds=0.05, threads=1), declared_plan(50.0),
                     lambda event, label, payload: events.append((event, label)))
    probes = [r.probe for r in run.results]
    assert probes.count("gemm") == len(CPU.native_dtypes()) and probes[-3:] == ["membw", "llm-prefill",
                                                                                "llm-decode"]
    assert not run.skipped and ("done", "llm-decode cpu-tiny") in events
    for r in run.results:
        j = r.to_json()
        assert KEYS <= j.keys() and j["value"] > 0 and j["roofline_fraction"] is not None
        assert j["power_source"] == "declared 50 W" and j["energy"]["layer"] == "declared"
        assert j["joules_per_unit"] == pytest.approx(j["energy_j"] / j["work"])
    decode = run.results[-1].to_json()
    assert decode["unit"] == "tokens/s" and decode["per"] == "token" and decode["batch"] == 1
    # At batch 1 a step makes one token: ms/token is the step time of the median rate (with an even count of
    # samples not the median of the step times: the figures agree with the rate shown beside them).
    assert decode["ms_per_token"] == pytest.approx(1e3 / statistics.median(decode["samples"]))
    prefill = run.results[-2].to_json()
    tokens_per_rep = prefill["batch"] * prefill["detail"]["prompt_len"]
    assert prefill["work"] == tokens_per_rep * len(prefill["samples"])
    assert prefill["ms_per_token"] == pytest.approx(1e3 / statistics.median(prefill["samples"]))
    assert decode["detail"]["gen_len"] == 8 and decode["detail"]["prompt_len"] == 32


def test_roofs_are_measured_when_only_llm_probes_are_asked(monkeypatch):
    monkeypatch.setattr(runner_module, "buffer_bytes", lambda device, quick: 4 << 20)
    run = run_probes(ProbeSettings(device="cpu", probes=("llm-decode", "llm-prefill"), quick=True, seconds=0.05,
                                   dtype="fp32"))
    assert [r.probe for r in run.results] == ["gemm", "membw", "llm-prefill", "llm-decode"]
    assert all(r.energy.source == "none" and r.joules_per_unit is None for r in run.results)


def test_a_default_shape_that_does_not_fit_is_skipped_with_the_reason(monkeypatch):
    """The default list means each shape that fits (a GPU's runs 70B where it fits): the others are skipped."""
    monkeypatch.setattr(runner_module, "buffer_bytes", lambda device, quick: 4 << 20)
    monkeypatch.setattr(runner_module, "CPU_QUICK", replace(runner_module.CPU_QUICK, presets=("cpu-tiny", "llama-70b")))
    monkeypatch.setattr(Device, "free_memory", lambda self: 2 << 30)
    run = run_probes(ProbeSettings(device="cpu", probes=("llm-decode",), quick=True, seconds=0.05))
    assert [(r.probe, r.preset) for r in run.results] == [("membw", "4 MiB"), ("llm-decode", "cpu-tiny")]
    assert [(s.probe, s.preset) for s in run.skipped] == [("llm-decode", "llama-70b")]
    assert "GB free on cpu" in run.skipped[0].reason


def no_probe_may_run(monkeypatch) -> None:
    def runs(*args, **kwargs):
        raise AssertionError("a probe ran before the refusal")

    for name in ("run_gemm", "run_membw", "load_model"):
        monkeypatch.setattr(runner_module, name, runs)


@pytest.mark.parametrize("args, message", [
    # A named preset that cannot fit: refused with the memory it needs, before the GEMM and bandwidth windows.
    (("--preset", "llama-70b"), r"^hashbench: error: llama-70b in fp32 at batch 1, 64\+16 tokens needs 28\d\.\d GB; "
                                r"2\.1 GB free on cpu$"),
    # A batch no default shape fits at.
    (("--batch", "1000000"), r"^hashbench: error: cpu-small in fp32 at batch 1000000, .* needs \d+\.\d GB; 2\.1 GB"),
    # Positions beyond the model's context (cpu-small: 4,096, as Llama 2 with the same rope_theta).
    (("--prompt-len", "4000", "--gen-len", "97"), r"^hashbench: error: cpu-small: 4000 prompt \+ 97 generated "
                                                   r"tokens = 4097 positions, beyond its 4096-position context"),
    (("--preset", "llama-8b", "--prompt-len", "131000", "--gen-len", "100"), r"beyond its 131072-position context"),
])
def test_what_cannot_run_is_refused_before_any_probe(capsys, monkeypatch, args, message):
    import re

    monkeypatch.setattr(Device, "free_memory", lambda self: 2 << 30)
    no_probe_may_run(monkeypatch)
    code, out, err = invoke(capsys, "probe", "--device", "cpu", "--energy", "none", *args)
    assert code == 2 and not out and len(err.strip().splitlines()) == 1 and re.search(message, err.strip()), err


def test_a_context_that_fits_exactly_runs(monkeypatch):
    monkeypatch.setattr(runner_module, "buffer_bytes", lambda device, quick: 4 << 20)
    run = run_probes(ProbeSettings(device="cpu", probes=("llm-decode",), quick=True, seconds=0.01, prompt_len=4088,
                                   gen_len=8, threads=1))
    assert [r.probe for r in run.results] == ["membw", "llm-decode"] and PRESETS["cpu-tiny"].max_positions == 4096


def invoke(capsys, *args: str) -> tuple[int, str, str]:
    from hashbench.cli import main

    with pytest.raises(SystemExit) as exit_info:
        main(list(args))
    captured = capsys.readouterr()
    return exit_info.value.code, captured.out, captured.err


def test_cli_probe_json(capsys, monkeypatch):
    monkeypatch.setattr(runner_module, "buffer_bytes", lambda device, quick: 4 << 20)
    code, out, err = invoke(capsys, "probe", "--device", "cpu", "--quick", "--probe", "llm-decode", "--threads", "1",
                            "--seconds", "0.05", "--energy", "declared", "--watts", "80", "--json")
    assert code == 0, err
    rows = json.loads(out)
    assert [r["probe"] for r in rows] == ["membw", "llm-decode"]
    assert all(KEYS <= r.keys() for r in rows) and rows[1]["power_source"] == "declared 80 W"
    # Declared 80 W over the window, per token generated in it: exact, where 80 W / the median rate is only near it.
    decode = rows[1]
    assert decode["energy"]["window_s"] >= decode["seconds"]  # the timed steps all fell inside the window
    assert decode["joules_per_unit"] == pytest.approx(80.0 * decode["energy"]["window_s"] / decode["work"])


def test_cli_probe_names_a_skipped_shape_on_one_stderr_line(capsys, monkeypatch):
    """A skip goes to stderr only (--json lists results); benchmarks/gpu/summarize.py reads it back by its prefix, so
    a reason wrapped at the console's width would lose its end there."""
    monkeypatch.setattr(runner_module, "buffer_bytes", lambda device, quick: 4 << 20)
    monkeypatch.setattr(runner_module, "CPU_QUICK", replace(runner_module.CPU_QUICK, presets=("cpu-tiny", "llama-70b")))
    monkeypatch.setattr(Device, "free_memory", lambda self: 2 << 30)
    code, out, err = invoke(capsys, "probe", "--device", "cpu", "--quick", "--probe", "llm-decode", "--threads", "1",
                            "--seconds", "0.05", "--energy", "none", "--json")
    assert code == 0 and [r["probe"] for r in json.loads(out)] == ["membw", "llm-decode"]
    (line,) = [text for text in err.splitlines() if text.startswith("skipped ")]
    assert line.startswith("skipped llm-decode llama-70b: llama-70b in fp32") and line.endswith("GB free on cpu")


def test_a_probe_that_fails_at_run_time_is_named_and_the_rest_still_run(capsys, monkeypatch, tmp_path):
    """A RuntimeError from torch or the GPU inside one probe (a CUDA error, a kernel torch lacks, the GEMM's own check
    against torch.matmul) ended `hashbench probe` in a traceback and lost every probe after it; in `hashbench run` it
    ended the run. Now the probe is named as failed on one stderr line, the others run, and the exit status is 1."""
    from hashbench.run import RunRecord, run_all_probes

    def broken(*args, **kwargs):
        raise RuntimeError("CUDA error: an illegal memory access was encountered\nCUDA kernel errors might be "
                           "asynchronously reported at some other API call")

    monkeypatch.setattr(runner_module, "buffer_bytes", lambda device, quick: 4 << 20)
    monkeypatch.setattr(runner_module, "run_membw", broken)
    code, out, err = invoke(capsys, "probe", "--device", "cpu", "--quick", "--probe", "gemm", "--probe", "llm-decode",
                            "--dtype", "fp32", "--threads", "1", "--seconds", "0.05", "--energy", "none", "--json")
    assert code == 1 and "Traceback" not in err
    assert [r["probe"] for r in json.loads(out)] == ["gemm", "llm-decode"]
    (line,) = [text for text in err.splitlines() if text.startswith("failed ")]
    assert line == "failed membw 4 MiB: CUDA error: an illegal memory access was encountered"
    code, out, err = invoke(capsys, "probe", "--device", "cpu", "--quick", "--probe", "gemm", "--dtype", "fp32",
                            "--threads", "1", "--seconds", "0.05", "--energy", "none")
    assert code == 0 and "gemm fp32" in out  # a run without the failing probe exits 0

    # `hashbench run`'s probe half: the failure is kept with its reason, the run's exit status counts it, and the
    # probes that did run are in the result file.
    monkeypatch.setattr(runner_module, "CPU_QUICK", replace(runner_module.CPU_QUICK, presets=("cpu-tiny",)))
    monkeypatch.setattr("hashbench.probes.available_devices", lambda: ["cpu"])
    from hashbench.host import detect_host

    record = RunRecord(host=detect_host(), started="2026-12-01T09:00:00+00:00")
    output = tmp_path / "run.json"
    with EnergyPlan(EnergyConfig(mode="none")) as meters:
        run_all_probes(record, output, quick=True, meters=meters, listen=lambda *a: None)
    assert record.probe_failures == 1
    assert {"backend": "probe membw 4 MiB",
            "reason": "failed: CUDA error: an illegal memory access was encountered"} in record.skipped
    assert {p.probe for p in record.probes} >= {"gemm", "llm-prefill", "llm-decode"}
    assert {m["name"].split("[")[0] for m in json.loads(output.read_text())["benchmarks"]} >= {"gemm", "llm-decode"}


def test_cli_probe_table(capsys, monkeypatch):
    monkeypatch.setattr(runner_module, "buffer_bytes", lambda device, quick: 4 << 20)
    code, out, _ = invoke(capsys, "probe", "--device", "cpu", "--quick", "--probe", "gemm", "--dtype", "fp32",
                          "--threads", "1", "--seconds", "0.05", "--energy", "none")
    assert code == 0 and "gemm fp32" in out and "torch.matmul" in out and "energy metering off" in out


@pytest.mark.parametrize("args, message", [
    (("--batch", "0"), "--batch must be >= 1"),
    (("--device", "tpu"), "--device must be cpu or cuda:N"),
    (("--seconds", "-1"), "--seconds must be > 0"),
    (("--energy", "declared"), "--energy declared needs --watts"),
    (("--batch", "3000000000"), "--batch must be at most 2,147,483,647, got 3,000,000,000"),
    (("--prompt-len", "1" + "0" * 400), "--prompt-len must be at most 2,147,483,647, got a 401-digit number"),
])
def test_cli_probe_bad_input_is_one_line_and_exit_2(capsys, args, message):
    device = () if "--device" in args else ("--device", "cpu")
    code, _, err = invoke(capsys, "probe", *device, *args)
    assert code == 2 and message in err and len(err.strip().splitlines()) == 1 and "Traceback" not in err


def test_cli_named_energy_source_missing_is_exit_2(capsys, monkeypatch, tmp_path):
    monkeypatch.setenv("HASHBENCH_RAPL_ROOT", str(tmp_path / "none"))
    code, _, err = invoke(capsys, "probe", "--device", "cpu", "--quick", "--energy", "rapl")
    assert code == 2 and "--energy rapl: no powercap interface" in err


@pytest.mark.skipif(torch.cuda.is_available(), reason="this machine has a GPU")
def test_cli_cuda_without_gpu_is_exit_2(capsys):
    code, _, err = invoke(capsys, "probe", "--device", "cuda:0", "--quick")
    assert code == 2 and "torch sees no CUDA GPU" in err


def test_cli_lists_presets(capsys, monkeypatch):
    code, out, _ = invoke(capsys, "probe", "--list-presets", "--json")
    listed = {p["preset"]: p for p in json.loads(out)}
    assert code == 0 and set(listed) == set(PRESETS)
    assert listed["llama-1b"]["max_positions"] == 131072 and listed["llama-1b"]["tie_embeddings"] is True
    # At 80 columns every preset is one line (the descriptions wrapped each row over 2-5 lines), its context shown.
    monkeypatch.setenv("COLUMNS", "80")
    code, out, _ = invoke(capsys, "probe", "--list-presets")
    rows = [" ".join(line.split()) for line in out.splitlines() if line.startswith("│")]
    assert code == 0 and max(len(line) for line in out.splitlines()) <= 80 and len(rows) == len(PRESETS)
    assert "│ llama-8b │ 8.03 B │ 32 │ 4096 │ 32/8 │ 131,072 │ Llama 3.1 8B │" in rows


# --- GPU -------------------------------------------------------------------------------------------------------------

needs_gpu = pytest.mark.skipif(not torch.cuda.is_available(), reason="needs an NVIDIA GPU (torch sees none)")


@pytest.mark.gpu
@needs_gpu
def test_gpu_quick_probe_set():
    run = run_probes(ProbeSettings(device="cuda:0", quick=True, seconds=0.5),
                     EnergyPlan(EnergyConfig(idle_seconds=0.5)))
    assert {r.probe for r in run.results} == {"gemm", "membw", "llm-prefill", "llm-decode"}
    decode = next(r for r in run.results if r.probe == "llm-decode")
    assert 0 < decode.roofline_fraction <= 1.2
    membw = next(r for r in run.results if r.probe == "membw")
    assert "NVML nominal peak" in membw.roofline_basis or "no nominal peak" in membw.roofline_basis


@pytest.mark.gpu
@needs_gpu
def test_gpu_decode_matches_prefill_in_bf16():
    dev = resolve_device("cuda:0")
    w = random_weights(SMALL, dev.torch_device, torch.bfloat16, seed=2)
    model = LlamaModel(SMALL, w, dev.torch_device, torch.bfloat16, 12)
    tokens = tokens_for(SMALL, 2, 9).to(dev.torch_device)
    cache = KVCache(SMALL, 2, 12, dev.torch_device, torch.bfloat16)
    model.forward(tokens[:, :8], 0, cache)
    step = model.forward(tokens[:, 8:9], 8, cache)
    full = model.forward(tokens, 0, KVCache(SMALL, 2, 12, dev.torch_device, torch.bfloat16))
    torch.testing.assert_close(step.float(), full.float(), rtol=3e-2, atol=3e-2)


def test_available_devices_starts_with_the_cpu():
    from hashbench.probes import available_devices

    devices = available_devices()
    assert devices[0] == "cpu" and len(devices) == 1 + torch.cuda.device_count()


@pytest.mark.parametrize("setting, tf32", [
    ("torch.backends.cuda.matmul.fp32_precision = 'tf32'", True),
    ("torch.backends.fp32_precision = 'tf32'", True),
    ("torch.backends.cuda.matmul.fp32_precision = 'ieee'", False),
    ("torch.backends.cuda.matmul.allow_tf32 = True", True),
    ("torch.set_float32_matmul_precision('high')", True),
    ("pass", False),
])
def test_gemm_tf32_label_reads_either_torch_api(setting, tf32):
    """The fp32 GEMM's allow_tf32 label on a GPU: reading the legacy flag raises once TF32 was set through torch 2.9's
    fp32_precision, which would lose a whole measured probe. In a subprocess: the settings are process-global."""
    import subprocess
    import sys

    if setting.startswith("torch.backends.cuda.matmul.fp32_precision") or "backends.fp32" in setting:
        if not hasattr(torch.backends, "fp32_precision"):
            pytest.skip(f"torch {torch.__version__} has no fp32_precision API")
    code = f"import torch\n{setting}\nfrom hashbench.probes.gemm import tf32_matmul\nprint(tf32_matmul(torch))"
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr[-500:]
    assert proc.stdout.strip() == str(tf32)


def test_the_table_fits_80_columns_with_every_figure_whole():
    """At 80 columns the table wrapped every gemm, membw and decode row over two or three lines (the comparison and
    ms/token sat in the measured cell). Figures as wide as an H200 run makes them, on two devices as `run` shows."""
    from rich.console import Console

    from hashbench.cli_probe import results_table

    def row(probe, preset, dtype, batch, value, unit, per, jpu, device="cuda:0", **extra):
        return {"probe": probe, "preset": preset, "dtype": dtype, "batch": batch, "device": device, "value": value,
                "unit": unit, "per": per, "joules_per_unit": jpu, "roofline_fraction": 0.987, "reference_ratio": None,
                "reference_impl": None, "ms_per_token": None, **extra}

    rows = [row("gemm", "8192x8192x8192", "bf16", None, 987.65e12, "FLOP/s", "TFLOP", 1234.5, reference_ratio=1.02,
                reference_impl="torch.matmul"),
            row("membw", "1024 MiB", None, None, 4.321e12, "B/s", "GB", 0.123, reference_ratio=0.97,
                reference_impl="tensor.sum (read only)"),
            row("llm-prefill", "llama-70b", "bf16", 256, 123456.7, "tokens/s", "token", 0.00987),
            row("llm-decode", "llama-70b", "bf16", 256, 12345.6, "tokens/s", "token", 0.0987, ms_per_token=20.74),
            row("llm-decode", "cpu-small", "fp32", 1, 123.4, "tokens/s", "token", None, device="cpu",
                ms_per_token=8.1)]
    console = Console(width=80, record=True, color_system=None)
    console.print(results_table(rows))
    text = console.export_text()
    lines = text.splitlines()
    assert max(len(line) for line in lines) <= 80
    body = [" ".join(line.split()) for line in lines if line.startswith("│")]
    assert len(body) == len(rows), text  # one line a row: nothing wrapped
    for cells in ("│ gemm bf16 ", "│ 8192³ ", "│ 987.65 TFLOP/s │ 99 % │ 1.23 kJ/TFLOP │", "│ 4.32 TB/s │",
                  "│ llama-70b ×256 │ 123,457 tok/s │ 99 % │ 0.00987 J/token │", "│ 0.0987 J/token │",
                  "│ 123.4 tok/s │"):
        assert sum(cells in line for line in body) == 1, (cells, text)
    text = " ".join(text.split())  # the lines under the table are prose, wrapped at the width
    assert "AI probes on cuda:0 (measured)" in text and "AI probes on cpu (measured)" in text
    assert "gemm bf16 8192³ on cuda:0: 1.02× torch.matmul (same shapes, alternating blocks)" in text
    assert "membw 1024 MiB on cuda:0: a copy, counted as read + write; 0.97× tensor.sum (read only)" in text
    assert "llm-decode bf16 llama-70b ×256 on cuda:0: 20.74 ms/token per sequence (a step makes 256 tokens)" in text
    assert "llm-decode fp32 cpu-small ×1 on cpu: 8.10 ms/token" in text


def test_a_precision_the_hardware_lacks_is_flagged_on_every_figure_in_it(monkeypatch):
    """--dtype bf16 on a CPU without bf16 instructions ran torch's fp32 emulation and printed its figures as the
    machine's, with no word of it."""
    monkeypatch.setattr(runner_module, "buffer_bytes", lambda device, quick: 4 << 20)
    monkeypatch.setattr(Device, "native_dtypes", lambda self: ["fp32"])
    run = run_probes(ProbeSettings(device="cpu", probes=("gemm", "llm-decode"), quick=True, seconds=0.01,
                                   dtype="bf16", threads=1))
    assert [(r.probe, r.dtype) for r in run.results] == [("gemm", "bf16"), ("membw", None), ("llm-decode", "bf16")]
    for r in run.results:
        emulated = [f for f in r.flags if f.startswith("cpu has no native bf16 instructions")]
        assert len(emulated) == (r.dtype == "bf16"), (r.probe, r.flags)
    native = run_probes(ProbeSettings(device="cpu", probes=("gemm",), quick=True, seconds=0.01, dtype="fp32",
                                      threads=1))
    assert not native.results[0].flags


def test_a_precision_torch_cannot_run_here_is_refused_before_any_probe(capsys, monkeypatch):
    monkeypatch.setattr(Device, "native_dtypes", lambda self: ["fp32"])
    monkeypatch.setattr(Device, "runs_dtype", lambda self, name: name == "fp32")
    no_probe_may_run(monkeypatch)
    code, out, err = invoke(capsys, "probe", "--device", "cpu", "--quick", "--energy", "none", "--dtype", "fp16")
    assert code == 2 and not out and err.strip() == (f"hashbench: error: --dtype fp16: torch {torch.__version__} has "
                                                     "no fp16 kernels on cpu")
