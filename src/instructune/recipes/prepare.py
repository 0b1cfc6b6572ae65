"""`instructune prepare`: records → tokenized Arrow datasets on disk, with stats.

    instructune prepare --output DIR [--num-proc N] [key=value ...]

    DIR/train/      datasets.save_to_disk (input_ids, labels, segment_ids, length, n_trained, task)
    DIR/heldout/
    DIR/stats.json  per split: records, kept, tokens, trained_tokens, truncated, dropped

Tokenizing runs in `--num-proc` worker processes (default: chosen from the data size and the
CPUs, see `tokenized.resolve_num_proc`). Each split's result is cached under
`$INSTRUCTUNE_CACHE/prepared/<key>/` (`data/prepare_cache.py`): a second run over the same
input bytes, template, tokenizer and settings reuses it and says so; `train` shares the cache
when it tokenizes on the fly. `data.cache=false` turns the cache off. Every output is
written under a temp name and renamed into place.
"""

from __future__ import annotations

import dataclasses
import shutil
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

from datasets import Dataset, load_from_disk

from instructune.config import Config
from instructune.data.inputs import load_inputs
from instructune.data.jsonio import write_json
from instructune.data.prepare_cache import CacheInfo, cached_tokenize
from instructune.data.templates import TemplateOptions, get_template
from instructune.data.tokenized import PrepareStats
from instructune.model.load import load_tokenizer
from instructune.model.vocab import add_template_tokens


def template_options(cfg: Config) -> TemplateOptions:
    t = cfg.template
    return TemplateOptions(t.context_separator, t.rationale_separator, t.train_rationale, t.train_answer)


def template_tokenizer(cfg: Config):
    """The model's tokenizer with the template's special tokens added."""
    tokenizer = load_tokenizer(cfg.model.name)
    add_template_tokens(None, tokenizer, get_template(cfg.template.name).special_tokens)
    return tokenizer


def key_config(cfg: Config) -> dict[str, Any]:
    """The settings besides data, template and tokenizer that change a split's arrays."""
    reader = getattr(cfg.data, "reader", None)
    return {"max_length": cfg.data.max_length, "format": cfg.data.format,
            "reader": dataclasses.asdict(reader) if reader is not None else None}


def describe(split: str, stats: PrepareStats, info: CacheInfo) -> str:
    """One line saying whether a split was tokenized or taken from the cache."""
    if info.hit:
        return f"{split}: reused cached tokenization of {stats.records} records ({info.path})"
    where = f"; cached in {info.path}" if info.path else " (cache off)"
    return f"{split}: tokenized {stats.records} records{where}"


def tokenize_split(cfg: Config, tokenizer, names: list[str], num_proc: int | None = None,
                   log: Callable[[str], None] | None = None, split: str = "data"
                   ) -> tuple[Dataset, PrepareStats]:
    """Load and tokenize one split's inputs, or reuse the cached result.

    Args:
        cfg: run config (data, template).
        tokenizer: the tokenizer with template tokens added (`template_tokenizer`).
        names: the split's input names.
        num_proc: worker processes; None chooses.
        log: called with one line saying whether the cache was used.
        split: the split's name, for that line.
    """
    def load():
        return load_inputs(names, cfg.data.format, getattr(cfg.data, "reader", None))

    ds, stats, info = cached_tokenize(load, names, tokenizer, get_template(cfg.template.name),
                                      template_options(cfg), key_config(cfg), num_proc,
                                      use_cache=cfg.data.cache)
    if log:
        log(describe(split, stats, info))
    return ds, stats


def save_split(ds: Dataset, path: Path) -> None:
    """`save_to_disk` into a temp dir beside `path`, then swap it in (an old copy is removed
    only once the new one is in place)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent))
    old = path.parent / f".{path.name}.old"
    try:
        ds.save_to_disk(str(tmp))
        if path.exists():
            shutil.rmtree(old, ignore_errors=True)
            path.rename(old)
        tmp.rename(path)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
        shutil.rmtree(old, ignore_errors=True)


def main(cfg: Config, out_dir: str | Path, num_proc: int | None = None,
         log: Callable[[str], None] | None = None) -> dict[str, dict[str, int]]:
    """Write the prepared splits under `out_dir`; returns the stats per split.

    Args:
        cfg: run config.
        out_dir: output directory.
        num_proc: worker processes for tokenizing; None chooses.
        log: called with a line per split (tokenized or reused from the cache).
    """
    out_dir = Path(out_dir)
    tokenizer = template_tokenizer(cfg)
    stats = {}
    for split, names in (("train", cfg.data.train), ("heldout", cfg.data.heldout)):
        if not names:
            continue
        ds, st = tokenize_split(cfg, tokenizer, names, num_proc, log, split)
        save_split(ds, out_dir / split)
        stats[split] = st.as_dict()
    write_json(out_dir / "stats.json", stats)
    return stats


def load_prepared(path: str | Path) -> Dataset:
    """A split written by `main`."""
    return load_from_disk(str(path))
