"""Table files as rows: CSV / TSV with a header row, and parquet, each row a `{column: value}`
`RawRow` that the row-wise formats read as they read a JSON object (so column names are
what detection looks at, and errors name the column).

Both stream: CSV line by line through `csv.reader` (quoted fields may span lines), parquet
one batch of a row group at a time (`ParquetFile.iter_batches`), so memory stays flat however
large the file. A CSV row is located by the file line it starts on (the header is line 1);
a parquet row by its 0-based index in the file (as a JSON array's element).
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterator
from typing import Any

from instructune.data.compression import base_suffix, open_bytes
from instructune.data.errors import DataError
from instructune.data.jsonio import RawRow, bad_utf8_field, readable

PARQUET_BATCH = 1024  # rows converted to Python at a time


def _raw_text(value: dict[str, Any]) -> str:
    """A row as one line of JSON, for the rejects file (values JSON does not know as strings)."""
    return readable(json.dumps(value, ensure_ascii=False, default=str))


def _header(path: str, cells: list[str]) -> list[str]:
    names = [c.strip().lstrip("\ufeff") for c in cells]
    seen = set()
    for i, name in enumerate(names):
        if not name:
            raise DataError(path, f"the header row has an empty column name (column {i + 1})", line=1)
        if name in seen:
            raise DataError(path, f"the header row names column {name!r} twice", line=1, field=name)
        seen.add(name)
    return names


def iter_csv_rows(path: str) -> Iterator[RawRow]:
    """The rows of a CSV (`,`) or TSV (tab) file with a header row; `.gz` / `.zst` allowed.

    A row with more cells than the header is a bad row; a short row lacks the last columns
    (the format then says which is missing). Blank lines are skipped.
    """
    delimiter = "\t" if base_suffix(path) == ".tsv" else ","
    with open_bytes(path) as raw, io.TextIOWrapper(raw, encoding="utf-8-sig", errors="surrogateescape",
                                                   newline="") as text:
        reader = csv.reader(text, delimiter=delimiter)
        columns, start = None, 1
        while True:
            try:
                cells = next(reader, None)
            except csv.Error as e:  # an unclosed quote runs into the field size limit
                raise DataError(path, f"invalid {'TSV' if delimiter == chr(9) else 'CSV'}: {e}", line=start) from None
            if cells is None:
                return
            line, start = start, reader.line_num + 1
            if not any(c.strip() for c in cells):
                continue
            if columns is None:
                columns = _header(path, cells)
                continue
            yield _csv_row(path, line, columns, cells, delimiter)


def _csv_row(path: str, line: int, columns: list[str], cells: list[str], delimiter: str) -> RawRow:
    text = delimiter.join(cells)
    loc = {"line": line}
    if len(cells) > len(columns):
        return RawRow(loc, readable(text), error=DataError(
            path, f"too many cells: {len(cells)}, the header has {len(columns)} columns "
                  f"(an unquoted {'tab' if delimiter == chr(9) else 'comma'} inside a field?)", line=line))
    value = dict(zip(columns, cells))
    if (bad := bad_utf8_field(value)) is not None:
        return RawRow(loc, readable(text), error=DataError(path, "invalid UTF-8", line=line, field=bad))
    return RawRow(loc, text, value)


def iter_parquet_rows(path: str) -> Iterator[RawRow]:
    """The rows of a parquet file, a batch of a row group at a time.

    Raises:
        DataError: the file is not parquet (or is damaged).
    """
    import pyarrow as pa
    import pyarrow.parquet as pq

    try:
        pf = pq.ParquetFile(path)
    except (pa.ArrowException, OSError) as e:
        raise DataError(path, f"not a readable parquet file ({str(e).splitlines()[0]})") from None
    index = 0
    for batch in pf.iter_batches(batch_size=PARQUET_BATCH):
        for value in batch.to_pylist():
            yield RawRow({"index": index}, _raw_text(value), value)
            index += 1
