"""Collation for the token contract: lists of rows → batch tensors.

- `collate`: one record per row, right-padded: input_ids with the pad id, labels with -100,
  segment_ids with 0 and the attention mask with 0. The label mask never comes from the pad
  id (SmolLM2's pad is its EOS, and the EOS after each response is trained).
- `collate_packed`: several records per row (packing, `data/pack.py`), and the padding-free
  layout (every record of a micro-batch in one row, no pad at all). Adds `position_ids` that
  restart at each record; see `data/pack.py` for how that keeps records apart and for which
  attention paths support it.
- `micro_batch`: dataset rows of one micro-batch → (optionally augmented) batch tensors.

Every batch also carries where its loss is taken, computed here on the CPU so the training
step never has to ask the device (`loss_index`): target_index / target_ids (N,) and n_tokens.
Packed batches carry the records' boundaries for the `varlen` attention: cu_seqlens (R+1,)
int32 over the flattened B*T tokens and max_seqlen (an int).
"""

from __future__ import annotations

from collections.abc import Callable

import torch

from instructune.data.pack import packed_positions
from instructune.data.render import IGNORE

# Batch entries the training step moves to the device; max_seqlen goes along as a host int.
DEVICE_KEYS = ("input_ids", "segment_ids", "position_ids", "target_index", "target_ids", "n_tokens", "cu_seqlens")
# Host values that go along unchanged: the longest record, and each record's task category
# and dataset row (in record order: rows, or packed records left to right), read by loss terms
# per record (the representation loss looks its target embedding up by row).
HOST_KEYS = ("max_seqlen", "tasks", "rows")


def loss_index(batch: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    """Add target_index (N,) long (b*T + t for each trained position t of row b: the position
    whose next token labels[b, t+1] is trained), target_ids (N,) long and n_tokens () long."""
    labels = batch["labels"]
    b, t = (labels[:, 1:] != IGNORE).nonzero(as_tuple=True)
    batch["target_index"] = b * labels.shape[1] + t
    batch["target_ids"] = labels[b, t + 1]
    batch["n_tokens"] = torch.tensor(len(b))
    return batch


def collate(rows: list[dict], pad_id: int, pad_to_multiple_of: int = 1) -> dict[str, torch.Tensor]:
    """Stack rows into right-padded tensors.

    Args:
        rows: dicts with input_ids, labels, segment_ids (lists of int, each of length T_i).
        pad_id: token id for padding input_ids.
        pad_to_multiple_of: round the padded length T up to a multiple of this.
    Returns:
        input_ids (B, T) long, labels (B, T) long, segment_ids (B, T) long,
        attention_mask (B, T) long, tasks (B,) str when the rows have a task.
    """
    out = _padded_tensors(len(rows), max(len(r["input_ids"]) for r in rows), pad_id, pad_to_multiple_of)
    for i, r in enumerate(rows):
        n = len(r["input_ids"])
        out["input_ids"][i, :n] = torch.as_tensor(r["input_ids"])
        out["labels"][i, :n] = torch.as_tensor(r["labels"])
        out["segment_ids"][i, :n] = torch.as_tensor(r["segment_ids"])
        out["attention_mask"][i, :n] = 1
    if "task" in rows[0]:
        out["tasks"] = [r["task"] for r in rows]
    return loss_index(out)


def _padded_tensors(B: int, T: int, pad_id: int, multiple: int, positions: bool = False) -> dict[str, torch.Tensor]:
    """All-padding batch tensors (B, T'), T rounded up to `multiple`: pad ids, -100 labels, zeros."""
    T = -(-T // multiple) * multiple
    out = {
        "input_ids": torch.full((B, T), pad_id, dtype=torch.long),
        "labels": torch.full((B, T), IGNORE, dtype=torch.long),
        "segment_ids": torch.zeros((B, T), dtype=torch.long),
        "attention_mask": torch.zeros((B, T), dtype=torch.long),
    }
    if positions:
        out["position_ids"] = torch.zeros((B, T), dtype=torch.long)
    return out


def rows_at(ds, indices: list[int]) -> list[dict]:
    """Rows `indices` of a `datasets.Dataset` as dicts (one columnar read, not one per row)."""
    cols = ds[indices]
    keys = list(cols)
    return [dict(zip(keys, vals)) for vals in zip(*(cols[k] for k in keys))]


def collate_packed(packs: list[list[dict]], pad_id: int, pad_to_multiple_of: int = 1) -> dict[str, torch.Tensor]:
    """Lay each pack's records end to end in one row; right-pad rows to the longest.

    The label of each record's first token is set to -100: it would otherwise be the target
    predicted from the last token of the record before it. Pads continue the positions of the
    row's last record, so a row holding one record and pads is an ordinary padded row (and a
    batch of such rows keeps SDPA's plain causal path).

    Args:
        packs: B lists of rows (dicts with input_ids, labels, segment_ids lists of int).
        pad_id: token id for padding input_ids.
        pad_to_multiple_of: round the row length T up to a multiple of this.
    Returns:
        input_ids, labels, segment_ids, position_ids (B, T) long, attention_mask (B, T)
        long with 1 at real tokens (for counting only: the model must get no attention_mask,
        or transformers stops reading the record boundaries from position_ids), cu_seqlens
        (R+1,) int32 record starts in the flattened B*T tokens (each row's trailing pads count
        with its last record, as their positions do), max_seqlen int, tasks (R,) str when the
        rows have a task, and `loss_index`'s keys.
    """
    out = _padded_tensors(len(packs), max(sum(len(r["input_ids"]) for r in p) for p in packs), pad_id,
                          pad_to_multiple_of, positions=True)
    T = out["input_ids"].shape[1]
    segments = []
    for i, pack in enumerate(packs):
        lens = [len(r["input_ids"]) for r in pack]
        n = sum(lens)
        segments += lens[:-1] + [lens[-1] + T - n]
        labels = [x for r in pack for x in [IGNORE, *r["labels"][1:]]]  # rows are never empty
        out["input_ids"][i, :n] = torch.as_tensor([x for r in pack for x in r["input_ids"]])
        out["labels"][i, :n] = torch.as_tensor(labels)
        out["segment_ids"][i, :n] = torch.as_tensor([x for r in pack for x in r["segment_ids"]])
        out["position_ids"][i] = torch.as_tensor(packed_positions(lens[:-1]) + list(range(lens[-1] + T - n)))
        out["attention_mask"][i, :n] = 1
    if "task" in packs[0][0]:
        out["tasks"] = [r["task"] for pack in packs for r in pack]
    out["cu_seqlens"] = torch.cumsum(torch.tensor([0, *segments]), 0).to(torch.int32)
    out["max_seqlen"] = max(segments)
    return loss_index(out)


def micro_batch(ds, packs: list[list[int]], pad_id: int, packed: bool, padding_free: bool = False,
                augment: Callable[[list[dict], list[int]], list[dict]] | None = None) -> dict[str, torch.Tensor]:
    """The batch tensors of one micro-batch.

    Args:
        ds: tokenized `datasets.Dataset`.
        packs: the micro-batch as packs of row indices (`[[i], [j], ...]` without packing).
        pad_id: padding id.
        packed: lay each pack out as one row (`collate_packed`); False: one record per row
            (`collate`, every pack must then hold one row).
        padding_free: put every record of the micro-batch in a single row, no padding.
        augment: `(rows, row indices) -> rows`, e.g. instruction masking; None for none.
    Returns:
        the collated batch (see `collate` / `collate_packed`), with rows: the dataset row of
        each record, in record order (every layout keeps `packs`' order).
    """
    flat = [i for p in packs for i in p]
    rows = rows_at(ds, flat)
    if augment is not None:
        rows = augment(rows, flat)
    if padding_free:
        return {**collate_packed([rows], pad_id), "rows": flat}
    if not packed:
        return {**collate(rows, pad_id), "rows": flat}
    grouped, at = [], 0
    for p in packs:
        grouped.append(rows[at:at + len(p)])
        at += len(p)
    return {**collate_packed(grouped, pad_id), "rows": flat}


def to_device(batch: dict, device: torch.device) -> dict:
    """What the loss module needs of `batch`: its `DEVICE_KEYS` on `device`, copied without
    blocking the host (they must be pinned for that on CUDA: see `pin`), and max_seqlen."""
    out = {k: batch[k].to(device, non_blocking=True) for k in DEVICE_KEYS if k in batch}
    out.update({k: batch[k] for k in HOST_KEYS if k in batch})
    return out


def pin(batch: dict) -> dict:
    """`batch` with its `DEVICE_KEYS` tensors in page-locked memory (for asynchronous copies)."""
    return {k: v.pin_memory() if k in DEVICE_KEYS else v for k, v in batch.items()}


def nonpad_tokens(micro: list[dict[str, torch.Tensor]]) -> tuple[int, int]:
    """(real tokens, token slots) over a list of collated micro-batches."""
    return (sum(int(mb["attention_mask"].sum()) for mb in micro),
            sum(mb["input_ids"].numel() for mb in micro))
