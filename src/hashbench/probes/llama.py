"""A Llama-architecture decoder in plain torch: RMSNorm, rotary embeddings, grouped-query attention through
scaled_dot_product_attention, SwiGLU MLP, and a static KV cache (allocated once, written in place, never grown).

Weights are random unless loaded from a local checkpoint (hf_local.py): the shapes set the speed, not the values.
Projections are fused the way serving engines fuse them (q/k/v in one GEMM, gate/up in one), which is also what
makes the FLOP and byte counts below exact: they follow the same tensors the forward pass reads.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field, replace
from typing import Any

from .device import require_torch


@dataclass(frozen=True)
class RopeScaling:
    """Llama 3.1's frequency rescaling for long contexts (rope_scaling.rope_type == "llama3")."""

    factor: float
    low_freq_factor: float
    high_freq_factor: float
    original_max_positions: int


@dataclass(frozen=True)
class LinearRope:
    """Position interpolation (rope_type "linear"): every position divided by `factor`, i.e. every inverse
    frequency divided by it (Chen et al. 2023, "Extending Context Window ... via Positional Interpolation")."""

    factor: float


@dataclass(frozen=True)
class YarnRope:
    """YaRN (rope_type "yarn"; Peng et al. 2023): dimensions that turn fewer than `beta_slow` times over the original
    context are interpolated (divided by `factor`), those turning more than `beta_fast` times are kept, with a linear
    ramp over the dimension index between the two (the boundaries rounded outwards unless `truncate` is False); cos
    and sin are multiplied by `attention_factor`, so attention logits by its square (the paper's sqrt(1/t))."""

    factor: float
    original_max_positions: int
    beta_fast: float = 32.0
    beta_slow: float = 1.0
    attention_factor: float = 1.0
    truncate: bool = True


@dataclass(frozen=True)
class DynamicNtkRope:
    """Dynamic NTK scaling (rope_type "dynamic", as transformers computes it): a forward pass whose positions reach
    seq_len > original_max_positions rotates them with the base rescaled to
    theta · (factor · seq_len / original − (factor − 1)) ^ (d / (d − 2)), d the head dimension; within the original
    context it is the default RoPE. Keys are cached already rotated, so each keeps the base of the pass that wrote
    it: in a prefill of L positions every position gets L's base, in decode the token at position p gets p + 1's."""

    factor: float
    original_max_positions: int

    def base(self, theta: float, dim: int, seq_len: Any) -> Any:
        """The rescaled base for a pass reaching `seq_len` positions (an int, or a float64 tensor of them)."""
        torch = require_torch()
        if isinstance(seq_len, int):
            seq_len = torch.tensor(float(seq_len), dtype=torch.float64)
        seq_len = seq_len.clamp(min=self.original_max_positions)
        return theta * (self.factor * seq_len / self.original_max_positions - (self.factor - 1)) ** (dim / (dim - 2))


def yarn_mscale(factor: float, mscale: float = 1.0) -> float:
    """The paper's sqrt(1/t) = 0.1 ln(s) + 1 for a context stretched s times (1 when not stretched)."""
    return 1.0 if factor <= 1 else 0.1 * mscale * math.log(factor) + 1.0


@dataclass(frozen=True)
class LlamaShape:
    name: str
    hidden: int
    intermediate: int
    layers: int
    heads: int
    kv_heads: int
    vocab: int
    head_dim: int = 0  # 0: hidden // heads
    tie_embeddings: bool = False
    rope_theta: float = 500000.0
    rms_eps: float = 1e-5
    rope_scaling: RopeScaling | LinearRope | YarnRope | DynamicNtkRope | None = None
    # The context the model was trained for (config.json max_position_embeddings); None: no limit known.
    max_positions: int | None = None
    description: str = ""

    def __post_init__(self) -> None:
        if self.heads % self.kv_heads:
            raise ValueError(f"{self.name}: {self.heads} query heads do not group over {self.kv_heads} KV heads")

    @property
    def hd(self) -> int:
        return self.head_dim or self.hidden // self.heads

    @property
    def q_dim(self) -> int:
        return self.heads * self.hd

    @property
    def kv_dim(self) -> int:
        return self.kv_heads * self.hd

    def layer_linear_params(self) -> int:
        return (self.hidden * (self.q_dim + 2 * self.kv_dim) + self.q_dim * self.hidden
                + 3 * self.hidden * self.intermediate)

    def params(self) -> int:
        per_layer = self.layer_linear_params() + 2 * self.hidden
        embeddings = self.vocab * self.hidden * (1 if self.tie_embeddings else 2)
        return self.layers * per_layer + embeddings + self.hidden

    def weight_bytes(self, elt: int) -> int:
        return self.params() * elt

    def kv_bytes(self, batch: int, length: int, elt: int) -> int:
        return self.layers * 2 * batch * self.kv_dim * length * elt

    def prefill_flops(self, batch: int, prompt: int) -> float:
        """Useful FLOPs of one prefill: every projection, causal attention (half the score matrix), and the LM head
        for the last position only (all a server needs to start decoding)."""
        tokens = batch * prompt
        linear = 2.0 * tokens * self.layers * self.layer_linear_params()
        attention = self.layers * 4.0 * batch * self.heads * self.hd * prompt * (prompt + 1) / 2
        return linear + attention + 2.0 * batch * self.hidden * self.vocab

    def decode_step_flops(self, batch: int, context: int) -> float:
        """One decode step for `batch` sequences attending to `context` positions (the new one included)."""
        linear = 2.0 * batch * (self.layers * self.layer_linear_params() + self.hidden * self.vocab)
        return linear + self.layers * 4.0 * batch * self.heads * self.hd * context

    def decode_step_bytes(self, batch: int, context: int, elt: int) -> float:
        """Bytes a decode step must move at least: every weight once (layers, final norm, LM head; embedding rows
        for the batch), the KV cache of `context` positions read, the new position's K and V written."""
        weights = self.layers * (self.layer_linear_params() + 2 * self.hidden) + self.hidden
        weights += self.vocab * self.hidden + batch * self.hidden
        kv = self.layers * 2 * batch * self.kv_dim * (context + 1)
        return float((weights + kv) * elt)


# Descriptions are short: `probe --list-presets` fits them in 80 columns (cpu-small's weights, ~300 MB in fp32,
# are beyond a CPU's last-level cache, so its decode streams from DRAM).
# Published architectures (Llama 3.x config.json values: shapes, rope_theta, the llama3 rope_scaling, the
# 131,072-position context); the CPU presets keep the same proportions, small, with Llama 2's rope_theta 10000 and
# its 4,096-position context.
_LLAMA31_ROPE = RopeScaling(factor=8.0, low_freq_factor=1.0, high_freq_factor=4.0, original_max_positions=8192)
PRESETS: dict[str, LlamaShape] = {s.name: s for s in (
    LlamaShape("cpu-tiny", hidden=256, intermediate=768, layers=2, heads=4, kv_heads=2, vocab=2048,
               tie_embeddings=True, rope_theta=10000.0, max_positions=4096,
               description="tests, --quick"),
    LlamaShape("cpu-small", hidden=768, intermediate=2048, layers=8, heads=12, kv_heads=4, vocab=32000,
               tie_embeddings=True, rope_theta=10000.0, max_positions=4096,
               description="beyond the LLC"),
    LlamaShape("llama-1b", hidden=2048, intermediate=8192, layers=16, heads=32, kv_heads=8, vocab=128256,
               head_dim=64, tie_embeddings=True, rope_scaling=replace(_LLAMA31_ROPE, factor=32.0), max_positions=131072,
               description="Llama 3.2 1B"),
    LlamaShape("llama-8b", hidden=4096, intermediate=14336, layers=32, heads=32, kv_heads=8, vocab=128256,
               rope_scaling=_LLAMA31_ROPE, max_positions=131072, description="Llama 3.1 8B"),
    LlamaShape("llama-70b", hidden=8192, intermediate=28672, layers=80, heads=64, kv_heads=8, vocab=128256,
               rope_scaling=_LLAMA31_ROPE, max_positions=131072,
               description="Llama 3.1 70B"),
)}


@dataclass
class LayerWeights:
    attn_norm: Any
    wqkv: Any  # [q_dim + 2 kv_dim, hidden]
    wo: Any  # [hidden, q_dim]
    mlp_norm: Any
    w_gate_up: Any  # [2 intermediate, hidden]
    w_down: Any  # [hidden, intermediate]


@dataclass
class LlamaWeights:
    embed: Any  # [vocab, hidden]
    layers: list[LayerWeights]
    norm: Any
    lm_head: Any  # [vocab, hidden]; the embedding itself when tied
    extra: dict = field(default_factory=dict)


def random_weights(shape: LlamaShape, device: Any, dtype: Any, seed: int = 0) -> LlamaWeights:
    """Uniform weights with std 1/sqrt(fan_in), so activations stay O(1) through every layer in fp16 too."""
    torch = require_torch()
    gen = torch.Generator(device=device).manual_seed(seed)

    def linear(rows: int, cols: int) -> Any:
        bound = math.sqrt(3.0 / cols)
        return torch.empty(rows, cols, device=device, dtype=dtype).uniform_(-bound, bound, generator=gen)

    def norm() -> Any:
        return torch.ones(shape.hidden, device=device, dtype=dtype)

    embed = torch.empty(shape.vocab, shape.hidden, device=device, dtype=dtype).uniform_(-1.7, 1.7, generator=gen)
    layers = [LayerWeights(norm(), linear(shape.q_dim + 2 * shape.kv_dim, shape.hidden),
                           linear(shape.hidden, shape.q_dim), norm(),
                           linear(2 * shape.intermediate, shape.hidden), linear(shape.hidden, shape.intermediate))
              for _ in range(shape.layers)]
    lm_head = embed if shape.tie_embeddings else linear(shape.vocab, shape.hidden)
    return LlamaWeights(embed, layers, norm(), lm_head)


def inverse_frequencies(shape: LlamaShape, seq_len: int | None = None) -> Any:
    """[head_dim / 2] inverse frequencies; `seq_len`, the positions a forward pass reaches, matters only to dynamic
    NTK scaling (None: within the original context)."""
    torch = require_torch()
    exponents = torch.arange(0, shape.hd, 2, dtype=torch.float64) / shape.hd
    s = shape.rope_scaling
    if isinstance(s, DynamicNtkRope):
        return 1.0 / s.base(shape.rope_theta, shape.hd, seq_len or s.original_max_positions) ** exponents
    inv = 1.0 / shape.rope_theta ** exponents
    if s is None:
        return inv
    if isinstance(s, LinearRope):
        return inv / s.factor
    if isinstance(s, YarnRope):
        return _yarn_frequencies(inv, shape.hd, shape.rope_theta, s)
    # Llama 3.1: long wavelengths slowed by `factor`, short ones kept, a smooth blend in between.
    wavelen = 2 * math.pi / inv
    low_wavelen = s.original_max_positions / s.low_freq_factor
    high_wavelen = s.original_max_positions / s.high_freq_factor
    smooth = (s.original_max_positions / wavelen - s.low_freq_factor) / (s.high_freq_factor - s.low_freq_factor)
    blended = (1 - smooth) * inv / s.factor + smooth * inv
    out = torch.where(wavelen > low_wavelen, inv / s.factor, blended)
    return torch.where(wavelen < high_wavelen, inv, out)


def _yarn_frequencies(inv: Any, dim: int, base: float, s: YarnRope) -> Any:
    torch = require_torch()

    def boundary(rotations: float) -> float:
        # The dimension index whose wavelength fits `rotations` times into the original context:
        # original / (2 pi base^(2i/dim)) = rotations, solved for i.
        return dim * math.log(s.original_max_positions / (rotations * 2 * math.pi)) / (2 * math.log(base))

    low, high = boundary(s.beta_fast), boundary(s.beta_slow)
    if s.truncate:
        low, high = math.floor(low), math.ceil(high)
    low, high = max(low, 0), min(high, dim - 1)
    if high == low:
        high += 0.001  # a ramp of no width would divide by zero: make it a step
    ramp = ((torch.arange(dim // 2, dtype=torch.float64) - low) / (high - low)).clamp(0, 1)
    # ramp 0: a fast dimension, kept (extrapolated); 1: a slow one, interpolated
    return inv * (1 - ramp) + inv / s.factor * ramp


def rope_attention_factor(shape: LlamaShape) -> float:
    """What cos and sin are multiplied by (YaRN's attention temperature); 1 for every other rope."""
    return shape.rope_scaling.attention_factor if isinstance(shape.rope_scaling, YarnRope) else 1.0


class KVCache:
    """Keys and values for every layer, [layers, batch, kv_heads, max_len, head_dim], allocated once."""

    def __init__(self, shape: LlamaShape, batch: int, max_len: int, device: Any, dtype: Any) -> None:
        torch = require_torch()
        size = (shape.layers, batch, shape.kv_heads, max_len, shape.hd)
        self.k = torch.zeros(size, device=device, dtype=dtype)
        self.v = torch.zeros(size, device=device, dtype=dtype)
        self.max_len = max_len
        self.batch = batch


def _rotate_half(x: Any) -> Any:
    torch = require_torch()
    half = x.shape[-1] // 2
    return torch.cat((-x[..., half:], x[..., :half]), dim=-1)


def _apply_rope(x: Any, cos: Any, sin: Any) -> Any:
    return x * cos + _rotate_half(x) * sin


def decode_schedule(prompt: int, gen: int, max_len: int, step: int) -> list[int]:
    """keys_len for each of `gen` decode steps after a `prompt`: step i writes position prompt + i and attends to
    positions 0..prompt + i, so it needs the smallest bucket (a multiple of `step`, or max_len, the last bucket)
    that is at least prompt + i + 1. Few distinct buckets means few CUDA graphs; a finer `step` means less of the
    KV cache read past the position and masked off."""
    if step < 1:
        raise ValueError(f"bucket step must be >= 1, got {step}")
    if prompt < 0 or gen < 0 or prompt + gen > max_len:
        raise ValueError(f"positions {prompt}..{prompt + gen} do not fit a KV cache of {max_len}")
    return [min(-(-(pos + 1) // step) * step, max_len) for pos in range(prompt, prompt + gen)]


class LlamaModel:
    def __init__(self, shape: LlamaShape, weights: LlamaWeights, device: Any, dtype: Any, max_len: int) -> None:
        torch = require_torch()
        self.shape, self.w, self.device, self.dtype = shape, weights, device, dtype
        # Rotary tables in the split-halves layout Hugging Face checkpoints are permuted for.
        positions = torch.arange(max_len, dtype=torch.float64)
        if isinstance(shape.rope_scaling, DynamicNtkRope):
            # Row p as one decode step writes it, a pass reaching p + 1 positions; forward recomputes a longer
            # pass's rows with its own length's base (_rotary).
            exponents = torch.arange(0, shape.hd, 2, dtype=torch.float64) / shape.hd
            base = shape.rope_scaling.base(shape.rope_theta, shape.hd, positions + 1)
            freqs = positions[:, None] / base[:, None] ** exponents[None, :]
        else:
            freqs = torch.outer(positions, inverse_frequencies(shape))
        emb = torch.cat((freqs, freqs), dim=-1)
        scale = rope_attention_factor(shape)
        self.cos = (emb.cos() * scale).to(device=device, dtype=dtype)
        self.sin = (emb.sin() * scale).to(device=device, dtype=dtype)
        self.max_len = max_len
        # Key positions for decode_step's mask, made once: an arange inside a captured step would be one more kernel.
        self.positions = torch.arange(max_len, device=device)

    def _norm(self, x: Any, weight: Any) -> Any:
        torch = require_torch()
        return torch.nn.functional.rms_norm(x, (self.shape.hidden,), weight, self.shape.rms_eps)

    def _rotary(self, start: int, length: int) -> tuple[Any, Any]:
        """cos and sin [1, length, 1, head_dim] for positions start..start + length of one forward pass."""
        torch = require_torch()
        s, end = self.shape.rope_scaling, start + length
        if isinstance(s, DynamicNtkRope) and length > 1 and end > s.original_max_positions:
            # A pass reaching `end` positions rotates all of them with end's base, not each with its own row's.
            freqs = torch.outer(torch.arange(start, end, dtype=torch.float64), inverse_frequencies(self.shape, end))
            emb = torch.cat((freqs, freqs), dim=-1)
            cos, sin = (t.to(device=self.device, dtype=self.dtype) for t in (emb.cos(), emb.sin()))
        else:
            cos, sin = self.cos[start:end], self.sin[start:end]
        return cos[None, :, None, :], sin[None, :, None, :]

    def forward(self, tokens: Any, start: int, cache: KVCache) -> Any:
        """Logits [batch, vocab] of the last position, after writing positions start..start+T into the cache."""
        torch = require_torch()
        F = torch.nn.functional
        s = self.shape
        batch, length = tokens.shape
        end = start + length
        if end > cache.max_len:
            raise ValueError(f"position {end} beyond the KV cache's {cache.max_len}")
        mask, causal = None, False
        if length > 1 and start == 0:
            causal = True
        elif length > 1:  # a chunk after earlier positions: query i sees keys up to start + i
            keys = torch.arange(end, device=self.device)
            mask = keys[None, :] <= (start + torch.arange(length, device=self.device))[:, None]
        groups = s.heads // s.kv_heads
        cos, sin = self._rotary(start, length)
        x = F.embedding(tokens, self.w.embed)
        for i, layer in enumerate(self.w.layers):
            h = self._norm(x, layer.attn_norm)
            q, k, v = F.linear(h, layer.wqkv).split((s.q_dim, s.kv_dim, s.kv_dim), dim=-1)
            q = _apply_rope(q.view(batch, length, s.heads, s.hd), cos, sin)
            k = _apply_rope(k.view(batch, length, s.kv_heads, s.hd), cos, sin)
            cache.k[i, :, :, start:end] = k.transpose(1, 2)
            cache.v[i, :, :, start:end] = v.view(batch, length, s.kv_heads, s.hd).transpose(1, 2)
            keys, values = cache.k[i, :, :, :end], cache.v[i, :, :, :end]
            if length == 1:
                # Decode: the query heads sharing a KV head become that head's rows, so K and V are read once per
                # KV head and no repeat or mask is needed (query head h uses KV head h // groups).
                o = F.scaled_dot_product_attention(q.view(batch, s.kv_heads, groups, s.hd), keys, values)
            else:
                o = F.scaled_dot_product_attention(q.transpose(1, 2), keys, values, attn_mask=mask, is_causal=causal,
                                                   enable_gqa=groups > 1).transpose(1, 2)
            x = x + F.linear(o.reshape(batch, length, s.q_dim), layer.wo)
            gate, up = F.linear(self._norm(x, layer.mlp_norm), layer.w_gate_up).chunk(2, dim=-1)
            x = x + F.linear(F.silu(gate) * up, layer.w_down)
        return F.linear(self._norm(x[:, -1], self.w.norm), self.w.lm_head)

    def decode_step(self, tok: Any, pos: Any, cache: KVCache, keys_len: int) -> Any:
        """forward(tok, p, cache) for one token per sequence, with the position p a device tensor instead of a Python
        int, so the same kernels, shapes and addresses serve every position and the step can be captured once as a
        CUDA graph and replayed. `tok` is [batch, 1] int64, `pos` a one-element int64 tensor (p); `keys_len` (static,
        > p) is how many cached positions the attention reads: those past p hold stale or zero K/V and are masked
        off, which costs reading them but gives the same logits as forward's exact-length read."""
        torch = require_torch()
        F = torch.nn.functional
        s = self.shape
        longest = min(cache.max_len, self.max_len)  # the KV cache's and the rotary table's
        if not 0 < keys_len <= longest:
            raise ValueError(f"keys_len {keys_len} outside 1..{longest}")
        batch = tok.shape[0]
        groups = s.heads // s.kv_heads
        # Per step, not per layer: the rotary row of position p, and an additive mask (0 up to p, -inf after) in the
        # model's dtype, which is what SDPA would otherwise make from a boolean mask in every layer.
        cos = self.cos.index_select(0, pos)[None, :, None, :]
        sin = self.sin.index_select(0, pos)[None, :, None, :]
        visible = self.positions[:keys_len] <= pos
        mask = torch.zeros(keys_len, device=self.device, dtype=self.dtype).masked_fill_(~visible, float("-inf"))
        mask = mask[None, None, None, :]  # broadcast over batch, KV heads and the grouped query rows
        x = F.embedding(tok, self.w.embed)
        for i, layer in enumerate(self.w.layers):
            h = self._norm(x, layer.attn_norm)
            q, k, v = F.linear(h, layer.wqkv).split((s.q_dim, s.kv_dim, s.kv_dim), dim=-1)
            q = _apply_rope(q.view(batch, 1, s.heads, s.hd), cos, sin)
            k = _apply_rope(k.view(batch, 1, s.kv_heads, s.hd), cos, sin)
            cache.k[i].index_copy_(2, pos, k.transpose(1, 2))
            cache.v[i].index_copy_(2, pos, v.view(batch, 1, s.kv_heads, s.hd).transpose(1, 2))
            keys, values = cache.k[i, :, :, :keys_len], cache.v[i, :, :, :keys_len]
            # As in forward's decode: query heads sharing a KV head are that head's rows, K and V read once per head.
            o = F.scaled_dot_product_attention(q.view(batch, s.kv_heads, groups, s.hd), keys, values,
                                               attn_mask=mask)
            x = x + F.linear(o.reshape(batch, 1, s.q_dim), layer.wo)
            gate, up = F.linear(self._norm(x, layer.mlp_norm), layer.w_gate_up).chunk(2, dim=-1)
            x = x + F.linear(F.silu(gate) * up, layer.w_down)
        return F.linear(self._norm(x[:, -1], self.w.norm), self.w.lm_head)
