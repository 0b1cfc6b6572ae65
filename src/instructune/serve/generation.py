"""Batched generation from token-id prompts (left padding, KV cache, sampling parameters)."""

from __future__ import annotations

import torch
from torch import nn

from instructune.config import GenerateConfig
from instructune.data.render import stop_ids


@torch.no_grad()
def generate_ids(model: nn.Module, tokenizer, prompts: list[list[int]], gcfg: GenerateConfig) -> list[list[int]]:
    """Generate a continuation for each prompt.

    Prompts are sorted by length and batched `gcfg.batch_size` at a time, left-padded so the
    last prompt token of every row is aligned; generation stops at EOS or end-of-turn.

    Args:
        model: causal LM.
        tokenizer: its tokenizer (pad and eos ids are read).
        prompts: token ids per prompt.
        gcfg: sampling parameters (temperature 0 = greedy).
    Returns:
        the new token ids per prompt (without the prompt, without the stop token), in input order.
    """
    model.eval()
    device = next(model.parameters()).device
    stops = sorted(stop_ids(tokenizer))
    pad = tokenizer.pad_token_id if tokenizer.pad_token_id is not None else stops[0]
    order = sorted(range(len(prompts)), key=lambda i: len(prompts[i]))
    results: list[list[int]] = [[] for _ in prompts]
    torch.manual_seed(gcfg.seed)
    for s in range(0, len(order), gcfg.batch_size):
        idx = order[s:s + gcfg.batch_size]
        T = max(len(prompts[i]) for i in idx)
        ids = torch.full((len(idx), T), pad, dtype=torch.long)
        mask = torch.zeros((len(idx), T), dtype=torch.long)
        for row, i in enumerate(idx):
            p = prompts[i]
            ids[row, T - len(p):] = torch.as_tensor(p)
            mask[row, T - len(p):] = 1
        sample = gcfg.temperature > 0
        out = model.generate(
            input_ids=ids.to(device), attention_mask=mask.to(device),
            max_new_tokens=gcfg.max_new_tokens, do_sample=sample,
            temperature=gcfg.temperature if sample else None,
            top_p=gcfg.top_p if sample else None, top_k=gcfg.top_k if sample else None,
            repetition_penalty=gcfg.repetition_penalty,
            eos_token_id=stops, pad_token_id=pad, use_cache=True,
        )
        for row, i in enumerate(idx):
            new = out[row, T:].tolist()
            cut = next((j for j, t in enumerate(new) if t in stops), len(new))
            results[i] = new[:cut]
    return results


def generate_text(model: nn.Module, tokenizer, prompts: list[list[int]], gcfg: GenerateConfig) -> list[str]:
    """`generate_ids`, decoded (special tokens skipped, whitespace stripped)."""
    return [tokenizer.decode(ids, skip_special_tokens=True).strip()
            for ids in generate_ids(model, tokenizer, prompts, gcfg)]
