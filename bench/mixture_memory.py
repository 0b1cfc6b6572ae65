"""Peak Python memory and time of reading a capped input of a mixture (`load_mixture`).

    PYTHONPATH=src python bench/mixture_memory.py FILE --cap 100 [--repeat 3] [--label NAME]

Prints, per cap, the records taken, the peak memory traced while reading (tracemalloc: Python
objects only, which is what holding records costs) and the best wall time of --repeat reads.
Run it against two checkouts (PYTHONPATH=their src) to compare; the numbers are only as quiet
as the machine.
"""

from __future__ import annotations

import argparse
import json
import time
import tracemalloc

from instructune.config import SourceConfig
from instructune.data.inputs import load_mixture


def measure(path: str, cap: int, repeat: int) -> dict:
    """{cap, taken, peak_mib, seconds} of reading `path` with `max_records=cap`."""
    tracemalloc.start()
    records, _ = load_mixture([SourceConfig(path, max_records=cap)])
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    best = float("inf")
    for _ in range(repeat):
        start = time.perf_counter()
        load_mixture([SourceConfig(path, max_records=cap)])
        best = min(best, time.perf_counter() - start)
    return {"cap": cap, "taken": len(records), "peak_mib": round(peak / 2**20, 2), "seconds": round(best, 3)}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("file")
    ap.add_argument("--cap", type=int, action="append", required=True, help="max_records; repeatable")
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--label", default="", help="names the checkout measured, in each line")
    args = ap.parse_args()
    for cap in args.cap:
        print(json.dumps({"label": args.label, "file": args.file, **measure(args.file, cap, args.repeat)}))


if __name__ == "__main__":
    main()
