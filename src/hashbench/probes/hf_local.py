"""A local Hugging Face Llama checkpoint (config.json + *.safetensors) instead of random weights. Nothing is
downloaded: the directory must already be on disk.

The safetensors format is small enough to read here without the safetensors package: an 8-byte little-endian
header length, a JSON header {name: {dtype, shape, data_offsets}} (and an optional "__metadata__"), then the raw
tensor bytes, offsets counted from the end of the header. Every entry is checked against the file before a byte of
it is mapped, and the whole directory (config, names, shapes, dtypes) before any weight is read: a broken or
unsupported checkpoint is one line, not a traceback after the other probes ran."""

from __future__ import annotations

import ctypes
import json
import mmap
import struct
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from ..errors import InputError
from .device import require_torch
from .llama import (
    DynamicNtkRope,
    LayerWeights,
    LinearRope,
    LlamaShape,
    LlamaWeights,
    RopeScaling,
    YarnRope,
    yarn_mscale,
)

_DTYPES = {"F32": "float32", "F16": "float16", "BF16": "bfloat16", "F64": "float64", "I64": "int64",
           "I32": "int32", "U8": "uint8"}
_FLOATS = ("F32", "F16", "BF16", "F64")  # weights hashbench computes with; the rest would be quantized checkpoints
_ITEM_BYTES = {"F64": 8, "F32": 4, "F16": 2, "BF16": 2, "I64": 8, "U64": 8, "I32": 4, "U32": 4, "I16": 2, "U16": 2,
               "I8": 1, "U8": 1, "BOOL": 1, "F8_E4M3": 1, "F8_E5M2": 1}
MAX_HEADER = 100_000_000  # the format's own limit on the JSON header
INDEX = "model.safetensors.index.json"
# Buffers some conversions saved beside the weights; recomputed from config.json here, as transformers does.
_IGNORED = (".rotary_emb.inv_freq",)


@dataclass(frozen=True)
class TensorEntry:
    dtype: str
    shape: tuple[int, ...]
    begin: int  # from the start of the file
    end: int


def read_header(path: Path) -> dict[str, TensorEntry]:
    """The tensors a safetensors file declares, each checked to lie inside the file and overlap no other."""
    path = Path(path)
    try:
        with open(path, "rb") as fh:
            file_size = fh.seek(0, 2)
            fh.seek(0)
            head = fh.read(8)
            if len(head) < 8:
                raise InputError(f"{path}: {len(head)} bytes, not a safetensors file (truncated?)")
            (size,) = struct.unpack("<Q", head)
            if size > MAX_HEADER or 8 + size > file_size:
                raise InputError(f"{path}: header length {size} is beyond the file's {file_size} bytes or the "
                                 f"format's {MAX_HEADER} (not a safetensors file, or truncated)")
            raw = fh.read(size)
    except OSError as exc:
        raise InputError(f"{path}: cannot read ({exc.strerror or exc})") from None
    try:
        header = json.loads(raw)
    except ValueError:  # UnicodeDecodeError included
        raise InputError(f"{path}: the header is not JSON (not a safetensors file?)") from None
    if not isinstance(header, dict):
        raise InputError(f"{path}: the header is not a JSON object")
    base, data = 8 + size, file_size - 8 - size
    entries: dict[str, TensorEntry] = {}
    for name, info in header.items():
        if name == "__metadata__":
            continue
        try:
            dtype, shape, (begin, end) = info["dtype"], tuple(info["shape"]), info["data_offsets"]
        except (TypeError, KeyError, ValueError):
            raise InputError(f"{path}: tensor {name}: needs dtype, shape and data_offsets [begin, end]") from None
        if not all(isinstance(x, int) and not isinstance(x, bool) and x >= 0 for x in (*shape, begin, end)):
            raise InputError(f"{path}: tensor {name}: shape and offsets must be non-negative integers")
        if not begin <= end <= data:
            raise InputError(f"{path}: tensor {name}: bytes {begin}..{end} lie beyond the file's {data} bytes of "
                             "tensor data (truncated?)")
        count = 1
        for dim in shape:
            count *= dim
        if dtype in _ITEM_BYTES and end - begin != count * _ITEM_BYTES[dtype]:
            raise InputError(f"{path}: tensor {name}: {end - begin} bytes for shape {list(shape)} in {dtype}")
        entries[name] = TensorEntry(str(dtype), shape, base + begin, base + end)
    spans = sorted((e.begin, e.end, n) for n, e in entries.items() if e.end > e.begin)
    for (_, end, first), (begin, _, second) in zip(spans, spans[1:], strict=False):
        if begin < end:
            raise InputError(f"{path}: tensors {first} and {second} overlap in the file")
    return entries


def read_safetensors(path: Path, names: list[str] | None = None) -> dict[str, Any]:
    """CPU tensors (all, or those named) backed by a private (copy-on-write) memory map of the file: nothing is
    read until a tensor is used, and the pages are the page cache's, not a copy."""
    torch = require_torch()
    entries = read_header(path)
    tensors = {}
    mm = None
    for name in entries if names is None else names:
        e = entries[name]
        if e.dtype not in _DTYPES:
            raise InputError(f"{path}: tensor {name} has dtype {e.dtype}, which hashbench does not read")
        dtype = getattr(torch, _DTYPES[e.dtype])
        if e.end == e.begin:
            tensors[name] = torch.empty(e.shape, dtype=dtype)
            continue
        if mm is None:
            with open(path, "rb") as fh:  # writable view: torch.frombuffer warns on a read-only one
                mm = mmap.mmap(fh.fileno(), 0, access=mmap.ACCESS_COPY)
        count = (e.end - e.begin) // torch.empty((), dtype=dtype).element_size()
        tensors[name] = torch.frombuffer(mm, dtype=dtype, count=count, offset=e.begin).reshape(e.shape)
    return tensors


def write_safetensors(path: Path, tensors: dict[str, Any]) -> None:
    """The inverse of read_safetensors, for CPU tensors (tests build their checkpoints with it)."""
    names = {v: k for k, v in _DTYPES.items()}
    header, chunks, offset = {}, [], 0
    for name, tensor in tensors.items():
        t = tensor.detach().to("cpu").contiguous().clone()
        nbytes = t.numel() * t.element_size()
        header[name] = {"dtype": names[str(t.dtype).removeprefix("torch.")], "shape": list(t.shape),
                        "data_offsets": [offset, offset + nbytes]}
        chunks.append(ctypes.string_at(t.data_ptr(), nbytes) if nbytes else b"")
        offset += nbytes
    raw = json.dumps(header).encode()
    raw += b" " * (-len(raw) % 8)  # the format aligns the data to 8 bytes
    with open(path, "wb") as fh:
        fh.write(struct.pack("<Q", len(raw)) + raw)
        fh.writelines(chunks)


def _positive(config: dict, key: str, where: str, default: Any = None) -> int:
    """config[key], a positive integer; `where` names the file or object in the message."""
    value = config.get(key)
    if value is None:
        if default is None:
            raise InputError(f"{where} lacks {key}")
        return default
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise InputError(f"{where} {key} must be a positive integer, got {value!r}")
    return value


def _number(config: dict, key: str, where: str, default: float | None = None) -> float:
    """config[key], a positive finite number; `default` where it is absent (None: it must be there)."""
    value = config.get(key)
    if value is None:
        if default is None:
            raise InputError(f"{where} lacks {key}")
        return default
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not 0 < value < float("inf"):
        raise InputError(f"{where} {key} must be a positive number, got {value!r}")
    return float(value)


def _scaled_rope(kind: str, scaling: dict, config: dict, name: str) -> LinearRope | YarnRope:
    where = f"{name}: {kind} rope_scaling"
    factor = _number(scaling, "factor", where)
    if kind == "linear":
        return LinearRope(factor)
    original = scaling.get("original_max_position_embeddings")
    original = _positive(scaling if original is not None else config,
                         "original_max_position_embeddings" if original is not None else "max_position_embeddings",
                         where if original is not None else f"{name}: config.json (yarn needs the original context)")
    attention = scaling.get("attention_factor")
    if attention is not None:
        attention = _number(scaling, "attention_factor", where)
    elif scaling.get("mscale") and scaling.get("mscale_all_dim"):  # DeepSeek's form: a ratio of two temperatures
        attention = yarn_mscale(factor, _number(scaling, "mscale", where)) / yarn_mscale(
            factor, _number(scaling, "mscale_all_dim", where))
    else:  # the explicit factor, even where max_position_embeddings / original implies another (as transformers 5)
        attention = yarn_mscale(factor)
    truncate = scaling.get("truncate", True)
    if not isinstance(truncate, bool):
        raise InputError(f"{where} truncate must be true or false, got {truncate!r}")
    return YarnRope(factor, original, _number(scaling, "beta_fast", where, 32.0),
                    _number(scaling, "beta_slow", where, 1.0), attention, truncate)


def shape_from_config(config: Any, name: str) -> LlamaShape:
    if not isinstance(config, dict):
        raise InputError(f"{name}: config.json is not a JSON object")
    kind = config.get("model_type")
    if kind not in ("llama", "mistral"):
        raise InputError(f"{name}: model_type {kind!r} is not a Llama-architecture checkpoint (llama, mistral)")
    archs = config.get("architectures") or []
    if not isinstance(archs, list) or (archs and not any(str(a).endswith("ForCausalLM") for a in archs)):
        raise InputError(f"{name}: architectures {archs!r} is not a causal language model (no ...ForCausalLM)")
    if kind == "mistral" and config.get("sliding_window") is not None:
        # Attention limited to a window changes what a long context costs: not the full attention hashbench runs.
        raise InputError(f"{name}: sliding_window {config['sliding_window']!r} attention is not supported "
                         "(only full attention, sliding_window null)")
    if config.get("quantization_config"):
        method = config["quantization_config"]
        method = method.get("quant_method", "?") if isinstance(method, dict) else method
        raise InputError(f"{name}: a quantized checkpoint ({method}) is not supported (BF16, F16 or F32 weights)")
    for key in ("attention_bias", "mlp_bias"):
        if config.get(key):
            raise InputError(f"{name}: {key} is true; hashbench's Llama has no biases and will not drop them")
    if config.get("hidden_act", "silu") != "silu":
        raise InputError(f"{name}: hidden_act {config['hidden_act']!r} is not supported (only silu)")
    # transformers v5 writes rope_parameters {rope_type, rope_theta, ...}; earlier, rope_theta and rope_scaling.
    scaling = config.get("rope_parameters") or config.get("rope_scaling") or {}
    if not isinstance(scaling, dict):
        raise InputError(f"{name}: config.json rope_scaling must be an object or null, got {scaling!r}")
    rope = None
    rope_kind = scaling.get("rope_type", scaling.get("type", "default"))
    if rope_kind == "llama3":
        keys = ("factor", "low_freq_factor", "high_freq_factor", "original_max_position_embeddings")
        missing = [k for k in keys if scaling.get(k) is None]
        if missing:
            raise InputError(f"{name}: llama3 rope_scaling lacks {', '.join(missing)}")
        where = f"{name}: rope_scaling"
        rope = RopeScaling(*(_number(scaling, k, where) for k in keys[:3]), _positive(scaling, keys[3], where))
        if rope.high_freq_factor <= rope.low_freq_factor:
            raise InputError(f"{name}: rope_scaling high_freq_factor must exceed low_freq_factor")
    elif rope_kind in ("linear", "yarn"):
        rope = _scaled_rope(rope_kind, scaling, config, name)
    elif rope_kind == "dynamic":
        # transformers takes the original context from max_position_embeddings (not rope_scaling's own key)
        rope = DynamicNtkRope(_number(scaling, "factor", f"{name}: dynamic rope_scaling"), _positive(
            config, "max_position_embeddings", f"{name}: config.json (dynamic rope needs the original context)"))
    elif rope_kind != "default":
        raise InputError(f"{name}: rope_scaling type {rope_kind!r} is not supported (default, linear, llama3, "
                         "yarn, dynamic)")
    where = f"{name}: config.json"
    theta = _number(config, "rope_theta", where, _number(scaling, "rope_theta", f"{name}: rope_parameters", 10000.0))
    heads = _positive(config, "num_attention_heads", where)
    hidden = _positive(config, "hidden_size", where)
    head_dim = _positive(config, "head_dim", where, 0 if hidden % heads == 0 else -1)
    if head_dim < 0:
        raise InputError(f"{name}: hidden_size {hidden} is not a multiple of {heads} heads and no head_dim is given")
    tie = config.get("tie_word_embeddings", False)
    try:
        return LlamaShape(
            name=name, hidden=hidden, intermediate=_positive(config, "intermediate_size", where),
            layers=_positive(config, "num_hidden_layers", where), heads=heads,
            kv_heads=_positive(config, "num_key_value_heads", where, heads),
            vocab=_positive(config, "vocab_size", where), head_dim=head_dim, tie_embeddings=tie is True,
            rope_theta=theta, rms_eps=_number(config, "rms_norm_eps", where, 1e-6), rope_scaling=rope,
            # dynamic NTK scaling exists to run past max_position_embeddings, its original context: no limit then
            max_positions=None if isinstance(rope, DynamicNtkRope) else (
                _positive(config, "max_position_embeddings", where, 0) or None),
            description=f"local checkpoint {name}")
    except ValueError as exc:
        raise InputError(str(exc)) from None  # it names the checkpoint


def local_shape(directory: Path) -> LlamaShape:
    """The architecture from the directory's config.json."""
    directory = Path(directory)
    config_path = directory / "config.json"
    if not config_path.is_file():
        raise InputError(f"--model-dir {directory}: no config.json (a local Hugging Face model directory is needed)")
    try:
        config = json.loads(config_path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise InputError(f"{config_path}: cannot read ({exc})") from None
    return shape_from_config(config, f"hf:{directory.name}")


# config.json's dtype names (torch's) -> hashbench's --dtype names
_CONFIG_DTYPES = {"float32": "fp32", "bfloat16": "bf16", "float16": "fp16"}


def checkpoint_dtype(directory: Path) -> tuple[str | None, str]:
    """The dtype the checkpoint was saved for, as a --dtype name (None when it names none hashbench computes in),
    and how config.json says it: `dtype` (transformers 5) or `torch_dtype` (earlier)."""
    try:
        config = json.loads((Path(directory) / "config.json").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None, "no readable config.json"
    for key in ("dtype", "torch_dtype"):
        value = config.get(key) if isinstance(config, dict) else None
        if isinstance(value, str) and value != "auto":
            name = _CONFIG_DTYPES.get(value.removeprefix("torch."))
            return name, f"config.json {key} {value}"
    return None, "config.json names no dtype"


def expected_weights(shape: LlamaShape) -> dict[str, tuple[int, ...]]:
    """Every tensor the decoder reads, by its Hugging Face name, with its shape (lm_head only when not tied)."""
    h, q, kv, inter = shape.hidden, shape.q_dim, shape.kv_dim, shape.intermediate
    want = {"model.embed_tokens.weight": (shape.vocab, h), "model.norm.weight": (h,)}
    if not shape.tie_embeddings:
        want["lm_head.weight"] = (shape.vocab, h)
    for i in range(shape.layers):
        p = f"model.layers.{i}."
        want |= {p + "input_layernorm.weight": (h,), p + "post_attention_layernorm.weight": (h,),
                 p + "self_attn.q_proj.weight": (q, h), p + "self_attn.k_proj.weight": (kv, h),
                 p + "self_attn.v_proj.weight": (kv, h), p + "self_attn.o_proj.weight": (h, q),
                 p + "mlp.gate_proj.weight": (inter, h), p + "mlp.up_proj.weight": (inter, h),
                 p + "mlp.down_proj.weight": (h, inter)}
    return want


def _weight_files(directory: Path) -> dict[str, tuple[Path, TensorEntry]]:
    """Each tensor's file and entry: the shards model.safetensors.index.json maps, or else every *.safetensors
    but consolidated*.safetensors (the same weights in Meta's or Mistral's own naming, beside the HF ones)."""
    index = directory / INDEX
    if index.is_file():
        try:
            weight_map = json.loads(index.read_text(encoding="utf-8"))["weight_map"]
        except (OSError, ValueError, KeyError, TypeError):
            raise InputError(f"{index}: cannot read its weight_map") from None
        if not isinstance(weight_map, dict):
            raise InputError(f"{index}: weight_map is not an object")
        headers: dict[str, dict[str, TensorEntry]] = {}
        found = {}
        for name, file in weight_map.items():
            path = directory / str(file)
            if file not in headers:
                if not path.is_file():
                    raise InputError(f"{index}: shard {file} (holding {name}) is not in the directory")
                headers[file] = read_header(path)
            if name not in headers[file]:
                raise InputError(f"{index}: {name} is not in {file}, where the index puts it")
            found[name] = (path, headers[file][name])
        return found
    files = [f for f in sorted(directory.glob("*.safetensors")) if not f.name.startswith("consolidated")]
    if not files:
        raise InputError(f"--model-dir {directory}: no *.safetensors weights")
    found = {}
    for f in files:
        for name, entry in read_header(f).items():
            if name in found:
                raise InputError(f"--model-dir {directory}: {name} is in both {found[name][0].name} and {f.name}")
            found[name] = (f, entry)
    return found


def check_local_model(directory: Path) -> tuple[LlamaShape, dict[str, tuple[Path, TensorEntry]]]:
    """The shape and every weight's place, from config.json and the safetensors headers alone (no weight read):
    each tensor the decoder needs is there with its shape in a float dtype, and no other tensor is, so nothing in
    the checkpoint (a bias, a quantization scale, another head) is silently left out of the computation."""
    directory = Path(directory)
    shape = local_shape(directory)
    found = _weight_files(directory)
    if "lm_head.weight" not in found and not shape.tie_embeddings:
        shape = replace(shape, tie_embeddings=True)  # checkpoints that tie the head leave it out, whatever the config
    want = expected_weights(shape)
    for name, (path, entry) in found.items():
        if entry.dtype not in _FLOATS:
            raise InputError(f"{path}: tensor {name} is {entry.dtype}: quantized checkpoints are not supported "
                             "(weights must be BF16, F16 or F32)")
    for name, (path, _) in found.items():
        if name not in want and not (name == "lm_head.weight" and shape.tie_embeddings) and not name.endswith(_IGNORED):
            raise InputError(f"{path}: tensor {name} is not part of the Llama decoder hashbench runs (a bias, a "
                             "quantization scale, another head?); refusing rather than leaving it out")
    for name, dims in want.items():
        if name not in found:
            raise InputError(f"--model-dir {directory}: weight {name} missing")
        path, entry = found[name]
        if entry.shape != dims:
            raise InputError(f"{path}: {name} has shape {list(entry.shape)}, config.json implies {list(dims)}")
    return shape, found


def load_local_model(directory: Path, device: Any, dtype: Any,
                     checked: tuple[LlamaShape, dict[str, tuple[Path, TensorEntry]]] | None = None
                     ) -> tuple[LlamaShape, LlamaWeights]:
    """The weights on `device` in `dtype`; `checked`: check_local_model's answer when the caller already has it."""
    torch = require_torch()
    directory = Path(directory)
    shape, found = checked or check_local_model(directory)
    names = expected_weights(shape)
    by_file: dict[Path, list[str]] = {}
    for name in names:
        by_file.setdefault(found[name][0], []).append(name)
    tensors: dict[str, Any] = {}
    for path, in_file in by_file.items():
        tensors.update(read_safetensors(path, in_file))  # mapped, not read: each weight is read once, below

    def take(name: str) -> Any:
        return tensors.pop(name).to(device=device, dtype=dtype, copy=True)

    def fused(*parts: str) -> Any:  # concatenated straight from the map: one copy of the weight, not two
        return torch.cat([tensors.pop(n).to(device=device, dtype=dtype) for n in parts])

    layers = []
    for i in range(shape.layers):
        p = f"model.layers.{i}."
        layers.append(LayerWeights(
            attn_norm=take(p + "input_layernorm.weight"),
            wqkv=fused(*(p + f"self_attn.{x}_proj.weight" for x in "qkv")),
            wo=take(p + "self_attn.o_proj.weight"),
            mlp_norm=take(p + "post_attention_layernorm.weight"),
            w_gate_up=fused(p + "mlp.gate_proj.weight", p + "mlp.up_proj.weight"),
            w_down=take(p + "mlp.down_proj.weight")))
    embed = take("model.embed_tokens.weight")
    lm_head = embed if shape.tie_embeddings else take("lm_head.weight")
    return shape, LlamaWeights(embed, layers, take("model.norm.weight"), lm_head)
