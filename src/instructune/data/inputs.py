"""Reading a config's input list into records: files in any format, "starter:SPLIT", or
entries with their own settings (`SourceConfig`: format, column mapping, cap, weight), mixed
by `data/mixture.py`."""

from __future__ import annotations

from collections.abc import Iterator

from instructune.config import ReaderConfig, SourceConfig
from instructune.data.formats import Outcome, UniqueIds, iter_outcomes
from instructune.data.formats._columns import column_format
from instructune.data.mixture import SourcePlan, mix, plan
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


def _records(entry: Entry, fmt: str | None, reader: ReaderConfig | None, ids: UniqueIds) -> list[Record]:
    out = []
    for o in source_outcomes(entry, fmt, reader, ids):
        if o.error:
            raise o.error
        out.extend(o.records)
    return out


def load_mixture(names: list[Entry], fmt: str | None = None, reader: ReaderConfig | None = None,
                 seed: int = 0) -> tuple[list[Record], list[SourcePlan]]:
    """The records of the named inputs, mixed as their entries ask, and the mixture's plan.

    Plain entries (no weight, no cap) give all their records, in order, as before.

    Raises:
        DataError: a bad row (file, line, field), or an id used twice across `names`.
        FileNotFoundError: a missing file.
    """
    ids = UniqueIds()
    sources = [as_source(n) for n in names]
    read = [_records(s, fmt, reader, ids) for s in sources]
    plans = plan([s.path for s in sources], [len(r) for r in read], [s.max_records for s in sources],
                 [s.weight for s in sources])
    return mix(read, plans, seed), plans


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
