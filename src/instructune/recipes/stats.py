"""`instructune stats`: what is in a dataset, before training on it (`data/stats.py`).

    instructune stats INPUT... [--output DIR] [--tokenizer MODEL] [--format NAME]

Prints counts per task category and per source file (with its detected format), token-length
histograms of instruction, context and response, and the shares of records with a context,
a rationale and multi-turn history. With `--output`, also writes DIR/stats.json and
DIR/lengths.png (both atomically). Token counts use MODEL's tokenizer (default: the default
model, `smollm2-135m-instruct`).
"""

from __future__ import annotations

from pathlib import Path

from instructune.data.formats import detect, load_records
from instructune.atomic import atomic_path
from instructune.data.jsonio import write_json
from instructune.data.starter import resolve_input
from instructune.data.stats import dataset_stats, plot_lengths
from instructune.model.load import DEFAULT_MODEL, load_tokenizer


def main(inputs: list[str], output: str | Path | None = None, tokenizer_name: str | None = None,
         fmt: str | None = None) -> dict:
    """Statistics of `inputs` (files or starter:SPLIT); written under `output` when given.

    Returns:
        the statistics dict (see `data.stats.dataset_stats`), plus "files" when written.
    Raises:
        DataError: a bad input row.
        FileNotFoundError: a missing input.
    """
    sources = []
    for name in inputs:
        path = resolve_input(name)
        this_fmt = fmt or detect(path)[0]
        sources.append((name, this_fmt, load_records(path, this_fmt)))
    st = dataset_stats(sources, load_tokenizer(tokenizer_name or DEFAULT_MODEL))
    if output:
        out = Path(output)
        write_json(out / "stats.json", st)
        with atomic_path(out / "lengths.png") as tmp:
            plot_lengths(st, tmp)
        st["files"] = {"stats": str(out / "stats.json"), "plot": str(out / "lengths.png")}
    return st
