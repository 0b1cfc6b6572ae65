"""Batched generation from token-id prompts (left padding, KV cache, sampling parameters)."""

from __future__ import annotations

from collections.abc import Callable

import torch
from torch import nn
from transformers import LogitsProcessorList, StoppingCriteria, StoppingCriteriaList

from instructune.config import GenerateConfig
from instructune.data.render import stop_ids
from instructune.data.templates import INSTRUCTION, TEMPLATE
from instructune.model.forward import InstructForward
from instructune.serve.auto_temperature import RowTemperature, predict_temperatures


class StopWhen(StoppingCriteria):
    """Ends every row once `done()` says so (a streaming client went away)."""

    def __init__(self, done: Callable[[], bool]):
        self.done = done

    def __call__(self, input_ids: torch.Tensor, scores, **kwargs) -> torch.Tensor:
        return torch.full((input_ids.shape[0],), bool(self.done()), device=input_ids.device)


class StopOnText(StoppingCriteria):
    """Ends a row once its *generated* text contains a stop string.

    transformers' own `stop_strings` also match across the prompt boundary (prompt "Hello"
    + generated "lo" would hit "lolo"); OpenAI-style stops only look at what was generated.
    Each step decodes only the tail of each row that can hold a newly completed stop string.

    Args:
        tokenizer: decodes the ids.
        stops: stop strings (non-empty).
        prompt_len: T, the padded prompt length; ids after it are generated.
    """

    def __init__(self, tokenizer, stops: list[str], prompt_len: int):
        self.tokenizer, self.stops, self.prompt_len = tokenizer, stops, prompt_len
        # A token decodes to >= 1 character, or to a part of one (a UTF-8 character takes at most
        # 4 byte tokens); so the last 4 * len + 4 tokens hold any stop the newest token completed.
        self.window = 4 * max(len(s) for s in stops) + 4

    def __call__(self, input_ids: torch.Tensor, scores, **kwargs) -> torch.Tensor:
        """input_ids: (B, T + generated so far) → (B,) bool, True where a stop string appeared."""
        start = max(self.prompt_len, input_ids.shape[1] - self.window)
        tails = self.tokenizer.batch_decode(input_ids[:, start:], skip_special_tokens=True)
        return torch.tensor([any(s in t for s in self.stops) for t in tails], device=input_ids.device)


@torch.no_grad()
def generate_ids(model: nn.Module, tokenizer, prompts: list[list[int]], gcfg: GenerateConfig,
                 stop_strings: list[str] | None = None, streamer=None,
                 stop_when: Callable[[], bool] | None = None,
                 segments: list[list[int]] | None = None) -> list[list[int]]:
    """Generate a continuation for each prompt.

    Prompts are sorted by length and batched `gcfg.batch_size` at a time, left-padded so the
    last prompt token of every row is aligned; generation stops at EOS or end-of-turn, or
    once the row's text contains one of `stop_strings`.

    Args:
        model: causal LM.
        tokenizer: its tokenizer (pad and eos ids are read).
        prompts: token ids per prompt.
        gcfg: sampling parameters (temperature 0 = greedy).
        stop_strings: texts that end a row (its ids then still hold the stop string; the
            caller cuts the decoded text, see `serve/engine.py`).
        streamer: handed to `model.generate` (one prompt only): gets each new token as it is
            made (`serve/streaming.py`).
        stop_when: polled after every token; True ends generation (a stream's client left).
        segments: the renderer's segment id per prompt token (`render_prompt_segments`), read
            by the add-ons of an `InstructForward`; None: every prompt token is instruction
            (a raw prompt is all directive). Generated tokens are response.
    Returns:
        the new token ids per prompt (without the prompt, without the stop token), in input order.
    """
    model.eval()
    fwd = model if isinstance(model, InstructForward) else None
    if segments is None and fwd is not None and fwd.addons:
        segments = raw_segments(prompts)
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
        seg = torch.full((len(idx), T), TEMPLATE, dtype=torch.long)
        for row, i in enumerate(idx):
            p = prompts[i]
            ids[row, T - len(p):] = torch.as_tensor(p)
            mask[row, T - len(p):] = 1
            if segments is not None:
                seg[row, T - len(p):] = torch.as_tensor(segments[i])
        criteria = ([StopOnText(tokenizer, stop_strings, T)] if stop_strings else []) + \
            ([StopWhen(stop_when)] if stop_when else [])
        kwargs = dict(attention_mask=mask.to(device), max_new_tokens=gcfg.max_new_tokens,
                      repetition_penalty=gcfg.repetition_penalty, eos_token_id=stops, pad_token_id=pad,
                      use_cache=True, stopping_criteria=StoppingCriteriaList(criteria) if criteria else None,
                      streamer=streamer, **sampling(gcfg, fwd, [prompts[i] for i in idx],
                                                    [segments[i] for i in idx] if segments else None, pad))
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
    return results


def raw_segments(prompts: list[list[int]]) -> list[list[int]]:
    """The segments of prompts without a renderer's (raw text): instruction throughout."""
    return [[INSTRUCTION] * len(p) for p in prompts]


def sampling(gcfg: GenerateConfig, fwd: InstructForward | None, prompts: list[list[int]],
             segments: list[list[int]] | None, pad: int) -> dict:
    """transformers' sampling keyword arguments for one batch: greedy at temperature 0, one
    temperature, or (temperature "auto") a temperature per prompt from the model's head."""
    auto = gcfg.temperature == "auto"
    if auto:
        if fwd is None:
            raise ValueError("generate.temperature=auto needs a run with addons.temperature_head")
        temps = predict_temperatures(fwd, prompts, segments or raw_segments(prompts), pad)
        return {"do_sample": True, "temperature": 1.0, "top_p": gcfg.top_p, "top_k": gcfg.top_k or None,
                "logits_processor": LogitsProcessorList([RowTemperature(temps)])}
    sample = gcfg.temperature > 0
    return {"do_sample": sample, "temperature": gcfg.temperature if sample else None,
            "top_p": gcfg.top_p if sample else None, "top_k": gcfg.top_k if sample else None}


def generate_text(model: nn.Module, tokenizer, prompts: list[list[int]], gcfg: GenerateConfig,
                  segments: list[list[int]] | None = None) -> list[str]:
    """`generate_ids`, decoded (special tokens skipped, whitespace stripped)."""
    return [tokenizer.decode(ids, skip_special_tokens=True).strip()
            for ids in generate_ids(model, tokenizer, prompts, gcfg, segments=segments)]
