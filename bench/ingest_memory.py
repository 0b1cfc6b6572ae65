"""Peak memory and speed of `instructune ingest` on a large generated file.

    python bench/ingest_memory.py                 # 1 GB JSONL (default)
    python bench/ingest_memory.py --size 200M     # a smaller run
    python bench/ingest_memory.py --size 200M --shape array   # one big JSON array instead

Writes Alpaca-shaped rows (no ids, so the duplicate-id set stays empty; `--ids` adds them)
into a temp dir (removed afterwards), runs `instructune ingest` on the file and on one 10x
smaller, each in a subprocess, and prints records/s and the subprocess's peak RSS. Flat
memory means the two peaks are about equal (and both near the 1-row baseline).
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

WORDS = ("alpha bravo charlie delta echo foxtrot golf hotel india juliet kilo lima mike november "
         "oscar papa quebec romeo sierra tango uniform victor whiskey xray yankee zulu").split()


def parse_size(text: str) -> int:
    """'1G', '200M', '500K' or a byte count → bytes."""
    units = {"K": 1 << 10, "M": 1 << 20, "G": 1 << 30}
    text = text.strip().upper().removesuffix("B")
    return int(float(text[:-1]) * units[text[-1]]) if text[-1] in units else int(text)


def row(i: int, ids: bool) -> str:
    """One Alpaca row of ~400 bytes whose text varies with `i`."""
    w = [WORDS[(i * k + 7) % len(WORDS)] for k in range(1, 25)]
    rid = f'"id": "r{i}", ' if ids else ""
    return (f'{{{rid}"instruction": "Summarize the note number {i} in one sentence.", '
            f'"input": "{" ".join(w * 4)}", "output": "Note {i} is about {w[0]} and {w[1]}."}}')


def generate(path: Path, size: int, shape: str, ids: bool) -> int:
    """Write about `size` bytes of rows to `path`; returns the number of rows."""
    n = written = 0
    with open(path, "w", encoding="utf-8", buffering=1 << 20) as f:
        f.write("[\n" if shape == "array" else "")
        while written < size:
            sep = "" if shape == "jsonl" or n == 0 else ",\n"
            written += f.write(sep + row(n, ids) + ("\n" if shape == "jsonl" else ""))
            n += 1
        f.write("\n]\n" if shape == "array" else "")
    return n


def run_ingest(path: Path, out: Path) -> tuple[float, int]:
    """(wall seconds, peak RSS in bytes) of `instructune ingest path --output out`."""
    t0 = time.perf_counter()
    proc = subprocess.Popen([sys.executable, "-m", "instructune", "ingest", str(path), "--output", str(out)],
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    _, status, usage = os.wait4(proc.pid, 0)  # this child's own rusage, not all children's
    seconds = time.perf_counter() - t0
    if os.waitstatus_to_exitcode(status) != 0:
        raise SystemExit(f"ingest failed: {proc.stderr.read().decode()}")
    return seconds, usage.ru_maxrss * 1024  # ru_maxrss is in KiB on Linux


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--size", default="1G", help="size of the large file (default 1G)")
    ap.add_argument("--shape", choices=("jsonl", "array"), default="jsonl")
    ap.add_argument("--ids", action="store_true", help="give rows ids (the duplicate check then keeps a set)")
    args = ap.parse_args()
    size = parse_size(args.size)
    with tempfile.TemporaryDirectory(prefix="ingest_bench_") as tmp:
        tmp = Path(tmp)
        print(f"{'input':>10} {'rows':>10} {'seconds':>8} {'records/s':>10} {'MB/s':>7} {'peak RSS MB':>12}")
        for label, nbytes in (("1 row", 1), ("size/10", size // 10), ("size", size)):
            src = tmp / f"in.{'json' if args.shape == 'array' else 'jsonl'}"
            rows = generate(src, nbytes, args.shape, args.ids)
            mb = src.stat().st_size / 1e6
            seconds, rss = run_ingest(src, tmp / "out.jsonl")
            print(f"{label:>10} {rows:>10} {seconds:>8.2f} {rows / seconds:>10.0f} {mb / seconds:>7.1f} "
                  f"{rss / 1e6:>12.1f}", flush=True)
            src.unlink()
            (tmp / "out.jsonl").unlink()


if __name__ == "__main__":
    main()
