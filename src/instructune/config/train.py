"""The `train` section: the training loop."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from instructune.config.errors import UNIT, above, at_least, check_ranges, require


@dataclass
class TrainConfig:
    """The training loop.

    The defaults (with the `lora`, `data` and `template` defaults) are the baseline that
    `instructune train` uses without a recipe: a starting point for a real dataset of a few
    thousand records or more on one GPU. LoRA r 16 / alpha 32 on every linear layer, AdamW at
    lr 2e-4 (the usual LoRA rate) with 5% warmup and cosine decay, 4 records per step, one
    epoch, records up to 512 tokens in the model's chat template, a held-out pass and a
    checkpoint every 100 steps (and at the end), so a long run can be watched and resumed.
    For a few hundred records raise `epochs` to 2-3. The `quickstart` recipe differs on
    purpose: it is a two-minute CPU demo on the 160 starter records (2 epochs at lr 1e-3,
    8 records per step, max_length 384). Every run prints its resolved settings first.

    Attributes:
        method: "lora" (adapter via peft) or "full" (all weights).
        epochs: passes over the training data.
        max_steps: stop after this many optimizer steps; 0 for no cap.
        batch_size: records per micro-batch (per process).
        grad_accum: micro-batches per optimizer step.
        lr: peak learning rate.
        weight_decay: AdamW weight decay.
        warmup_ratio: share of steps with linear warmup.
        max_grad_norm: gradient clipping norm; 0 disables clipping.
        seed: seed for init, data order and dropout.
        group_by_length: batch records of similar length together (less padding).
        checkpoint_every: optimizer steps between checkpoints; 0 only at the end (then an
            interrupted run has nothing to resume).
        keep_checkpoints: how many recent checkpoints to keep.
        eval_every: optimizer steps between held-out evaluations, and one at the last step; 0:
            no held-out pass during or after training (`instructune eval` scores a run).
        log_every: optimizer steps between metric lines.
        tensorboard: also log to TensorBoard under the run dir.
    """

    method: Literal["lora", "full"] = "lora"
    epochs: int = 1
    max_steps: int = 0
    batch_size: int = 4
    grad_accum: int = 1
    lr: float = 2e-4
    weight_decay: float = 0.0
    warmup_ratio: float = 0.05
    max_grad_norm: float = 1.0
    seed: int = 0
    group_by_length: bool = True
    checkpoint_every: int = 100
    keep_checkpoints: int = 2
    eval_every: int = 100
    log_every: int = 1
    tensorboard: bool = False

    def __post_init__(self) -> None:
        check_ranges(self, {"epochs": at_least(0), "max_steps": at_least(0), "batch_size": at_least(1),
                           "grad_accum": at_least(1), "lr": above(0), "weight_decay": at_least(0),
                           "warmup_ratio": UNIT, "max_grad_norm": at_least(0), "seed": at_least(0),
                           "checkpoint_every": at_least(0), "keep_checkpoints": at_least(1),
                           "eval_every": at_least(0), "log_every": at_least(1)})
        require(self.epochs > 0 or self.max_steps > 0, "epochs",
                "epochs=0 and max_steps=0 would train nothing; set epochs >= 1 or max_steps >= 1")
