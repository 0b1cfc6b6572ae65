"""The `train` section: the training loop."""

from __future__ import annotations

from dataclasses import dataclass, field
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
        report_to: experiment trackers that also get the config and every metrics row:
            [tensorboard, wandb, mlflow] or any of them; [] for metrics.jsonl alone. Each is
            local by default (TensorBoard under the run dir, wandb offline, MLflow to RUN/mlruns;
            `train/trackers.py`); wandb and mlflow are extras (pip install instructune[wandb]).
        mixed_precision: "auto" (bf16 autocast on GPUs that support it, none on CPUs), "no",
            "bf16" or "fp16" (with loss scaling), through accelerate. Trained parameters and
            optimizer state stay float32 (LoRA adapters; master weights for full fine-tuning).
        activation_checkpointing: recompute each decoder layer's activations in backward
            instead of keeping them (less memory, about a third more compute).
        compile: `torch.compile` the decoder layers (one compile per layer shape; dynamic
            sequence lengths).
        fused_kernels: liger-kernel's fused RMSNorm, SwiGLU and RoPE in the decoder
            (`model/kernels.py`): "auto" on CUDA when liger-kernel is installed, true
            (required), false.
        loss_impl: the LM head + cross-entropy at trained positions. "auto": liger-kernel's
            fused linear cross-entropy on CUDA when installed, else "chunked"; "chunked": the
            head and loss over `loss_chunk_tokens` tokens at a time, never all logits at
            once; "logits": all logits of the trained positions at once (the reference).
        loss_chunk_tokens: tokens per chunk of the "chunked" loss.
        prefetch: accumulation windows collated ahead in a background thread (0: collate on
            the main thread).
        distributed: "ddp" (replicated model, gradients all-reduced) or "fsdp" (FSDP2 through
            accelerate: parameters, gradients and optimizer state sharded over processes;
            checkpoints are sharded too). An `accelerate launch --config_file` with its own
            FSDP or DeepSpeed settings is honoured as well (docs/distributed.md).
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
    report_to: list[Literal["tensorboard", "wandb", "mlflow"]] = field(default_factory=list)
    # YAML reads a bare `no` as false; it is taken to mean "no".
    mixed_precision: Literal["auto", "no", "bf16", "fp16"] | bool = "auto"
    activation_checkpointing: bool = False
    compile: bool = False
    fused_kernels: bool | Literal["auto"] = "auto"
    loss_impl: Literal["auto", "chunked", "liger", "logits"] = "auto"
    loss_chunk_tokens: int = 4096
    prefetch: int = 2
    distributed: Literal["ddp", "fsdp"] = "ddp"

    def __post_init__(self) -> None:
        check_ranges(self, {"epochs": at_least(0), "max_steps": at_least(0), "batch_size": at_least(1),
                           "grad_accum": at_least(1), "lr": above(0), "weight_decay": at_least(0),
                           "warmup_ratio": UNIT, "max_grad_norm": at_least(0), "seed": at_least(0),
                           "checkpoint_every": at_least(0), "keep_checkpoints": at_least(1),
                           "eval_every": at_least(0), "log_every": at_least(1),
                           "loss_chunk_tokens": at_least(1), "prefetch": at_least(0)})
        if isinstance(self.mixed_precision, bool):
            require(not self.mixed_precision, "mixed_precision", "got true; expected auto, no, bf16 or fp16")
            self.mixed_precision = "no"
        require(self.epochs > 0 or self.max_steps > 0, "epochs",
                "epochs=0 and max_steps=0 would train nothing; set epochs >= 1 or max_steps >= 1")
