"""Batched generation from token-id prompts (left padding, KV cache, sampling parameters).

`generate_ids` is the one generate loop: the engine (`generation/engine.py`, which serve, chat
and the synth local backend use), the `generate` verb, eval and the training probe all call it.
"""

from __future__ import annotations

from collections.abc import Callable

import torch
from torch import nn
from transformers import LogitsProcessorList, StoppingCriteriaList

from instructune.data.render import stop_ids
from instructune.data.templates import INSTRUCTION, TEMPLATE
from instructune.generation.auto_temperature import RowTemperature, predict_temperatures
from instructune.generation.params import GenParams
from instructune.generation.stopping import StopOnText, StopWhen
from instructune.model.forward import InstructForward


@torch.no_grad()
def generate_ids(model: nn.Module, tokenizer, prompts: list[list[int]], params: GenParams, batch_size: int = 8,
                 streamer=None, stop_when: Callable[[], bool] | None = None,
                 segments: list[list[int]] | None = None,
                 on_batch: Callable[[int, int], None] | None = None,
                 on_temperatures: Callable[[list[int], list[float]], None] | None = None) -> list[list[int]]:
    """Generate a continuation for each prompt.

    Prompts are sorted by length and batched `batch_size` at a time, left-padded so the last
    prompt token of every row is aligned; generation stops at EOS or end-of-turn, or once the
    row's text contains one of `params.stop`. torch's RNG is seeded once, with `params.seed`,
    before the first batch.

    Args:
        model: causal LM.
        tokenizer: its tokenizer (pad and eos ids are read).
        prompts: token ids per prompt.
        params: sampling parameters (temperature 0 = greedy) and stop strings.
        batch_size: prompts per forward batch.
        streamer: handed to `model.generate` (one prompt only): gets each new token as it is
            made (`generation/streaming.py`).
        stop_when: polled after every token; True ends generation (a stream's client left).
        segments: the renderer's segment id per prompt token (`render_prompt_segments`), read
            by the add-ons of an `InstructForward`; None: every prompt token is instruction
            (a raw prompt is all directive). Generated tokens are response.
        on_batch: called after each batch with (prompts done, tokens generated so far), for
            progress bars.
        on_temperatures: called for each batch with (the prompts' positions in `prompts`, the
            temperature each is sampled at): what temperature "auto" chose, per prompt.
    Returns:
        the new token ids per prompt (without the prompt, without the stop token), in input
        order; a row ended by a stop string still holds it (`cut_at_stop` cuts the text).
    """
    model.eval()
    fwd = model if isinstance(model, InstructForward) else None
    if segments is None and fwd is not None and fwd.addons:
        segments = raw_segments(prompts)
    device = next(model.parameters()).device
    stops = sorted(stop_ids(tokenizer))
    pad = tokenizer.pad_token_id if tokenizer.pad_token_id is not None else stops[0]
    stop_strings = [s for s in params.stop if s]
    order = sorted(range(len(prompts)), key=lambda i: len(prompts[i]))
    results: list[list[int]] = [[] for _ in prompts]
    tokens = 0
    torch.manual_seed(params.seed)
    for s in range(0, len(order), batch_size):
        idx = order[s:s + batch_size]
        T = max(len(prompts[i]) for i in idx)
        ids = torch.full((len(idx), T), pad, dtype=torch.long)
        mask = torch.zeros((len(idx), T), dtype=torch.long)
        seg = torch.full((len(idx), T), TEMPLATE, dtype=torch.long)
        for row, i in enumerate(idx):
            p = prompts[i]
            ids[row, T - len(p):] = torch.as_tensor(p)
            mask[row, T - len(p):] = 1
            if segments is not None:
                seg[row, T - len(p):] = torch.as_tensor(segments[i])
        criteria = ([StopOnText(tokenizer, stop_strings, T)] if stop_strings else []) + \
            ([StopWhen(stop_when)] if stop_when else [])
        temps = row_temperatures(params, fwd, [prompts[i] for i in idx],
                                 [segments[i] for i in idx] if segments else None, pad)
        if on_temperatures:
            on_temperatures(idx, temps)
        kwargs = dict(attention_mask=mask.to(device), max_new_tokens=params.max_new_tokens,
                      repetition_penalty=params.repetition_penalty, eos_token_id=stops, pad_token_id=pad,
                      use_cache=True, stopping_criteria=StoppingCriteriaList(criteria) if criteria else None,
                      streamer=streamer, **sampling(params, temps))
        if fwd is not None and fwd.addons:
            out = fwd.generate(ids.to(device), seg.to(device), **kwargs)
        else:
            out = (fwd.model if fwd is not None else model).generate(input_ids=ids.to(device), **kwargs)
        for row, i in enumerate(idx):
            new = out[row, T:].tolist()
            cut = next((j for j, t in enumerate(new) if t in stops), len(new))
            if stop_strings:  # a row ended by a stop string is padded after it
                while cut and new[cut - 1] == pad:
                    cut -= 1
            results[i] = new[:cut]
            tokens += cut
        if on_batch:
            on_batch(s + len(idx), tokens)
    return results


def raw_segments(prompts: list[list[int]]) -> list[list[int]]:
    """The segments of prompts without a renderer's (raw text): instruction throughout."""
    return [[INSTRUCTION] * len(p) for p in prompts]


def row_temperatures(params: GenParams, fwd: InstructForward | None, prompts: list[list[int]],
                     segments: list[list[int]] | None, pad: int) -> list[float]:
    """The temperature each prompt of a batch is sampled at: the model's head's prediction for
    temperature "auto", else the fixed temperature (0.0 where it decodes greedily)."""
    if params.temperature == "auto":
        if fwd is None:
            raise ValueError("generate.temperature=auto needs a run with addons.temperature_head")
        return predict_temperatures(fwd, prompts, segments or raw_segments(prompts), pad).tolist()
    return [0.0 if params.greedy else params.temperature] * len(prompts)


def sampling(params: GenParams, temperatures: list[float]) -> dict:
    """transformers' sampling keyword arguments for one batch: greedy at temperature ~0, one
    temperature, or (temperature "auto") each row at its own of `temperatures`
    (`row_temperatures`), through a logits processor."""
    if params.temperature == "auto":
        return {"do_sample": True, "temperature": 1.0, "top_p": params.top_p, "top_k": params.top_k or None,
                "logits_processor": LogitsProcessorList([RowTemperature(torch.tensor(temperatures))])}
    sample = not params.greedy
    return {"do_sample": sample, "temperature": params.temperature if sample else None,
            "top_p": params.top_p if sample else None, "top_k": params.top_k if sample else None}


def generate_text(model: nn.Module, tokenizer, prompts: list[list[int]], params: GenParams, batch_size: int = 8,
                  segments: list[list[int]] | None = None) -> list[str]:
    """`generate_ids`, decoded (special tokens skipped, whitespace stripped)."""
    return [tokenizer.decode(ids, skip_special_tokens=True).strip()
            for ids in generate_ids(model, tokenizer, prompts, params, batch_size, segments=segments)]
