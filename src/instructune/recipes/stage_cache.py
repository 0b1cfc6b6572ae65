"""What `instructune run` knows about each stage between runs: its cache key and its record.

    key = stage_key("quality", settings, [Path("RUN/data/train.jsonl")], upstream=previous_key)
    write_record(path, StageRecord("quality", key, "running"))   # before the stage starts
    write_record(path, StageRecord("quality", key, "done", counts, seconds))   # once its outputs are whole

A stage's key hashes its config settings, the content of its input files and the key of the
stage before it, so a stage reruns when any of them changed and so does every stage after it
(their upstream key changed). The record is RUN/stages/<stage>.json, written atomically: it
says "done" only after the stage's outputs were written (each of them atomically too), so a
killed pipeline never takes a half-written output for a finished one.
"""

from __future__ import annotations

import hashlib
import json
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Literal

from instructune.data.jsonio import write_json

STATES = ("running", "waiting", "done")
_CHUNK = 1 << 20


def file_digest(path: str | Path) -> str:
    """sha256 of a file's bytes; "missing" for a path that is not a file (its absence is part
    of the key: a stage whose optional input appears reruns)."""
    p = Path(path)
    if not p.is_file():
        return "missing"
    h = hashlib.sha256()
    with open(p, "rb") as f:
        while chunk := f.read(_CHUNK):
            h.update(chunk)
    return h.hexdigest()


def stage_key(stage: str, settings: dict[str, Any], inputs: list[str | Path], upstream: str | None,
              root: str | Path | None = None) -> str:
    """The cache key of a stage run: sha256 over its name, its settings (JSON, sorted keys), each
    input's path (relative to `root`, the run dir, when under it: a moved run dir stays cached)
    and content digest, and the previous stage's key (None for the first stage)."""
    def name(p: str | Path) -> str:
        p = Path(p)
        return str(p.relative_to(root)) if root is not None and p.is_relative_to(root) else str(p)

    body = {"stage": stage, "settings": settings, "upstream": upstream,
            "inputs": [[name(p), file_digest(p)] for p in inputs]}
    return hashlib.sha256(json.dumps(body, sort_keys=True, default=str).encode()).hexdigest()


@dataclass
class StageRecord:
    """RUN/stages/<stage>.json.

    Attributes:
        stage: the stage's name.
        key: the cache key it ran (or runs) under.
        state: "running" (started, not finished: killed if no process runs it), "waiting" (the
            review stage: records wait for a person) or "done" (its outputs are complete).
        counts: records in and out and the reasons for those that left (the lineage).
        seconds: wall time of its last run.
        at: when the record was written (local time).
    """

    stage: str
    key: str
    state: Literal["running", "waiting", "done"]
    counts: dict[str, Any] = field(default_factory=dict)
    seconds: float = 0.0
    at: str = ""


def read_record(path: str | Path) -> StageRecord | None:
    """The record at `path`; None when there is none or it is not one (a stage without a
    readable record is one that has not finished)."""
    try:
        data = json.loads(Path(path).read_text())
        return StageRecord(**data) if data.get("state") in STATES else None
    except (OSError, ValueError, TypeError):
        return None


def write_record(path: str | Path, record: StageRecord) -> None:
    """Write `record` atomically, stamped with the time."""
    record.at = time.strftime("%Y-%m-%dT%H:%M:%S%z")
    write_json(path, asdict(record))
