"""`metrics.jsonl`: one JSON object per logged step, appended and flushed as it happens."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any
from instructune.data.jsonio import to_json


class MetricsLog:
    """Append-only metrics file.

    Args:
        path: the JSONL file.
        truncate_after: on resume, drop lines whose step is beyond this step (they came from
            the interrupted part of the run after its last checkpoint); 0 starts a new file.
        enabled: False on non-main processes.
    """

    def __init__(self, path: str | Path, truncate_after: int = 0, enabled: bool = True):
        self.path, self.enabled = Path(path), enabled
        if not enabled:
            return
        kept = []
        if truncate_after and self.path.exists():
            kept = [line for line in self.path.read_text().splitlines()
                    if line.strip() and json.loads(line).get("step", 0) <= truncate_after]
        tmp = self.path.with_suffix(".jsonl.tmp")
        tmp.write_text("".join(line + "\n" for line in kept))
        os.replace(tmp, self.path)

    def write(self, row: dict[str, Any]) -> None:
        if not self.enabled:
            return
        with open(self.path, "a", encoding="utf-8") as f:
            f.write(to_json(row) + "\n")


def read_metrics(path: str | Path) -> list[dict[str, Any]]:
    """All rows of a metrics file."""
    return [json.loads(line) for line in Path(path).read_text().splitlines() if line.strip()]
