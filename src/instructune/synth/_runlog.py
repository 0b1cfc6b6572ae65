"""What a synth run keeps on disk and shows while it runs: append-only JSONL logs that survive a
kill, an atomic report, and a progress bar of accepted / rejected / requests, with the requests
in flight and tokens generated updating live while a generator call runs.

A generation run appends each result the moment it is made (docs/architecture.md §8). A kill can only tear
the line being written; `AppendLog` cuts that torn tail off when it reopens the file, so the
run redoes exactly that one result and nothing is lost or written twice.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any

from instructune.data.errors import DataError
from instructune.progress import RunProgress
from instructune.data.jsonio import to_json


def read_log(path: Path) -> list[dict[str, Any]]:
    """The rows of an append-only JSONL log; a torn last line (no newline) is cut off the file.

    Raises:
        DataError: a complete line that is not a JSON object (the file was edited or corrupted).
    """
    if not path.exists():
        return []
    data = path.read_bytes()
    end = data.rfind(b"\n") + 1
    if end < len(data):  # the last write was interrupted: drop it, it will be redone
        with open(path, "r+b") as f:
            f.truncate(end)
    rows = []
    for n, line in enumerate(data[:end].decode("utf-8").splitlines(), start=1):
        if not line.strip():
            continue
        try:
            row = json.loads(line)
        except json.JSONDecodeError as e:
            raise DataError(str(path), f"invalid JSON in a synth log: {e.msg}", line=n) from None
        if not isinstance(row, dict):
            raise DataError(str(path), "expected a JSON object", line=n)
        rows.append(row)
    return rows


class AppendLog:
    """An append-only JSONL file and the rows it holds (read, repaired, on open).

    Args:
        path: the file (created on first append).
    """

    def __init__(self, path: str | Path):
        self.path = Path(path)
        self.rows = read_log(self.path)
        self._f = None

    def __len__(self) -> int:
        return len(self.rows)

    def append(self, row: dict[str, Any]) -> None:
        """Write `row` as one line and flush it (one write call, so a kill tears at most it)."""
        if self._f is None:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            self._f = open(self.path, "a", encoding="utf-8")
        self._f.write(to_json(row) + "\n")
        self._f.flush()
        self.rows.append(row)

    def close(self) -> None:
        if self._f is not None:
            self._f.close()
            self._f = None


class TrackedGenerator:
    """A `Generator` that counts the requests of the call in progress, so a progress bar can
    show them while the call runs (backends count `stats.requests` only when a call returns).

    Everything else (name, stats, close, ...) is the wrapped generator's.
    """

    def __init__(self, gen):
        self.gen = gen
        self.in_flight = 0
        self._lock = threading.Lock()

    def __getattr__(self, name: str) -> Any:
        return getattr(self.gen, name)

    def _call(self, fn: Callable[[list, Any], list[str]], items: list, params: Any) -> list[str]:
        with self._lock:
            self.in_flight += len(items)
        try:
            return fn(items, params)
        finally:
            with self._lock:
                self.in_flight -= len(items)

    def chat(self, conversations: list, params: Any) -> list[str]:
        return self._call(self.gen.chat, conversations, params)

    def complete(self, prompts: list[str], params: Any) -> list[str]:
        return self._call(self.gen.complete, prompts, params)


def synth_progress(label: str, total: int, done: int = 0, enabled: bool = True,
                   live: TrackedGenerator | None = None) -> RunProgress:
    """The bar of a synth run: rounds (or generations) with live accepted / rejected / requests
    counts (set with `update(accepted=..., rejected=..., requests=..., done=...)`) and, with a
    `TrackedGenerator`, the requests in flight and tokens generated, read at every refresh.

    Args:
        label: shown at the left ("self-instruct", "evol").
        total: rounds (or generations) in the run.
        done: rounds already done (when resuming).
        enabled: show it.
        live: the run's tracked generator, read at every refresh.
    """
    def live_text() -> str:
        # An HTTP backend counts each reply as it arrives; the local one when its batch is done.
        return f"· in flight {live.in_flight} · {live.stats.completion_tokens} tokens"

    return RunProgress(label, total, done, enabled=enabled, accepted=0, rejected=0, requests=0,
                       fields="accepted {task.fields[accepted]} · rejected {task.fields[rejected]} · "
                              "requests {task.fields[requests]}", live=live_text if live is not None else None)
