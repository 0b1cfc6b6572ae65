"""A tiny random Llama whose greedy replies vary from token to token (the shared tiny model
repeats one token, which would hide a misplaced row or position)."""

from __future__ import annotations

import pytest
import torch


@pytest.fixture(scope="session")
def varied(tiny_tokenizer):
    """(model, tokenizer): 2 layers, 64 wide, grouped-query attention, weights drawn wide (std 0.3)."""
    from transformers import LlamaConfig, LlamaForCausalLM

    torch.manual_seed(0)
    cfg = LlamaConfig(vocab_size=len(tiny_tokenizer), hidden_size=64, intermediate_size=128, num_hidden_layers=2,
                      num_attention_heads=4, num_key_value_heads=2, initializer_range=0.3,
                      max_position_embeddings=512, eos_token_id=tiny_tokenizer.eos_token_id)
    return LlamaForCausalLM(cfg).eval(), tiny_tokenizer


@pytest.fixture(scope="session")
def prompts(tiny_tokenizer) -> list[list[int]]:
    """Six prompts of different lengths (1 to ~12 tokens)."""
    texts = ["Write a poem about the sea", "What is two plus two?", "Hi", "a b c d e f g h i j",
             "Explain photosynthesis to a child in simple words please", "List three colors"]
    return [tiny_tokenizer(t)["input_ids"] for t in texts]
