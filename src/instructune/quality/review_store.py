"""The review decisions of a quality output dir: an append-only log, replayed on start.

    store = ReviewStore("out/quality")           # reads flagged.jsonl and review_decisions.jsonl
    store.decide({"id": "r7", "action": "edit", "response": "Fixed answer."})

Every decision is one JSON line appended to DIR/review_decisions.jsonl and fsync'ed before the
call returns, so a decision the page showed as saved survives a crash or a closed tab. The
latest line for a record wins ("reset" takes a record back to pending). The state is never
kept anywhere else: a restarted server replays the log. Only a torn last line (no newline: a
crash during the write, so the decision was never confirmed) is skipped, and cut from the file
so the next decision starts on a line of its own; any other malformed line is an error naming
the file and the line, since skipping it would silently undo a decision.

Approved and edited records are (re)written, atomically after each decision, to
DIR/reviewed_accepted.jsonl: edits applied, `meta.quality.decision` set to "accept" and
`meta.quality.review` = {"action", "at"}. accepted.jsonl itself is never touched, so the
automatic pass stays reproducible; train on accepted.jsonl plus reviewed_accepted.jsonl.
"""

from __future__ import annotations

import copy
import json
import os
import threading
import time
from pathlib import Path
from typing import Any

from instructune.data.errors import DataError
from instructune.data.jsonio import iter_json_rows, write_jsonl
from instructune.data.jsonio import to_json

ACTIONS = ("approve", "reject", "edit", "reset")
EDITABLE = ("instruction", "context", "response")
LOG_NAME, OUT_NAME, FLAGGED_NAME = "review_decisions.jsonl", "reviewed_accepted.jsonl", "flagged.jsonl"


def parse_entry(raw: bytes, path: str, n: int) -> dict[str, Any]:
    """The decision logged on line `n` of `path`.

    Raises:
        DataError: not UTF-8 JSON, not an object, no id, or an unknown action.
    """
    def bad(why: str) -> DataError:
        return DataError(path, f"malformed decision ({why}); only a torn last line (a crash "
                               "mid-write) is skipped: fix or remove this line", line=n)
    try:
        entry = json.loads(raw.decode("utf-8"))
    except UnicodeDecodeError:
        raise bad("invalid UTF-8") from None
    except ValueError as e:
        raise bad(f"invalid JSON: {e}") from None
    if not isinstance(entry, dict):
        raise bad(f"expected a JSON object, got {type(entry).__name__}")
    if not isinstance(entry.get("id"), (str, int)):
        raise bad("no 'id'")
    if entry.get("action") not in ACTIONS:
        raise bad(f"'action' must be one of {', '.join(ACTIONS)}, got {entry.get('action')!r}")
    if not isinstance(entry.get("seq", 0), int):
        raise bad(f"'seq' must be an integer, got {entry.get('seq')!r}")
    return entry


class ReviewStore:
    """The flagged records of `out_dir` and the decisions made on them.

    Args:
        out_dir: a directory written by `instructune quality` (holds flagged.jsonl).
    Raises:
        FileNotFoundError: no flagged.jsonl in `out_dir`.
        DataError: a bad row in flagged.jsonl.
    """

    def __init__(self, out_dir: str | Path):
        self.dir = Path(out_dir)
        path = self.dir / FLAGGED_NAME
        if not path.exists():
            raise FileNotFoundError(f"{path} does not exist (run `instructune quality ... --output {self.dir}` first)")
        self.records: list[dict[str, Any]] = []
        for loc, row in iter_json_rows(path):
            if not isinstance(row, dict) or "id" not in row:
                raise DataError(str(path), "expected a record with an 'id'", **loc)
            self.records.append(row)
        self.by_id = {str(r["id"]): r for r in self.records}
        self.log_path = self.dir / LOG_NAME
        self.lock = threading.Lock()
        self.state: dict[str, dict[str, Any]] = {}
        self.seq = 0
        self._replay()

    def _replay(self) -> None:
        """Apply every logged decision, in order (see the module docstring for bad lines).

        Raises:
            DataError: a malformed line other than a torn last one (file and line named).
        """
        if not self.log_path.exists():
            return
        data = self.log_path.read_bytes()  # one short line per human decision: small
        lines = data.split(b"\n")
        tail = lines.pop()  # what follows the last newline: b"" unless the last write was torn
        for n, raw in enumerate(lines, start=1):
            if raw.strip():
                self._replay_entry(parse_entry(raw, str(self.log_path), n))
        if tail.strip():
            self._repair_tail(tail, len(lines) + 1, len(data) - len(tail))

    def _replay_entry(self, entry: dict[str, Any]) -> None:
        # Decisions on records no longer flagged (quality re-run since) have nothing to apply to.
        if str(entry["id"]) in self.by_id:
            self._apply(entry)

    def _repair_tail(self, tail: bytes, n: int, offset: int) -> None:
        """Handle a last line without its newline: the write of line `n` (at byte `offset`)
        was cut by a crash. A complete decision is applied and its newline added; a fragment
        (never confirmed to the page) is cut off. Either way the next append starts a line."""
        try:
            entry = parse_entry(tail, str(self.log_path), n)
        except DataError:
            with open(self.log_path, "r+b") as f:
                f.truncate(offset)
                os.fsync(f.fileno())
            return
        self._replay_entry(entry)
        with open(self.log_path, "ab") as f:
            f.write(b"\n")
            os.fsync(f.fileno())

    def _apply(self, entry: dict[str, Any]) -> None:
        self.seq = max(self.seq, int(entry.get("seq", 0)))
        if entry["action"] == "reset":
            self.state.pop(str(entry["id"]), None)
        else:
            self.state[str(entry["id"])] = entry

    def validate(self, payload: Any) -> dict[str, Any]:
        """The log entry for a decision request, or ValueError naming what is wrong."""
        if not isinstance(payload, dict):
            raise ValueError("expected a JSON object")
        rid, action = str(payload.get("id")), payload.get("action")
        if rid not in self.by_id:
            raise ValueError(f"unknown record id {payload.get('id')!r}")
        if action not in ACTIONS:
            raise ValueError(f"action must be one of {', '.join(ACTIONS)}, got {action!r}")
        entry: dict[str, Any] = {"id": rid, "action": action}
        if action == "edit":
            edits = {k: payload[k] for k in EDITABLE if k in payload}
            if not edits or not all(isinstance(v, str) for v in edits.values()):
                raise ValueError(f"an edit needs string field(s) among {', '.join(EDITABLE)}")
            if not edits.get("response", self.by_id[rid].get("response", "")).strip():
                raise ValueError("an edit cannot leave the response empty")
            entry.update(edits)
        return entry

    def decide(self, payload: Any) -> dict[str, Any]:
        """Validate, append (fsync'ed) and apply one decision; returns the logged entry."""
        entry = self.validate(payload)
        with self.lock:
            self.seq += 1
            entry.update(seq=self.seq, at=time.strftime("%Y-%m-%dT%H:%M:%S%z"))
            with open(self.log_path, "a", encoding="utf-8") as f:
                f.write(to_json(entry) + "\n")
                f.flush()
                os.fsync(f.fileno())
            self._apply(entry)
            self.write_accepted()
        return entry

    def reviewed(self, rid: str) -> dict[str, Any]:
        """Record `rid` as approved / edited: edits applied, meta.quality updated."""
        entry = self.state[rid]
        rec = copy.deepcopy(self.by_id[rid])
        for k in EDITABLE:
            if k in entry:
                rec[k] = entry[k]
        q = rec.setdefault("meta", {}).setdefault("quality", {})
        q["decision"] = "accept"
        q["review"] = {"action": entry["action"], "at": entry["at"]}
        return rec

    def write_accepted(self) -> int:
        """Atomically rewrite reviewed_accepted.jsonl; returns the number of records in it."""
        ids = [str(r["id"]) for r in self.records
               if self.state.get(str(r["id"]), {}).get("action") in ("approve", "edit")]
        return write_jsonl(self.dir / OUT_NAME, (self.reviewed(i) for i in ids))

    def counts(self) -> dict[str, int]:
        """{"pending", "approve", "reject", "edit"} counts."""
        out = {"pending": 0, "approve": 0, "reject": 0, "edit": 0}
        for r in self.records:
            out[self.state.get(str(r["id"]), {}).get("action", "pending")] += 1
        return out

    def snapshot(self) -> dict[str, Any]:
        """What the page shows: every flagged record with its latest decision (or None)."""
        with self.lock:
            return {"dir": str(self.dir), "counts": self.counts(),
                    "records": [{"record": r, "review": self.state.get(str(r["id"]))} for r in self.records]}
