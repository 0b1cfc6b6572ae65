"""Checks that hold for every format, applied to each `Outcome` after its reader:
a size limit per record, and no id used twice within one run."""

from __future__ import annotations

import os
from typing import Any

from instructune.data.dataset_inputs import HF_PREFIX, hf_parts
from instructune.data.errors import DataError
from instructune.data.formats._outcome import Outcome
from instructune.data.record import Record

TEXT_FIELDS = ("instruction", "context", "response", "rationale", "system")


def record_chars(rec: Record) -> tuple[int, str]:
    """(characters of all the record's text, the name of its longest field)."""
    sizes = {name: len(getattr(rec, name) or "") for name in TEXT_FIELDS}
    sizes["history"] = sum(len(t.content) for t in rec.history)
    return sum(sizes.values()), max(sizes, key=sizes.get)


def longest_string(value: Any, prefix: str = "") -> tuple[int, str]:
    """(length, dotted path) of the longest string in a parsed JSON value ((-1, "") if none)."""
    if isinstance(value, str):
        return len(value), prefix
    items = value.items() if isinstance(value, dict) else enumerate(value) if isinstance(value, list) else ()
    best = (-1, "")
    for k, v in items:
        path = f"{prefix}[{k}]" if isinstance(k, int) else f"{prefix}.{k}" if prefix else str(k)
        best = max(best, longest_string(v, path), key=lambda t: t[0])
    return best


def check_size(out: Outcome, max_chars: int) -> Outcome:
    """`out`, or `out` rejected when one of its records is longer than `max_chars` (0: no limit).

    The error names the longest field of the input row when the unit is one row (`output`,
    `conversations[3].value`), else the record's longest field (`response`, `history`).
    """
    if not max_chars or out.error:
        return out
    for rec in out.records:
        # The quick total first: this runs on every record of a large ingest.
        if (len(rec.instruction) + len(rec.context) + len(rec.response) + len(rec.rationale)
                + len(rec.system or "") + sum(len(t.content) for t in rec.history)) <= max_chars:
            continue
        n, longest = record_chars(rec)
        if n > max_chars:
            if out.value is not None and (found := longest_string(out.value))[0] >= 0:
                longest = found[1]
            return out.reject(DataError(
                out.path, f"record too long: {n} characters, over the limit of {max_chars} "
                          f"(data.reader.max_chars / --max-chars); longest field: {longest}",
                field=longest, **out.loc))
    return out


class UniqueIds:
    """Remembers the files read and the ids the data gave its records within one run, to
    reject repeats.

    Only ids that come from the data are kept: ids derived from file positions name their file
    (`derived_id`), so they cannot repeat within a file nor across the files of a run, as long
    as no file is read twice, which `add_file` refuses. Memory grows with the number of own
    ids (~100 bytes each).
    """

    def __init__(self):
        self.seen: set[str] = set()
        self.files: dict[tuple[int, int], str] = {}

    def add_file(self, path: str) -> None:
        """Note that `path` is read in this run.

        The same file twice is an error rather than a silent double: every record would
        appear twice (counted double in training, or all removed again by dedup), and giving
        its records new ids would only hide that. Identity is the file itself (device and
        inode), so `a.jsonl`, `./a.jsonl` and a link to it are one file.

        Raises:
            DataError: `path` was already read in this run.
        """
        if path.startswith(HF_PREFIX):  # a name in the datasets cache, not a file: the name is its identity
            key: tuple = hf_parts(path)
        else:
            st = os.stat(path)
            key = (st.st_dev, st.st_ino)
        if key in self.files:
            first = self.files[key]
            as_ = f" (first as {first})" if first != path else ""
            raise DataError(path, f"this file is given twice in the inputs{as_}; each file may be "
                                  "read once per run, or every record in it would appear twice")
        self.files[key] = path

    def check(self, out: Outcome) -> Outcome:
        """`out`, or `out` rejected when one of its record ids was used before in this run."""
        if out.error or not out.own_ids:
            return out
        ids = [r.id for r in out.records]
        for i, rid in enumerate(ids):
            if rid in self.seen or rid in ids[:i]:
                return out.reject(DataError(out.path, f"duplicate id: {rid!r} is used by an earlier "
                                                      "record in this run", field="id", **out.loc))
        self.seen.update(ids)
        return out
