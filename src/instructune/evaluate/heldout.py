"""The held-out metrics a training run logs on `train.eval_every`'s schedule and at its end.

    evaluate = functools.partial(heldout_metrics, fwd, sets, pad_id, batch_size, device, loss_impl,
                                 accelerator.autocast, instruction_term)
    evaluate()   # {"eval_loss": ..., "eval_ppl": ..., "eval_loss/<set>": ..., "eval_acc/instruction": ...}

`recipes/train.py` builds it and hands it to `TrainingRun.fit`, so `train/` never imports
`evaluate/`.
"""

from __future__ import annotations

from collections.abc import Callable
from contextlib import AbstractContextManager

from instructune.evaluate.loss import response_loss
from instructune.objectives.instruction import InstructionObjective, heldout_accuracy


def heldout_metrics(fwd, sets: dict, pad_id: int, batch_size: int, device, loss_impl: str,
                    autocast: Callable[[], AbstractContextManager],
                    instruction: InstructionObjective | None = None) -> dict[str, float]:
    """eval_loss / eval_ppl on "heldout", eval_loss/<name> on every other set; with the dual
    objective's head (`instruction`), its held-out accuracy as eval_acc/instruction.

    Args:
        fwd: the `InstructForward` being trained.
        sets: {set name: tokenized dataset}; an empty one is skipped.
        pad_id, batch_size, device, loss_impl: as `response_loss`'s.
        autocast: the run's autocast context (`Accelerator.autocast`).
        instruction: the instruction objective, or None.
    """
    out = {}
    for name, ds in sets.items():
        if len(ds) == 0:
            continue
        with autocast():
            res = response_loss(fwd, ds, pad_id, batch_size, device, loss_impl=loss_impl)
        if name != "heldout":
            out[f"eval_loss/{name}"] = res["response_loss"]
            continue
        out.update({"eval_loss": res["response_loss"], "eval_ppl": res["perplexity"]})
        if instruction is not None:
            with autocast():
                acc = heldout_accuracy(instruction, fwd, ds, pad_id, batch_size, device)
            if acc is not None:
                out["eval_acc/instruction"] = acc
    return out
