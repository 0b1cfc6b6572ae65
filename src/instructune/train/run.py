"""`TrainingRun`: an assembled run's parts, and what can be done with them.

    run = assemble(cfg)                       # assemble.py: model, data, objective, optimizer...
    start = run.resume(checkpoint)            # or Position(): a fresh run
    result = run.fit(start, evaluate=..., probe=...)
    paths = run.export()                      # adapter/, export/, addons/

`fit` writes metrics.jsonl (and the trackers of train.report_to) and the checkpoints in the run dir on the loop's
schedule; evaluation and the generation probe come in as callables, built above this package
(`evaluate/`), so `train` never imports them.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from torch import nn

from instructune.model.addons.store import save_addons
from instructune.model.export import export_run
from instructune.model.forward import InstructForward
from instructune.objectives.objective import TrainingObjective
from instructune.rundir import RunDir
from instructune.train import sharded_checkpoint
from instructune.train.checkpoint import load_checkpoint, save_checkpoint
from instructune.train.distributed import plain_model_loading, weights_split
from instructune.train.loop import LoopParts, LoopResult, LoopSettings, Position, TrainData, run_loop
from instructune.train.metrics_log import MetricsLog
from instructune.train.precision import Precision
from instructune.train.progress import TrainProgress


def no_metrics() -> dict[str, float]:
    """The held-out evaluation of a run that has none."""
    return {}


@dataclass
class TrainingRun:
    """A training run, assembled (`assemble.py`) and prepared by accelerate.

    Attributes:
        run_dir: where metrics.jsonl, checkpoints/, adapter/, export/ and addons/ go.
        accelerator: the `accelerate.Accelerator` (autocast, processes, trackers).
        loss_module: the prepared `TrainingObjective` (DDP / FSDP / DeepSpeed wrapped).
        objective: the same, unwrapped (its model, add-ons and extra terms).
        optimizer, scheduler: prepared optimizer and its warm-up + cosine schedule.
        tokenizer: the model's tokenizer with the template's tokens.
        data: the tokenized training rows and how they are batched.
        heldout: {set name: tokenized held-out dataset} ("heldout", then `eval.sets`).
        settings: the loop's schedule.
        precision: weights dtype and autocast mode.
        loss_impl: the next-token loss's implementation.
        sharded: every process writes and reads its own checkpoint shards (FSDP, DeepSpeed).
        keep_checkpoints: checkpoints kept on disk.
        trackers: also log to the trackers of `train.report_to` (`trackers.py`).
        template_name: the chat template the export carries.
        sampling: the `generate` section as a dict: export/generation_config.json.
        addon_sections: {add-on name: config section}, saved beside the add-ons' weights.
        parameters: {"trainable", "total", "added"} parameter counts.
        objective_info: what building the extra objectives cost (EWC's Fisher...).
        mixture: the training split's mixture per input (`PrepareStats.mixture`), [] when
            its inputs are not capped or weighted.
        plain_model: builds a plain host copy of the model to export into when the weights
            are split across processes.
        metrics: metrics.jsonl, opened by `fit`.
    """

    run_dir: Path
    accelerator: Any
    loss_module: nn.Module
    objective: TrainingObjective
    optimizer: Any
    scheduler: Any
    tokenizer: Any
    data: TrainData
    heldout: dict[str, Any]
    settings: LoopSettings
    precision: Precision
    loss_impl: str
    sharded: bool
    keep_checkpoints: int
    trackers: bool
    template_name: str
    sampling: dict[str, Any]
    addon_sections: dict[str, Any]
    parameters: dict[str, int]
    objective_info: dict = field(default_factory=dict)
    mixture: list[dict] = field(default_factory=list)
    plain_model: Callable[[], nn.Module] | None = None
    metrics: MetricsLog | None = None

    @property
    def forward(self) -> InstructForward:
        """The model with its add-ons (FSDP: over the sharded parameters)."""
        return self.objective.model

    @property
    def model(self) -> nn.Module:
        """The (peft-wrapped) transformers model being trained."""
        return self.forward.model

    @property
    def checkpoints(self) -> Path:
        return RunDir(self.run_dir).checkpoints

    def extras(self) -> dict[str, nn.Module]:
        """The modules checkpointed beside the model: add-ons and extra objectives."""
        return {"addons": self.forward.addons, "objectives": self.objective.objectives}

    def resume(self, checkpoint: Path) -> Position:
        """Load `checkpoint` (model, optimizer, schedule, RNG, add-ons, objectives) in place;
        returns the position it resumes at."""
        if self.sharded:
            saved = sharded_checkpoint.load(checkpoint, self.loss_module, self.optimizer, self.scheduler,
                                            self.accelerator)
        else:
            saved = load_checkpoint(checkpoint, self.model, self.optimizer, self.scheduler, self.extras())
        return Position(saved["step"], saved["epoch"], saved["position"])

    def log(self, row: dict) -> None:
        """Write a metrics row to metrics.jsonl and the trackers."""
        self.metrics.write(row)
        if self.trackers:
            self.accelerator.log({k: v for k, v in row.items() if k != "step"}, step=row["step"])

    def save(self, at: Position) -> None:
        """A checkpoint that resumes at `at` (sharded: every process writes its shards)."""
        position = {"epoch": at.epoch, "position": at.window, "processes": self.accelerator.num_processes}
        if self.sharded:
            sharded_checkpoint.save(self.checkpoints, at.step, self.loss_module, self.optimizer, self.scheduler,
                                    position, self.accelerator, keep=self.keep_checkpoints)
            return
        self.accelerator.wait_for_everyone()
        if self.accelerator.is_main_process:
            save_checkpoint(self.checkpoints, at.step, self.model, self.optimizer, self.scheduler, position,
                            keep=self.keep_checkpoints, extras=self.extras())

    def fit(self, start: Position = Position(), evaluate: Callable[[], dict[str, float]] = no_metrics,
            probe: Callable[[], dict[str, float]] | None = None) -> LoopResult:
        """Train from `start` to the last step; metrics.jsonl keeps the rows up to `start`.

        Args:
            start: where to begin (`resume`'s position, or a fresh run's).
            evaluate: held-out metrics now, on `train.eval_every`'s schedule.
            probe: generation metrics now, on `eval.generate_every`'s schedule, or None.
        """
        acc = self.accelerator
        self.metrics = MetricsLog(RunDir(self.run_dir).metrics, truncate_after=start.step,
                                  enabled=acc.is_main_process)
        self.model.train()
        progress = TrainProgress(self.settings.total_steps, start=start.step, enabled=acc.is_local_main_process)
        # Clip the prepared module's parameters (FSDP: the local shards; the norm is global).
        params = [p for p in self.loss_module.parameters() if p.requires_grad]
        parts = LoopParts(self.loss_module, params, self.optimizer, self.scheduler, acc, self.log, progress.update,
                          evaluate, self.save, probe)
        with progress:
            return run_loop(parts, self.data, self.settings, start)

    def export(self) -> dict[str, str]:
        """Write adapter/ (LoRA), the merged export/ and addons/ on the main process; returns
        their paths ({} on the others). Split weights are gathered into a plain host copy first."""
        acc = self.accelerator
        acc.wait_for_everyone()
        model = self.model
        if weights_split(acc):
            trained = sharded_checkpoint.full_trainable_state(self.loss_module, acc)
            if acc.is_main_process:
                plain_model_loading()
                model = self.plain_model()
                model.load_state_dict({k.removeprefix("model.model."): v for k, v in trained.items()}, strict=False)
        if not acc.is_main_process:
            return {}
        paths = export_run(model, self.tokenizer, self.run_dir, self.template_name, self.sampling,
                           self.precision.weights)
        paths["addons"] = save_addons(self.forward, self.addon_sections, self.run_dir)
        return paths


