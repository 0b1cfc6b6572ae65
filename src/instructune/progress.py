"""The one progress bar of long runs (training, synth, the `generate` verb): a label, the bar, done/total, a line
of live fields, elapsed (and, optionally, remaining) time; a no-op when disabled.

    with RunProgress("evol", total=5, fields="accepted {task.fields[accepted]}", accepted=0) as bar:
        bar.update(accepted=3)          # refresh a field
        bar.update(1, accepted=4)       # and the number done

A module of its own so that train/ and synth/ share it without importing each other.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from rich.console import Console
from rich.progress import (BarColumn, MofNCompleteColumn, Progress, ProgressColumn, TextColumn, TimeElapsedColumn,
                           TimeRemainingColumn)
from rich.text import Text


class _LiveColumn(ProgressColumn):
    """A column whose text is read anew at every refresh (rich refreshes ~10 times a second)."""

    def __init__(self, text: Callable[[], str]):
        super().__init__()
        self.text = text

    def render(self, task) -> Text:
        return Text(self.text())


class RunProgress:
    """Context manager around one `rich.progress.Progress` task.

    Args:
        label: shown at the left, in bold.
        total: units of work in the run (steps, rounds, generations).
        done: units already done (when resuming).
        fields: a rich format string over `{task.fields[NAME]}` shown after the count.
        remaining: also show the estimated time remaining.
        enabled: show it at all (False: every call is a no-op).
        live: a text read at every refresh, shown after the fields (work in flight).
        console: where to draw it (None: rich's global console, on stdout).
        **initial: the starting value of each field named in `fields`.
    """

    def __init__(self, label: str, total: int, done: int = 0, *, fields: str = "", remaining: bool = False,
                 enabled: bool = True, live: Callable[[], str] | None = None, console: Console | None = None,
                 **initial: Any):
        self.enabled, self.live = enabled, live
        columns = [TextColumn(f"[bold]{label}"), BarColumn(), MofNCompleteColumn(), TextColumn(fields),
                   *([_LiveColumn(live)] if live else []), TimeElapsedColumn()]
        if remaining:
            columns.append(TimeRemainingColumn())
        self.progress = Progress(*columns, console=console, disable=not enabled)
        self.task = self.progress.add_task(label, total=total, completed=done, **initial)

    def __enter__(self) -> RunProgress:
        self.progress.__enter__()
        return self

    def __exit__(self, *exc) -> None:
        self.progress.__exit__(*exc)

    def update(self, done: int | None = None, **fields: Any) -> None:
        """Set the fields given and, unless None, the number of units done."""
        kw = {} if done is None else {"completed": done}
        self.progress.update(self.task, **fields, **kw)
