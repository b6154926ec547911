"""llm-prefill and llm-decode: tokens/s of a Llama-shaped model, like llama.cpp's pp512 and tg128.

Prefill pushes batch × prompt tokens through the model in one pass. Decode generates gen_len tokens per sequence
after a prompt, one step at a time, reusing the KV cache; each timed repetition restarts at the end of the prompt
(the cache beyond it is overwritten), so no prefill falls inside the decode energy window.

On a GPU, decode replays CUDA graphs (DecodeGraphs): a step is hundreds of small kernels, and launching them one by
one from Python takes about as long as streaming the weights of an 8B model at batch 1, so an eager loop would
measure the host, not the memory system. Serving engines capture decode the same way. On the CPU it stays eager."""

from __future__ import annotations

import statistics
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import Any

from ..energy import EnergyPlan
from .device import Device, element_bytes, require_torch, timed, torch_dtype
from .llama import KVCache, LlamaModel, LlamaShape, decode_schedule, random_weights
from .result import ProbeResult

MIN_REPS = 3
# Decode graphs are captured per bucket of attended positions, keys_len a multiple of this (or the cache's length):
# a step reads up to KEYS_STEP - 1 masked positions of KV more than it needs, and a run needs few graphs.
KEYS_STEP = 128


class ProbeSkipped(Exception):
    """This probe cannot run on this device (it does not fit); the message says why."""


@dataclass
class LoadedModel:
    shape: LlamaShape
    model: LlamaModel
    cache: KVCache
    dtype: str
    weights: str  # "random" or the checkpoint directory
    dtype_source: str | None = None  # why a checkpoint runs in `dtype` (None for random weights)


@dataclass(frozen=True)
class DtypeChoice:
    """The dtype a local checkpoint's probes run in, why (kept in the result) and, where the run departs from what
    the checkpoint was saved in or from what the hardware computes natively, one line to say so."""

    name: str
    source: str
    note: str | None = None


def checkpoint_run_dtype(device: Device, requested: str | None, directory: Path) -> DtypeChoice:
    """--dtype when given (converting the checkpoint if it was saved in another); else the checkpoint's own dtype
    where torch runs it on this device; else the device's default, saying why."""
    from .hf_local import checkpoint_dtype

    saved, said = checkpoint_dtype(directory)
    label = f"hf:{Path(directory).name}"
    if requested is not None:
        if saved is not None and saved != requested:
            return DtypeChoice(requested, f"--dtype {requested}, converted from the checkpoint's {saved} ({said})",
                               f"{label}: converting the checkpoint from {saved} ({said}) to {requested} (--dtype)")
        return DtypeChoice(requested, f"--dtype {requested} ({said})")
    default = device.default_llm_dtype()
    if saved is None:
        unknown = said.startswith("config.json") and not said.endswith("names no dtype")
        return DtypeChoice(default, f"{device.name}'s default ({said})",
                           f"{label}: {said} is not a dtype the probes compute in (fp32, bf16, fp16): running "
                           f"{default}" if unknown else None)
    if not device.runs_dtype(saved):
        fallback = "fp32"
        return DtypeChoice(fallback, f"converted to {fallback}: torch {require_torch().__version__} has no {saved} "
                                     f"kernels on {device.name} for the checkpoint's {saved} ({said})",
                           f"{label}: torch has no {saved} kernels on {device.name}: running the checkpoint's {saved} "
                           f"weights in {fallback}")
    if saved not in device.native_dtypes():
        return DtypeChoice(saved, f"the checkpoint's own ({said}); {device.name} has no native {saved} "
                                  "instructions, so torch computes it through fp32",
                           f"{label}: running the checkpoint's {saved} on {device.name}, which has no native {saved} "
                           "instructions (torch computes it through fp32: slower than fp32 itself); --dtype fp32 "
                           "converts it")
    return DtypeChoice(saved, f"the checkpoint's own ({said})")


def memory_needed(shape: LlamaShape, batch: int, prompt: int, gen: int, elt: int, is_cuda: bool) -> int:
    """Bytes the model, its KV cache and the largest prefill activations need, with room for workspaces."""
    weights = shape.weight_bytes(elt)
    kv = shape.kv_bytes(batch, prompt + gen, elt)
    tokens = batch * prompt
    # Live at the widest point of a layer: the residual, a normed copy, gate|up, silu(gate)*up, and q/k/v.
    activations = tokens * (3 * shape.hidden + 3 * shape.intermediate + shape.q_dim + 2 * shape.kv_dim) * elt
    logits = batch * shape.vocab * 4
    # The decode graphs' private memory pool, which the prefill's freed blocks cannot serve: one step's activations
    # (the same widest point at one token per sequence), its logits and mask; the pool is shared by every bucket.
    graphs = batch * (3 * shape.hidden + 3 * shape.intermediate + shape.q_dim + 2 * shape.kv_dim + shape.vocab) * elt
    graphs += batch * shape.vocab * 4 + (prompt + gen) * (elt + 9)
    # cuBLAS/SDPA workspaces and allocator slack; a few equal-sized weight tensors waste little, so the margin is
    # a small share of the weights (a 70B model in bf16 just fits a 141 GB H200 at batch 1, as it does in practice).
    margin = (1 << 30) if is_cuda else (256 << 20)
    return int(weights + kv + activations + logits + (graphs if is_cuda else 0) + 0.02 * weights + margin)


def load_model(device: Device, shape: LlamaShape | None, model_dir: Path | None, dtype: str, batch: int,
               prompt: int, gen: int, dtype_source: str | None = None) -> LoadedModel:
    """Random weights for a preset shape, or a local checkpoint; checks the memory before allocating any of it."""
    dt = torch_dtype(dtype)
    if model_dir is not None:
        from .hf_local import check_local_model, load_local_model

        # config.json and the headers give the shape (tied or not): check it fits before reading any weight.
        checked = check_local_model(model_dir)
        _check_fits(device, checked[0], batch, prompt, gen, dtype)
        shape, w = load_local_model(model_dir, device.torch_device, dt, checked)
        weights = str(model_dir)
    else:
        assert shape is not None
        _check_fits(device, shape, batch, prompt, gen, dtype)
        w = random_weights(shape, device.torch_device, dt)
        weights = "random"
    max_len = prompt + gen
    model = LlamaModel(shape, w, device.torch_device, dt, max_len)
    cache = KVCache(shape, batch, max_len, device.torch_device, dt)
    return LoadedModel(shape, model, cache, dtype, weights, dtype_source if model_dir is not None else None)


def why_not_fits(device: Device, shape: LlamaShape, batch: int, prompt: int, gen: int, dtype: str) -> str | None:
    """Why the model, its KV cache and activations do not fit the device's free memory, or None when they do."""
    need = memory_needed(shape, batch, prompt, gen, element_bytes(dtype), device.is_cuda)
    free = device.free_memory()
    if need > free:
        return (f"{shape.name} in {dtype} at batch {batch}, {prompt}+{gen} tokens needs {need / 1e9:.1f} GB; "
                f"{free / 1e9:.1f} GB free on {device.name}")
    return None


def _check_fits(device: Device, shape: LlamaShape, batch: int, prompt: int, gen: int, dtype: str) -> None:
    reason = why_not_fits(device, shape, batch, prompt, gen, dtype)
    if reason:
        raise ProbeSkipped(reason)


def _tokens(loaded: LoadedModel, device: Device, batch: int, length: int) -> Any:
    torch = require_torch()
    gen = torch.Generator(device=device.torch_device).manual_seed(1)
    return torch.randint(0, loaded.shape.vocab, (batch, length), generator=gen, device=device.torch_device)


def _cache_flags(loaded: LoadedModel, device: Device, batch: int, length: int, *, bandwidth_roof: bool) -> list[str]:
    """`bandwidth_roof`: the probe's roofline is memory bandwidth (decode), which a cache can beat; prefill's is a
    GEMM's FLOP/s, which it cannot."""
    cache = device.last_level_cache()
    elt = element_bytes(loaded.dtype)
    working = loaded.shape.weight_bytes(elt) + loaded.shape.kv_bytes(batch, length, elt)
    if cache and working <= cache:
        return [(f"weights + KV cache ({working / 1e6:.1f} MB) fit in the {cache / 1e6:.0f} MB last-level cache: "
                 "rates can exceed what DRAM allows" + (" and the roofline fraction can pass 1" if bandwidth_roof
                                                        else ""))]
    return []


def _common(loaded: LoadedModel) -> dict:
    s = loaded.shape
    return {"params": s.params(), "layers": s.layers, "hidden": s.hidden, "heads": s.heads, "kv_heads": s.kv_heads,
            "vocab": s.vocab, "weights": loaded.weights,
            **({"dtype_source": loaded.dtype_source} if loaded.dtype_source else {})}


def _median_time(per_rep: int, times: list[float]) -> float:
    """The time of one repetition that the reported rate (the median of per-repetition rates) implies, so ms/token,
    FLOP/s and bytes/s agree with tokens/s; with an even count it is not the median of the times."""
    return per_rep / statistics.median(per_rep / x for x in times)


def run_prefill(loaded: LoadedModel, device: Device, batch: int, prompt: int, seconds: float,
                energy: EnergyPlan) -> ProbeResult:
    torch = require_torch()
    tokens = _tokens(loaded, device, batch, prompt)

    def prefill() -> None:
        loaded.model.forward(tokens, 0, loaded.cache)

    with torch.inference_mode():
        prefill()  # warm-up: kernels picked, caches and allocator filled
        device.sync()  # its queued GPU work ends before the energy window opens, not inside it
        times: list[float] = []
        with energy.meter(device.name) as meter:
            while sum(times) < seconds or len(times) < MIN_REPS:
                times.append(timed(prefill, device))
    per_rep = batch * prompt
    t = _median_time(per_rep, times)
    flop = loaded.shape.prefill_flops(batch, prompt)
    return ProbeResult(
        probe="llm-prefill", device=device.name, preset=loaded.shape.name, dtype=loaded.dtype, batch=batch,
        unit="tokens/s", samples=[per_rep / x for x in times], work=float(per_rep * len(times)), per="token",
        seconds=sum(times), energy=meter.reading(), impl="llama block in torch (sdpa, fused qkv and gate/up)",
        ms_per_token=t / per_rep * 1e3, flags=_cache_flags(loaded, device, batch, prompt, bandwidth_roof=False),
        detail={**_common(loaded), "prompt_len": prompt, "prefill_ms": t * 1e3, "flop_per_prefill": flop,
                "flop_per_s": flop / t})


class DecodeGraphs:
    """Greedy decode of `gen` tokens after a `prompt` as one CUDA graph replay per token.

    The step (LlamaModel.decode_step, then the argmax written back into the token buffer and the position advanced,
    all on the device) reads only static buffers, so one capture serves every position of a keys_len bucket; the
    host's whole work per token is picking the bucket's graph, which it knows from the step number. The graphs
    share one memory pool: they replay one after another, never concurrently, and keep nothing in the pool between
    replays (the tokens, position and KV cache live outside it), which is the sharing the torch docs allow.

    Without capture() the same steps run eagerly, on any device: that is how the CPU tests check the bookkeeping."""

    def __init__(self, model: LlamaModel, cache: KVCache, prompt: int, gen: int, step: int = KEYS_STEP) -> None:
        torch = require_torch()
        self.model, self.cache, self.prompt = model, cache, prompt
        self.schedule = decode_schedule(prompt, gen, cache.max_len, step)  # keys_len of each step
        self.buckets = sorted(set(self.schedule))
        self.tok = torch.zeros(cache.batch, 1, dtype=torch.long, device=model.device)
        self.pos = torch.full((1,), prompt, dtype=torch.long, device=model.device)
        self.graphs: dict[int, Any] = {}

    def _step(self, keys_len: int) -> None:
        logits = self.model.decode_step(self.tok, self.pos, self.cache, keys_len)
        self.tok.copy_(logits.argmax(-1, keepdim=True))
        self.pos.add_(1)

    def _first_position(self, keys_len: int) -> int:
        return self.prompt + self.schedule.index(keys_len)

    def capture(self, warmup: int = 2) -> None:
        """One graph per bucket, after warm-up steps on a side stream (cuBLAS handles, SDPA kernel choice and the
        allocator settle before capture, as torch.cuda.graphs requires). The warm-up writes K/V at positions the
        decode overwrites anyway, each at its bucket's first position so the write stays inside the cache."""
        torch = require_torch()
        # Capture and replay go to the current device's streams: make it the model's (cuda:1 is not the default).
        with torch.cuda.device(self.model.device):
            side = torch.cuda.Stream()
            side.wait_stream(torch.cuda.current_stream())
            with torch.cuda.stream(side):
                for keys_len in self.buckets:
                    for _ in range(warmup):
                        self.pos.fill_(self._first_position(keys_len))
                        self._step(keys_len)
            torch.cuda.current_stream().wait_stream(side)
            pool = torch.cuda.graph_pool_handle()
            graphs = {}
            for keys_len in self.buckets:  # captured in the order they replay
                graph = torch.cuda.CUDAGraph()
                with torch.cuda.graph(graph, pool=pool):
                    self._step(keys_len)
                graphs[keys_len] = graph
        self.graphs = graphs

    def run(self, first: Any, out: Any = None) -> None:
        """Generate from `first` ([batch, 1] token ids), restarting at the end of the prompt. `out` ([batch, gen]
        int64), when given, receives every generated token (tests; the timed loop passes none)."""
        self.tok.copy_(first)
        self.pos.fill_(self.prompt)
        if not self.graphs:
            for i, keys_len in enumerate(self.schedule):
                self._step(keys_len)
                self._record(out, i)
            return
        with require_torch().cuda.device(self.model.device):
            for i, keys_len in enumerate(self.schedule):
                self.graphs[keys_len].replay()
                self._record(out, i)

    def _record(self, out: Any, i: int) -> None:
        if out is not None:
            out[:, i:i + 1].copy_(self.tok)


def run_decode(loaded: LoadedModel, device: Device, batch: int, prompt: int, gen: int, seconds: float,
               energy: EnergyPlan, cuda_graphs: bool = True) -> ProbeResult:
    """`cuda_graphs=False` keeps a GPU on the eager loop: the A/B that shows what the graphs are worth."""
    torch = require_torch()
    shape, elt = loaded.shape, element_bytes(loaded.dtype)
    tokens = _tokens(loaded, device, batch, prompt)
    flags = _cache_flags(loaded, device, batch, prompt + gen, bandwidth_roof=True)
    graphs: DecodeGraphs | None = None
    with torch.inference_mode():
        first = loaded.model.forward(tokens, 0, loaded.cache).argmax(-1, keepdim=True)
        if device.is_cuda and cuda_graphs:
            try:
                graphs = DecodeGraphs(loaded.model, loaded.cache, prompt, gen)
                graphs.capture()
            except RuntimeError as exc:
                graphs = None
                reason = (str(exc).strip().splitlines() or [type(exc).__name__])[0]
                flags.append(f"CUDA graph capture failed ({reason}): decode ran eagerly, one kernel launch at a time, "
                             "so at small batches it measures launch overhead more than memory bandwidth")
                torch.cuda.synchronize(device.torch_device)
                torch.cuda.empty_cache()

        def eager() -> None:
            tok = first
            for i in range(gen):
                # Greedy argmax stays on the device: no host sync inside the loop.
                tok = loaded.model.forward(tok, prompt + i, loaded.cache).argmax(-1, keepdim=True)

        decode = eager if graphs is None else partial(graphs.run, first)
        decode()  # warm-up
        device.sync()  # its queued GPU work (graph replays) ends before the energy window opens, not inside it
        times: list[float] = []
        with energy.meter(device.name) as meter:
            while sum(times) < seconds or len(times) < MIN_REPS:
                times.append(timed(decode, device))
    t = _median_time(batch * gen, times)
    contexts = [prompt + i + 1 for i in range(gen)]  # positions each step attends to, its own included
    moved = sum(shape.decode_step_bytes(batch, c, elt) for c in contexts)
    flop = sum(shape.decode_step_flops(batch, c) for c in contexts)
    # The roofline keeps the minimum bytes above; a graph step reads its whole bucket of KV (the masked positions
    # too), shown here so the waste is visible next to it.
    read = graphs.schedule if graphs is not None else contexts
    kv_read = sum(shape.kv_bytes(batch, n, elt) for n in read)
    impl = "llama block in torch (sdpa, static KV cache, greedy"
    impl += f", CUDA graphs per {KEYS_STEP}-position bucket)" if graphs is not None else ")"
    return ProbeResult(
        probe="llm-decode", device=device.name, preset=shape.name, dtype=loaded.dtype, batch=batch,
        unit="tokens/s", samples=[batch * gen / x for x in times], work=float(batch * gen * len(times)),
        per="token", seconds=sum(times), energy=meter.reading(), impl=impl, ms_per_token=t / gen * 1e3, flags=flags,
        detail={**_common(loaded), "prompt_len": prompt, "gen_len": gen, "bytes_per_step": moved / gen,
                "bytes_per_s": moved / t, "flop_per_s": flop / t,
                "kv_cache_bytes": shape.kv_bytes(batch, prompt + gen, elt),
                "cuda_graphs": graphs is not None,
                "graph_buckets": ",".join(map(str, graphs.buckets)) if graphs is not None else None,
                "kv_read_bytes_per_step": kv_read / gen,
                "kv_padding_fraction": 1.0 - sum(contexts) / sum(read)})
