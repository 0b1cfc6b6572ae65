"""Tokenized splits: build one from input files (through the prepare cache), save it
atomically, load it back.

    ds, stats = tokenize_split(["a.jsonl"], tokenizer, get_template("chat"), opts, max_length=512)
    save_split(ds, Path("prepared/train"))
    ds = load_prepared("prepared/train")

Rows hold input_ids, labels, segment_ids, length, n_trained, task (`tokenized.py`).
"""

from __future__ import annotations

import dataclasses
from collections import Counter
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from datasets import Dataset, load_from_disk

from instructune.atomic import atomic_dir
from instructune.config import ConfigError, DataConfig, TemplateConfig, entry_path
from instructune.data.errors import DataError
from instructune.data.inputs import as_source, load_mixture
from instructune.data.mixture import SourcePlan, format_mixture
from instructune.data.prepare_cache import CacheInfo, cached_tokenize
from instructune.data.record import Record
from instructune.data.templates import TemplateOptions, get_template, template_options
from instructune.data.tokenized import PrepareStats


def describe(split: str, stats: PrepareStats, info: CacheInfo) -> str:
    """One line saying whether a split was tokenized or taken from the cache."""
    if info.hit:
        return f"{split}: reused cached tokenization of {stats.records} records ({info.path})"
    where = f"; cached in {info.path}" if info.path else " (cache off)"
    return f"{split}: tokenized {stats.records} records{where}"


def split_for(d: DataConfig, t: TemplateConfig, tokenizer, names: list, num_proc: int | None = None,
              log: Callable[[str], None] | None = None, name: str = "data") -> tuple[Dataset, PrepareStats]:
    """`tokenize_split` of the inputs `names` with the `data` and `template` sections' settings."""
    return tokenize_split(names, tokenizer, get_template(t.name), template_options(t), max_length=d.max_length,
                          fmt=d.format, reader=d.reader, num_proc=num_proc, use_cache=d.cache, log=log, split=name,
                          seed=d.mix_seed, exclude_tasks=d.heldout_tasks if name == "train" else ())


def tokenize_split(names: list, tokenizer, template, options: TemplateOptions, *,
                   max_length: int, fmt: str | None = None, reader: Any = None, num_proc: int | None = None,
                   use_cache: bool = True, log: Callable[[str], None] | None = None, split: str = "data",
                   seed: int = 0, exclude_tasks: Sequence[str] = ()) -> tuple[Dataset, PrepareStats]:
    """Load and tokenize one split's inputs, or reuse the cached result.

    Args:
        names: the split's input files (any supported format), starter:SPLIT names, or
            `SourceConfig` entries (column mapping, cap, weight).
        tokenizer: the tokenizer with the template's special tokens added.
        template: the template object (`templates.get_template`).
        options: template options.
        max_length: tokens per record at most (cut context first, else dropped).
        fmt: force an input format; None detects it.
        reader: reader options (`ReaderConfig`-shaped: OpenAssistant paths, languages, size limit).
        num_proc: tokenizer worker processes; None chooses.
        use_cache: reuse / write `$INSTRUCTUNE_CACHE/prepared/` entries.
        log: called with one line saying whether the cache was used.
        split: the split's name, for that line.
        seed: seeds the draws of a mixture (`data.mix_seed`).
        exclude_tasks: task categories whose records are left out (`data.heldout_tasks`, on
            the training split); each must be the task of some record.
    Returns:
        (dataset, counts).
    """
    paths = [entry_path(n) for n in names]

    def load():
        records, plans = load_mixture(names, fmt, reader, seed)
        if not records:  # a file of blank lines read with a forced format: say so, not an IndexError
            raise DataError(", ".join(paths), f"{split}: the inputs hold no record")
        if exclude_tasks:
            records = without_tasks(records, exclude_tasks, split, log)
        mixed = len(plans) > 1 or any(p.weight is not None or p.max_records for p in plans)
        return records, [p.as_dict() for p in plans] if mixed else []

    # Each entry's settings change what is read; its path does not (only the bytes count).
    sources = [{k: v for k, v in dataclasses.asdict(as_source(n)).items() if k != "path"} for n in names]
    key = {"max_length": max_length, "format": fmt,
           "reader": dataclasses.asdict(reader) if reader is not None else None}
    if not all(isinstance(n, str) for n in names):
        key.update(sources=sources, mix_seed=seed)
    if exclude_tasks:
        key["exclude_tasks"] = sorted(exclude_tasks)
    ds, stats, info = cached_tokenize(load, paths, tokenizer, template, options, key, num_proc,
                                      use_cache=use_cache)
    if log:
        if stats.mixture:  # from the cache entry on a hit: the table says what the split holds either way
            log(f"{split}: mixture (records per input: read, cap, weight, planned, realised)")
            for line in format_mixture([SourcePlan(**p) for p in stats.mixture]):
                log(line)
        log(describe(split, stats, info))
    return ds, stats


def without_tasks(records: list[Record], tasks: Sequence[str], split: str,
                  log: Callable[[str], None] | None = None) -> list[Record]:
    """`records` without those whose task is in `tasks`, with a line saying how many went.

    Raises:
        ConfigError: a task in `tasks` that no record carries (a misspelt name would
            silently hold nothing out), naming the tasks the records do have.
    """
    have = Counter(r.task for r in records)
    missing = [t for t in tasks if t not in have]
    if missing:
        known = ", ".join(sorted(str(t) for t in have if t)) or "none: give the inputs a task (a task column, or an entry's task)"
        raise ConfigError(f"data.heldout_tasks: no {split} record has task {', '.join(map(repr, missing))}; "
                          f"tasks in the {split} data: {known}")
    held = set(tasks)
    kept = [r for r in records if r.task not in held]
    if log:
        log(f"{split}: {len(records) - len(kept)} records of held-out tasks left out "
            f"({', '.join(f'{t} {have[t]}' for t in tasks)}); {len(kept)} kept")
    return kept


def save_split(ds: Dataset, path: Path) -> None:
    """`save_to_disk` into a temp dir beside `path`, then swap it in (`jsonio.atomic_dir`)."""
    with atomic_dir(path) as tmp:
        ds.save_to_disk(str(tmp))


def load_prepared(path: str | Path) -> Dataset:
    """A split written by `save_split` (`instructune prepare`)."""
    return load_from_disk(str(path))
