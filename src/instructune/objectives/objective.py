"""`TrainingObjective`: one forward of the model, then every loss term of the run.

    objective = TrainingObjective(InstructForward(model, addons), loss_impl="chunked")
    objective.counts(batch)   # {"nll": trained tokens, ...}   host ints, from collation
    objective(**batch)        # {"nll": summed NLL, ...}       () device tensors
    objective.weights()       # {"nll": 1.0, ...}

Every term is a (sum, count) pair: the module returns the sum, `counts` the host count it
is divided by, and `train/step.py` divides each sum by its count over the whole
accumulation window on all processes before weighting, so no term depends on how a window is
split. The next-token loss is the term "nll"; the add-ons (`model/addons/`) may add terms of
their own (the temperature head's "temperature"). Objectives never run the model: they are
functions of the forward's outputs and the batch.
"""

from __future__ import annotations

import torch
from torch import nn

from instructune.model.forward import InstructForward, as_forward
from instructune.objectives.response_nll import forward_inputs, next_token_nll, targets

NLL = "nll"


class TrainingObjective(nn.Module):
    """The loss module that training prepares with accelerate (DDP/FSDP see one forward).

    Args:
        model: an `InstructForward` (or a bare causal LM, wrapped in a plain one).
        loss_impl, chunk_tokens: the next-token loss (`next_token_nll`).
    """

    def __init__(self, model: nn.Module, loss_impl: str = "chunked", chunk_tokens: int = 4096):
        super().__init__()
        self.model: InstructForward = as_forward(model)
        self.loss_impl, self.chunk_tokens = loss_impl, chunk_tokens

    def counts(self, batch: dict) -> dict[str, int]:
        """{term: host count} for one collated micro-batch (read before its forward)."""
        index = batch.get("target_index")
        out = {NLL: len(index) if index is not None else int((batch["labels"][:, 1:] != -100).sum())}
        for addon in self.model.addons.values():
            out.update(addon.counts(batch))
        return out

    def weights(self) -> dict[str, float]:
        """{term: weight in the total loss}."""
        out = {NLL: 1.0}
        for addon in self.model.addons.values():
            out.update(addon.weights())
        return out

    def forward(self, **batch) -> dict[str, torch.Tensor]:
        index, _ = targets(batch)
        out = self.model(**forward_inputs(batch), at_index=index)
        sums = {NLL: next_token_nll(out, batch, self.loss_impl, self.chunk_tokens)["nll_sum"]}
        for addon in self.model.addons.values():
            sums.update(addon.terms(out, batch))
        return sums
