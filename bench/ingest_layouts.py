"""Ingest speed by file layout: rows/s reading parquet and `.jsonl.gz` into records, against
`datasets.load_dataset` on the same files.

    python bench/ingest_layouts.py [--rows 100000] [--dir /tmp/ingest_layouts] [--out FILE.json]

Writes a synthetic question/answer file of `--rows` rows in each layout (parquet in row groups
of 10k, gzip'd JSONL), then times, per file: instructune reading every row into a validated
record (`data.formats.iter_records`: detection, field checks, size limit), and
`datasets.load_dataset` (its cache in a fresh folder each time, so it converts to Arrow,
which is what a first run pays). The two do different work (instructune validates and builds
records; datasets converts to Arrow tables): the table is the cost a user sees for each.
Prints a table; `--out` writes the same as JSON. Time it on an idle machine.
"""

from __future__ import annotations

import argparse
import gzip
import json
import os
import tempfile
import time
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("HF_DATASETS_OFFLINE", "1")


def synthetic_rows(n: int):
    """Question/answer rows of GSM8K-like length."""
    for i in range(n):
        yield {"question": f"A shop sells {i % 97} apples on day {i}. " * 4 + "How many in all?",
               "answer": f"It sells {i % 97} a day, so {i % 97} x 4 = {4 * (i % 97)}.\n#### {4 * (i % 97)}"}


def write_files(folder: Path, n: int) -> dict[str, Path]:
    import pyarrow as pa
    import pyarrow.parquet as pq

    folder.mkdir(parents=True, exist_ok=True)
    gz = folder / f"qa_{n}.jsonl.gz"
    with gzip.open(gz, "wt", encoding="utf-8") as f:
        for row in synthetic_rows(n):
            f.write(json.dumps(row) + "\n")
    parquet = folder / f"qa_{n}.parquet"
    pq.write_table(pa.Table.from_pylist(list(synthetic_rows(n))), parquet, row_group_size=10_000)
    return {"parquet": parquet, "jsonl.gz": gz}


def time_instructune(path: Path) -> tuple[int, float]:
    from instructune.data.formats import iter_records

    t0 = time.perf_counter()
    n = sum(1 for _ in iter_records(str(path)))
    return n, time.perf_counter() - t0


def time_datasets(path: Path, layout: str) -> tuple[int, float]:
    from datasets import load_dataset

    builder = "parquet" if layout == "parquet" else "json"
    with tempfile.TemporaryDirectory() as cache:
        t0 = time.perf_counter()
        ds = load_dataset(builder, data_files=str(path), split="train", cache_dir=cache)
        n = len(ds)
        return n, time.perf_counter() - t0


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--rows", type=int, default=100_000)
    p.add_argument("--dir", default=str(Path(tempfile.gettempdir()) / "ingest_layouts"))
    p.add_argument("--out", help="write the results as JSON")
    args = p.parse_args()
    try:
        from datasets.utils.logging import disable_progress_bar
        disable_progress_bar()
    except ImportError:
        pass
    results = []
    for layout, path in write_files(Path(args.dir), args.rows).items():
        for reader, fn in (("instructune", time_instructune), ("datasets.load_dataset", lambda f: time_datasets(f, layout))):
            n, secs = fn(path)
            results.append({"layout": layout, "reader": reader, "rows": n, "seconds": round(secs, 3),
                            "rows_per_s": round(n / secs) if secs else None, "bytes": path.stat().st_size})
    print(f"{'layout':<10} {'reader':<22} {'rows':>8} {'seconds':>8} {'rows/s':>10}")
    for r in results:
        print(f"{r['layout']:<10} {r['reader']:<22} {r['rows']:>8} {r['seconds']:>8.2f} {r['rows_per_s']:>10}")
    if args.out:
        Path(args.out).write_text(json.dumps({"rows": args.rows, "results": results}, indent=2) + "\n")
        print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
