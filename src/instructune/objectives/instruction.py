"""The dual objective's instruction-following term: does this response fit this instruction?

    obj = InstructionObjective(d_model=576, weight=0.1, warmup_steps=100, dim=64, temperature=0.1, group=0)
    TrainingObjective(fwd, objectives={"instruction": obj})
    # terms: "instruction" (Σ cross-entropy over scored records), "acc/instruction" (Σ correct picks)

A head scores every record's response against every instruction of its group (contrastive,
in-batch negatives): the response is the mean final hidden state over the record's response
and rationale tokens, the instruction the mean over its instruction tokens; each goes through
its own linear projection to `dim`, and the score is their cosine similarity over
`temperature`. Cross-entropy over the group's instructions takes the record's own as the
target: L_instruction = mean over scored records of -log softmax(scores)[own].

Normalisation: the sum over scored records, divided by the scored records of the whole
window (`train/step.py`). A record is scored when it has both an instruction and a response
and its group holds at least one other such record (alone, it would be a free 0). Groups
are `group` consecutive records of a micro-batch (0: the micro-batch), so the negatives, and
hence the term, do not depend on how a window is split when `group` divides the micro-batch.

λ (`weight`) may warm up linearly over `warmup_steps` optimizer steps; the loop tells the
objective the step (`set_step`), and `weights()` is read once per window, so λ is constant
within a window.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from instructune.model.segments import pool
from instructune.objectives._records import answer_mask, has_tokens, instruction_mask, records
from instructune.objectives.term import LossTerm

TERM = "instruction"
ACCURACY = "acc/instruction"


class InstructionObjective(LossTerm):
    """The instruction-following head and its contrastive term (see the module docstring).

    Args:
        d_model: the LM's hidden size.
        weight: λ.
        warmup_steps: steps over which λ grows linearly to `weight`; 0: none.
        dim: width of the two projections.
        temperature: cosine similarities are divided by it.
        group: records per group of negatives (0: the whole micro-batch).
    """

    def __init__(self, d_model: int, weight: float, warmup_steps: int = 0, dim: int = 64,
                 temperature: float = 0.1, group: int = 0):
        super().__init__()
        self.response = nn.Linear(d_model, dim)
        self.instruction = nn.Linear(d_model, dim)
        self.weight, self.warmup_steps = weight, warmup_steps
        self.temperature, self.group = temperature, group
        self.step = 0

    # --- schedule -------------------------------------------------------------------------
    def set_step(self, step: int) -> None:
        self.step = step

    def lam(self) -> float:
        """λ at the current step: weight·min(1, (step+1)/warmup_steps), never 0 (the head keeps
        a gradient, which DDP needs)."""
        if not self.warmup_steps:
            return self.weight
        return self.weight * min(1.0, (self.step + 1) / self.warmup_steps)

    def weights(self) -> dict[str, float]:
        return {TERM: self.lam(), ACCURACY: 0.0}

    def logged(self) -> dict[str, float]:
        return {"lambda/instruction": self.lam()}

    # --- counts and terms -----------------------------------------------------------------
    def _groups(self, n_records: int, device) -> torch.Tensor:
        """(R,) the group of each record."""
        r = torch.arange(n_records, device=device)
        return r // self.group if self.group else torch.zeros_like(r)

    def _scored(self, batch: dict) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor, int]:
        """(valid (R,) bool, scored (R,) bool, same group (R, R) bool, R)."""
        record, R = records(batch)
        valid = has_tokens(instruction_mask(batch), record, R) & has_tokens(answer_mask(batch), record, R)
        g = self._groups(R, valid.device)
        same = g[:, None] == g[None, :]
        in_group = (same & valid[None, :]).sum(1)  # valid records in each record's group
        return valid, valid & (in_group >= 2), same, R

    def counts(self, batch: dict) -> dict[str, int]:
        """Scored records of this (host) micro-batch."""
        n = int(self._scored(batch)[1].sum())
        return {TERM: n, ACCURACY: n}

    def scores(self, hidden: torch.Tensor, batch: dict) -> tuple[torch.Tensor, torch.Tensor]:
        """(scores (R, R) float32, response r against instruction c, other groups' and
        instruction-less columns at -inf; scored (R,) bool)."""
        valid, scored, same, R = self._scored(batch)
        record, _ = records(batch)
        # fp32 head on pooled states (the LM may run in bf16 under autocast).
        resp = pool(hidden, answer_mask(batch), record, R).float()          # (R, d)
        instr = pool(hidden, instruction_mask(batch), record, R).float()    # (R, d)
        q = F.normalize(self.response(resp), dim=-1)                        # (R, dim)
        k = F.normalize(self.instruction(instr), dim=-1)                    # (R, dim)
        s = q @ k.t() / self.temperature                                    # (R, R)
        return s.masked_fill(~(same & valid[None, :]), float("-inf")), scored

    def terms(self, out, batch: dict) -> dict[str, torch.Tensor]:
        """{"instruction": Σ CE over scored records, "acc/instruction": Σ correct picks}."""
        s, scored = self.scores(out.hidden, batch)
        target = torch.arange(s.shape[0], device=s.device)
        # Rows that are not scored may be all -inf: give them a finite row, then drop them.
        safe = torch.where(scored[:, None], s, torch.zeros_like(s))
        ce = F.cross_entropy(safe, target, reduction="none")                # (R,)
        loss = torch.where(scored, ce, torch.zeros_like(ce)).sum()
        correct = ((safe.argmax(1) == target) & scored).sum().float()
        return {TERM: loss, ACCURACY: correct.detach()}


@torch.no_grad()
def heldout_accuracy(objective: InstructionObjective, fwd, ds, pad_id: int, batch_size: int, device) -> float | None:
    """The head's accuracy at picking each held-out record's instruction among its group's
    (batches of `batch_size` records in dataset order); None when no record is scored."""
    from instructune.data.collate import collate, rows_at, to_device
    from instructune.objectives.response_nll import forward_inputs

    was = fwd.training
    fwd.eval()
    correct, n = 0.0, 0
    try:
        for s in range(0, len(ds), batch_size):
            batch = collate(rows_at(ds, list(range(s, min(s + batch_size, len(ds))))), pad_id)
            n += objective.counts(batch)[ACCURACY]
            batch = to_device(batch, device)
            out = fwd(**forward_inputs(batch))
            correct += float(objective.terms(out, batch)[ACCURACY])
    finally:
        fwd.train(was)
    return correct / n if n else None
