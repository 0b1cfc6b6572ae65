"""The instruction-representation term: the model's reading of an instruction, against a
frozen sentence embedding of the same instruction.

    targets, has = instruction_targets(train_ds, tokenizer, load_embedder())   # once per dataset, cached
    obj = RepresentationObjective(d_model=576, targets=targets, has_target=has, weight=0.1, distance="mse")
    # term "representation": Σ over records with an instruction of dist(P·h̄_instr, e_instr)

h̄_instr (R, d) is the mean final hidden state over a record's instruction tokens, P a small
trainable projection (d → E), e_instr (R, E) the sentence model's unit-length embedding of
the instruction text. The text is decoded from the record's instruction tokens, so it is
what the model read; the embeddings of a dataset are computed once and cached on disk,
keyed by the hash of its texts and the embedder (`cache_dir()/instruction_embeddings`), and
looked up per record through the batch's `rows` (the dataset row of each record).

Distance: "mse" = mean over the E dimensions of the squared difference; "cosine" = 1 - cos.
Normalisation: the sum over records with an instruction, divided by their number over the
whole window (`train/step.py`).
"""

from __future__ import annotations

import hashlib
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from instructune.atomic import atomic_path
from instructune.cache import cache_dir
from instructune.data.templates import INSTRUCTION
from instructune.model.segments import pool
from instructune.objectives._records import has_tokens, instruction_mask, records
from instructune.objectives.term import LossTerm

TERM = "representation"
DISTANCES = ("mse", "cosine")


def instruction_texts(ds, tokenizer) -> list[str]:
    """Each row's instruction as the model reads it: its instruction tokens, decoded ("" for
    a row without any)."""
    texts = []
    for ids, seg in zip(ds["input_ids"], ds["segment_ids"]):
        toks = [i for i, s in zip(ids, seg) if s == INSTRUCTION]
        texts.append(tokenizer.decode(toks, skip_special_tokens=True).strip() if toks else "")
    return texts


def cached_embeddings(texts: list[str], embed, key: str, root: Path | None = None) -> np.ndarray:
    """(len(texts), E) float32 embeddings of `texts` by `embed` (an `EmbedFn`), computed once:
    stored under `root` (default `cache_dir()/instruction_embeddings`) as `.npy`, keyed by the
    hash of `key` (the embedder) and the texts."""
    h = hashlib.sha256(key.encode())
    for t in texts:
        h.update(hashlib.sha256(t.encode()).digest())
    path = Path(root or cache_dir() / "instruction_embeddings") / f"{h.hexdigest()[:32]}.npy"
    if path.exists():
        return np.load(path)
    vecs = np.asarray(embed(texts), dtype=np.float32)
    with atomic_path(path) as tmp:
        with open(tmp, "wb") as f:
            np.save(f, vecs)
    return vecs


def instruction_targets(ds, tokenizer, embed, key: str, root: Path | None = None
                        ) -> tuple[torch.Tensor, torch.Tensor]:
    """(targets (n_rows, E) float32, has_target (n_rows,) bool) for a tokenized dataset: the
    embedding of each row's instruction text; rows without an instruction have no target."""
    texts = instruction_texts(ds, tokenizer)
    has = [bool(t) for t in texts]
    present = [t for t in texts if t]
    vecs = cached_embeddings(present, embed, key, root) if present else np.zeros((0, 1), np.float32)
    dim = vecs.shape[1]
    out = torch.zeros(len(texts), dim)
    out[torch.tensor(has, dtype=torch.bool)] = torch.from_numpy(vecs)
    return out, torch.tensor(has, dtype=torch.bool)


class RepresentationObjective(LossTerm):
    """A projection of the pooled instruction hidden state trained toward a frozen embedding.

    Args:
        d_model: the LM's hidden size.
        targets: (n_rows, E) the target embedding of each training row (`instruction_targets`).
        has_target: (n_rows,) bool, rows with an instruction.
        weight: α.
        distance: "mse" | "cosine".
    """

    def __init__(self, d_model: int, targets: torch.Tensor, has_target: torch.Tensor, weight: float,
                 distance: str = "mse"):
        super().__init__()
        if distance not in DISTANCES:
            raise ValueError(f"representation distance {distance!r}: expected one of {DISTANCES}")
        self.proj = nn.Linear(d_model, targets.shape[1])
        # Not persistent: the targets are a function of the dataset (and cached), not trained.
        self.register_buffer("targets", targets.float(), persistent=False)
        self.register_buffer("has_target", has_target.bool(), persistent=False)
        self._has = has_target.bool().tolist()  # host copy, for `counts` without the device
        self.weight, self.distance = weight, distance

    def weights(self) -> dict[str, float]:
        return {TERM: self.weight}

    def _rows(self, batch: dict) -> list[int]:
        rows = batch.get("rows")
        if rows is None:
            raise ValueError("the representation loss needs each record's dataset row in the batch ('rows'; "
                             "collate with data.collate.micro_batch)")
        return rows

    def counts(self, batch: dict) -> dict[str, int]:
        """Records of a host micro-batch with an instruction and a target."""
        record, R = records(batch)
        has = has_tokens(instruction_mask(batch), record, R).tolist()
        return {TERM: sum(h and self._has[r] for h, r in zip(has, self._rows(batch)))}

    def terms(self, out, batch: dict) -> dict[str, torch.Tensor]:
        record, R = records(batch)
        where = instruction_mask(batch)
        rows = torch.tensor(self._rows(batch), device=self.targets.device)
        valid = has_tokens(where, record, R) & self.has_target.index_select(0, rows)    # (R,)
        h = pool(out.hidden, where, record, R).float()                                  # (R, d)
        y = self.proj(h)                                                                # (R, E)
        e = self.targets.index_select(0, rows)                                          # (R, E)
        if self.distance == "mse":
            d = ((y - e) ** 2).mean(-1)
        else:
            d = 1 - F.cosine_similarity(y, e, dim=-1)
        return {TERM: torch.where(valid, d, torch.zeros_like(d)).sum()}
