"""Self-Instruct seed tasks: `{"id", "name", "instruction", "instances": [{"input", "output"}],
"is_classification"}` rows. Each instance becomes one record (id `ID-K` for instance K) with
the instance's input as context; `name` and `is_classification` are kept in `meta`."""

from __future__ import annotations

from instructune.data.formats._fields import Row
from instructune.data.formats._format import Format
from instructune.data.record import Record

NAME = "self_instruct"


def detect(keys: set[str]) -> str | None:
    """Why this format fits a row with these keys, or None."""
    return "has 'instruction' and 'instances'" if {"instruction", "instances"} <= keys else None


def to_records(row: Row) -> list[Record]:
    """One record per instance."""
    instruction = row.text("instruction", nonempty=True)
    meta = {}
    if "name" in row.obj:
        meta["name"] = row.text("name")
    if "is_classification" in row.obj:
        if not isinstance(row.obj["is_classification"], bool):
            raise row.error(f"expected true or false, got {row.obj['is_classification']!r}",
                            "is_classification")
        meta["is_classification"] = row.obj["is_classification"]
    base = row.record_id(NAME)
    out = []
    for k, inst in enumerate(row.items("instances")):
        where = f"instances[{k}]"
        if not isinstance(inst, dict):
            raise row.error(f"expected an object, got {type(inst).__name__}", where)
        out.append(Record(
            id=f"{base}-{k}",
            instruction=instruction,
            context=row.text("input", where=inst, label=f"{where}.input", required=False),
            response=row.text("output", where=inst, label=f"{where}.output", nonempty=True),
            source={**row.source(NAME), "instance": k},
            meta=dict(meta),
        ))
    return out


# 'instances' sets it apart from every other format; after the common ones.
FORMAT = Format(NAME, priority=80, detect=detect, to_records=to_records,
                needs="'instruction' and an 'instances' list of {input, output}",
                reads=frozenset(("instruction", "instances", "name", "is_classification")))
