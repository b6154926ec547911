"""A local Hugging Face checkpoint read without torch's help: the safetensors header checks (each a one-line error
naming the file and the tensor), the config.json fields and their refusals, the dtype a checkpoint names, and how the
weight files are found. Headers and configs only: no model runs here (test_probes.py runs checkpoints end to end)."""

from __future__ import annotations

import json
import math
from dataclasses import replace

import pytest

torch = pytest.importorskip("torch", reason="the AI probes need torch (pip install 'hashbench[ai]')")

from hashbench.errors import InputError  # noqa: E402
from hashbench.probes.hf_local import (  # noqa: E402
    TensorEntry,
    check_local_model,
    checkpoint_dtype,
    expected_weights,
    local_shape,
    read_header,
    read_safetensors,
    shape_from_config,
    write_safetensors,
)
from hashbench.probes.llama import DynamicNtkRope, LinearRope, YarnRope, yarn_mscale  # noqa: E402

BASE = {"model_type": "llama", "architectures": ["LlamaForCausalLM"], "hidden_size": 32, "intermediate_size": 48,
        "num_hidden_layers": 1, "num_attention_heads": 4, "num_key_value_heads": 2, "vocab_size": 11}


def raw_file(path, header, data: bytes = b"") -> None:
    raw = header if isinstance(header, bytes) else json.dumps(header).encode()
    path.write_bytes(len(raw).to_bytes(8, "little") + raw + data)


def refused(call, *args) -> str:
    with pytest.raises(InputError) as raised:
        call(*args)
    message = str(raised.value)
    assert "\n" not in message
    return message


# --- the safetensors header -------------------------------------------------------------------------------------------

def test_header_entries_are_placed_after_the_header(tmp_path):
    f = tmp_path / "x.safetensors"
    raw_file(f, {"__metadata__": {"format": "pt"}, "a": {"dtype": "F32", "shape": [2], "data_offsets": [0, 8]},
                 "b": {"dtype": "BF16", "shape": [], "data_offsets": [8, 10]},
                 "e": {"dtype": "F16", "shape": [0, 3], "data_offsets": [10, 10]}}, bytes(10))
    base = 8 + len(f.read_bytes()) - 8 - 10
    assert read_header(f) == {"a": TensorEntry("F32", (2,), base, base + 8), "b": TensorEntry("BF16", (), base + 8,
                                                                                                  base + 10),
                              "e": TensorEntry("F16", (0, 3), base + 10, base + 10)}


def test_a_tensor_filling_the_data_exactly_is_inside_and_one_byte_more_is_not(tmp_path):
    f = tmp_path / "x.safetensors"
    raw_file(f, {"a": {"dtype": "U8", "shape": [4], "data_offsets": [0, 4]}}, bytes(4))
    assert read_header(f)["a"].end - read_header(f)["a"].begin == 4
    raw_file(f, {"a": {"dtype": "U8", "shape": [5], "data_offsets": [0, 5]}}, bytes(4))
    assert refused(read_header, f) == (f"{f}: tensor a: bytes 0..5 lie beyond the file's 4 bytes of tensor data "
                                       "(truncated?)")
    raw_file(f, {"a": {"dtype": "U8", "shape": [0], "data_offsets": [3, 2]}}, bytes(4))
    assert "bytes 3..2 lie beyond" in refused(read_header, f)  # begin after end


def test_the_header_length_must_fit_the_file(tmp_path):
    f = tmp_path / "x.safetensors"
    f.write_bytes(b"\x01\x02\x03")
    assert refused(read_header, f) == f"{f}: 3 bytes, not a safetensors file (truncated?)"
    f.write_bytes((3).to_bytes(8, "little") + b"{}")  # says 3, has 2
    assert refused(read_header, f) == (f"{f}: header length 3 is beyond the file's 10 bytes or the format's "
                                       "100000000 (not a safetensors file, or truncated)")
    f.write_bytes((2).to_bytes(8, "little") + b"{}")  # exactly the file
    assert read_header(f) == {}
    f.write_bytes((100_000_001).to_bytes(8, "little") + b"{}")
    assert "header length 100000001 is beyond" in refused(read_header, f)
    assert refused(read_header, tmp_path / "missing").startswith(f"{tmp_path / 'missing'}: cannot read (")


@pytest.mark.parametrize("header, message", [
    ([1, 2], "the header is not a JSON object"),
    (b"\xff\xfe", "the header is not JSON (not a safetensors file?)"),
    ({"a": {"shape": [1], "data_offsets": [0, 4]}}, "tensor a: needs dtype, shape and data_offsets [begin, end]"),
    ({"a": {"dtype": "F32", "data_offsets": [0, 4]}}, "tensor a: needs dtype, shape and data_offsets [begin, end]"),
    ({"a": {"dtype": "F32", "shape": [1], "data_offsets": [0]}}, "tensor a: needs dtype"),
    ({"a": {"dtype": "F32", "shape": 1, "data_offsets": [0, 4]}}, "tensor a: needs dtype"),
    ({"a": "F32"}, "tensor a: needs dtype"),
    ({"a": {"dtype": "F32", "shape": [-1], "data_offsets": [0, 4]}},
     "tensor a: shape and offsets must be non-negative integers"),
    ({"a": {"dtype": "F32", "shape": [1.0], "data_offsets": [0, 4]}}, "tensor a: shape and offsets must be"),
    ({"a": {"dtype": "F32", "shape": [True], "data_offsets": [0, 4]}}, "tensor a: shape and offsets must be"),
    ({"a": {"dtype": "F32", "shape": [1], "data_offsets": [-4, 0]}}, "tensor a: shape and offsets must be"),
    ({"a": {"dtype": "F32", "shape": [1], "data_offsets": [0, "4"]}}, "tensor a: shape and offsets must be"),
    ({"a": {"dtype": "F32", "shape": [2], "data_offsets": [0, 4]}}, "tensor a: 4 bytes for shape [2] in F32"),
    ({"a": {"dtype": "F16", "shape": [3, 1], "data_offsets": [0, 8]}}, "tensor a: 8 bytes for shape [3, 1] in F16"),
])
def test_a_malformed_header_entry_is_one_line_naming_it(tmp_path, header, message):
    f = tmp_path / "x.safetensors"
    raw_file(f, header, bytes(16))
    assert refused(read_header, f).startswith(f"{f}: {message}")


def test_a_dtype_of_unknown_size_is_kept_for_the_quantization_check(tmp_path):
    f = tmp_path / "x.safetensors"
    raw_file(f, {"q": {"dtype": "Q4_K", "shape": [64], "data_offsets": [0, 36]}}, bytes(36))
    assert read_header(f)["q"].dtype == "Q4_K"
    assert refused(read_safetensors, f) == f"{f}: tensor q has dtype Q4_K, which hashbench does not read"


def test_tensors_that_touch_do_not_overlap_and_empty_ones_never_do(tmp_path):
    f = tmp_path / "x.safetensors"
    raw_file(f, {"a": {"dtype": "U8", "shape": [4], "data_offsets": [0, 4]},
                 "b": {"dtype": "U8", "shape": [4], "data_offsets": [4, 8]},
                 "e": {"dtype": "U8", "shape": [0], "data_offsets": [2, 2]}}, bytes(8))
    assert set(read_header(f)) == {"a", "b", "e"}
    raw_file(f, {"a": {"dtype": "U8", "shape": [5], "data_offsets": [0, 5]},
                 "b": {"dtype": "U8", "shape": [4], "data_offsets": [4, 8]}}, bytes(8))
    assert refused(read_header, f) == f"{f}: tensors a and b overlap in the file"


def test_reading_only_the_tensors_named(tmp_path):
    f = tmp_path / "x.safetensors"
    write_safetensors(f, {"a": torch.arange(6, dtype=torch.float32).view(2, 3), "b": torch.ones(2, dtype=torch.int32),
                          "c": torch.zeros(0, 4, dtype=torch.float16)})
    back = read_safetensors(f, ["c", "a"])
    assert list(back) == ["c", "a"] and torch.equal(back["a"], torch.arange(6, dtype=torch.float32).view(2, 3))
    assert back["c"].shape == (0, 4) and back["c"].dtype == torch.float16
    assert torch.equal(read_safetensors(f)["b"], torch.ones(2, dtype=torch.int32))
    header = json.loads(f.read_bytes()[8:8 + int.from_bytes(f.read_bytes()[:8], "little")])
    assert header["b"] == {"dtype": "I32", "shape": [2], "data_offsets": [24, 32]}


# --- config.json ------------------------------------------------------------------------------------------------------

def config(**changes) -> dict:
    return {k: v for k, v in (BASE | changes).items() if v is not ...}


def test_config_defaults():
    s = shape_from_config(config(), "hf:x")
    assert (s.hidden, s.intermediate, s.layers, s.heads, s.kv_heads, s.vocab) == (32, 48, 1, 4, 2, 11)
    assert (s.hd, s.rope_theta, s.rms_eps, s.tie_embeddings, s.rope_scaling, s.max_positions) == (
        8, 10000.0, 1e-6, False, None, None)
    assert s.name == "hf:x" and s.description == "local checkpoint hf:x"
    s = shape_from_config(config(num_key_value_heads=..., tie_word_embeddings=True, rms_norm_eps=1e-5,
                                 max_position_embeddings=256, architectures=...), "hf:y")
    assert (s.kv_heads, s.tie_embeddings, s.rms_eps, s.max_positions) == (4, True, 1e-5, 256)
    # only true itself ties the head: a string from a hand-written config does not
    assert shape_from_config(config(tie_word_embeddings="true"), "x").tie_embeddings is False


@pytest.mark.parametrize("changes, message", [
    ({"model_type": "llama"}, None),
    ({"architectures": "LlamaForCausalLM"}, "architectures 'LlamaForCausalLM' is not a causal language model "
                                             "(no ...ForCausalLM)"),
    ({"architectures": []}, None),
    ({"architectures": ["LlamaModel", "LlamaForCausalLM"]}, None),
    ({"model_type": None}, "model_type None is not a Llama-architecture checkpoint (llama, mistral)"),
    ({"model_type": "mistral", "sliding_window": 4096}, "sliding_window 4096 attention is not supported (only full "
                                                         "attention, sliding_window null)"),
    ({"sliding_window": 4096}, None),  # a llama config's stray key: llama has no sliding window
    ({"quantization_config": "gptq"}, "a quantized checkpoint (gptq) is not supported (BF16, F16 or F32 weights)"),
    ({"quantization_config": {"bits": 4}}, "a quantized checkpoint (?) is not supported"),
    ({"quantization_config": {}}, None),
    ({"mlp_bias": True}, "mlp_bias is true; hashbench's Llama has no biases and will not drop them"),
    ({"attention_bias": True}, "attention_bias is true; hashbench's Llama has no biases and will not drop them"),
    ({"quantization_config": {"quant_method": "awq", "bits": 4}}, "a quantized checkpoint (awq) is not supported"),
    ({"hidden_act": "gelu"}, "hidden_act 'gelu' is not supported (only silu)"),
    ({"architectures": {"LlamaForCausalLM": True}}, "architectures {'LlamaForCausalLM': True} is not a causal "
                                                     "language model"),
    ({"num_key_value_heads": 3}, "4 query heads do not group over 3 KV heads"),
    ({"rope_scaling": {"type": "yarn", "factor": 4.0}},  # no original context in rope_scaling nor in config.json
     "config.json (yarn needs the original context) lacks max_position_embeddings"),
    ({"rope_scaling": {"type": "dynamic"}, "max_position_embeddings": 64}, "dynamic rope_scaling lacks factor"),
    ({"rope_scaling": {"type": "dynamic", "factor": 2.0}},
     "config.json (dynamic rope needs the original context) lacks max_position_embeddings"),
    ({"attention_bias": False, "mlp_bias": False}, None),
    ({"hidden_act": "silu"}, None),
    ({"rope_scaling": "linear"}, "config.json rope_scaling must be an object or null, got 'linear'"),
    ({"rope_scaling": None}, None),
    ({"num_attention_heads": 3}, "hidden_size 32 is not a multiple of 3 heads and no head_dim is given"),
    ({"num_attention_heads": 0}, "config.json num_attention_heads must be a positive integer, got 0"),
    ({"vocab_size": True}, "config.json vocab_size must be a positive integer, got True"),
    ({"vocab_size": 11.0}, "config.json vocab_size must be a positive integer, got 11.0"),
    ({"intermediate_size": ...}, "config.json lacks intermediate_size"),
    ({"rope_theta": 0}, "config.json rope_theta must be a positive number, got 0"),
    ({"rope_theta": float("inf")}, "config.json rope_theta must be a positive number, got inf"),
    ({"rope_theta": True}, "config.json rope_theta must be a positive number, got True"),
    ({"rms_norm_eps": "1e-5"}, "config.json rms_norm_eps must be a positive number, got '1e-5'"),
    ({"rope_scaling": {"rope_type": "llama3", "factor": 8.0, "low_freq_factor": 4.0, "high_freq_factor": 4.0,
                       "original_max_position_embeddings": 64}},
     "rope_scaling high_freq_factor must exceed low_freq_factor"),
    ({"rope_scaling": {"rope_type": "llama3", "factor": -8.0, "low_freq_factor": 1.0, "high_freq_factor": 4.0,
                       "original_max_position_embeddings": 64}},
     "rope_scaling factor must be a positive number, got -8.0"),
    ({"rope_scaling": {"rope_type": "llama3"}},
     "llama3 rope_scaling lacks factor, low_freq_factor, high_freq_factor, original_max_position_embeddings"),
    ({"rope_scaling": {"type": "linear"}}, "linear rope_scaling lacks factor"),
    ({"rope_scaling": {"type": "linear", "factor": "2"}}, "linear rope_scaling factor must be a positive number"),
    ({"rope_scaling": {"type": "yarn", "factor": 4.0, "original_max_position_embeddings": 0}},
     "yarn rope_scaling original_max_position_embeddings must be a positive integer, got 0"),
    ({"rope_scaling": {"type": "yarn", "factor": 4.0, "original_max_position_embeddings": 8, "truncate": "no"}},
     "yarn rope_scaling truncate must be true or false, got 'no'"),
    ({"rope_scaling": {"type": "yarn", "factor": 4.0, "original_max_position_embeddings": 8,
                       "attention_factor": -1}}, "yarn rope_scaling attention_factor must be a positive number"),
    ({"rope_scaling": {"type": "yarn", "factor": 4.0, "original_max_position_embeddings": 8, "beta_fast": 0}},
     "yarn rope_scaling beta_fast must be a positive number"),
    ({"rope_scaling": {"type": "dynamic", "factor": 0}, "max_position_embeddings": 64},
     "dynamic rope_scaling factor must be a positive number, got 0"),
    ({"rope_scaling": {"rope_type": "su", "factor": 2.0}}, "rope_scaling type 'su' is not supported (default, linear, "
                                                          "llama3, yarn, dynamic)"),
])
def test_config_fields_and_refusals(changes, message):
    if message is None:
        shape_from_config(config(**changes), "hf:x")
    else:
        assert refused(shape_from_config, config(**changes), "hf:x").startswith(f"hf:x: {message}")


def test_a_config_that_is_not_an_object():
    assert refused(shape_from_config, [BASE], "hf:x") == "hf:x: config.json is not a JSON object"


def test_head_dim_given_for_heads_that_do_not_divide_the_hidden_size():
    s = shape_from_config(config(num_attention_heads=3, num_key_value_heads=3, head_dim=16), "x")
    assert (s.heads, s.hd, s.q_dim) == (3, 16, 48)


def test_rope_theta_from_rope_parameters_unless_config_json_has_its_own():
    params = {"rope_type": "default", "rope_theta": 500.0}
    assert shape_from_config(config(rope_parameters=params), "x").rope_theta == 500.0
    assert shape_from_config(config(rope_parameters=params, rope_theta=250.0), "x").rope_theta == 250.0
    # rope_parameters wins over rope_scaling when both are there (transformers 5 writes the former)
    s = shape_from_config(config(rope_parameters={"rope_type": "linear", "factor": 2.0},
                                 rope_scaling={"rope_type": "linear", "factor": 8.0}), "x")
    assert s.rope_scaling == LinearRope(2.0)


def test_yarn_context_temperature_and_ramp_from_the_config():
    s = shape_from_config(config(max_position_embeddings=4096, rope_scaling={"type": "yarn", "factor": 4.0}), "x")
    assert s.rope_scaling == YarnRope(4.0, 4096, 32.0, 1.0, yarn_mscale(4.0), True)
    assert s.max_positions == 4096
    # its own original context, an explicit attention factor, the ramp's ends
    s = shape_from_config(config(rope_scaling={"type": "yarn", "factor": 2.0, "original_max_position_embeddings": 64,
                                               "attention_factor": 1.5, "beta_fast": 8, "beta_slow": 2,
                                               "truncate": False}), "x")
    assert s.rope_scaling == YarnRope(2.0, 64, 8.0, 2.0, 1.5, False)
    # one of DeepSeek's two temperatures alone is not the ratio: the factor's own temperature
    s = shape_from_config(config(rope_scaling={"type": "yarn", "factor": 4.0, "original_max_position_embeddings": 64,
                                               "mscale": 0.5}), "x")
    assert s.rope_scaling.attention_factor == pytest.approx(1 + 0.1 * math.log(4.0))
    s = shape_from_config(config(rope_scaling={"type": "yarn", "factor": 4.0, "original_max_position_embeddings": 64,
                                               "mscale": 2.0, "mscale_all_dim": 0.5}), "x")
    assert s.rope_scaling.attention_factor == pytest.approx((1 + 0.2 * math.log(4.0)) / (1 + 0.05 * math.log(4.0)))


def test_dynamic_rope_lifts_the_context_limit():
    s = shape_from_config(config(max_position_embeddings=64, rope_scaling={"type": "dynamic", "factor": 2.0}), "x")
    assert s.max_positions is None and s.rope_scaling == DynamicNtkRope(2.0, 64)


def test_local_shape_reads_the_directory(tmp_path):
    assert refused(local_shape, tmp_path) == (f"--model-dir {tmp_path}: no config.json (a local Hugging Face model "
                                              "directory is needed)")
    (tmp_path / "config.json").write_text("{not json")
    assert refused(local_shape, tmp_path).startswith(f"{tmp_path / 'config.json'}: cannot read (")
    (tmp_path / "config.json").write_text(json.dumps(BASE))
    assert local_shape(tmp_path).name == f"hf:{tmp_path.name}"


@pytest.mark.parametrize("config_json, answer", [
    ({"torch_dtype": "bfloat16"}, ("bf16", "config.json torch_dtype bfloat16")),
    ({"dtype": "torch.float16"}, ("fp16", "config.json dtype torch.float16")),
    ({"dtype": "float32", "torch_dtype": "bfloat16"}, ("fp32", "config.json dtype float32")),  # v5's key first
    ({"dtype": "auto", "torch_dtype": "bfloat16"}, ("bf16", "config.json torch_dtype bfloat16")),
    ({"torch_dtype": "auto"}, (None, "config.json names no dtype")),
    ({"torch_dtype": "int8"}, (None, "config.json torch_dtype int8")),
    ({"torch_dtype": 16}, (None, "config.json names no dtype")),
    ([1], (None, "config.json names no dtype")),
    (None, (None, "no readable config.json")),
])
def test_the_dtype_a_checkpoint_names(tmp_path, config_json, answer):
    if config_json is not None:
        (tmp_path / "config.json").write_text(json.dumps(config_json))
    assert checkpoint_dtype(tmp_path) == answer


# --- the weight files -------------------------------------------------------------------------------------------------

def write_checkpoint(path, tie: bool = False, **changes) -> dict:
    (path / "config.json").write_text(json.dumps(config(tie_word_embeddings=tie, **changes)))
    shape = shape_from_config(config(tie_word_embeddings=tie, **changes), "x")
    tensors = {name: torch.zeros(dims) for name, dims in expected_weights(shape).items()}
    write_safetensors(path / "model.safetensors", tensors)
    return tensors


def test_the_expected_weights_of_a_tied_and_an_untied_model():
    untied = expected_weights(shape_from_config(config(), "x"))
    assert untied["lm_head.weight"] == (11, 32) and untied["model.layers.0.self_attn.k_proj.weight"] == (16, 32)
    assert untied["model.layers.0.self_attn.o_proj.weight"] == (32, 32)
    assert untied["model.layers.0.mlp.down_proj.weight"] == (32, 48) and len(untied) == 3 + 9
    assert "lm_head.weight" not in expected_weights(shape_from_config(config(tie_word_embeddings=True), "x"))


def test_a_checkpoint_is_checked_from_its_headers(tmp_path):
    write_checkpoint(tmp_path)
    shape, found = check_local_model(tmp_path)
    assert not shape.tie_embeddings and set(found) == set(expected_weights(shape))
    assert all(path == tmp_path / "model.safetensors" for path, _ in found.values())


def test_no_weight_files_or_the_same_tensor_twice(tmp_path):
    (tmp_path / "config.json").write_text(json.dumps(BASE))
    write_safetensors(tmp_path / "consolidated.00.safetensors", {"tok_embeddings.weight": torch.zeros(2)})
    assert refused(check_local_model, tmp_path) == f"--model-dir {tmp_path}: no *.safetensors weights"
    tensors = write_checkpoint(tmp_path)
    write_safetensors(tmp_path / "model-2.safetensors", {"model.norm.weight": tensors["model.norm.weight"]})
    assert refused(check_local_model, tmp_path) == (f"--model-dir {tmp_path}: model.norm.weight is in both "
                                                    "model-2.safetensors and model.safetensors")


@pytest.mark.parametrize("index, message", [
    ("{", "cannot read its weight_map"),
    ({"metadata": {}}, "cannot read its weight_map"),
    ([], "cannot read its weight_map"),
    ({"weight_map": ["model.norm.weight"]}, "weight_map is not an object"),
    ({"weight_map": {"model.norm.weight": "model.safetensors", "other": "model.safetensors"}},
     "other is not in model.safetensors, where the index puts it"),
])
def test_a_broken_index_is_one_line(tmp_path, index, message):
    write_checkpoint(tmp_path)
    index_path = tmp_path / "model.safetensors.index.json"
    index_path.write_text(index if isinstance(index, str) else json.dumps(index))
    assert refused(check_local_model, tmp_path) == f"{index_path}: {message}"


def test_an_index_reads_each_shard_once_and_only_the_shards_it_names(tmp_path):
    tensors = write_checkpoint(tmp_path)
    # a stray file the index does not name is not read (it would be refused as an unknown tensor)
    write_safetensors(tmp_path / "extra.safetensors", {"model.layers.0.mlp.gate_proj.bias": torch.zeros(48)})
    (tmp_path / "model.safetensors.index.json").write_text(json.dumps(
        {"weight_map": {name: "model.safetensors" for name in tensors}}))
    shape, found = check_local_model(tmp_path)
    assert set(found) == set(tensors)


@pytest.mark.parametrize("tie", [False, True])
def test_every_weight_lands_where_the_decoder_reads_it(tmp_path, tie):
    """Each tensor of the files, converted to the dtype asked, in its place: q|k|v and gate|up fused in that order,
    the three norms' gains (random here, where random_weights' are all ones and a dropped gain would not show), a
    tied head the embedding itself."""
    from hashbench.probes.hf_local import load_local_model

    (tmp_path / "config.json").write_text(json.dumps(config(num_hidden_layers=2, tie_word_embeddings=tie)))
    shape = shape_from_config(config(num_hidden_layers=2, tie_word_embeddings=tie), "x")
    gen = torch.Generator().manual_seed(1)
    tensors = {name: torch.rand(dims, generator=gen) + 0.5 for name, dims in expected_weights(shape).items()}
    write_safetensors(tmp_path / "model.safetensors", tensors)
    loaded_shape, w = load_local_model(tmp_path, "cpu", torch.float64)
    name = f"hf:{tmp_path.name}"
    assert loaded_shape == replace(shape, name=name, description=f"local checkpoint {name}")

    def same(got, name):
        assert got.dtype == torch.float64 and torch.equal(got, tensors[name].double()), name

    same(w.embed, "model.embed_tokens.weight")
    same(w.norm, "model.norm.weight")
    if tie:
        assert w.lm_head is w.embed
    else:
        same(w.lm_head, "lm_head.weight")
    for i, layer in enumerate(w.layers):
        p = f"model.layers.{i}."
        same(layer.attn_norm, p + "input_layernorm.weight")
        same(layer.mlp_norm, p + "post_attention_layernorm.weight")
        same(layer.wo, p + "self_attn.o_proj.weight")
        same(layer.w_down, p + "mlp.down_proj.weight")
        assert layer.wqkv.dtype == layer.w_gate_up.dtype == torch.float64  # torch.equal alone would promote
        assert torch.equal(layer.wqkv, torch.cat([tensors[p + f"self_attn.{x}_proj.weight"] for x in "qkv"]).double())
        assert torch.equal(layer.w_gate_up, torch.cat([tensors[p + "mlp.gate_proj.weight"],
                                                       tensors[p + "mlp.up_proj.weight"]]).double())
    assert len(w.layers) == 2


@pytest.mark.parametrize("scaling, message", [
    ({"mscale": "big", "mscale_all_dim": 1.0}, "yarn rope_scaling mscale must be a positive number, got 'big'"),
    ({"mscale": 1.0, "mscale_all_dim": "big"}, "yarn rope_scaling mscale_all_dim must be a positive number"),
    ({"beta_slow": -1}, "yarn rope_scaling beta_slow must be a positive number, got -1"),
    ({"attention_factor": "x"}, "yarn rope_scaling attention_factor must be a positive number, got 'x'"),
])
def test_yarn_numbers_name_their_key(scaling, message):
    rope = {"type": "yarn", "factor": 4.0, "original_max_position_embeddings": 8} | scaling
    assert refused(shape_from_config, config(rope_scaling=rope), "hf:x").startswith(f"hf:x: {message}")


def test_header_lengths_and_sizes_are_read_as_unsigned_and_named_exactly(tmp_path):
    f = tmp_path / "x.safetensors"
    f.write_bytes(b"\xff" * 8 + b"{}")  # 2^64 - 1, not -1
    assert refused(read_header, f) == (f"{f}: header length 18446744073709551615 is beyond the file's 10 bytes or "
                                       "the format's 100000000 (not a safetensors file, or truncated)")
    raw_file(f, {"a": {"dtype": "F32", "shape": [2], "data_offsets": [4, 8]}}, bytes(8))
    assert refused(read_header, f) == f"{f}: tensor a: 4 bytes for shape [2] in F32"
    missing = tmp_path / "missing.safetensors"
    assert refused(read_header, missing) == f"{missing}: cannot read (No such file or directory)"


@pytest.mark.parametrize("names", [["a"], ["ab"], ["abc", "d"], ["a" * 5, "b" * 6, "c" * 7], ["x" * 11]])
def test_written_files_align_the_data_to_8_bytes_and_keep_empty_tensors_in_place(tmp_path, names):
    f = tmp_path / "x.safetensors"
    tensors = {"empty": torch.zeros(0, dtype=torch.float32)} | {n: torch.arange(3, dtype=torch.float16) + i
                                                                for i, n in enumerate(names)}
    write_safetensors(f, tensors)
    header_len = int.from_bytes(f.read_bytes()[:8], "little")
    assert header_len % 8 == 0 and f.stat().st_size == 8 + header_len + 6 * len(names)
    back = read_safetensors(f)
    assert all(torch.equal(back[n], t) for n, t in tensors.items())


@pytest.mark.parametrize("changes, message", [
    ({"hidden_size": 0}, "config.json hidden_size must be a positive integer, got 0"),
    ({"num_hidden_layers": -1}, "config.json num_hidden_layers must be a positive integer, got -1"),
    ({"num_key_value_heads": 0}, "config.json num_key_value_heads must be a positive integer, got 0"),
    ({"max_position_embeddings": 0}, "config.json max_position_embeddings must be a positive integer, got 0"),
    ({"head_dim": 0}, "config.json head_dim must be a positive integer, got 0"),
    ({"rope_theta": ..., "rope_parameters": {"rope_type": "default", "rope_theta": -1}},
     "rope_parameters rope_theta must be a positive number, got -1"),
    ({"rope_scaling": {"rope_type": "llama3", "factor": 8.0, "low_freq_factor": 1.0, "high_freq_factor": 4.0,
                       "original_max_position_embeddings": 0}},
     "rope_scaling original_max_position_embeddings must be a positive integer, got 0"),
])
def test_config_numbers_name_where_they_are(changes, message):
    assert refused(shape_from_config, config(**changes), "hf:x") == f"hf:x: {message}"


def test_quantized_or_foreign_tensors_are_refused_in_full_tied_or_not(tmp_path):
    tensors = write_checkpoint(tmp_path, tie=True)
    write_safetensors(tmp_path / "model.safetensors", tensors | {"model.layers.0.self_attn.q_proj.bias":
                                                                 torch.zeros(32)})
    f = tmp_path / "model.safetensors"
    # a tied checkpoint may carry an lm_head.weight (ignored), but nothing else the decoder does not read
    assert refused(check_local_model, tmp_path) == (
        f"{f}: tensor model.layers.0.self_attn.q_proj.bias is not part of the Llama decoder hashbench runs (a bias, "
        "a quantization scale, another head?); refusing rather than leaving it out")
    write_safetensors(f, tensors | {"lm_head.weight": torch.zeros(11, 32)})
    assert check_local_model(tmp_path)[0].tie_embeddings
    write_safetensors(f, tensors | {"model.norm.weight": torch.zeros(32, dtype=torch.int32)})
    assert refused(check_local_model, tmp_path) == (f"{f}: tensor model.norm.weight is I32: quantized checkpoints are "
                                                    "not supported (weights must be BF16, F16 or F32)")


def test_an_untied_config_without_its_head_in_the_files_ties_the_head(tmp_path):
    """Checkpoints that tie the head leave lm_head.weight out whatever config.json says: the embedding is the head."""
    from hashbench.probes.hf_local import load_local_model

    tensors = write_checkpoint(tmp_path, tie=False)
    del tensors["lm_head.weight"]
    write_safetensors(tmp_path / "model.safetensors", tensors)
    shape, found = check_local_model(tmp_path)
    assert shape.tie_embeddings and "lm_head.weight" not in found
    _, w = load_local_model(tmp_path, "cpu", torch.float32)
    assert w.lm_head is w.embed


def test_missing_or_misshapen_weights_and_a_missing_shard_name_the_file(tmp_path):
    tensors = write_checkpoint(tmp_path)
    f = tmp_path / "model.safetensors"
    write_safetensors(f, {n: t for n, t in tensors.items() if n != "model.layers.0.mlp.up_proj.weight"})
    assert refused(check_local_model, tmp_path) == (f"--model-dir {tmp_path}: weight "
                                                    "model.layers.0.mlp.up_proj.weight missing")
    write_safetensors(f, tensors | {"model.norm.weight": torch.zeros(31)})
    assert refused(check_local_model, tmp_path) == (f"{f}: model.norm.weight has shape [31], config.json implies "
                                                    "[32]")
    index = tmp_path / "model.safetensors.index.json"
    index.write_text(json.dumps({"weight_map": {"model.norm.weight": "model-00002-of-00002.safetensors"}}))
    assert refused(check_local_model, tmp_path) == (f"{index}: shard model-00002-of-00002.safetensors (holding "
                                                    "model.norm.weight) is not in the directory")


def test_loaded_weights_are_copies_not_views_of_the_file(tmp_path):
    """The files are memory-mapped to read them; the weights a probe runs must be its own memory, unchanged when the
    file is rewritten in place (a checkpoint re-downloaded or converted while the probe runs), whatever the dtype."""
    from hashbench.probes.hf_local import load_local_model

    tensors = write_checkpoint(tmp_path)
    gen = torch.Generator().manual_seed(2)
    tensors = {n: torch.rand(t.shape, generator=gen) for n, t in tensors.items()}
    f = tmp_path / "model.safetensors"
    write_safetensors(f, tensors)
    _, w = load_local_model(tmp_path, "cpu", torch.float32)  # the files' own dtype: no conversion makes the copy
    size = f.stat().st_size
    header = 8 + int.from_bytes(f.read_bytes()[:8], "little")
    with open(f, "r+b") as fh:
        fh.seek(header)
        fh.write(bytes(size - header))  # every weight zeroed in place
    assert torch.equal(w.embed, tensors["model.embed_tokens.weight"])
    assert torch.equal(w.layers[0].wo, tensors["model.layers.0.self_attn.o_proj.weight"])
    assert torch.equal(w.norm, tensors["model.norm.weight"]) and torch.equal(w.lm_head, tensors["lm_head.weight"])
