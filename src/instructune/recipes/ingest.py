"""`instructune ingest`: input files in any supported format → canonical records JSONL.

    instructune ingest data.jsonl more.tsv --output records.jsonl [--on-error skip] [reader flags]
    instructune ingest --explain data.jsonl

With `on_error="fail"` (the default) the first bad row stops the run and nothing is written.
With "skip" each bad row goes to a rejects file (one JSON line: file, line or index, field,
reason, message, raw text) and the run goes on; the accepted records are exactly those a
clean run of the good rows writes. Every output is written atomically (temp file + rename),
so a failed run leaves earlier outputs as they were.
"""

from __future__ import annotations

import argparse
import contextlib
import dataclasses
import typing
from collections import Counter
from collections.abc import Callable
from pathlib import Path
from typing import Any, Literal

from instructune.config import ReaderConfig
from instructune.data.errors import DataError
from instructune.config.docs import field_docs
from instructune.data.formats import Detection, Outcome, UniqueIds, detect, explain, iter_outcomes, reason_of
from instructune.atomic import atomic_path
from instructune.data.jsonio import to_json
from instructune.data.starter import resolve_input

ON_ERROR = ("fail", "skip")


def beside(output: str | Path, suffix: str) -> Path:
    """A file written next to an output file, named after it: `beside("kept.jsonl",
    "removed.jsonl")` → `kept.removed.jsonl` (an output not ending in .jsonl keeps its whole
    name: `out.txt` → `out.txt.removed.jsonl`). ingest, dedup and augment name theirs so."""
    p = Path(output)
    stem = p.name[: -len(".jsonl")] if p.name.endswith(".jsonl") else p.name
    return p.with_name(f"{stem}.{suffix}")


def rejects_path(output: str | Path) -> Path:
    """The default rejects file beside `output`: `records.jsonl` → `records.rejects.jsonl`."""
    return beside(output, "rejects.jsonl")


def reject_row(out: Outcome) -> dict[str, Any]:
    """The rejects-file line for a rejected unit."""
    e = out.error
    loc = {"line": e.line} if e.line is not None else {"index": e.index} if e.index is not None else {}
    return {"file": e.path, **loc, "field": e.field, "reason": reason_of(e), "message": e.message,
            "raw": out.raw}


def main(inputs: list[str], output: str | Path, fmt: str | None = None, *,
         reader: ReaderConfig | None = None, on_error: str = "fail",
         rejects: str | Path | None = None) -> dict[str, Any]:
    """Convert `inputs` into records at `output`.

    Args:
        inputs: files, or "starter:SPLIT".
        output: the records JSONL to write.
        fmt: force this format for every input; None detects each file's.
        reader: reader options (OpenAssistant paths and filters, size limit).
        on_error: "fail" (stop at the first bad row; write nothing) or "skip" (write bad rows
            to `rejects` and go on).
        rejects: the rejects file for "skip"; default `rejects_path(output)`.
    Returns:
        {"records": n, "formats": {file: format}, "tasks": {task: n}, "rejected": {reason: n},
         "skipped": {reason: n} (OpenAssistant messages left out by filters),
         "unread": {field: rows} (fields of the input rows that their format does not read),
         "rejects": path or None}
    Raises:
        DataError: with "fail", the first bad row; with either, a file no format matches.
    """
    if on_error not in ON_ERROR:
        raise ValueError(f"on_error: got {on_error!r}; allowed: {', '.join(ON_ERROR)}")
    skip = on_error == "skip"
    rejects = Path(rejects or rejects_path(output)) if skip else None
    formats: dict[str, str] = {}
    tasks: Counter[str] = Counter()
    rejected: Counter[str] = Counter()
    skipped: Counter[str] = Counter()
    unread: Counter[str] = Counter()
    ids, n = UniqueIds(), 0
    with contextlib.ExitStack() as stack:
        out_f = stack.enter_context(open(stack.enter_context(atomic_path(output)), "w", encoding="utf-8"))
        rej_f = stack.enter_context(open(stack.enter_context(atomic_path(rejects)), "w", encoding="utf-8")) \
            if skip else None
        for name in inputs:
            path = resolve_input(name)
            formats[path] = fmt or detect(path)[0]
            for out in iter_outcomes(path, formats[path], reader, ids):
                skipped.update(out.skipped)
                unread.update(out.unread)
                if out.error:
                    if not skip:
                        raise out.error
                    rej_f.write(to_json(reject_row(out)) + "\n")
                    rejected[reason_of(out.error)] += 1
                    continue
                for rec in out.records:
                    out_f.write(to_json(rec.to_dict()) + "\n")
                    tasks[rec.task or "(none)"] += 1
                    n += 1
        if n == 0:  # raised inside the atomic writes: an earlier output at `output` stays as it was
            raise DataError(", ".join(inputs), "no record kept, so nothing was written"
                            + (f"; left out by reader filters: {dict(skipped)}" if skipped else "")
                            + (f"; rejected rows: {dict(rejected)}" if rejected else ""))
    return {"records": n, "formats": formats, "tasks": dict(sorted(tasks.items())),
            "rejected": dict(rejected.most_common()), "skipped": dict(sorted(skipped.items())),
            "unread": dict(unread.most_common()), "rejects": str(rejects) if rejects else None}


def print_summary(res: dict[str, Any], output: str, on_error: str, say: Callable[[str], None]) -> None:
    """What `main` wrote: counts, formats per file, tasks, filtered and rejected rows."""
    say(f"wrote {res['records']} records to {output}")
    for f, fmt in res["formats"].items():
        say(f"  {f}: {fmt}")
    say(f"  tasks: {res['tasks']}")
    if res["skipped"]:
        say(f"  left out by reader filters: {res['skipped']}")
    if res["unread"]:
        say(f"  fields not read (rows that have them; not in the records): {res['unread']}")
    if on_error == "skip":
        say(f"accepted {res['records']} records, rejected {sum(res['rejected'].values())} rows "
            f"{res['rejected']} → {res['rejects']}")


def explain_lines(path: str, found: Detection) -> list[str]:
    """How `ingest --explain` reports one file."""
    head = (f"{path}: {found.chosen} ({found.reason})" if found.chosen
            else f"{path}: no known format matches")
    lines = [head, f"  {found.seen}"]
    lines += [f"  not {name}: {why}" for name, why in found.tried]
    return lines


def explain_inputs(inputs: list[str]) -> list[str]:
    """The `--explain` report for every input (nothing is converted)."""
    lines: list[str] = []
    for name in inputs:
        path = resolve_input(name)
        lines += explain_lines(path, explain(path))
    return lines


# --- reader options as command-line flags, generated from `ReaderConfig` ---------------------

def add_reader_flags(parser: argparse.ArgumentParser) -> None:
    """One flag per `ReaderConfig` field (`max_chars` → `--max-chars`), help from its docstring."""
    docs, hints = field_docs(ReaderConfig), typing.get_type_hints(ReaderConfig)
    for f in dataclasses.fields(ReaderConfig):
        flag, tp, help_ = "--" + f.name.replace("_", "-"), hints[f.name], docs.get(f.name, "")
        if tp is bool:
            parser.add_argument(flag, dest=f.name, action="store_true", help=help_)
        elif typing.get_origin(tp) is Literal:
            parser.add_argument(flag, dest=f.name, choices=typing.get_args(tp), help=help_)
        elif typing.get_origin(tp) is list:
            parser.add_argument(flag, dest=f.name, metavar="A,B", help=help_ + ' Comma-separated, or a list: "[a, b]".',
                                type=list_flag)
        elif typing.get_origin(tp) is dict:
            parser.add_argument(flag, dest=f.name, metavar="K=V,K=V", help=help_ + " Comma-separated key=value pairs.",
                                type=dict_flag)
        else:
            parser.add_argument(flag, dest=f.name, type=tp, help=help_)


def list_flag(text: str) -> list[str]:
    """A list-valued flag: "en,de", or the config's list form "[en, de]" (what the help shows)."""
    text = text.strip()
    if text.startswith("[") and text.endswith("]"):
        text = text[1:-1]
    # quotes are allowed around items, as YAML allows them in the list form
    return [x.strip().strip("'\"") for x in text.split(",") if x.strip().strip("'\"")]


def dict_flag(text: str) -> dict[str, str]:
    """A mapping-valued flag: "patient=user,doctor=assistant" → {"patient": "user", "doctor": "assistant"}.

    Raises:
        argparse.ArgumentTypeError: an item without '=' (argparse shows it as a usage error).
    """
    out = {}
    for item in (x.strip() for x in text.split(",") if x.strip()):
        key, eq, value = item.partition("=")
        if not eq or not key.strip() or not value.strip():
            raise argparse.ArgumentTypeError(f"{item!r} is not key=value")
        out[key.strip()] = value.strip()
    return out


def reader_from_args(args: argparse.Namespace) -> ReaderConfig:
    """A `ReaderConfig` from the flags `add_reader_flags` added (defaults where not given)."""
    given = {}
    for f in dataclasses.fields(ReaderConfig):
        value = getattr(args, f.name, None)
        if value is not None and value is not False:  # not given (`0` is a value: no size limit)
            given[f.name] = value
    return ReaderConfig(**given)
