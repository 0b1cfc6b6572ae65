"""Instruction masking: hide a fraction of instruction tokens while training (augmentation).

    masker = InstructionMasker(fraction=0.15, mode="mix", mask_id=tokenizer.unk_token_id, seed=0)
    rows = masker(rows, indices, epoch)     # applied as micro-batches are built, never at prepare time

Only instruction tokens (segment 1) are touched; template, context, response and rationale
tokens never change. Each chosen token is replaced by `mask_id` ("mask"), removed together
with its label and segment id ("drop"), or either with probability 1/2 ("mix").

How many: with n instruction tokens and fraction f, floor(f·n) tokens are chosen, plus one
more with probability f·n − floor(f·n), so the expected share is exactly f and no record is
ever off by more than one token. Which: drawn from a generator seeded by (seed, epoch, row
index) alone, so the choice is fresh every epoch, identical on every process and after a
resume, and independent of batch size, packing and accumulation.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from instructune.config import ConfigError
from instructune.data.templates import INSTRUCTION

MODES = ("mask", "drop", "mix")


def record_rng(seed: int, epoch: int, index: int) -> np.random.Generator:
    """The generator for one record in one epoch (a hash of the three numbers, not a sum)."""
    return np.random.default_rng([seed % 2**64, epoch, index])


def choose_positions(segment_ids: list[int], fraction: float, rng: np.random.Generator) -> list[int]:
    """Sorted positions of the instruction tokens to change (see module docstring for the count).

    Args:
        segment_ids: length T.
        fraction: share of instruction tokens to change, in [0, 1].
        rng: the record's generator.
    Returns:
        sorted positions t with segment_ids[t] == 1.
    """
    candidates = [t for t, s in enumerate(segment_ids) if s == INSTRUCTION]
    expected = fraction * len(candidates)
    k = math.floor(expected)
    k += int(rng.random() < expected - k)
    if k == 0:
        return []
    return sorted(int(t) for t in rng.choice(candidates, size=k, replace=False))


def mask_row(row: dict, fraction: float, mode: str, mask_id: int, rng: np.random.Generator) -> dict:
    """A copy of `row` with some instruction tokens masked or dropped.

    Args:
        row: dict with input_ids, labels, segment_ids (lists of int, length T); other keys are
            copied (`length` is updated when tokens are dropped).
        fraction: share of instruction tokens to change.
        mode: "mask", "drop" or "mix".
        mask_id: token id written over masked tokens.
        rng: the record's generator.
    Returns:
        the new row; arrays stay aligned (length T, or T minus the dropped count).
    """
    chosen = choose_positions(row["segment_ids"], fraction, rng)
    drop_flags = {"mask": [False] * len(chosen), "drop": [True] * len(chosen),
                  "mix": [bool(x) for x in rng.random(len(chosen)) < 0.5]}[mode]
    drop = {t for t, d in zip(chosen, drop_flags) if d}
    mask = {t for t, d in zip(chosen, drop_flags) if not d}
    out = dict(row)
    keep = [t for t in range(len(row["input_ids"])) if t not in drop]
    out["input_ids"] = [mask_id if t in mask else row["input_ids"][t] for t in keep]
    out["labels"] = [row["labels"][t] for t in keep]
    out["segment_ids"] = [row["segment_ids"][t] for t in keep]
    if "length" in out:
        out["length"] = len(keep)
    return out


@dataclass
class InstructionMasker:
    """Instruction masking for one run: `masker(rows, indices, epoch) -> rows`.

    Attributes:
        fraction: share of instruction tokens changed per record, in [0, 1].
        mode: "mask", "drop" or "mix".
        mask_id: token id for masked tokens (unused by "drop").
        seed: run seed.
    """

    fraction: float
    mode: str
    mask_id: int
    seed: int

    def __call__(self, rows: list[dict], indices: list[int], epoch: int) -> list[dict]:
        """Rows `indices` (dataset row indices, aligned with `rows`) as seen in `epoch`."""
        return [mask_row(r, self.fraction, self.mode, self.mask_id, record_rng(self.seed, epoch, i))
                for r, i in zip(rows, indices)]


def mask_token_id(tokenizer, token: str | None) -> int:
    """The id of `token` if given, else of the tokenizer's unk token.

    Raises:
        ConfigError: `token` is not one token of the vocabulary, or it is None and the
            tokenizer has no unk token.
    """
    if token is None:
        if tokenizer.unk_token_id is None:
            raise ConfigError("data.instruction_masking.token: the tokenizer has no unk token; "
                              "name a token of its vocabulary to mask with (e.g. an added special token)")
        return tokenizer.unk_token_id
    vocab = tokenizer.get_vocab()
    if token not in vocab:
        raise ConfigError(f"data.instruction_masking.token: {token!r} is not a single token of the vocabulary")
    return vocab[token]


def build_masker(fraction: float, mode: str, token: str | None, tokenizer, seed: int) -> InstructionMasker | None:
    """The run's masker from config values (`data.instruction_masking.*`), or None when off.

    Raises:
        ConfigError: fraction outside [0, 1], unknown mode, or no usable mask token.
    """
    if not 0.0 <= fraction <= 1.0:
        raise ConfigError(f"data.instruction_masking.fraction: got {fraction}; expected a number in [0, 1]")
    if mode not in MODES:
        raise ConfigError(f"data.instruction_masking.mode: got {mode!r}; expected one of {', '.join(MODES)}")
    if fraction == 0.0:
        return None
    mask_id = mask_token_id(tokenizer, token) if mode != "drop" else -1
    return InstructionMasker(fraction, mode, mask_id, seed)
