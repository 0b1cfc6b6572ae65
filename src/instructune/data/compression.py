"""Opening an input file as a byte stream whatever it is compressed with, by its suffix.

`data.jsonl.gz` / `data.json.gz` / `data.csv.gz` are read through `gzip` as a stream (never
decompressed whole); `.zst` needs the `zstandard` package (the `zstd` extra), and says so
when it is missing.
`base_suffix` is the suffix under the compression (`.jsonl` for `a.jsonl.gz`), which decides
how the bytes are parsed (`data/rows.py`).
"""

from __future__ import annotations

import gzip
import io
from pathlib import Path
from typing import BinaryIO

from instructune.data.errors import DataError

COMPRESSED = (".gz", ".zst")


def base_suffix(path: str | Path) -> str:
    """The file's suffix under any compression suffix, lower-cased (`a.JSONL.gz` → `.jsonl`)."""
    p = Path(path)
    if p.suffix.lower() in COMPRESSED:
        p = p.with_suffix("")
    return p.suffix.lower()


def open_bytes(path: str | Path) -> BinaryIO:
    """`path` opened for reading bytes, decompressed on the fly for `.gz` and `.zst`.

    Raises:
        DataError: a `.zst` file without the `zstandard` package installed (naming the extra).
    """
    suffix = Path(path).suffix.lower()
    if suffix == ".gz":
        return gzip.open(path, "rb")
    if suffix == ".zst":
        try:
            import zstandard
        except ImportError:
            raise DataError(str(path), "reading a .zst file needs the zstandard package, which is not "
                                       "installed; pip install instructune[zstd], or decompress it first (zstd -d)") from None
        return io.BufferedReader(zstandard.ZstdDecompressor().stream_reader(open(path, "rb"), closefd=True))
    return open(path, "rb")
