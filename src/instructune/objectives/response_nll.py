"""Next-token loss on trained (response) tokens, summed, with its token count.

The sum and the count are returned separately so that the caller can normalise over all
trained tokens of a gradient-accumulation window (and of all processes), which keeps the
loss independent of how a batch is split (DESIGN §3).

Logits are computed only at trained positions: the LM head and cross-entropy over a 49k
vocabulary are a large share of a small model's step, and prompt positions need neither.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from instructune.data.render import IGNORE

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


def response_nll(model: nn.Module, batch: dict[str, torch.Tensor], selective: bool = True,
                 per_row: bool = False) -> dict[str, torch.Tensor]:
    """Summed next-token NLL over trained positions.

    Args:
        model: a causal LM (plain or peft-wrapped).
        batch: input_ids (B, T), labels (B, T) with -100 where untrained, optional
            attention_mask (B, T) (never passed to the model: rows are right-padded, so causal
            attention alone keeps real tokens from seeing pads, and SDPA keeps its fast causal
            path), optional position_ids (B, T) for packed / padding-free rows: positions
            restart at each record, and with no attention_mask and no cache transformers
            turns the restarts into a block-diagonal causal mask (`data/pack.py`).
        selective: compute logits only at trained positions.
        per_row: also return each row's summed NLL and trained-token count (evaluation).
    Returns:
        {"nll_sum": () float, "n_tokens": () long}, plus "row_nll" (B,) float and
        "row_tokens" (B,) long with `per_row`.
    """
    targets = batch["labels"][:, 1:]  # (B, T-1): token t+1 is predicted at position t
    mask = targets != IGNORE
    inputs = {"input_ids": batch["input_ids"], "position_ids": batch.get("position_ids"), "use_cache": False}
    if selective and supports_selective_head(model):
        lm = base_causal_lm(model)
        hidden = lm.get_decoder()(**inputs).last_hidden_state
        logits = lm.get_output_embeddings()(hidden[:, :-1][mask])  # (N, V)
    else:
        logits = model(**inputs).logits[:, :-1][mask]
    if not per_row:
        nll = F.cross_entropy(logits.float(), targets[mask], reduction="sum")
        return {"nll_sum": nll, "n_tokens": mask.sum()}
    token_nll = F.cross_entropy(logits.float(), targets[mask], reduction="none")  # (N,)
    rows = mask.nonzero()[:, 0]  # (N,) the row of each trained position, in mask order
    row_nll = torch.zeros(mask.shape[0], device=token_nll.device).index_add_(0, rows, token_nll)
    return {"nll_sum": token_nll.sum(), "n_tokens": mask.sum(), "row_nll": row_nll, "row_tokens": mask.sum(1)}


class ResponseNLL(nn.Module):
    """`response_nll` as a module, so DDP/FSDP wrappers see one forward over the model."""

    def __init__(self, model: nn.Module, selective: bool = True):
        super().__init__()
        self.model, self.selective = model, selective

    def forward(self, input_ids: torch.Tensor, labels: torch.Tensor, position_ids: torch.Tensor | None = None,
                **_) -> dict[str, torch.Tensor]:
        return response_nll(self.model, {"input_ids": input_ids, "labels": labels, "position_ids": position_ids},
                            self.selective)
