"""hashbench's LlamaModel on a tiny random Llama checkpoint that transformers saved, against transformers' own
logits, for each rope scaling hashbench reads. transformers is no dependency of hashbench: run this by hand in a
separate environment (python3.11 -m venv /tmp/venv-tf; /tmp/venv-tf/bin/pip install torch==2.13.0 transformers
safetensors), with PYTHONPATH=src, from the repository root:

    PYTHONPATH=src /tmp/venv-tf/bin/python benchmarks/checks/rope_vs_transformers.py

It prints the largest absolute logit difference per case and prompt length, then over a decode of 24 tokens after
a 20-token prompt (one token a pass, the KV cache reused, as the probe's decode runs; dynamic NTK's frequencies
change with each pass past the original context), and exits 1 above 1e-5."""
import json
import sys
import tempfile

import torch
import transformers
from transformers import LlamaConfig, LlamaForCausalLM

from hashbench.probes.hf_local import load_local_model
from hashbench.probes.llama import KVCache, LlamaModel

CASES = {
    "default": None,
    "linear": {"rope_type": "linear", "factor": 4.0},
    "yarn": {"rope_type": "yarn", "factor": 4.0},  # original = max_position_embeddings
    "yarn-orig": {"rope_type": "yarn", "factor": 4.0, "original_max_position_embeddings": 16},
    "yarn-beta": {"rope_type": "yarn", "factor": 8.0, "beta_fast": 16.0, "beta_slow": 2.0,
                  "original_max_position_embeddings": 32},
    "yarn-attn": {"rope_type": "yarn", "factor": 4.0, "attention_factor": 1.3},
    "yarn-mscale": {"rope_type": "yarn", "factor": 4.0, "mscale": 0.707, "mscale_all_dim": 1.0,
                    "original_max_position_embeddings": 16},
    "yarn-notrunc": {"rope_type": "yarn", "factor": 4.0, "truncate": False},
    "dynamic": {"rope_type": "dynamic", "factor": 2.0},  # original = max_position_embeddings, 16 below
}
CONFIG = {"dynamic": {"max_position_embeddings": 16}}  # so prompts of 33 and 64 and the decode run past it
print("torch", torch.__version__, "transformers", transformers.__version__)
worst = 0.0
for case, rope in CASES.items():
    torch.manual_seed(0)
    kw = dict(hidden_size=64, intermediate_size=128, num_hidden_layers=2, num_attention_heads=4,
              num_key_value_heads=2, vocab_size=101, max_position_embeddings=64, rms_norm_eps=1e-5,
              tie_word_embeddings=False, attn_implementation="eager") | CONFIG.get(case, {})
    params = {"rope_type": "default", "rope_theta": 1000.0} if rope is None else {**rope, "rope_theta": 1000.0}
    cfg = LlamaConfig(rope_parameters=params, **kw)
    model = LlamaForCausalLM(cfg).eval()
    with torch.no_grad():  # norms away from 1 so every weight matters
        for n, p in model.named_parameters():
            if "norm" in n:
                p.uniform_(0.5, 1.5)
    with tempfile.TemporaryDirectory() as d:
        model.save_pretrained(d)
        config = json.load(open(f"{d}/config.json"))
        shape, w = load_local_model(d, "cpu", torch.float32)
        diffs = []
        for length in (1, 9, 16, 33, 64):
            tokens = torch.randint(0, 101, (2, length))
            with torch.no_grad():
                want = model(tokens).logits[:, -1]
            ours = LlamaModel(shape, w, "cpu", torch.float32, 64)
            got = ours.forward(tokens, 0, KVCache(shape, 2, 64, "cpu", torch.float32))
            diffs.append((got - want).abs().max().item())
        tokens = torch.randint(0, 101, (2, 44))
        ours = LlamaModel(shape, w, "cpu", torch.float32, 64)
        cache = KVCache(shape, 2, 64, "cpu", torch.float32)
        # A fresh model: transformers' dynamic rope keeps the longest length it has seen (64 above) and would rotate
        # this decode with that base, where a generation of its own starts from the original context.
        fresh = LlamaForCausalLM.from_pretrained(d, attn_implementation="eager").eval()
        with torch.no_grad():
            out = fresh(tokens[:, :20], use_cache=True)
            decode = [(ours.forward(tokens[:, :20], 0, cache) - out.logits[:, -1]).abs().max().item()]
            for i in range(20, 44):
                out = fresh(tokens[:, i:i + 1], past_key_values=out.past_key_values, use_cache=True)
                decode.append((ours.forward(tokens[:, i:i + 1], i, cache) - out.logits[:, -1]).abs().max().item())
        diffs.append(max(decode))
    worst = max(worst, max(diffs))
    print(f"{case:13s} config rope={json.dumps(config.get('rope_parameters') or config.get('rope_scaling'))}")
    print(f"{'':13s} hashbench {shape.rope_scaling}  max|diff| per length, then decode {[f'{x:.2e}' for x in diffs]}")
print("worst", worst)
sys.exit(0 if worst < 1e-5 else 1)
