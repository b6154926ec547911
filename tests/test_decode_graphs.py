"""Static-shape decode for CUDA graphs: LlamaModel.decode_step against forward (position as a device tensor, KV read
in buckets past the position with the stale tail masked), the bucket schedule, and DecodeGraphs' greedy loop against
the eager one. The graph capture itself needs a GPU: those checks are marked `gpu`."""

from __future__ import annotations

import pytest

torch = pytest.importorskip("torch", reason="the AI probes need torch (pip install 'hashbench[ai]')")

from hashbench.energy import EnergyConfig, EnergyPlan  # noqa: E402
from hashbench.probes.device import Device, resolve_device  # noqa: E402
from hashbench.probes.llama import PRESETS, KVCache, LlamaModel, decode_schedule, random_weights  # noqa: E402
from hashbench.probes.llm import DecodeGraphs, load_model, memory_needed, run_decode  # noqa: E402

TINY = PRESETS["cpu-tiny"]
CPU = Device("cpu", torch.device("cpu"))
needs_gpu = pytest.mark.skipif(not torch.cuda.is_available(), reason="needs an NVIDIA GPU (torch sees none)")


def tokens_for(batch: int, length: int, seed: int = 3, device: str = "cpu"):
    gen = torch.Generator().manual_seed(seed)
    return torch.randint(0, TINY.vocab, (batch, length), generator=gen).to(device)


def copy_cache(cache: KVCache) -> KVCache:
    twin = KVCache(TINY, cache.batch, cache.max_len, cache.k.device, cache.k.dtype)
    twin.k.copy_(cache.k)
    twin.v.copy_(cache.v)
    return twin


def eager_tokens(model: LlamaModel, cache: KVCache, first, prompt: int, gen: int):
    out, tok = [], first
    for i in range(gen):
        tok = model.forward(tok, prompt + i, cache).argmax(-1, keepdim=True)
        out.append(tok)
    return torch.cat(out, dim=1)


# --- decode_step ------------------------------------------------------------------------------------------------------

def test_decode_step_matches_forward_for_every_bucket_size():
    batch, prompt, steps, max_len = 2, 20, 6, 40
    w = random_weights(TINY, "cpu", torch.float32, seed=5)
    # RMSNorm gains other than random_weights' ones, so decode_step applying a gain differently from forward shows.
    gains = torch.Generator().manual_seed(4)
    for gain in [w.norm] + [g for layer in w.layers for g in (layer.attn_norm, layer.mlp_norm)]:
        gain.uniform_(0.5, 1.5, generator=gains)
    model = LlamaModel(TINY, w, "cpu", torch.float32, max_len)
    tokens = tokens_for(batch, prompt + steps)
    reference = KVCache(TINY, batch, max_len, "cpu", torch.float32)
    model.forward(tokens[:, :prompt], 0, reference)
    # Stale K/V past the prompt, large enough that any unmasked read of it would move the logits far.
    stale = torch.Generator().manual_seed(9)
    reference.k[:, :, :, prompt:].normal_(0, 5, generator=stale)
    reference.v[:, :, :, prompt:].normal_(0, 5, generator=stale)
    buckets = {"exact": lambda p: p + 1, "by 8": lambda p: -(-(p + 1) // 8) * 8, "whole cache": lambda p: max_len}
    caches = {name: copy_cache(reference) for name in buckets}
    pos = torch.zeros(1, dtype=torch.long)
    for p in range(prompt, prompt + steps):
        tok = tokens[:, p:p + 1]
        want = model.forward(tok, p, reference)
        pos.fill_(p)
        for name, keys_len in buckets.items():
            assert keys_len(p) >= p + 1
            got = model.decode_step(tok, pos, caches[name], keys_len(p))
            # Logits reach ~200 here: 1e-4 is a few fp32 ulps, the summation order of a longer masked read.
            torch.testing.assert_close(got, want, rtol=1e-5, atol=1e-4, msg=lambda m, n=name, p=p: f"{n} at {p}: {m}")
        assert pos.item() == p  # decode_step reads the position, it does not advance it
    for name, cache in caches.items():
        # Written positions agree; the stale tail past them is untouched, bit for bit.
        torch.testing.assert_close(cache.k, reference.k, rtol=1e-5, atol=1e-5, msg=lambda m, n=name: f"{n}: {m}")
        torch.testing.assert_close(cache.v, reference.v, rtol=1e-5, atol=1e-5, msg=lambda m, n=name: f"{n}: {m}")
        assert torch.equal(cache.k[:, :, :, prompt + steps:], reference.k[:, :, :, prompt + steps:])
        assert torch.equal(cache.k[:, :, :, :prompt], reference.k[:, :, :, :prompt])


def test_decode_step_masks_the_stale_tail():
    """The same step over a clean and a garbage tail: identical logits, so the positions past `pos` are not read
    into the result (a missing mask would show here, whatever forward does)."""
    w = random_weights(TINY, "cpu", torch.float32, seed=7)
    model = LlamaModel(TINY, w, "cpu", torch.float32, 32)
    tokens = tokens_for(1, 11)
    clean = KVCache(TINY, 1, 32, "cpu", torch.float32)
    model.forward(tokens[:, :10], 0, clean)
    dirty = copy_cache(clean)
    dirty.k[:, :, :, 10:].fill_(1e4)
    dirty.v[:, :, :, 10:].fill_(-1e4)
    pos = torch.tensor([10])
    a = model.decode_step(tokens[:, 10:11], pos, clean, 32)
    b = model.decode_step(tokens[:, 10:11], pos, dirty, 32)
    torch.testing.assert_close(a, b, rtol=0, atol=1e-6)


def test_decode_step_rejects_a_bucket_outside_the_cache():
    w = random_weights(TINY, "cpu", torch.float32)
    model = LlamaModel(TINY, w, "cpu", torch.float32, 8)
    cache = KVCache(TINY, 1, 8, "cpu", torch.float32)
    for keys_len in (0, 9):
        with pytest.raises(ValueError) as raised:
            model.decode_step(tokens_for(1, 1), torch.tensor([0]), cache, keys_len)
        assert str(raised.value) == f"keys_len {keys_len} outside 1..8"
    # The smallest bucket, one key: position 0 attending to itself, as forward's first step does.
    torch.testing.assert_close(model.decode_step(tokens_for(1, 1), torch.tensor([0]), cache, 1),
                               model.forward(tokens_for(1, 1), 0, KVCache(TINY, 1, 8, "cpu", torch.float32)),
                               rtol=1e-5, atol=1e-5)


# --- the bucket schedule ----------------------------------------------------------------------------------------------

@pytest.mark.parametrize("step", [1, 7, 64, 128, 256])
@pytest.mark.parametrize("prompt,gen,spare", [(0, 1, 0), (1, 1, 0), (32, 8, 0), (100, 60, 3), (127, 2, 0),
                                              (128, 128, 0), (512, 128, 0), (500, 300, 77), (1000, 1, 5000)])
def test_schedule_picks_the_smallest_bucket_for_every_position(step, prompt, gen, spare):
    max_len = prompt + gen + spare
    schedule = decode_schedule(prompt, gen, max_len, step)
    assert len(schedule) == gen
    for pos, keys_len in zip(range(prompt, prompt + gen), schedule, strict=True):
        assert pos + 1 <= keys_len <= max_len
        assert keys_len == max_len or keys_len % step == 0
        smaller = (keys_len - 1) // step * step  # the bucket below: a multiple of step under keys_len
        assert smaller < pos + 1  # ...is too small, so keys_len is the smallest that fits
    assert schedule == sorted(schedule)  # buckets only grow: graphs replay in the order they were captured


def test_schedule_examples():
    assert decode_schedule(512, 128, 640, 128) == [640] * 128  # GPU defaults: one bucket, the whole cache
    assert decode_schedule(100, 60, 300, 64) == [128] * 28 + [192] * 32
    assert decode_schedule(128, 32, 160, 256) == [160] * 32  # capped at the cache's length
    assert decode_schedule(5, 0, 8, 4) == []  # nothing to generate: no steps, not an error
    assert decode_schedule(0, 8, 8, 4) == [4] * 4 + [8] * 4  # a prompt of 0 and a cache filled exactly
    for prompt, gen, max_len, message in [(100, 60, 159, "positions 100..160 do not fit a KV cache of 159"),
                                          (-1, 2, 8, "positions -1..1 do not fit a KV cache of 8"),
                                          (2, -1, 8, "positions 2..1 do not fit a KV cache of 8")]:
        with pytest.raises(ValueError) as raised:
            decode_schedule(prompt, gen, max_len, 64)
        assert str(raised.value) == message
    with pytest.raises(ValueError) as raised:
        decode_schedule(1, 1, 8, 0)
    assert str(raised.value) == "bucket step must be >= 1, got 0"


# --- DecodeGraphs without capture, and the probe on the CPU -----------------------------------------------------------

def test_static_steps_generate_what_the_eager_loop_does():
    """DecodeGraphs' step (argmax into the token buffer, position advanced on the device, bucket per step) run
    eagerly reproduces the forward loop's greedy tokens, across buckets, and again after a restart."""
    batch, prompt, gen = 2, 13, 20
    w = random_weights(TINY, "cpu", torch.float32, seed=11)
    model = LlamaModel(TINY, w, "cpu", torch.float32, prompt + gen)
    cache = KVCache(TINY, batch, prompt + gen, "cpu", torch.float32)
    first = model.forward(tokens_for(batch, prompt), 0, cache).argmax(-1, keepdim=True)
    want = eager_tokens(model, copy_cache(cache), first, prompt, gen)
    runner = DecodeGraphs(model, cache, prompt, gen, step=8)
    assert runner.buckets == [16, 24, 32, 33] and not runner.graphs
    for _ in range(2):
        out = torch.full((batch, gen), -1, dtype=torch.long)
        runner.run(first, out)
        assert torch.equal(out, want)
        assert runner.pos.item() == prompt + gen


def test_memory_estimate_counts_the_graph_pool_on_cuda_only():
    s, args = PRESETS["llama-8b"], (1, 512, 128, 2)
    margins = (1 << 30) - (256 << 20)
    extra = memory_needed(s, *args, is_cuda=True) - memory_needed(s, *args, is_cuda=False) - margins
    step_activations = (3 * s.hidden + 3 * s.intermediate + s.q_dim + 2 * s.kv_dim + s.vocab) * 2
    assert step_activations < extra < 4 * step_activations


def test_cpu_decode_stays_eager_and_reports_no_padding():
    loaded = load_model(CPU, TINY, None, "fp32", 1, 16, 4)
    r = run_decode(loaded, CPU, 1, 16, 4, 0.01, EnergyPlan(EnergyConfig(mode="none")))
    assert r.detail["cuda_graphs"] is False and r.detail["graph_buckets"] is None
    assert r.detail["kv_padding_fraction"] == 0.0
    contexts = range(17, 21)
    assert r.detail["kv_read_bytes_per_step"] == pytest.approx(sum(TINY.kv_bytes(1, c, 4) for c in contexts) / 4)
    assert "CUDA graphs" not in r.impl and not any("graph" in f for f in r.flags)


# --- GPU --------------------------------------------------------------------------------------------------------------

@pytest.mark.gpu
@needs_gpu
def test_gpu_graph_replay_generates_what_the_eager_loop_does():
    dev = resolve_device("cuda:0")
    batch, prompt, gen = 2, 40, 50
    w = random_weights(TINY, dev.torch_device, torch.float32, seed=13)
    model = LlamaModel(TINY, w, dev.torch_device, torch.float32, prompt + gen)
    cache = KVCache(TINY, batch, prompt + gen, dev.torch_device, torch.float32)
    with torch.inference_mode():
        first = model.forward(tokens_for(batch, prompt, device=dev.torch_device), 0, cache).argmax(-1, keepdim=True)
        want = eager_tokens(model, copy_cache(cache), first, prompt, gen)
        uncaptured = DecodeGraphs(model, copy_cache(cache), prompt, gen, step=32)
        static = torch.full((batch, gen), -1, dtype=torch.long, device=dev.torch_device)
        uncaptured.run(first, static)
        runner = DecodeGraphs(model, cache, prompt, gen, step=32)
        runner.capture()
        assert runner.buckets == [64, 90] and set(runner.graphs) == {64, 90}
        for _ in range(2):  # a restart replays from the prompt's end again
            out = torch.full((batch, gen), -1, dtype=torch.long, device=dev.torch_device)
            runner.run(first, out)
            torch.cuda.synchronize()
            assert torch.equal(out, static)  # the same kernels, replayed: bit-identical
            assert torch.equal(out, want)  # fp32, masked bucket vs exact-length read: the same greedy choices
            assert runner.pos.item() == prompt + gen


@pytest.mark.gpu
@needs_gpu
def test_gpu_decode_probe_uses_graphs():
    dev = resolve_device("cuda:0")
    loaded = load_model(dev, TINY, None, "bf16", 4, 64, 16)
    r = run_decode(loaded, dev, 4, 64, 16, 0.05, EnergyPlan(EnergyConfig(mode="none")))
    assert r.detail["cuda_graphs"] is True and r.detail["graph_buckets"] == "80", r.flags
    assert "CUDA graphs" in r.impl and not any("capture failed" in f for f in r.flags)
    assert 0 < r.detail["kv_padding_fraction"] < 1


@pytest.mark.gpu
@needs_gpu
def test_gpu_decode_probe_can_run_eagerly_for_the_ab():
    dev = resolve_device("cuda:0")
    loaded = load_model(dev, TINY, None, "bf16", 4, 64, 16)
    r = run_decode(loaded, dev, 4, 64, 16, 0.05, EnergyPlan(EnergyConfig(mode="none")), cuda_graphs=False)
    assert r.detail["cuda_graphs"] is False and r.detail["graph_buckets"] is None
    assert "CUDA graphs" not in r.impl and not any("capture failed" in f for f in r.flags)
