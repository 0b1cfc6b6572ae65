"""Tiny seeded models of the families users bring, built offline from transformers' config classes.

    path = build_family("gemma2", out, tokenizer_dir)   # config + random weights + the tiny tokenizer

Each is 2 layers, 64 wide, with the family's own layout and quirks kept (they are what the
tests exercise): Llama 3's rope scaling and untied head, Qwen2's q/k/v biases, Qwen3's q/k
norms, Mistral's sliding window, Gemma 2's embedding scale, soft-capping and alternating
sliding layers, Gemma 3's q/k norms and sliding pattern, Phi-3's fused `qkv_proj` /
`gate_up_proj`, Qwen3-MoE's routed experts. Sliding windows are 8 tokens, shorter than the
test records, so a window that is ignored changes the logits. Every family reuses the tiny
Llama's tokenizer (`tiny.py`), so token ids and templates are the same across families.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import torch

WINDOW = 8  # shorter than the test records, so the sliding window is exercised
COMMON = dict(hidden_size=64, intermediate_size=128, num_hidden_layers=2, num_attention_heads=4,
              num_key_value_heads=2, max_position_embeddings=1024)


def _configs() -> dict[str, tuple[str, dict]]:
    """{family: (transformers config class name, its arguments beyond COMMON and the token ids)}."""
    llama3_rope = {"rope_type": "llama3", "rope_theta": 500000.0, "factor": 8.0, "low_freq_factor": 1.0,
                   "high_freq_factor": 4.0, "original_max_position_embeddings": 256}
    return {
        "llama3": ("LlamaConfig", dict(rope_parameters=llama3_rope, tie_word_embeddings=False)),
        "qwen2": ("Qwen2Config", dict(tie_word_embeddings=True)),  # q/k/v carry biases
        "qwen3": ("Qwen3Config", dict(head_dim=16, tie_word_embeddings=True)),
        "mistral": ("MistralConfig", dict(sliding_window=WINDOW, tie_word_embeddings=False)),
        "gemma2": ("Gemma2Config", dict(head_dim=16, query_pre_attn_scalar=16, sliding_window=WINDOW,
                                        tie_word_embeddings=True)),
        "gemma3": ("Gemma3TextConfig", dict(head_dim=16, query_pre_attn_scalar=16, sliding_window=WINDOW,
                                            layer_types=["sliding_attention", "full_attention"],
                                            tie_word_embeddings=True)),
        "phi3": ("Phi3Config", dict(tie_word_embeddings=False)),
        "qwen3_moe": ("Qwen3MoeConfig", dict(head_dim=16, num_experts=4, num_experts_per_tok=2,
                                             moe_intermediate_size=32, decoder_sparse_step=1,
                                             tie_word_embeddings=False)),
    }


FAMILIES = list(_configs())


def build_family(family: str, out: str | Path, tokenizer_dir: str | Path, seed: int = 0) -> Path:
    """Write the tiny `family` model with the tokenizer of `tokenizer_dir` to `out`; returns `out`.

    Args:
        family: one of FAMILIES.
        out: the folder to write (config.json, weights, tokenizer files).
        tokenizer_dir: a folder holding the tiny tokenizer (`tiny.build_tiny`'s output).
        seed: the weights' seed.
    """
    import transformers
    from transformers import AutoModelForCausalLM, AutoTokenizer

    out = Path(out)
    tok = AutoTokenizer.from_pretrained(tokenizer_dir)
    cls_name, extra = _configs()[family]
    cfg = getattr(transformers, cls_name)(vocab_size=len(tok), bos_token_id=tok.bos_token_id,
                                          eos_token_id=tok.eos_token_id, pad_token_id=tok.pad_token_id,
                                          **COMMON, **extra)
    torch.manual_seed(seed)
    model = AutoModelForCausalLM.from_config(cfg, dtype=torch.float32)
    if family == "qwen2":  # nn.Linear biases start at 0 in some inits: make them matter
        with torch.no_grad():
            for layer in model.model.layers:
                for proj in (layer.self_attn.q_proj, layer.self_attn.k_proj, layer.self_attn.v_proj):
                    proj.bias.normal_(0, 0.02)
    if family.startswith("gemma"):  # RMSNorm weights start at 0 (scale 1 + w): give them spread
        with torch.no_grad():
            for name, p in model.named_parameters():
                if "norm" in name:
                    p.normal_(0, 0.1)
    model.save_pretrained(out)
    for f in Path(tokenizer_dir).iterdir():
        if f.name.startswith(("tokenizer", "special_tokens", "chat_template")):
            shutil.copy(f, out / f.name)
    return out
