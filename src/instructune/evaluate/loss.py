"""Held-out response loss: mean NLL per trained token, and perplexity."""

from __future__ import annotations

import math

import torch
from datasets import Dataset
from torch import nn

from instructune.data.collate import collate, rows_at
from instructune.model.load import model_device
from instructune.objectives.response_nll import response_nll


@torch.no_grad()
def response_loss(model: nn.Module, ds: Dataset, pad_id: int, batch_size: int = 8,
                  device: torch.device | str | None = None, loss_impl: str = "chunked") -> dict[str, float]:
    """Token-weighted mean NLL over the trained tokens of a tokenized dataset.

    Args:
        model: causal LM (plain or peft).
        ds: rows with input_ids, labels (see `tokenized.tokenize_records`).
        pad_id: padding id.
        batch_size: rows per forward.
        device: where the batches go; None: the model's own device.
        loss_impl: LM head + loss (`objectives/linear_ce.py`); never all logits at once.
    Returns:
        {"response_loss": float, "perplexity": float, "tokens": int, "records": int,
         "row_nll": [float] summed NLL per row, "row_tokens": [int] trained tokens per row,
         both in dataset order (for paired intervals)}
    """
    was_training = model.training
    model.eval()
    device = device if device is not None else model_device(model)
    lengths = ds["length"] if "length" in ds.column_names else [len(x) for x in ds["input_ids"]]
    order = sorted(range(len(ds)), key=lambda i: lengths[i])
    row_nll, row_tokens = [0.0] * len(ds), [0] * len(ds)
    for s in range(0, len(order), batch_size):
        idx = order[s:s + batch_size]
        batch = {k: v.to(device) if isinstance(v, torch.Tensor) else v for k, v in collate(rows_at(ds, idx), pad_id).items()}
        # Per-record sums (for paired intervals) cost one transfer per batch; eval is not the hot path.
        out = response_nll(model, batch, loss_impl=loss_impl, per_row=True)
        for i, nll, n in zip(idx, out["row_nll"].tolist(), out["row_tokens"].tolist()):
            row_nll[i], row_tokens[i] = nll, n
    model.train(was_training)
    total, count = sum(row_nll), sum(row_tokens)
    mean = total / max(count, 1)
    return {"response_loss": mean, "perplexity": math.exp(min(mean, 50.0)), "tokens": count, "records": len(ds),
            "row_nll": row_nll, "row_tokens": row_tokens}
