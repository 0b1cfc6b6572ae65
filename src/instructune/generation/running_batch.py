"""A running batch: rows decoding together over one KV cache, which rows join and leave between
decode steps (continuous batching).

    batch = RunningBatch(model, tokenizer, params)
    done = batch.add([Row(prompt_ids, max_new=64, seed=1)])    # prefilled, first token chosen
    while batch:
        done += batch.step()                                   # one token for every row

`add` prefills the new rows apart from the running ones, in groups of similar prompt length
(`prefill_groups`: padding is compute thrown away, and a prefill is a large share of a short
reply's cost), then merges their caches into the running one: the shorter are left-padded (zero keys
and values, masked out), so every row stays left-padded and the last column is every row's
newest token. A row leaves the
moment it ends (EOS / end-of-turn, a stop string, `max_new`, or `cancel`), and the columns no
remaining row reads are cut off the left: finished rows cost nothing more.

Greedy replies equal a lone run's up to float rounding: left pads are masked (zero weight), and
each row's positions count its own tokens only. A row samples with its own RNG
(`generation/next_token.py`). Models with add-ons (which read segments through the cache) and
caches whose layers are not plain growing ones (sliding windows) are not handled: `joinable`
says which models are, and the others use transformers' generate (`generation/batched.py`).

Credit: scheduling per decode step, so that rows join and leave a batch in flight, is the idea of
Orca (Yu et al., "Orca: A Distributed Serving System for Transformer-Based Generative Models",
OSDI 2022); keeping a padded batch left-aligned while batches are concatenated and filtered is
also how text-generation-inference's padded `CausalLMBatch` does it. The code here is our own,
written over transformers' `DynamicCache` layers.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

import torch
from torch import nn
from transformers import DynamicCache
from transformers.cache_utils import DynamicLayer

from instructune.data.render import stop_ids
from instructune.generation.next_token import NextToken
from instructune.generation.params import GenParams
from instructune.model.forward import InstructForward


@dataclass
class Row:
    """One prompt in a running batch.

    Attributes:
        prompt: its token ids.
        max_new: tokens to generate at most.
        seed: its RNG seed when sampling.
        on_token: called with each chosen id as it is made (streaming), end token included.
        tag: the caller's handle (which job, which prompt).
        ids: generated so far (the end token is not kept; a stop string's tokens are).
        finish: None while running; then "stop" (EOS, end-of-turn, stop string), "length" or
            "cancelled".
    """

    prompt: list[int]
    max_new: int
    seed: int = 0
    on_token: Callable[[int], None] | None = None
    tag: object = None
    ids: list[int] = field(default_factory=list)
    finish: str | None = None


def causal_lm(model: nn.Module) -> nn.Module:
    """The module to call for logits: the HF (or peft) model under an add-on-free `InstructForward`."""
    return model.model if isinstance(model, InstructForward) else model


def joinable(model: nn.Module) -> bool:
    """Whether `RunningBatch` can run `model`: no add-on attached, and a KV cache of plain
    growing layers (no sliding window, no static or quantised cache)."""
    if isinstance(model, InstructForward) and model.addons:
        return False
    try:
        cache = DynamicCache(config=causal_lm(model).config)
    except Exception:  # a config the cache cannot read: leave it to transformers' generate
        return False
    return bool(cache.layers) and all(type(layer) is DynamicLayer for layer in cache.layers)


# A prefill group may hold at most this many padded token slots per real prompt token: rows of
# lengths 38 and 104 in one forward would spend most of it on padding, while a forward per row
# costs a little Python each (30-odd layers of small calls).
PREFILL_SLACK = 1.1


def prefill_groups(lengths: list[int], slack: float = PREFILL_SLACK) -> list[list[int]]:
    """Indices of `lengths` in groups to prefill together: shortest first, each group as long as
    its padded size (rows x longest) stays within `slack` x its real tokens.

    >>> prefill_groups([40, 104, 38, 41])
    [[2, 0, 3], [1]]
    """
    order = sorted(range(len(lengths)), key=lambda i: lengths[i])
    groups: list[list[int]] = []
    real = 0
    for i in order:
        # Sorted ascending, so the row joining is the group's longest.
        if groups and (len(groups[-1]) + 1) * lengths[i] <= slack * (real + lengths[i]):
            groups[-1].append(i)
            real += lengths[i]
        else:
            groups.append([i])
            real = lengths[i]
    return groups


def _left_pad(x: torch.Tensor, width: int, dim: int) -> torch.Tensor:
    """`x` with zeros prepended along `dim` up to `width`."""
    missing = width - x.shape[dim]
    if missing <= 0:
        return x
    shape = list(x.shape)
    shape[dim] = missing
    return torch.cat([x.new_zeros(shape), x], dim=dim)


class RunningBatch:
    """Rows decoding together; see the module docstring.

    Args:
        model: a causal LM without add-ons (`joinable`).
        tokenizer: its tokenizer (end ids, and decoding for stop strings).
        params: the sampling parameters every row shares (stop strings included).
    """

    def __init__(self, model: nn.Module, tokenizer, params: GenParams):
        self.lm, self.tokenizer, self.params = causal_lm(model), tokenizer, params
        self.lm.eval()
        self.device = next(self.lm.parameters()).device
        self.ends = stop_ids(tokenizer)
        self.stops = [s for s in params.stop if s]
        # Tokens that can hold a newly completed stop string (a token is >= 1/4 character).
        self.window = 4 * max(len(s) for s in self.stops) + 4 if self.stops else 0
        self.choose = NextToken(params)
        self.rows: list[Row] = []
        self.generators: list[torch.Generator | None] = []
        self.cache: DynamicCache | None = None
        self.mask = torch.zeros((0, 0), dtype=torch.long, device=self.device)  # (B, L) 1 = real token
        self.last = torch.zeros(0, dtype=torch.long, device=self.device)  # (B,) the token fed next
        self.pos = torch.zeros(0, dtype=torch.long, device=self.device)  # (B,) its position

    def __len__(self) -> int:
        return len(self.rows)

    @torch.no_grad()
    def add(self, rows: list[Row]) -> list[Row]:
        """Prefill `rows` and merge them into the batch (they join in order of prompt length);
        returns the rows that already ended (on their first token)."""
        if not rows:
            return []
        groups = [[rows[i] for i in g] for g in prefill_groups([len(r.prompt) for r in rows])]
        rows = [r for g in groups for r in g]
        caches, masks, next_pos, logits = zip(*(self._prefill(g) for g in groups))
        self._merge(list(caches), list(masks), list(next_pos))
        self.rows += rows
        self.generators += [None if self.choose.greedy else
                            torch.Generator(device=self.device).manual_seed(r.seed) for r in rows]
        return self._accept(torch.cat(logits), first=len(self.rows) - len(rows))

    def _prefill(self, rows: list[Row]) -> tuple[DynamicCache, torch.Tensor, torch.Tensor, torch.Tensor]:
        """One forward over `rows`' prompts, left-padded among themselves: (their cache, mask
        (b, T), next positions (b,), last-position logits (b, V))."""
        T = max(len(r.prompt) for r in rows)
        ids = torch.zeros((len(rows), T), dtype=torch.long)
        mask = torch.zeros((len(rows), T), dtype=torch.long)
        for i, r in enumerate(rows):
            ids[i, T - len(r.prompt):] = torch.as_tensor(r.prompt)
            mask[i, T - len(r.prompt):] = 1
        ids, mask = ids.to(self.device), mask.to(self.device)
        positions = (mask.cumsum(-1) - 1).clamp(min=0)  # (b, T) each row counts its own tokens
        out = self.lm(input_ids=ids, attention_mask=mask, position_ids=positions,
                      past_key_values=DynamicCache(config=self.lm.config), use_cache=True, logits_to_keep=1)
        return out.past_key_values, mask, positions[:, -1] + 1, out.logits[:, -1]

    @torch.no_grad()
    def step(self) -> list[Row]:
        """One decode step for every row; returns the rows that ended on it (removed)."""
        if not self.rows:
            return []
        B = len(self.rows)
        self.mask = torch.cat([self.mask, self.mask.new_ones((B, 1))], dim=1)
        out = self.lm(input_ids=self.last[:, None], attention_mask=self.mask, position_ids=self.pos[:, None],
                      past_key_values=self.cache, use_cache=True, logits_to_keep=1)
        self.cache, self.pos = out.past_key_values, self.pos + 1
        return self._accept(out.logits[:, -1])

    def cancel(self, which: Callable[[Row], bool]) -> list[Row]:
        """Remove the rows `which` picks (a client left); returns them, marked "cancelled"."""
        gone = [i for i, r in enumerate(self.rows) if which(r)]
        for i in gone:
            self.rows[i].finish = "cancelled"
        return self._drop(gone)

    def _merge(self, caches: list[DynamicCache], masks: list[torch.Tensor], next_pos: list[torch.Tensor]) -> None:
        """Append the rows of prefilled groups: each group's cache, mask (b, T) and next
        positions (b,). One concatenation per layer, however many groups."""
        if self.cache is not None and self.rows:
            caches, masks, next_pos = [self.cache, *caches], [self.mask, *masks], [self.pos, *next_pos]
        width = max(m.shape[1] for m in masks)
        first = caches[0]
        for i, layer in enumerate(first.layers):  # keys/values (B, heads, L, head_dim)
            layer.keys = torch.cat([_left_pad(c.layers[i].keys, width, 2) for c in caches])
            layer.values = torch.cat([_left_pad(c.layers[i].values, width, 2) for c in caches])
        self.cache = first
        self.mask = torch.cat([_left_pad(m, width, 1) for m in masks])
        self.pos = torch.cat(next_pos)

    def _accept(self, logits: torch.Tensor, first: int = 0) -> list[Row]:
        """Choose the next token of rows `first:` from their (n, V) `logits`; returns the rows that ended."""
        rows = self.rows[first:]
        chosen = self.choose(logits, [r.prompt + r.ids for r in rows] if self.choose.penalty != 1.0 else [],
                             self.generators[first:])
        self.last = torch.cat([self.last[:first], chosen])
        ended = []
        for i, (r, t) in enumerate(zip(rows, chosen.tolist())):  # the one host sync of a step
            if r.on_token is not None:
                r.on_token(t)
            if t in self.ends:
                r.finish = "stop"
            else:
                r.ids.append(t)
                if self._hits_stop(r):
                    r.finish = "stop"
                elif len(r.ids) >= r.max_new:
                    r.finish = "length"
            if r.finish is not None:
                ended.append(first + i)
        return self._drop(ended)

    def _hits_stop(self, row: Row) -> bool:
        """Whether the row's generated text now holds a stop string (only its tail can be new)."""
        if not self.stops:
            return False
        tail = self.tokenizer.decode(row.ids[-self.window:], skip_special_tokens=True)
        return any(s in tail for s in self.stops)

    def _drop(self, gone: list[int]) -> list[Row]:
        """Remove rows `gone` (indices) and the cache columns no remaining row reads."""
        if not gone:
            return []
        out = [self.rows[i] for i in gone]
        keep = [i for i in range(len(self.rows)) if i not in set(gone)]
        self.rows = [self.rows[i] for i in keep]
        self.generators = [self.generators[i] for i in keep]
        if not keep:
            self.cache, self.mask = None, self.mask[:0, :0]
            self.last, self.pos = self.last[:0], self.pos[:0]
            return out
        index = torch.tensor(keep, device=self.device)
        self.mask, self.last, self.pos = self.mask[index], self.last[index], self.pos[index]
        start = int(self.mask.any(0).nonzero()[0])  # first column some row still reads
        self.mask = self.mask[:, start:]
        for layer in self.cache.layers:
            layer.keys, layer.values = layer.keys[index, :, start:], layer.values[index, :, start:]
        return out
