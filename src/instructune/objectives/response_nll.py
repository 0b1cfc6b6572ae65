"""Next-token loss on trained (response) tokens, summed, with its token count.

The sum and the count are returned separately so that the caller can normalise over all
trained tokens of a gradient-accumulation window (and of all processes), which keeps the
loss independent of how a batch is split (docs/architecture.md §4, "The loss").

Logits are computed only at trained positions: the LM head and cross-entropy over a 49k
vocabulary are a large share of a small model's step, and prompt positions need neither. The
trained positions come as index tensors made in collation (`target_index`, `target_ids`), so
selecting them needs no boolean-mask indexing (which waits for the device to count the mask);
the head and the loss then run chunk by chunk or fused (`objectives/linear_ce.py`).

The model runs in `model/forward.py` (`InstructForward`); `next_token_nll` is a function of its
outputs and the batch, and `response_nll` runs both for callers that hold a bare model.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from instructune.data.render import IGNORE
from instructune.model.forward import ForwardOutput, as_forward
from instructune.objectives.linear_ce import linear_cross_entropy


def trained_positions(labels: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Where the loss is taken: flat indices into the (B*T) positions and their target ids.

    Position t of row b predicts labels[b, t+1]; it is trained when that label is not -100.

    Args:
        labels: (B, T) long.
    Returns:
        (target_index (N,) long: b*T + t, target_ids (N,) long: labels[b, t+1])
    """
    T = labels.shape[1]
    b, t = (labels[:, 1:] != IGNORE).nonzero(as_tuple=True)
    return b * T + t, labels[b, t + 1]


def targets(batch: dict) -> tuple[torch.Tensor, torch.Tensor]:
    """(target_index, target_ids) of a batch: from collation, or computed from its labels."""
    index, ids = batch.get("target_index"), batch.get("target_ids")
    return (index, ids) if index is not None else trained_positions(batch["labels"])


def forward_inputs(batch: dict) -> dict:
    """The `InstructForward` keyword arguments held by a collated batch."""
    return {k: batch.get(k) for k in ("input_ids", "segment_ids", "position_ids", "cu_seqlens", "max_seqlen")}


def next_token_nll(out: ForwardOutput, batch: dict, loss_impl: str = "chunked", chunk_tokens: int = 4096,
                   per_row: bool = False) -> dict[str, torch.Tensor]:
    """Summed next-token NLL over the batch's trained positions, from the forward's outputs.

    Normalisation: a sum over trained tokens; the caller divides by the trained tokens of the
    whole accumulation window on all processes (`train/step.py`).

    Args:
        out: the forward's outputs, `out.at` taken at `target_index` (or full `out.logits`).
        batch: labels (B, T) and, from collation, target_index / target_ids / n_tokens.
        loss_impl: "chunked" | "liger" | "logits" (`linear_ce.linear_cross_entropy`).
        chunk_tokens: tokens per chunk of the "chunked" loss.
        per_row: also return each row's summed NLL and trained-token count (evaluation, where
            per-record values feed paired intervals); the loss is then taken token by token.
    Returns:
        {"nll_sum": () float32, "n_tokens": () long}, plus "row_nll" (B,) float32 and
        "row_tokens" (B,) long with `per_row`.
    """
    index, ids = targets(batch)
    n = batch.get("n_tokens")
    n = n if n is not None else torch.tensor(index.numel())
    if out.logits is not None:
        at_logits = out.logits.reshape(-1, out.logits.shape[-1]).index_select(0, index)
    else:
        at_logits = None
        if not per_row:
            return {"nll_sum": linear_cross_entropy(out.at, out.head, ids, loss_impl, chunk_tokens), "n_tokens": n}
    if not per_row:
        return {"nll_sum": F.cross_entropy(at_logits.float(), ids, reduction="sum"), "n_tokens": n}
    if at_logits is None:
        at_logits = out.head(out.at)
    token_nll = F.cross_entropy(at_logits.float(), ids, reduction="none")  # (N,)
    B, T = batch["labels"].shape
    rows = index // T  # (N,) the row of each trained position
    row_nll = torch.zeros(B, device=token_nll.device).index_add_(0, rows, token_nll)
    return {"nll_sum": token_nll.sum(), "n_tokens": n, "row_nll": row_nll,
            "row_tokens": torch.bincount(rows, minlength=B)}


def response_nll(model: nn.Module, batch: dict, selective: bool = True, loss_impl: str = "chunked",
                 chunk_tokens: int = 4096, per_row: bool = False) -> dict[str, torch.Tensor]:
    """Run `model` (a causal LM, peft-wrapped or not, or an `InstructForward`) on `batch` and
    return `next_token_nll`.

    Args:
        model: the model.
        batch: input_ids (B, T), labels (B, T) with -100 where untrained, segment_ids (B, T);
            optional target_index / target_ids (N,) from `trained_positions` (computed here when
            absent); optional position_ids (B, T) for packed / padding-free rows: positions
            restart at each record, and with no attention_mask and no cache transformers turns
            the restarts into a block-diagonal causal mask (`data/pack.py`); optional
            cu_seqlens (R+1,) int32 and max_seqlen int, the record boundaries that the
            `varlen` attention reads instead of a mask. An attention_mask is never passed:
            rows are right-padded, so causal attention alone keeps real tokens from pads.
        selective: compute logits only at trained positions.
        loss_impl, chunk_tokens, per_row: see `next_token_nll`.
    """
    index, _ = targets(batch)
    out = as_forward(model)(**forward_inputs(batch), at_index=index, full_logits=not selective)
    return next_token_nll(out, batch, loss_impl, chunk_tokens, per_row)
