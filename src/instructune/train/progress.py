"""The training loop's progress bar: step, loss, lr, eval loss, tokens/s (a `RunProgress`)."""

from __future__ import annotations

from typing import Any

from instructune.progress import RunProgress


def train_info(metrics: dict[str, Any]) -> str:
    """The bar's text for one step's metrics: "loss 1.2345 [ewc 0.012 ...] lr 2.00e-04 [eval 1.3000]
    812 tok/s", with every extra loss term (`<term>_loss`) after the next-token loss."""
    info = f"loss {metrics.get('loss', float('nan')):.4f}"
    for k, v in metrics.items():
        if k.endswith("_loss") and not k.startswith("eval"):
            info += f" {k.removesuffix('_loss')} {v:.3g}"
    info += f" lr {metrics.get('lr', 0):.2e}"
    if "eval_loss" in metrics:
        info += f" eval {metrics['eval_loss']:.4f}"
    return info + f" {metrics.get('tokens_per_s', 0):.0f} tok/s"


class TrainProgress(RunProgress):
    """A `RunProgress` over optimizer steps, with time remaining; a no-op when disabled.

    Args:
        total: optimizer steps in the run.
        start: steps already done (when resuming).
        enabled: show it (the local main process only).
    """

    def __init__(self, total: int, start: int = 0, enabled: bool = True):
        super().__init__("train", total, start, fields="{task.fields[info]}", remaining=True, enabled=enabled,
                         info="")

    # Takes the metrics dict the loop logs rather than RunProgress's fields, so the loop needs
    # no formatting of its own.
    def update(self, step: int, metrics: dict[str, Any] | None) -> None:  # type: ignore[override]
        """Advance to `step`; refresh the text only when the step was logged (`metrics`): the
        scalars of other steps are never pulled from the device."""
        if metrics is None:
            super().update(step)
        else:
            super().update(step, info=train_info(metrics))
