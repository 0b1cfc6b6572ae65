"""Next-token loss on trained (response) tokens, summed, with its token count.

The sum and the count are returned separately so that the caller can normalise over all
trained tokens of a gradient-accumulation window (and of all processes), which keeps the
loss independent of how a batch is split (DESIGN §3).

Logits are computed only at trained positions: the LM head and cross-entropy over a 49k
vocabulary are a large share of a small model's step, and prompt positions need neither. The
trained positions come as index tensors made in collation (`target_index`, `target_ids`), so
selecting them needs no boolean-mask indexing (which waits for the device to count the mask);
the head and the loss then run chunk by chunk or fused (`objectives/linear_ce.py`).
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from instructune.data.render import IGNORE
from instructune.model.attention import CU_K, CU_Q, MAX_K, MAX_Q, reads_cu_seqlens
from instructune.objectives.linear_ce import linear_cross_entropy

# Config attributes that transform logits after the LM head; with any of them set the
# selective path would skip that transform, so the full forward is used instead.
_LOGIT_TRANSFORMS = ("final_logit_softcapping", "logit_scale", "logits_scaling")


def base_causal_lm(model: nn.Module) -> nn.Module:
    """The transformers model under a peft wrapper (or the model itself)."""
    return model.get_base_model() if hasattr(model, "get_base_model") else model


def supports_selective_head(model: nn.Module) -> bool:
    """Whether the decoder + LM head can be called apart for this model."""
    lm = base_causal_lm(model)
    cfg = lm.config
    if any(getattr(cfg, a, None) not in (None, 1.0) for a in _LOGIT_TRANSFORMS):
        return False
    return hasattr(lm, "get_decoder") and lm.get_output_embeddings() is not None


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


def model_inputs(model: nn.Module, batch: dict) -> dict:
    """Keyword arguments of the decoder call for `batch`: never an attention_mask (see
    `response_nll`); packed records' boundaries for the `varlen` attention."""
    inputs = {"input_ids": batch["input_ids"], "position_ids": batch.get("position_ids"), "use_cache": False}
    if batch.get("cu_seqlens") is not None and reads_cu_seqlens(base_causal_lm(model)):
        cu, longest = batch["cu_seqlens"], int(batch["max_seqlen"])
        inputs.update({CU_Q: cu, CU_K: cu, MAX_Q: longest, MAX_K: longest})
    return inputs


def response_nll(model: nn.Module, batch: dict, selective: bool = True, loss_impl: str = "chunked",
                 chunk_tokens: int = 4096, per_row: bool = False) -> dict[str, torch.Tensor]:
    """Summed next-token NLL over trained positions.

    Args:
        model: a causal LM (plain or peft-wrapped).
        batch: input_ids (B, T), labels (B, T) with -100 where untrained; optional
            target_index / target_ids (N,) from `trained_positions` (computed here when
            absent); optional attention_mask (B, T) (never passed to the model: rows are
            right-padded, so causal attention alone keeps real tokens from seeing pads, and
            SDPA keeps its fast causal path); optional position_ids (B, T) for packed /
            padding-free rows: positions restart at each record, and with no attention_mask
            and no cache transformers turns the restarts into a block-diagonal causal mask
            (`data/pack.py`); optional cu_seqlens (R+1,) int32 and max_seqlen int, the record
            boundaries that the `varlen` attention reads instead of a mask.
        selective: compute logits only at trained positions.
        loss_impl: "chunked" | "liger" | "logits" (`linear_ce.linear_cross_entropy`).
        chunk_tokens: tokens per chunk of the "chunked" loss.
        per_row: also return each row's summed NLL and trained-token count (evaluation, where
            per-record values feed paired intervals); the loss is then taken token by token.
    Returns:
        {"nll_sum": () float32, "n_tokens": () long}, plus "row_nll" (B,) float32 and
        "row_tokens" (B,) long with `per_row`.
    """
    index, ids = batch.get("target_index"), batch.get("target_ids")
    if index is None:
        index, ids = trained_positions(batch["labels"])
    inputs = model_inputs(model, batch)
    if selective and supports_selective_head(model):
        lm = base_causal_lm(model)
        hidden = lm.get_decoder()(**inputs).last_hidden_state
        at = hidden.reshape(-1, hidden.shape[-1]).index_select(0, index)  # (N, d)
        at_logits = None
        nll = None if per_row else linear_cross_entropy(at, lm.get_output_embeddings(), ids, loss_impl, chunk_tokens)
    else:
        logits = model(**inputs).logits
        at_logits = logits.reshape(-1, logits.shape[-1]).index_select(0, index)
        nll = None if per_row else F.cross_entropy(at_logits.float(), ids, reduction="sum")
    n = batch.get("n_tokens")
    n = n if n is not None else torch.tensor(index.numel())
    if not per_row:
        return {"nll_sum": nll, "n_tokens": n}
    if at_logits is None:
        at_logits = base_causal_lm(model).get_output_embeddings()(at)
    token_nll = F.cross_entropy(at_logits.float(), ids, reduction="none")  # (N,)
    B, T = batch["labels"].shape
    rows = index // T  # (N,) the row of each trained position
    row_nll = torch.zeros(B, device=token_nll.device).index_add_(0, rows, token_nll)
    return {"nll_sum": token_nll.sum(), "n_tokens": n, "row_nll": row_nll,
            "row_tokens": torch.bincount(rows, minlength=B)}


class ResponseNLL(nn.Module):
    """`response_nll` as a module, so DDP/FSDP wrappers and autocast see one forward over the model.

    Args:
        model: the causal LM.
        selective: logits only at trained positions.
        loss_impl, chunk_tokens: see `response_nll`.
    """

    def __init__(self, model: nn.Module, selective: bool = True, loss_impl: str = "chunked",
                 chunk_tokens: int = 4096):
        super().__init__()
        self.model, self.selective = model, selective
        self.loss_impl, self.chunk_tokens = loss_impl, chunk_tokens

    def forward(self, **batch) -> dict[str, torch.Tensor]:
        return response_nll(self.model, batch, self.selective, self.loss_impl, self.chunk_tokens)
