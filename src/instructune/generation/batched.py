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
from instructune.generation.running_batch import Row, RunningBatch, joinable
from instructune.generation.stopping import StopOnText, StopWhen
from instructune.model.forward import InstructForward


@torch.no_grad()
def generate_ids(model: nn.Module, tokenizer, prompts: list[list[int]], params: GenParams, batch_size: int = 8,
                 streamer=None, stop_when: Callable[[], bool] | None = None,
                 segments: list[list[int]] | None = None,
                 on_batch: Callable[[int, int], None] | None = None,
                 on_temperatures: Callable[[list[int], list[float]], None] | None = None) -> list[list[int]]:
    """Generate a continuation for each prompt.

    A model without add-ons (`running_batch.joinable`) runs on a `RunningBatch`
    (`generate_running`): up to `batch_size` rows decode together, shortest prompts first, a
    row leaves as soon as it ends and the next prompt takes its place; each row samples with
    its own RNG, seeded from `params.seed` and its position (`row_seed`). A model with add-ons
    (or temperature "auto") goes through transformers' generate: prompts sorted by length and
    batched `batch_size` at a time, left-padded, torch's RNG seeded once with `params.seed`.
    Either way a row stops at EOS or end-of-turn, or once its text contains one of
    `params.stop`.

    Args:
        model: causal LM.
        tokenizer: its tokenizer (pad and eos ids are read).
        prompts: token ids per prompt.
        params: sampling parameters (temperature 0 = greedy) and stop strings.
        batch_size: prompts per forward batch.
        streamer: a transformers streamer (one prompt only): gets the prompt, then each new
            token as it is made (`generation/streaming.py`).
        stop_when: polled after every token; True ends generation (a stream's client left).
        segments: the renderer's segment id per prompt token (`render_prompt_segments`), read
            by the add-ons of an `InstructForward`; None: every prompt token is instruction
            (a raw prompt is all directive). Generated tokens are response.
        on_batch: called after each batch (running batch: each step where rows ended) with
            (prompts done, tokens generated so far), for progress bars.
        on_temperatures: called for each batch with (the prompts' positions in `prompts`, the
            temperature each is sampled at): what temperature "auto" chose, per prompt.
    Returns:
        the new token ids per prompt (without the prompt, without the stop token), in input
        order; a row ended by a stop string still holds it (`cut_at_stop` cuts the text).
    """
    model.eval()
    if joinable(model) and params.temperature != "auto":
        if on_temperatures:
            on_temperatures(list(range(len(prompts))), [0.0 if params.greedy else params.temperature] * len(prompts))
        return generate_running(model, tokenizer, prompts, params, batch_size, streamer, stop_when, on_batch)
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


def row_seed(seed: int, i: int) -> int:
    """The RNG seed of prompt `i` of a call seeded `seed` (rows of one call sample apart)."""
    return (seed * 1_000_003 + i) % 2**63


def generate_running(model: nn.Module, tokenizer, prompts: list[list[int]], params: GenParams, batch_size: int,
                     streamer=None, stop_when: Callable[[], bool] | None = None,
                     on_batch: Callable[[int, int], None] | None = None) -> list[list[int]]:
    """`generate_ids` on a `RunningBatch`: up to `batch_size` rows decode together, and a
    finished row's place is taken by the next prompt (shortest first) at the next step."""
    waiting = sorted(range(len(prompts)), key=lambda i: len(prompts[i]), reverse=True)  # pop() = shortest
    results: list[list[int]] = [[] for _ in prompts]
    on_token = None
    if streamer is not None:  # transformers' streamer protocol: the prompt first, then each new id
        streamer.put(torch.as_tensor(prompts[0]))
        on_token = lambda t: streamer.put(torch.tensor([t]))  # noqa: E731
    batch, done, tokens = RunningBatch(model, tokenizer, params), 0, 0
    while waiting or batch:
        if stop_when is not None and stop_when():  # the caller left: the prompts not started get nothing
            ended, waiting = batch.cancel(lambda r: True), []
        elif waiting and len(batch) < batch_size:
            take = [waiting.pop() for _ in range(min(batch_size - len(batch), len(waiting)))]
            ended = batch.add([Row(prompts[i], params.max_new_tokens, row_seed(params.seed, i), on_token, i)
                               for i in take])
        else:
            ended = batch.step()
        for r in ended:
            results[r.tag], done, tokens = r.ids, done + 1, tokens + len(r.ids)
        if ended and on_batch:
            on_batch(done, tokens)
    if streamer is not None:
        streamer.end()
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
