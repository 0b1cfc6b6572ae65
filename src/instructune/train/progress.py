"""A rich progress bar for the training loop: step, loss, lr, eval loss, tokens/s."""

from __future__ import annotations

from typing import Any

from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn, TimeRemainingColumn


class TrainProgress:
    """Context manager around `rich.progress.Progress`; a no-op when disabled."""

    def __init__(self, total: int, start: int = 0, enabled: bool = True):
        self.enabled = enabled
        self.progress = Progress(
            TextColumn("[bold]train"), BarColumn(), MofNCompleteColumn(),
            TextColumn("{task.fields[info]}"), TimeElapsedColumn(), TimeRemainingColumn(),
            disable=not enabled)
        self.task = self.progress.add_task("train", total=total, completed=start, info="")

    def __enter__(self) -> "TrainProgress":
        self.progress.__enter__()
        return self

    def __exit__(self, *exc) -> None:
        self.progress.__exit__(*exc)

    def update(self, step: int, metrics: dict[str, Any] | None) -> None:
        """Advance to `step`; refresh the text only when the step was logged (`metrics`)."""
        if metrics is None:
            self.progress.update(self.task, completed=step)
            return
        info = f"loss {metrics.get('loss', float('nan')):.4f} lr {metrics.get('lr', 0):.2e}"
        if "eval_loss" in metrics:
            info += f" eval {metrics['eval_loss']:.4f}"
        info += f" {metrics.get('tokens_per_s', 0):.0f} tok/s"
        self.progress.update(self.task, completed=step, info=info)
