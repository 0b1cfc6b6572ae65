"""Weighting the next-token loss by task category (the records' `task`).

    obj = MultitaskObjective(tasks=["closed_qa", "math"], mode="learned")
    # terms: "nll/<task>" (logged only), and "multitask" (fixed) or "task/<task>" (learned)

Every mode logs each task's next-token loss, `nll/<task>`: the sum over the task's trained
tokens divided by their number over the window. The plain next-token loss "nll" is still
computed and logged as `loss` (so runs compare), but weighted 0: these terms replace it.

- fixed: each trained token is weighted by its task's weight w_t and the sum is divided by
  all trained tokens of the window: "multitask" = Σ_t w_t·S_t / N. All weights 1 give the
  plain loss; inverse-frequency weights (1 / (K·token share)) make every task count alike.
- learned: uncertainty weighting of the per-task mean losses L_t = S_t / N_t,
      Σ_t  w_t·L_t + log(1 + σ_t²),   w_t = floor + 0.5/σ_t²,   σ_t² = min_var + softplus(ρ_t).
  log(1 + σ²) is ≥ 0, so the total cannot go negative (Kendall et al.'s log σ² goes to -∞ as a
  loss reaches 0); w_t ≥ floor, so no task is switched off; σ_t² ≥ min_var caps w_t at
  max_weight, so a task whose loss reaches 0 cannot blow its weight up. Each task's part is
  the term "task/<t>" with count N_t, its sum w_t·S_t + log(1+σ_t²)·n_t over the micro-batch's
  n_t tokens of the task: over a window, exactly w_t·L_t + log(1+σ_t²), however it is split.
  The weights are applied inside `terms`, so each micro-batch's graph reaches ρ (a weight
  returned by `weights()` is read once per window and would be a constant). ρ is this
  module's parameter: it is in the optimizer and in checkpoints. It is stored divided by
  `rate` (ρ = rate·ρ_stored): Adam's steps do not depend on a gradient's scale, so the
  weights learn `rate` times faster than the model's learning rate would let them.

The task list is fixed when the objective is built (the training set's tasks, sorted), so
every process returns the same terms and the parameters' shape never changes.
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import nn

from instructune.objectives.linear_ce import linear_cross_entropy
from instructune.objectives.objective import NLL
from instructune.objectives.response_nll import targets
from instructune.objectives._records import token_records
from instructune.objectives.term import LossTerm

UNTAGGED = "untagged"  # the task of records without one
MODES = ("none", "fixed", "learned")


def task_name(task: str | None) -> str:
    return task or UNTAGGED


def inverse_frequency(tokens: dict[str, int]) -> dict[str, float]:
    """{task: 1 / (K · its share of the trained tokens)}: with these weights each of the K
    tasks contributes alike to the fixed-mode loss."""
    total, k = sum(tokens.values()), len(tokens)
    return {t: total / (k * n) if n else 1.0 for t, n in tokens.items()}


def _softplus_inverse(x: float) -> float:
    return x + math.log(-math.expm1(-x))


class MultitaskObjective(LossTerm):
    """Per-task next-token losses and their weighting (see the module docstring).

    Args:
        tasks: the task categories of the training set ("" is `UNTAGGED`).
        mode: "fixed" | "learned".
        weights: mode fixed: {task: weight}; tasks not named get 1.
        floor, max_weight: mode learned: bounds of the effective weights.
        rate: mode learned: the weights' learning-rate multiplier.
        loss_impl, chunk_tokens: as the next-token loss's (`linear_cross_entropy`).
    """

    def __init__(self, tasks: list[str], mode: str, weights: dict[str, float] | None = None,
                 floor: float = 0.05, max_weight: float = 10.0, rate: float = 100.0,
                 loss_impl: str = "chunked", chunk_tokens: int = 4096):
        super().__init__()
        if mode not in ("fixed", "learned"):
            raise ValueError(f"multitask mode {mode!r}: expected fixed or learned")
        self.tasks = sorted({task_name(t) for t in tasks})
        self.index = {t: i for i, t in enumerate(self.tasks)}
        self.mode, self.loss_impl, self.chunk_tokens = mode, loss_impl, chunk_tokens
        w = weights or {}
        self.register_buffer("fixed", torch.tensor([float(w.get(t, 1.0)) for t in self.tasks]), persistent=False)
        self.floor, self.rate = floor, rate
        self.min_var = 0.5 / (max_weight - floor)
        if mode == "learned":
            # Start every task at weight 1 (σ² = 0.5 / (1 - floor)) where the bounds allow it.
            var = 0.5 / (1 - floor) if floor < 1 else 2 * self.min_var
            var = max(var, 2 * self.min_var)
            rho = _softplus_inverse(var - self.min_var) / rate
            self.rho = nn.Parameter(torch.full((len(self.tasks),), rho))

    # --- weights --------------------------------------------------------------------------
    def variances(self) -> torch.Tensor:
        """(K,) σ_t² ≥ min_var."""
        return self.min_var + F.softplus(self.rho * self.rate)

    def effective(self) -> torch.Tensor:
        """(K,) each task's weight: fixed, or floor + 0.5/σ² in [floor, max_weight]."""
        return self.fixed if self.mode == "fixed" else self.floor + 0.5 / self.variances()

    def weights(self) -> dict[str, float]:
        out = {NLL: 0.0, **{f"nll/{t}": 0.0 for t in self.tasks}}
        if self.mode == "fixed":
            out["multitask"] = 1.0
        else:
            out.update({f"task/{t}": 1.0 for t in self.tasks})
        return out

    def logged(self) -> dict[str, float]:
        w = self.effective().detach().cpu().tolist()
        return {f"weight/{t}": v for t, v in zip(self.tasks, w)}

    def uncertainty_weighted(self, S: torch.Tensor, n: torch.Tensor) -> torch.Tensor:
        """(K,) w_t·S_t + log(1 + σ_t²)·n_t from per-task summed losses S (K,) over n (K,)
        tokens: divided by the window's N_t, w_t·L_t + log(1 + σ_t²)."""
        var = self.variances()
        return (self.floor + 0.5 / var) * S + torch.log1p(var) * n.to(var.dtype)

    # --- counts and terms -----------------------------------------------------------------
    def token_tasks(self, batch: dict, index: torch.Tensor) -> torch.Tensor:
        """(N,) the task id of each trained position."""
        tasks = batch.get("tasks")
        if tasks is None:
            raise ValueError("multitask weighting needs the records' task categories in the batch ('tasks')")
        unknown = {task_name(t) for t in tasks} - self.index.keys()
        if unknown:
            raise ValueError(f"multitask weighting: tasks {sorted(unknown)} were not in the training set")
        per_record = torch.tensor([self.index[task_name(t)] for t in tasks], device=index.device)
        return per_record.index_select(0, token_records(batch, index))

    def counts(self, batch: dict) -> dict[str, int]:
        """Trained tokens per task (and, for "multitask", all of them) of a host micro-batch."""
        index, _ = targets(batch)
        per_task = torch.bincount(self.token_tasks(batch, index), minlength=len(self.tasks)).tolist()
        out = {f"nll/{t}": n for t, n in zip(self.tasks, per_task)}
        if self.mode == "fixed":
            out["multitask"] = len(index)
        else:
            out.update({f"task/{t}": n for t, n in zip(self.tasks, per_task)})
        return out

    def task_sums(self, out, batch: dict) -> tuple[torch.Tensor, torch.Tensor]:
        """(S (K,) summed NLL per task, n (K,) trained tokens per task) of this micro-batch."""
        index, ids = targets(batch)
        tt = self.token_tasks(batch, index)                           # (N,)
        order = torch.argsort(tt, stable=True)
        n = torch.bincount(tt, minlength=len(self.tasks))             # (K,)
        sizes = n.tolist()                                            # one wait for the device
        at = out.at if out.logits is None else out.logits.reshape(-1, out.logits.shape[-1]).index_select(0, index)
        sums, start = [], 0
        for size in sizes:
            sel = order[start:start + size]
            h, t = at.index_select(0, sel), ids.index_select(0, sel)
            sums.append(F.cross_entropy(h.float(), t, reduction="sum") if out.logits is not None
                        else linear_cross_entropy(h, out.head, t, self.loss_impl, self.chunk_tokens))
            start += size
        return torch.stack(sums), n

    def terms(self, out, batch: dict) -> dict[str, torch.Tensor]:
        S, n = self.task_sums(out, batch)
        terms = {f"nll/{t}": S[i].detach() for i, t in enumerate(self.tasks)}
        if self.mode == "fixed":
            terms["multitask"] = (self.fixed.to(S.device) * S).sum()
            return terms
        part = self.uncertainty_weighted(S, n)
        terms.update({f"task/{t}": part[i] for i, t in enumerate(self.tasks)})
        return terms
