"""Which segment and which record each token of the current forward belongs to.

The add-ons (`model/addons/`) run inside the transformers model through hooks, so they cannot
take arguments; they read the current forward's segments from a `SegmentState` that
`InstructForward` fills before calling the model:

- training and evaluation (`begin`): the collated `segment_ids` (B, T); records are rows, or,
  for packed rows, the runs that `position_ids` restart at 0;
- generation (`begin_generation`): the first model call (the prompt) gets the renderer's
  segments of the left-padded prompts, every later call (one new token per row, the KV cache
  holding the rest) gets the response segment; `keys` grows with the cache, so attention over
  cached keys still knows which of them were instruction tokens. Each row is one record.

Per-record values (the pooled instruction, the instruction encoder's output) are computed
once per forward into `cache` and, at generation, kept for the decode steps of the same
prompts.
"""

from __future__ import annotations

import torch

from instructune.data.templates import INSTRUCTION, RATIONALE, RESPONSE

N_SEGMENTS = 5  # TEMPLATE, INSTRUCTION, CONTEXT, RESPONSE, RATIONALE (`data/templates.py`)


def record_index(segment_ids: torch.Tensor, position_ids: torch.Tensor | None,
                 n_records: int | None = None) -> tuple[torch.Tensor, int]:
    """The record of every token, numbered over the flattened batch.

    Args:
        segment_ids: (B, T) long.
        position_ids: (B, T) long, restarting at 0 where a packed record starts, or None (one
            record per row).
        n_records: R when the caller knows it (`record_count`); otherwise it is read from the
            device, which waits for it.
    Returns:
        (record (B, T) long in [0, R), R)
    """
    B, T = segment_ids.shape
    if position_ids is None:
        return torch.arange(B, device=segment_ids.device)[:, None].expand(B, T), B
    starts = (position_ids == 0)
    starts[:, 0] = True  # every row starts a record, whatever its first position
    record = starts.reshape(-1).cumsum(0).reshape(B, T) - 1
    return record, n_records if n_records is not None else int(record[-1, -1]) + 1


def record_count(batch: dict) -> int | None:
    """R of a collated batch from its host values: the per-record lists (`tasks`, `rows`), the
    packed records' boundaries, or its rows when unpacked; None when only the device knows."""
    for key in ("tasks", "rows"):
        if batch.get(key) is not None:
            return len(batch[key])
    if batch.get("cu_seqlens") is not None:
        return len(batch["cu_seqlens"]) - 1
    return batch["segment_ids"].shape[0] if batch.get("position_ids") is None else None


def is_instruction(segment_ids: torch.Tensor) -> torch.Tensor:
    """Bool mask of instruction tokens."""
    return segment_ids == INSTRUCTION


def is_answer(segment_ids: torch.Tensor) -> torch.Tensor:
    """Bool mask of rationale and response tokens."""
    return (segment_ids == RESPONSE) | (segment_ids == RATIONALE)


def pool(values: torch.Tensor, where: torch.Tensor, record: torch.Tensor, n_records: int) -> torch.Tensor:
    """Mean of `values` over the tokens `where` is True, per record; 0 for a record without any.

    Args:
        values: (B, T, d).
        where: (B, T) bool.
        record: (B, T) long, from `record_index`.
        n_records: R.
    Returns:
        (R, d) in values' dtype.
    """
    d = values.shape[-1]
    w = where.reshape(-1).to(values.dtype)
    flat = values.reshape(-1, d) * w[:, None]
    rec = record.reshape(-1)
    sums = torch.zeros(n_records, d, dtype=values.dtype, device=values.device).index_add_(0, rec, flat)
    counts = torch.zeros(n_records, dtype=values.dtype, device=values.device).index_add_(0, rec, w)
    return sums / counts.clamp(min=1)[:, None]


class SegmentState:
    """The segments of the forward in progress (see the module docstring).

    Attributes:
        query: (B, Tq) segment of each token of this model call.
        keys: (B, Tk) segment of each key attention sees (the KV cache's and this call's).
        record: (B, Tq) record of each token of this call (computed when first asked for: the
            segment embedding and the reasoning head with `scope: all` never need it).
        n_records: R.
        embeds: (B, Tq, d) the token embeddings of this call before any add-on changed them.
        ids: (B, Tq) the token ids of this call.
        cache: per-record values for this forward (and, at generation, its decode steps).
        per_call: per-token values of this model call only (cleared before every call).
    """

    def __init__(self):
        self.query = self.keys = self.embeds = self.ids = None
        self._records: tuple[torch.Tensor, int] | None = None
        self._positions: torch.Tensor | None = None
        self.cache: dict[str, torch.Tensor] = {}
        self.per_call: dict[str, torch.Tensor] = {}
        self._prompt: torch.Tensor | None = None
        self.generating = False
        # Set by `begin`, used up by the decoder call that follows: a later call nobody began
        # (a direct `model(...)`) must not reuse these segments. The state itself is kept
        # until the next `begin`: activation checkpointing re-runs layers during backward.
        self.armed = False

    def begin(self, segment_ids: torch.Tensor, position_ids: torch.Tensor | None) -> None:
        """A whole-sequence forward (training, evaluation, a prompt without a cache)."""
        self.generating, self._prompt, self.cache, self.armed = False, None, {}, True
        self.per_call = {}
        self.query = self.keys = segment_ids
        self._positions, self._records = position_ids, None

    def _index(self) -> tuple[torch.Tensor, int]:
        """(record, R) of this call, computed once (packed rows: one wait for the device)."""
        if self._records is None:
            self._records = record_index(self.query, self._positions)
        return self._records

    @property
    def record(self) -> torch.Tensor:
        return self._index()[0]

    @property
    def n_records(self) -> int:
        return self._index()[1]

    def begin_generation(self, prompt_segments: torch.Tensor) -> None:
        """Generation over left-padded prompts with these segments (B, T); see `advance`."""
        self.generating, self._prompt, self.cache = True, prompt_segments, {}

    def end(self) -> None:
        """Forget the forward (the next model call needs a `begin` again)."""
        self.__init__()

    def advance(self, n_new: int, batch: int, device: torch.device) -> None:
        """Called before every decoder call: at generation, the prompt call takes the prompt's
        segments and every later call `n_new` response tokens per row (keys grow with them).
        Outside generation, a call that nobody began (a direct `model(...)`, plain text) is all
        response: the model reads it as text it writes."""
        if self.generating:
            self.per_call = {}
            if self._prompt is not None:
                seg, self._prompt = self._prompt.to(device), None
                self.keys = seg
            else:
                seg = torch.full((batch, n_new), RESPONSE, dtype=torch.long, device=device)
                self.keys = torch.cat([self.keys, seg], dim=1)
            self.query = seg
            self._positions, self._records = None, None  # at generation each row is one record
        elif self.armed:
            self.armed = False
        else:
            self.begin(torch.full((batch, n_new), RESPONSE, dtype=torch.long, device=device), None)
            self.armed = False

    def instruction_mask(self) -> torch.Tensor:
        """(B, Tq) bool: tokens of this call in the instruction segment."""
        return is_instruction(self.query)

    def answer_mask(self) -> torch.Tensor:
        """(B, Tq) bool: tokens of this call in the rationale or response segment."""
        return is_answer(self.query)

    def per_token(self, per_record: torch.Tensor) -> torch.Tensor:
        """(R, ...) values → (B, Tq, ...) by each token's record."""
        return per_record[self.record]

    def instructed(self) -> torch.Tensor:
        """(B, Tq) bool: tokens of this call whose record has an instruction segment. Plain text
        (a call nobody began, a record without instruction tokens) has none; computed on the
        forward that saw the instruction and kept for its decode steps, like the pooled one."""
        if "instructed" not in self.cache:
            count = torch.zeros(self.n_records, dtype=torch.long, device=self.query.device)
            self.cache["instructed"] = count.index_add_(0, self.record.reshape(-1),
                                                        self.instruction_mask().reshape(-1).long()) > 0
        return self.per_token(self.cache["instructed"])

    def pooled_instruction(self) -> torch.Tensor:
        """(R, d) mean token embedding of each record's instruction (0 without one), computed
        on the forward that saw the instruction and kept for its decode steps."""
        if "instruction" not in self.cache:
            self.cache["instruction"] = pool(self.embeds, self.instruction_mask(), self.record, self.n_records)
        return self.cache["instruction"]
