"""The rows of any input file, by its suffix: the one place input files are opened as rows.

| suffix (optionally + `.gz` / `.zst`) | read as                                          |
|---|---|
| `.parquet`                          | parquet rows (`tables.iter_parquet_rows`)        |
| `.csv`, `.tsv`                      | a table with a header row (`tables.iter_csv_rows`) |
| anything else                       | a JSON array or JSONL (`jsonio`)                 |

and datasets (`hf:NAME[:SPLIT]` from the local cache, a `save_to_disk` folder, an `.arrow`
file) as rows of their columns (`dataset_inputs.iter_dataset_rows`).

Every reader streams and yields `RawRow`s located by line or index, so the formats in
`data/formats/` read every file type the same way.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

from instructune.data.compression import base_suffix
from instructune.data.dataset_inputs import is_dataset_input, iter_dataset_rows
from instructune.data.jsonio import RawRow, iter_json_raw_rows
from instructune.data.tables import iter_csv_rows, iter_parquet_rows

TABLE_SUFFIXES = (".csv", ".tsv")


def iter_raw_rows(path: str | Path) -> Iterator[RawRow]:
    """Stream the rows of `path` as `RawRow`s, read by its suffix (see the module table).

    Raises:
        DataError: a problem that stops the whole file (a broken JSON array, a bad header, not
            parquet, a `.zst` without zstandard, a dataset not in the local cache).
    """
    path = str(path)
    if is_dataset_input(path):
        return iter_dataset_rows(path)
    suffix = base_suffix(path)
    if suffix == ".parquet":
        return iter_parquet_rows(path)
    if suffix in TABLE_SUFFIXES:
        return iter_csv_rows(path)
    return iter_json_raw_rows(path)


def is_table(path: str | Path) -> bool:
    """Whether `path` is read as a table (parquet, CSV, TSV, a dataset) rather than as JSON rows."""
    return base_suffix(path) in (".parquet", *TABLE_SUFFIXES) or is_dataset_input(path)
