"""L2-SP: L2 toward the starting point (the pretrained weights), not toward zero.

    l2sp = build_l2sp(model, weight=λ)
    TrainingObjective(fwd, objectives={"l2sp": l2sp})  # adds λ·l2sp_loss once per optimizer step

The penalty is (λ/2)·Σ (θ − θ*)² (Li et al., 2018): EWC with F = 1, the baseline that tells
whether EWC's Fisher buys anything. Full fine-tuning: over every trained parameter, θ* copied
when the penalty is built. LoRA: over each adapted weight's change ΔW = scale·B·A, computed
exactly from two (r, r) products without forming ΔW (`quadratic.lora_squared_delta`).
"""

from __future__ import annotations

import torch
from torch import nn

from instructune.objectives.ewc import anchor_weights
from instructune.objectives.quadratic import QuadraticPenalty, lora_layers

TERM = "l2sp"


def build_l2sp(model: nn.Module, weight: float, anchor: dict[str, torch.Tensor] | None = None) -> QuadraticPenalty:
    """The L2-SP term for `model` (peft-wrapped: the LoRA form; else full fine-tuning); `anchor`:
    θ* to share with EWC, copied from `model` when None."""
    if lora_layers(model):
        return QuadraticPenalty(TERM, weight, lora=True)
    return QuadraticPenalty(TERM, weight, anchor=anchor if anchor is not None else anchor_weights(model))
