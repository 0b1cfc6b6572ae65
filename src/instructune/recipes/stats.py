"""`instructune stats`: what is in a dataset, before training on it (`data/stats.py`).

    instructune stats INPUT... [--output DIR] [--tokenizer MODEL] [--format NAME]
    instructune stats --recipe my.yaml        # data.train of a recipe, mixed as it asks

Prints counts per task category and per source file (with its detected format), token-length
histograms of instruction, context and response, and the shares of records with a context,
a rationale and multi-turn history. With `--output`, also writes DIR/stats.json and
DIR/lengths.png (both atomically). Token counts use MODEL's tokenizer (default: the default
model, `smollm2-135m-instruct`). With `--recipe`, the inputs are the recipe's `data.train`
entries (column mappings, caps, weights), and a mixture table comes first: per input, the
records read, its cap and weight, the records planned (and their share) and those realised.
"""

from __future__ import annotations

from pathlib import Path

from instructune.config import DataConfig, entry_label
from instructune.data.formats import detect, load_records
from instructune.data.inputs import load_mixture
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
    return _finish(dataset_stats(sources, load_tokenizer(tokenizer_name or DEFAULT_MODEL)), output)


def mixture_main(data: DataConfig, output: str | Path | None = None, tokenizer_name: str | None = None) -> dict:
    """Statistics of a config's `data.train`, mixed as its entries ask, with the mixture's plan
    under "mixture" (per input: read, max_records, weight, planned, planned_share, taken)."""
    records, plans = load_mixture(data.train, data.format, data.reader, data.mix_seed)
    sources, start = [], 0
    for entry, p in zip(data.train, plans):  # the mixture keeps each input's records together
        taken = records[start:start + p.taken]
        start += p.taken
        sources.append((entry_label(entry), taken[0].source.get("format", "?") if taken else "-", taken))
    st = dataset_stats(sources, load_tokenizer(tokenizer_name or DEFAULT_MODEL))
    st["mixture"] = [p.as_dict() for p in plans]
    return _finish(st, output)


def _finish(st: dict, output: str | Path | None) -> dict:
    """`st`, written under `output` (stats.json, lengths.png) when given."""
    if output:
        out = Path(output)
        write_json(out / "stats.json", st)
        with atomic_path(out / "lengths.png") as tmp:
            plot_lengths(st, tmp)
        st["files"] = {"stats": str(out / "stats.json"), "plot": str(out / "lengths.png")}
    return st
