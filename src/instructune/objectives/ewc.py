"""EWC (elastic weight consolidation): keep the weights the reference text relies on.

    ewc = build_ewc(model, fisher, weight=λ)        # fisher: objectives.fisher.cached_fisher
    TrainingObjective(fwd, objectives={"ewc": ewc}) # adds λ·ewc_loss once per optimizer step

The penalty is (λ/2)·Σ F·(θ − θ*)² (Kirkpatrick et al., 2017), F the diagonal Fisher of the
pretrained model on a reference corpus and θ* the pretrained weights. Weights that the
reference text's likelihood is sensitive to (large F) are held close; the rest move freely.

- Full fine-tuning: θ is every trained parameter; θ* is copied (fp32) when the penalty is
  built, which must be before a resume restores trained weights.
- LoRA: θ − θ* of an adapted weight W (out, in) is ΔW = scale·B·A, and F is W's Fisher; ΔW is
  never held whole (`quadratic.py` computes it a block of rows at a time).

`normalized` divides F by its mean entry, so that λ means what objectives.l2sp.weight means
(the same total pull, redistributed by the Fisher) and does not depend on the corpus size or
the loss scale.
"""

from __future__ import annotations

import torch
from torch import nn

from instructune.objectives.quadratic import QuadraticPenalty, lora_layers

TERM = "ewc"


def normalized(fisher: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    """F / mean(F), the mean over every entry of every tensor (an all-zero F stays zero)."""
    n = sum(f.numel() for f in fisher.values())
    mean = float(sum(f.double().sum() for f in fisher.values())) / max(n, 1)
    return {k: f / mean for k, f in fisher.items()} if mean > 0 else fisher


def anchor_weights(model: nn.Module) -> dict[str, torch.Tensor]:
    """{name: fp32 copy} of every trained parameter: θ* for full fine-tuning."""
    return {n: p.detach().float().clone() for n, p in model.named_parameters() if p.requires_grad}


def build_ewc(model: nn.Module, fisher: dict[str, torch.Tensor], weight: float,
              anchor: dict[str, torch.Tensor] | None = None) -> QuadraticPenalty:
    """The EWC term for `model` (peft-wrapped: the LoRA form; else full fine-tuning).

    Args:
        model: the model being trained, before any trained weights are loaded into it.
        fisher: {name: F} from `objectives.fisher` for this model (its `fisher_targets`).
        weight: λ.
        anchor: θ* to share with L2-SP (full fine-tuning); copied from `model` when None.
    """
    if lora_layers(model):
        return QuadraticPenalty(TERM, weight, fisher=fisher, lora=True)
    anchor = anchor if anchor is not None else anchor_weights(model)
    missing = sorted(set(anchor) - set(fisher))
    if missing:
        raise ValueError(f"ewc: the Fisher lacks trained parameters {missing[:3]}")
    return QuadraticPenalty(TERM, weight, fisher=fisher, anchor=anchor)
