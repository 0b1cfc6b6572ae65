"""`SourceConfig`: one entry of `data.train` / `data.heldout` with its own settings.

An entry is a plain string (a file, or "starter:SPLIT"), or a mapping:

    data:
      train:
        - records.jsonl                      # a plain entry: every record, format detected
        - path: gsm8k.parquet
          columns: {instruction: question, response: answer}
          max_records: 2000                  # at most 2000 of it (a seeded draw)
        - path: dolly.jsonl
          weight: 2                          # with weights: shares of the mixture
"""

from __future__ import annotations

from dataclasses import dataclass, field

from instructune.config.errors import above, at_least, check_ranges, require

# The record fields `columns` may fill, and the two it must.
COLUMN_FIELDS = ("id", "instruction", "context", "response", "rationale", "task", "system")
REQUIRED_COLUMNS = ("instruction", "response")


@dataclass
class SourceConfig:
    """One input with its own settings.

    Attributes:
        path: the file (any supported format and file type) or "starter:SPLIT".
        format: force this input's format (see `instructune ingest --help`); None detects it
            (or `data.format` when set).
        columns: record field → the input's column holding it, e.g. {instruction: question,
            response: answer, context: passage, task: category}; fields: id, instruction,
            context, response, rationale, task, system (instruction and response required).
            Set, it replaces format detection: every row is read through the mapping.
        weight: this input's share of the mixture, relative to the other entries' weights
            (> 0); set it on every entry of the list or on none. null: examples-proportional
            (each input gives all its records, up to max_records).
        max_records: at most this many records from this input (a draw seeded by data.mix_seed,
            the same in every process); 0: no cap.
        task: the task category of every record of this input that has none of its own (a
            P3 template's cluster, a file per task), so that `data.heldout_tasks`, the
            multi-task objectives and the eval can tell tasks apart; null: the records' own.
    """

    path: str
    format: str | None = None
    columns: dict[str, str] = field(default_factory=dict)
    weight: float | None = None
    max_records: int = 0
    task: str | None = None

    def __post_init__(self) -> None:
        check_ranges(self, {"max_records": at_least(0)})
        if self.weight is not None:
            check_ranges(self, {"weight": above(0)})
        for name in self.columns:
            require(name in COLUMN_FIELDS, f"columns.{name}",
                    f"not a record field; allowed: {', '.join(COLUMN_FIELDS)}")
        if self.columns:
            missing = [f for f in REQUIRED_COLUMNS if f not in self.columns]
            require(not missing, "columns", f"map {' and '.join(missing)} too (both are required)")
        require(not (self.columns and self.format), "format", "give columns or format, not both")


def entry_path(entry: str | SourceConfig) -> str:
    """The file (or starter name) of a `data.train` / `data.heldout` entry."""
    return entry if isinstance(entry, str) else entry.path


def entry_label(entry: str | SourceConfig) -> str:
    """An entry as printed in a run's settings: `gsm8k.parquet (columns instruction=question,
    response=answer; max 2000; weight 2)`, or the path alone when it has no settings."""
    if isinstance(entry, str):
        return entry
    parts = []
    if entry.format:
        parts.append(f"format {entry.format}")
    if entry.columns:
        parts.append("columns " + ",".join(f"{f}={c}" for f, c in entry.columns.items()))
    if entry.max_records:
        parts.append(f"max {entry.max_records}")
    if entry.weight is not None:
        parts.append(f"weight {entry.weight:g}")
    return f"{entry.path} ({'; '.join(parts)})" if parts else entry.path


def check_weights(entries: list[str | SourceConfig], key: str) -> None:
    """Weights are given on every entry of a list or on none (a share needs the others').

    Raises:
        FieldError: some entries have a weight and some do not (the first without one named).
    """
    weighted = [isinstance(e, SourceConfig) and e.weight is not None for e in entries]
    if any(weighted) and not all(weighted):
        i = weighted.index(False)
        require(False, f"{key}[{i}].weight", "missing: when one entry has a weight, every entry needs "
                                              "one (weights are shares of the mixture)")
