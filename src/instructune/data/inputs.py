"""Reading a config's input list into records: files in any format, "starter:SPLIT", or
entries with their own settings (`SourceConfig`: format, column mapping, cap, weight), mixed
by `data/mixture.py`."""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator

from instructune.config import ReaderConfig, SourceConfig
from instructune.data.formats import Outcome, UniqueIds, iter_outcomes
from instructune.data.formats._columns import column_format
from instructune.data.mixture import SourcePlan, draw, pick, plan, source_rng
from instructune.data.record import Record
from instructune.data.starter import resolve_input

Entry = str | SourceConfig


def as_source(entry: Entry) -> SourceConfig:
    """`entry` as a `SourceConfig` (a plain string is a path with default settings)."""
    return SourceConfig(path=entry) if isinstance(entry, str) else entry


def source_outcomes(entry: Entry, fmt: str | None = None, reader: ReaderConfig | None = None,
                    ids: UniqueIds | None = None) -> Iterator[Outcome]:
    """One `Outcome` per input unit of one entry: through its column mapping when it has one,
    else its own format, else `fmt`, else the detected format."""
    src = as_source(entry)
    chosen = column_format(src.columns) if src.columns else (src.format or fmt)
    return iter_outcomes(resolve_input(src.path), chosen, reader, ids)


def _records(entry: Entry, fmt: str | None, reader: ReaderConfig | None, ids: UniqueIds | None) -> Iterator[Record]:
    """The records of one entry, in order, streamed; the first bad one raises. An entry's
    `task` fills the task of the records that have none."""
    task = as_source(entry).task
    for o in source_outcomes(entry, fmt, reader, ids):
        if o.error:
            raise o.error
        if task is None:
            yield from o.records
        else:
            yield from (r if r.task else dataclasses.replace(r, task=task) for r in o.records)


def drawn(src: SourceConfig, p: SourcePlan, rng, fmt: str | None, reader: ReaderConfig | None,
          ids: UniqueIds) -> list[Record]:
    """The planned draw of one capped or weighted input, read as a stream that keeps only the
    chosen records (all of them when the draw repeats the input). The same records, in the
    same order, as `mixture.draw` over all of them."""
    if 0 < p.read <= p.planned:  # the draw repeats the input: it is held whole anyway
        return draw(list(_records(src, fmt, reader, ids)), p.planned, rng)
    _, keep = pick(p.read, p.planned, rng)
    wanted, out = set(keep), []
    for i, rec in enumerate(_records(src, fmt, reader, ids)):
        if i in wanted:
            out.append(rec)
    return out


def mixes(src: SourceConfig) -> bool:
    """Whether an entry gives a draw rather than all its records (a cap or a weight)."""
    return bool(src.max_records) or src.weight is not None


def load_mixture(names: list[Entry], fmt: str | None = None, reader: ReaderConfig | None = None,
                 seed: int = 0) -> tuple[list[Record], list[SourcePlan]]:
    """The records of the named inputs, mixed as their entries ask, and the mixture's plan.

    Plain entries (no weight, no cap) are read whole, in order, as before. A capped or
    weighted entry is read twice as a stream: once to count its records (the plan needs every
    input's size), then to keep only the records its draw picks, so a cap of 1,000 on a file of
    millions holds 1,000 records, not the file.

    Raises:
        DataError: a bad row (file, line, field), or an id used twice across `names`.
        FileNotFoundError: a missing file.
    """
    ids = UniqueIds()
    sources = [as_source(n) for n in names]
    # Counting checks no ids (the keeping pass does, once); plain entries are read whole here.
    read = [None if mixes(s) else list(_records(s, fmt, reader, ids)) for s in sources]
    sizes = [sum(1 for _ in _records(s, fmt, reader, None)) if r is None else len(r) for s, r in zip(sources, read)]
    plans = plan([s.path for s in sources], sizes, [s.max_records for s in sources], [s.weight for s in sources])
    out: list[Record] = []
    for i, (s, r, p) in enumerate(zip(sources, read, plans)):
        picked = r if r is not None else drawn(s, p, source_rng(seed, i, p.path), fmt, reader, ids)
        p.taken = len(picked)
        out.extend(picked)
    return out, plans


def load_inputs(names: list[Entry], fmt: str | None = None, reader: ReaderConfig | None = None,
                seed: int = 0) -> list[Record]:
    """All records of the named inputs, mixed as their entries ask (see `load_mixture`).

    Args:
        names: files (any supported format, detected per file), "starter:SPLIT", or
            `SourceConfig` entries.
        fmt: force this format for every file without its own; None detects it.
        reader: reader options (`data.reader`: OpenAssistant paths and filters, size limit).
        seed: seeds the draws of capped or weighted entries (`data.mix_seed`).
    """
    return load_mixture(names, fmt, reader, seed)[0]
