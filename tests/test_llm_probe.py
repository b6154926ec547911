"""llm-prefill and llm-decode on a tiny random model on the CPU: what their results record (the rates, the work, the
timing loop's repetitions, the FLOP and byte figures, the model's description), the last-level-cache flag, where the
prompt lands in the KV cache, and the dtype a local checkpoint runs in. test_probes.py runs the probes end to end;
these pin the figures it only checks to be there. GPU-only paths (CUDA graph capture and replay) are in
test_decode_graphs.py, marked `gpu`."""

from __future__ import annotations

import json
import statistics
from dataclasses import replace

import pytest

torch = pytest.importorskip("torch", reason="the AI probes need torch (pip install 'hashbench[ai]')")

from test_probes import CPU, one_thread  # noqa: E402, F401 (the fixture: one torch thread)

from hashbench.energy import EnergyConfig, EnergyPlan  # noqa: E402
from hashbench.probes import llm  # noqa: E402
from hashbench.probes.device import Device  # noqa: E402
from hashbench.probes.llama import KVCache, LlamaModel, LlamaShape  # noqa: E402
from hashbench.probes.llm import (  # noqa: E402
    MIN_REPS,
    DtypeChoice,
    LoadedModel,
    checkpoint_run_dtype,
    load_model,
    run_decode,
    run_prefill,
)

# Small enough that a prefill or a decode step takes well under a millisecond on one core.
TINY = LlamaShape("test-tiny", hidden=32, intermediate=48, layers=2, heads=4, kv_heads=2, vocab=53,
                  rope_theta=10000.0)


@pytest.fixture
def no_cache(monkeypatch):
    """No last-level cache known: no 'fits in the cache' flag, whatever the host's L3."""
    monkeypatch.setattr(Device, "last_level_cache", lambda self: None)


def no_energy() -> EnergyPlan:
    return EnergyPlan(EnergyConfig(mode="none"))


def timings(result, per_rep: int) -> list[float]:
    """The seconds of each timed repetition, back from the samples (each is per_rep / seconds)."""
    return [per_rep / s for s in result.samples]


# --- the last-level-cache flag ----------------------------------------------------------------------------------------

def working_set(shape: LlamaShape, batch: int, length: int, elt: int = 4) -> int:
    return shape.weight_bytes(elt) + shape.kv_bytes(batch, length, elt)


@pytest.mark.parametrize("dtype, elt", [("fp32", 4), ("bf16", 2)])
def test_the_cache_flag_is_raised_when_weights_and_kv_fit_the_last_level_cache(monkeypatch, dtype, elt):
    loaded = LoadedModel(TINY, None, None, dtype, "random")  # the flag reads the shape and dtype only
    working = working_set(TINY, 2, 40, elt)
    monkeypatch.setattr(Device, "last_level_cache", lambda self: working)  # exactly fits
    assert llm._cache_flags(loaded, CPU, 2, 40, bandwidth_roof=True) == [
        f"weights + KV cache ({working / 1e6:.1f} MB) fit in the {working / 1e6:.0f} MB last-level cache: rates can "
        "exceed what DRAM allows and the roofline fraction can pass 1"]
    # prefill's roof is a GEMM's FLOP/s, which no cache raises: the fraction is not said to pass 1 for it
    assert llm._cache_flags(loaded, CPU, 2, 40, bandwidth_roof=False) == [
        f"weights + KV cache ({working / 1e6:.1f} MB) fit in the {working / 1e6:.0f} MB last-level cache: rates can "
        "exceed what DRAM allows"]
    # A byte short: the KV cache (which grows with the batch and length) no longer fits with the weights.
    monkeypatch.setattr(Device, "last_level_cache", lambda self: working - 1)
    assert llm._cache_flags(loaded, CPU, 2, 40, bandwidth_roof=True) == []
    assert llm._cache_flags(loaded, CPU, 1, 40, bandwidth_roof=True) != []  # one sequence's KV is half: it fits again
    for unknown in (None, 0):
        monkeypatch.setattr(Device, "last_level_cache", lambda self, v=unknown: v)
        assert llm._cache_flags(loaded, CPU, 1, 1, bandwidth_roof=True) == []


def test_cache_flag_megabytes_by_hand(monkeypatch):
    """TINY in fp32: 2 layers of wqkv 64·32, wo 32·32, gate|up 96·32, down 32·48 and two norms of 32, the final norm,
    embedding and LM head 53·32 each: 2·(2048 + 1024 + 3072 + 1536 + 64) + 32 + 2·1696 = 18,912 weights, 75,648
    bytes. KV of 2 sequences, 10 positions: 2 layers · 2 · 2 KV heads · 8 · 10 · 2 · 4 = 5,120 bytes. 80,768 bytes,
    0.1 MB, in a 3.5 MB cache (shown rounded: 4 MB)."""
    assert TINY.weight_bytes(4) == 75_648 and TINY.kv_bytes(2, 10, 4) == 5_120
    monkeypatch.setattr(Device, "last_level_cache", lambda self: 3_500_000)
    loaded = LoadedModel(TINY, None, None, "fp32", "random")
    [flag] = llm._cache_flags(loaded, CPU, 2, 10, bandwidth_roof=True)
    assert flag.startswith("weights + KV cache (0.1 MB) fit in the 4 MB last-level cache")


# --- llm-prefill ------------------------------------------------------------------------------------------------------

def test_prefill_result_records_its_rates_work_and_figures(no_cache):
    batch, prompt = 2, 6
    loaded = load_model(CPU, TINY, None, "fp32", batch, prompt, 3)
    r = run_prefill(loaded, CPU, batch, prompt, 1e-9, no_energy())
    per_rep = batch * prompt
    times = timings(r, per_rep)
    # A negligible time budget still takes the minimum repetitions, and no more.
    assert len(r.samples) == MIN_REPS
    assert (r.probe, r.device, r.preset, r.dtype, r.batch) == ("llm-prefill", "cpu", "test-tiny", "fp32", batch)
    assert (r.unit, r.per) == ("tokens/s", "token")
    assert r.impl == "llama block in torch (sdpa, fused qkv and gate/up)"
    assert r.flags == []
    assert r.work == per_rep * MIN_REPS  # tokens prefilled inside the energy window
    assert r.seconds == pytest.approx(sum(times), rel=1e-12)
    t = statistics.median(times)
    assert r.ms_per_token == pytest.approx(t / per_rep * 1e3, rel=1e-12)
    flop = TINY.prefill_flops(batch, prompt)
    assert r.detail == {
        "params": TINY.params(), "layers": 2, "hidden": 32, "heads": 4, "kv_heads": 2, "vocab": 53,
        "weights": "random", "prompt_len": prompt, "prefill_ms": pytest.approx(t * 1e3, rel=1e-12),
        "flop_per_prefill": flop, "flop_per_s": pytest.approx(flop / t, rel=1e-12)}  # no dtype_source: random


def test_prefill_flags_a_cache_that_holds_weights_and_the_prompts_kv(monkeypatch):
    batch, prompt = 2, 6
    loaded = load_model(CPU, TINY, None, "fp32", batch, prompt, 3)
    fits = working_set(TINY, batch, prompt)  # the prompt's KV: prefill writes no generated positions
    monkeypatch.setattr(Device, "last_level_cache", lambda self: fits)
    r = run_prefill(loaded, CPU, batch, prompt, 1e-9, no_energy())
    assert r.flags == [f"weights + KV cache ({fits / 1e6:.1f} MB) fit in the {fits / 1e6:.0f} MB last-level cache: "
                       "rates can exceed what DRAM allows"]


def test_prefill_runs_until_the_time_budget_is_spent(no_cache):
    loaded = load_model(CPU, TINY, None, "fp32", 1, 4, 1)
    seconds = 0.05  # many repetitions of a prefill that takes well under a millisecond
    r = run_prefill(loaded, CPU, 1, 4, seconds, no_energy())
    assert r.seconds >= seconds and len(r.samples) > MIN_REPS


def test_prefill_fills_the_cache_from_position_zero(no_cache):
    """The prompt's K/V land at positions 0..prompt-1, as decode expects them: a cache exactly the prompt's length
    holds it, and it matches a fresh forward of the same tokens."""
    batch, prompt = 2, 5
    loaded = load_model(CPU, TINY, None, "fp32", batch, prompt, 0)
    assert loaded.cache.max_len == prompt
    run_prefill(loaded, CPU, batch, prompt, 1e-9, no_energy())
    tokens = llm._tokens(loaded, CPU, batch, prompt)
    fresh = KVCache(TINY, batch, prompt, "cpu", torch.float32)
    loaded.model.forward(tokens, 0, fresh)
    torch.testing.assert_close(loaded.cache.k, fresh.k, rtol=0, atol=0)
    torch.testing.assert_close(loaded.cache.v, fresh.v, rtol=0, atol=0)


def test_prompt_tokens_are_the_same_every_run_whatever_the_global_seed():
    """Runs compare: the prompt comes from its own seeded generator, not torch's global one, in range, on the
    device, and twice the same."""
    loaded = LoadedModel(TINY, None, None, "fp32", "random")
    torch.manual_seed(123)
    a = llm._tokens(loaded, CPU, 4, 200)
    torch.manual_seed(456)
    b = llm._tokens(loaded, CPU, 4, 200)
    assert torch.equal(a, b) and a.shape == (4, 200) and a.dtype == torch.long and a.device.type == "cpu"
    # the whole vocabulary, token 0 included, and nothing past it
    assert a.unique().tolist() == list(range(TINY.vocab))


def test_a_checkpoint_result_says_where_its_weights_and_dtype_came_from(no_cache, tmp_path):
    loaded = load_model(CPU, TINY, None, "fp32", 1, 4, 1, dtype_source="ignored: random weights")
    assert loaded.dtype_source is None  # random weights have no dtype to explain
    checkpoint = replace(loaded, weights=str(tmp_path), dtype_source="the checkpoint's own (config.json dtype x)")
    r = run_prefill(checkpoint, CPU, 1, 4, 1e-9, no_energy())
    assert r.detail["weights"] == str(tmp_path)
    assert r.detail["dtype_source"] == "the checkpoint's own (config.json dtype x)"


# --- llm-decode -------------------------------------------------------------------------------------------------------

def test_decode_result_records_its_rates_work_and_figures(no_cache):
    batch, prompt, gen = 2, 6, 3
    loaded = load_model(CPU, TINY, None, "fp32", batch, prompt, gen)
    r = run_decode(loaded, CPU, batch, prompt, gen, 1e-9, no_energy())
    per_rep = batch * gen
    times = timings(r, per_rep)
    assert len(r.samples) == MIN_REPS
    assert (r.probe, r.device, r.preset, r.dtype, r.batch) == ("llm-decode", "cpu", "test-tiny", "fp32", batch)
    assert (r.unit, r.per) == ("tokens/s", "token")
    assert r.impl == "llama block in torch (sdpa, static KV cache, greedy)"
    assert r.flags == []
    assert r.work == per_rep * MIN_REPS
    assert r.seconds == pytest.approx(sum(times), rel=1e-12)
    t = statistics.median(times)
    assert r.ms_per_token == pytest.approx(t / gen * 1e3, rel=1e-12)  # one step makes a token per sequence
    contexts = (7, 8, 9)  # each step attends to the prompt, the tokens before it and its own
    moved = sum(TINY.decode_step_bytes(batch, c, 4) for c in contexts)
    flop = sum(TINY.decode_step_flops(batch, c) for c in contexts)
    kv_read = sum(TINY.kv_bytes(batch, c, 4) for c in contexts)
    assert r.detail == {
        "params": TINY.params(), "layers": 2, "hidden": 32, "heads": 4, "kv_heads": 2, "vocab": 53,
        "weights": "random", "prompt_len": prompt, "gen_len": gen,
        "bytes_per_step": pytest.approx(moved / gen, rel=1e-12), "bytes_per_s": pytest.approx(moved / t, rel=1e-12),
        "flop_per_s": pytest.approx(flop / t, rel=1e-12), "kv_cache_bytes": TINY.kv_bytes(batch, prompt + gen, 4),
        "cuda_graphs": False, "graph_buckets": None, "kv_read_bytes_per_step": pytest.approx(kv_read / gen, rel=1e-12),
        "kv_padding_fraction": 0.0}


@pytest.mark.parametrize("probe", ["prefill", "decode"])
def test_with_an_even_count_of_repetitions_every_figure_agrees_with_the_reported_rate(no_cache, monkeypatch, probe):
    """The reported rate is the median of per-repetition rates; ms/token, FLOP/s and bytes/s follow from it, not
    from the median time (with an even count, the two middle times' mean is not the time of the median rate)."""
    batch, prompt, gen = 2, 6, 3
    loaded = load_model(CPU, TINY, None, "fp32", batch, prompt, gen)
    steps = iter([0.010, 0.014] * 10)

    def fake_timed(fn, device):
        fn()
        return next(steps)

    monkeypatch.setattr(llm, "timed", fake_timed)
    if probe == "prefill":
        r = run_prefill(loaded, CPU, batch, prompt, 0.035, no_energy())
        per_rep = batch * prompt
        assert r.ms_per_token * 1e-3 * per_rep == pytest.approx(per_rep / r.value, rel=1e-12)
        flop = TINY.prefill_flops(batch, prompt)
        assert r.detail["flop_per_s"] == pytest.approx(flop * r.value / per_rep, rel=1e-12)
    else:
        r = run_decode(loaded, CPU, batch, prompt, gen, 0.035, no_energy())
        per_rep = batch * gen
        assert batch * 1000 / r.ms_per_token == pytest.approx(r.value, rel=1e-12)
        assert r.detail["bytes_per_s"] == pytest.approx(r.detail["bytes_per_step"] * r.value / batch, rel=1e-12)
    assert len(r.samples) == 4  # 10 + 14 + 10 ms < 35 ms: a fourth repetition
    assert r.value == pytest.approx(statistics.median([per_rep / 0.010, per_rep / 0.014]), rel=1e-12)


@pytest.mark.parametrize("probe", ["prefill", "decode"])
def test_the_warm_up_has_finished_on_the_device_before_the_energy_window_opens(no_cache, monkeypatch, probe):
    """A GPU queues the warm-up's work and returns at once: without a synchronisation before the meter starts, the
    window meters its joules but counts none of its tokens."""
    batch, prompt, gen = 1, 4, 2
    loaded = load_model(CPU, TINY, None, "fp32", batch, prompt, gen)
    events: list[str] = []
    forward = loaded.model.forward
    monkeypatch.setattr(loaded.model, "forward", lambda *a: events.append("forward") or forward(*a))
    monkeypatch.setattr(Device, "sync", lambda self: events.append("sync"))
    plan = no_energy()
    meter = plan.meter
    monkeypatch.setattr(plan, "meter", lambda name: events.append("open") or meter(name))
    if probe == "prefill":
        run_prefill(loaded, CPU, batch, prompt, 1e-9, plan)
    else:
        run_decode(loaded, CPU, batch, prompt, gen, 1e-9, plan, cuda_graphs=False)
    before = events[:events.index("open")]
    assert "forward" in before and before[-1] == "sync"


def test_decode_runs_until_the_time_budget_is_spent(no_cache):
    loaded = load_model(CPU, TINY, None, "fp32", 1, 4, 2)
    r = run_decode(loaded, CPU, 1, 4, 2, 0.05, no_energy())
    assert r.seconds >= 0.05 and len(r.samples) > MIN_REPS


def test_decode_flags_a_cache_that_holds_weights_and_the_whole_kv(monkeypatch):
    """The working set of decode is the KV of prompt + generated positions, not the prompt's alone."""
    batch, prompt, gen = 1, 6, 4
    loaded = load_model(CPU, TINY, None, "fp32", batch, prompt, gen)
    whole = working_set(TINY, batch, prompt + gen)
    monkeypatch.setattr(Device, "last_level_cache", lambda self: whole)
    r = run_decode(loaded, CPU, batch, prompt, gen, 1e-9, no_energy())
    assert r.flags == [f"weights + KV cache ({whole / 1e6:.1f} MB) fit in the {whole / 1e6:.0f} MB last-level "
                       "cache: rates can exceed what DRAM allows and the roofline fraction can pass 1"]
    monkeypatch.setattr(Device, "last_level_cache", lambda self: whole - 1)
    assert run_decode(loaded, CPU, batch, prompt, gen, 1e-9, no_energy()).flags == []


def test_decode_keeps_the_prompt_at_positions_zero_on_and_runs_batched(no_cache):
    """After the probe the cache holds the prompt's K/V at 0..prompt-1 (its prefill started at 0) and every
    sequence of the batch generated its own tokens into the positions after it."""
    batch, prompt, gen = 3, 5, 2
    loaded = load_model(CPU, TINY, None, "fp32", batch, prompt, gen)
    run_decode(loaded, CPU, batch, prompt, gen, 1e-9, no_energy())
    tokens = llm._tokens(loaded, CPU, batch, prompt)
    fresh = KVCache(TINY, batch, prompt + gen, "cpu", torch.float32)
    model = LlamaModel(TINY, loaded.model.w, "cpu", torch.float32, prompt + gen)
    tok = model.forward(tokens, 0, fresh).argmax(-1, keepdim=True)
    for i in range(gen):  # the greedy loop, by hand
        tok = model.forward(tok, prompt + i, fresh).argmax(-1, keepdim=True)
    torch.testing.assert_close(loaded.cache.k, fresh.k, rtol=1e-6, atol=1e-6)
    torch.testing.assert_close(loaded.cache.v, fresh.v, rtol=1e-6, atol=1e-6)


# --- the dtype a local checkpoint runs in -----------------------------------------------------------------------------

def checkpoint(tmp_path, **config) -> object:
    (tmp_path / "config.json").write_text(json.dumps(config))
    return tmp_path


@pytest.fixture
def cpu_with(monkeypatch):
    def native(*names: str, runs: tuple[str, ...] = ("fp32", "bf16", "fp16")) -> Device:
        monkeypatch.setattr(Device, "native_dtypes", lambda self: list(names))
        monkeypatch.setattr(Device, "runs_dtype", lambda self, name: name in runs)
        return CPU
    return native


def test_a_checkpoint_with_no_dtype_or_no_readable_config_runs_in_the_default_without_a_note(tmp_path, cpu_with):
    device = cpu_with("fp32")
    assert checkpoint_run_dtype(device, None, tmp_path) == DtypeChoice("fp32", "cpu's default (no readable "
                                                                               "config.json)", None)
    assert checkpoint_run_dtype(device, None, checkpoint(tmp_path, model_type="llama")) == DtypeChoice(
        "fp32", "cpu's default (config.json names no dtype)", None)
    # a dtype the probes do not compute in is worth a note: the checkpoint asked for something else
    assert checkpoint_run_dtype(device, None, checkpoint(tmp_path, torch_dtype="float64")) == DtypeChoice(
        "fp32", "cpu's default (config.json torch_dtype float64)",
        f"hf:{tmp_path.name}: config.json torch_dtype float64 is not a dtype the probes compute in (fp32, bf16, "
        "fp16): running fp32")


def test_a_checkpoint_dtype_without_native_instructions_says_what_it_costs(tmp_path, cpu_with):
    device = cpu_with("fp32")
    choice = checkpoint_run_dtype(device, None, checkpoint(tmp_path, torch_dtype="bfloat16"))
    assert choice == DtypeChoice(
        "bf16", "the checkpoint's own (config.json torch_dtype bfloat16); cpu has no native bf16 instructions, so "
                "torch computes it through fp32",
        f"hf:{tmp_path.name}: running the checkpoint's bf16 on cpu, which has no native bf16 instructions (torch "
        "computes it through fp32: slower than fp32 itself); --dtype fp32 converts it")
    device = cpu_with("fp32", "bf16")
    assert checkpoint_run_dtype(device, None, tmp_path) == DtypeChoice(
        "bf16", "the checkpoint's own (config.json torch_dtype bfloat16)", None)


# --- memory and loading -----------------------------------------------------------------------------------------------

def test_memory_estimate_by_hand():
    """TINY (18,912 weights, see above) at batch 2, 10 prompt + 6 generated tokens, fp32. Weights 75,648 bytes; KV for
    16 positions 2 layers · 2 · 2 · 16 · 16 · 4 = 8,192; the widest prefill point per token 3·32 + 3·48 + 32 + 2·16 =
    304 elements, 20 tokens: 24,320; logits in fp32 2 · 53 · 4 = 424; 2 % of the weights 1,512.96; the CPU's
    margin 256 MiB: 268,545,552 bytes. On a GPU the decode graphs' pool adds 2 · (304 + 53) · 4 = 2,856 for a
    step's activations and logits, 424 for its fp32 logits and 16 · (4 + 9) = 208 for the mask and positions, and
    the margin is 1 GiB: 1,073,855,408."""
    assert llm.memory_needed(TINY, 2, 10, 6, 4, is_cuda=False) == 268_545_552
    assert llm.memory_needed(TINY, 2, 10, 6, 4, is_cuda=True) == 1_073_855_408


def test_a_model_fits_while_it_needs_no_more_than_is_free(monkeypatch):
    need = llm.memory_needed(TINY, 2, 10, 6, 4, is_cuda=False)
    monkeypatch.setattr(Device, "free_memory", lambda self: need)
    assert llm.why_not_fits(CPU, TINY, 2, 10, 6, "fp32") is None
    monkeypatch.setattr(Device, "free_memory", lambda self: need - 1)
    assert llm.why_not_fits(CPU, TINY, 2, 10, 6, "fp32") == ("test-tiny in fp32 at batch 2, 10+6 tokens needs 0.3 GB; "
                                                             "0.3 GB free on cpu")
    with pytest.raises(llm.ProbeSkipped) as raised:
        load_model(CPU, TINY, None, "fp32", 2, 10, 6)
    assert str(raised.value) == "test-tiny in fp32 at batch 2, 10+6 tokens needs 0.3 GB; 0.3 GB free on cpu"


@pytest.mark.parametrize("dtype, torch_dtype", [("bf16", torch.bfloat16), ("fp16", torch.float16)])
def test_random_weights_model_and_cache_are_in_the_dtype_asked(dtype, torch_dtype):
    loaded = load_model(CPU, TINY, None, dtype, 2, 5, 3)
    assert (loaded.dtype, loaded.weights, loaded.shape) == (dtype, "random", TINY)
    assert loaded.model.w.embed.dtype == torch_dtype and loaded.model.w.layers[0].wqkv.dtype == torch_dtype
    assert loaded.cache.k.dtype == torch_dtype and loaded.cache.k.shape == (2, 2, 2, 8, 8)


def test_a_local_checkpoint_loads_with_its_directory_and_dtype_source(tmp_path):
    from hashbench.probes.hf_local import expected_weights, shape_from_config, write_safetensors

    config = {"model_type": "llama", "architectures": ["LlamaForCausalLM"], "hidden_size": 32,
              "intermediate_size": 48, "num_hidden_layers": 2, "num_attention_heads": 4, "num_key_value_heads": 2,
              "vocab_size": 53, "rope_theta": 10000.0, "rms_norm_eps": 1e-5}
    (tmp_path / "config.json").write_text(json.dumps(config))
    shape = shape_from_config(config, "x")
    gen = torch.Generator().manual_seed(0)
    write_safetensors(tmp_path / "model.safetensors", {name: torch.rand(dims, generator=gen)
                                                       for name, dims in expected_weights(shape).items()})
    loaded = load_model(CPU, None, tmp_path, "bf16", 1, 4, 2, dtype_source="--dtype bf16 (say why)")
    assert loaded.weights == str(tmp_path) and loaded.dtype_source == "--dtype bf16 (say why)"
    assert loaded.shape.name == f"hf:{tmp_path.name}" and loaded.shape.params() == TINY.params()
    assert loaded.model.w.embed.dtype == torch.bfloat16 and loaded.cache.max_len == 6
