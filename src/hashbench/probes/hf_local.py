"""A local Hugging Face Llama checkpoint (config.json + *.safetensors) instead of random weights. Nothing is
downloaded: the directory must already be on disk.

The safetensors format is small enough to read here without the safetensors package: an 8-byte little-endian
header length, a JSON header {name: {dtype, shape, data_offsets}}, then the raw tensor bytes."""

from __future__ import annotations

import ctypes
import json
import mmap
import struct
from dataclasses import replace
from pathlib import Path
from typing import Any

from ..errors import InputError
from .device import require_torch
from .llama import LayerWeights, LlamaShape, LlamaWeights, RopeScaling

_DTYPES = {"F32": "float32", "F16": "float16", "BF16": "bfloat16", "F64": "float64", "I64": "int64",
           "I32": "int32", "U8": "uint8"}


def read_safetensors(path: Path) -> dict[str, Any]:
    """CPU tensors backed by a private (copy-on-write) memory map of the file."""
    torch = require_torch()
    with open(path, "rb") as fh:
        mm = mmap.mmap(fh.fileno(), 0, access=mmap.ACCESS_COPY)  # writable view: torch.frombuffer warns on read-only
    (size,) = struct.unpack("<Q", mm[:8])
    header = json.loads(mm[8:8 + size])
    base = 8 + size
    tensors = {}
    for name, info in header.items():
        if name == "__metadata__":
            continue
        if info["dtype"] not in _DTYPES:
            raise InputError(f"{path}: tensor {name} has dtype {info['dtype']}, which hashbench does not read")
        dtype = getattr(torch, _DTYPES[info["dtype"]])
        begin, end = info["data_offsets"]
        count = 1
        for dim in info["shape"]:
            count *= dim
        if count == 0:
            tensors[name] = torch.empty(info["shape"], dtype=dtype)
            continue
        if end - begin != count * torch.empty((), dtype=dtype).element_size():
            raise InputError(f"{path}: tensor {name}'s byte range does not match its shape")
        flat = torch.frombuffer(mm, dtype=dtype, count=count, offset=base + begin)
        tensors[name] = flat.reshape(info["shape"])
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


def shape_from_config(config: dict, name: str) -> LlamaShape:
    if config.get("model_type") != "llama":
        raise InputError(f"{name}: model_type {config.get('model_type')!r} is not a Llama-architecture checkpoint")
    scaling = config.get("rope_scaling") or None
    rope = None
    if scaling:
        kind = scaling.get("rope_type", scaling.get("type"))
        if kind == "llama3":
            rope = RopeScaling(float(scaling["factor"]), float(scaling["low_freq_factor"]),
                               float(scaling["high_freq_factor"]), int(scaling["original_max_position_embeddings"]))
        elif kind != "default":
            raise InputError(f"{name}: rope_scaling type {kind!r} is not supported (only llama3)")
    try:
        heads = int(config["num_attention_heads"])
        return LlamaShape(
            name=name, hidden=int(config["hidden_size"]), intermediate=int(config["intermediate_size"]),
            layers=int(config["num_hidden_layers"]), heads=heads,
            kv_heads=int(config.get("num_key_value_heads") or heads), vocab=int(config["vocab_size"]),
            head_dim=int(config.get("head_dim") or 0), tie_embeddings=bool(config.get("tie_word_embeddings", False)),
            rope_theta=float(config.get("rope_theta", 10000.0)), rms_eps=float(config.get("rms_norm_eps", 1e-5)),
            rope_scaling=rope, description=f"local checkpoint {name}")
    except KeyError as exc:
        raise InputError(f"{name}: config.json lacks {exc.args[0]}") from None


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


def load_local_model(directory: Path, device: Any, dtype: Any) -> tuple[LlamaShape, LlamaWeights]:
    torch = require_torch()
    directory = Path(directory)
    shape = local_shape(directory)
    files = sorted(directory.glob("*.safetensors"))
    if not files:
        raise InputError(f"--model-dir {directory}: no *.safetensors weights")
    tensors: dict[str, Any] = {}
    for f in files:
        tensors.update(read_safetensors(f))

    def take(name: str) -> Any:
        if name not in tensors:
            raise InputError(f"--model-dir {directory}: weight {name} missing")
        return tensors[name].to(device=device, dtype=dtype, copy=True)

    layers = []
    for i in range(shape.layers):
        p = f"model.layers.{i}."
        layers.append(LayerWeights(
            attn_norm=take(p + "input_layernorm.weight"),
            wqkv=torch.cat([take(p + f"self_attn.{x}_proj.weight") for x in "qkv"]),
            wo=take(p + "self_attn.o_proj.weight"),
            mlp_norm=take(p + "post_attention_layernorm.weight"),
            w_gate_up=torch.cat([take(p + "mlp.gate_proj.weight"), take(p + "mlp.up_proj.weight")]),
            w_down=take(p + "mlp.down_proj.weight")))
    embed = take("model.embed_tokens.weight")
    if "lm_head.weight" not in tensors:  # checkpoints that tie the head leave it out, whatever the config says
        shape = replace(shape, tie_embeddings=True)
    lm_head = embed if shape.tie_embeddings else take("lm_head.weight")
    return shape, LlamaWeights(embed, layers, take("model.norm.weight"), lm_head)
