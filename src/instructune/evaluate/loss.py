"""Held-out response loss: mean NLL per trained token, and perplexity."""

from __future__ import annotations

import math

import torch
from datasets import Dataset
from torch import nn

from instructune.data.collate import collate
from instructune.objectives.response_nll import response_nll


@torch.no_grad()
def response_loss(model: nn.Module, ds: Dataset, pad_id: int, batch_size: int = 8,
                  device: torch.device | str = "cpu") -> dict[str, float]:
    """Token-weighted mean NLL over the trained tokens of a tokenized dataset.

    Args:
        model: causal LM (plain or peft).
        ds: rows with input_ids, labels (see `tokenized.tokenize_records`).
        pad_id: padding id.
        batch_size: rows per forward.
        device: where the batches go (the model's device).
    Returns:
        {"response_loss": float, "perplexity": float, "tokens": int, "records": int,
         "row_nll": [float] summed NLL per row, "row_tokens": [int] trained tokens per row,
         both in dataset order (for paired intervals)}
    """
    was_training = model.training
    model.eval()
    order = sorted(range(len(ds)), key=lambda i: ds[i]["length"] if "length" in ds.column_names else 0)
    row_nll, row_tokens = [0.0] * len(ds), [0] * len(ds)
    for s in range(0, len(order), batch_size):
        idx = order[s:s + batch_size]
        batch = {k: v.to(device) for k, v in collate(list(ds.select(idx)), pad_id).items()}
        out = response_nll(model, batch, per_row=True)
        for i, nll, n in zip(idx, out["row_nll"].tolist(), out["row_tokens"].tolist()):
            row_nll[i], row_tokens[i] = nll, n
    model.train(was_training)
    total, count = sum(row_nll), sum(row_tokens)
    mean = total / max(count, 1)
    return {"response_loss": mean, "perplexity": math.exp(min(mean, 50.0)), "tokens": count, "records": len(ds),
            "row_nll": row_nll, "row_tokens": row_tokens}
