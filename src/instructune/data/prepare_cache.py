"""A content-addressed cache of tokenized splits, under `$INSTRUCTUNE_CACHE/prepared/<key>/`.

    ds, stats, info = cached_tokenize(load, ["data.jsonl"], tokenizer, get_template("chat"), opts,
                                      {"max_length": 512, "format": None})
    info.hit   # True when an earlier run had tokenized exactly this

The key is a SHA-256 over everything the rendered arrays depend on, so any change misses:
- data: the bytes of every input file, in order (not their names or dates); for a dataset
  input (hf:, a save_to_disk folder) the bytes of the Arrow files behind it;
- template: its name, its special tokens and every `TemplateOptions` field;
- tokenizer: its whole serialised state (vocabulary, merges, added tokens, normaliser,
  post-processor), chat template and special tokens; not its name, which can point at
  different files over time;
- config: whatever else the caller passes (max_length, forced format, reader options);
- code: the source of the `instructune.data` package (readers, templates, renderer), so an
  upgrade that reads or renders differently never serves stale arrays.

An entry holds `dataset/` (`Dataset.save_to_disk`), `stats.json` (`PrepareStats`) and
`key.json` (what went into the key, readable). It is written in a temp dir beside its final
place and renamed there in one step: a crash leaves no half entry, and two runs that build
the same entry at once both succeed (the second keeps the first's). Clear the cache with
`rm -rf $INSTRUCTUNE_CACHE/prepared`.
"""

from __future__ import annotations

import hashlib
import json
import shutil
from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from datasets import Dataset, load_from_disk

from instructune.cache import cache_dir
from instructune.atomic import atomic_dir
from instructune.data.dataset_inputs import data_files, is_dataset_input
from instructune.data.jsonio import to_json
from instructune.data.record import Record
from instructune.data.starter import resolve_input
from instructune.data.templates import TemplateOptions
from instructune.data.tokenized import PrepareStats, tokenize_records

DATA_PACKAGE = Path(__file__).parent
KEY_VERSION = 1  # bump when the entry layout changes


@dataclass
class CacheInfo:
    """Where a split came from.

    Attributes:
        key: the entry's key (hex SHA-256).
        path: the entry's directory (None when caching is off).
        hit: True when the entry existed and nothing was tokenized.
    """

    key: str
    path: Path | None
    hit: bool


def prepared_root() -> Path:
    """`$INSTRUCTUNE_CACHE/prepared` (default `~/.cache/instructune/prepared`)."""
    return cache_dir() / "prepared"


def file_digest(path: str | Path) -> str:
    """SHA-256 of a file's bytes (read in 1 MiB chunks)."""
    h = hashlib.sha256()
    with open(path, "rb") as f:
        while chunk := f.read(1 << 20):
            h.update(chunk)
    return h.hexdigest()


def input_digest(path: str) -> str:
    """SHA-256 of an input's bytes: the file's, or for a dataset input (hf:, a save_to_disk
    folder, an .arrow file) that of the Arrow files holding its rows, in order."""
    if not is_dataset_input(path):
        return file_digest(path)
    return hashlib.sha256("".join(file_digest(f) for f in data_files(path)).encode()).hexdigest()


def tokenizer_fingerprint(tokenizer) -> str:
    """SHA-256 of what decides a tokenizer's ids: its serialised backend (vocabulary, merges,
    added tokens, normaliser, pre-tokenizer, post-processor), chat template and special tokens.
    Slow (Python) tokenizers, which have no serialised backend, hash their vocabulary instead."""
    h = hashlib.sha256(type(tokenizer).__name__.encode())
    backend = getattr(tokenizer, "backend_tokenizer", None)
    if backend is not None:
        h.update(backend.to_str().encode())
    else:
        h.update(json.dumps(sorted(tokenizer.get_vocab().items())).encode())
    h.update(json.dumps(getattr(tokenizer, "chat_template", None)).encode())
    specials = {k: str(v) for k, v in sorted(tokenizer.special_tokens_map.items())}
    h.update(json.dumps(specials, sort_keys=True).encode())
    return h.hexdigest()


def code_fingerprint() -> str:
    """SHA-256 of every Python file of the `instructune.data` package, by relative path."""
    h = hashlib.sha256()
    for f in sorted(DATA_PACKAGE.rglob("*.py")):
        h.update(str(f.relative_to(DATA_PACKAGE)).encode() + b"\0" + f.read_bytes() + b"\0")
    return h.hexdigest()


def split_key(names: list[str], tokenizer, template, opts: TemplateOptions,
              config: dict[str, Any]) -> tuple[str, dict[str, Any]]:
    """(key, the readable parts it hashes) for one split.

    Args:
        names: input names (files or "starter:SPLIT"), in order.
        tokenizer: the HF tokenizer, template tokens already added.
        template: the template object.
        opts: template options.
        config: other settings the arrays depend on (JSON-serialisable).
    Raises:
        FileNotFoundError: an input file is missing.
    """
    parts = {
        "version": KEY_VERSION,
        "data": [{"input": n, "sha256": input_digest(resolve_input(n))} for n in names],
        "template": {"name": template.name, "special_tokens": list(template.special_tokens),
                     "options": asdict(opts)},
        "tokenizer": {"name": getattr(tokenizer, "name_or_path", ""), "sha256": tokenizer_fingerprint(tokenizer)},
        "config": config,
        "code": code_fingerprint(),
    }
    # Input names are shown in key.json but only the bytes they hold count.
    hashed = {**parts, "data": [d["sha256"] for d in parts["data"]],
              "tokenizer": parts["tokenizer"]["sha256"]}
    key = hashlib.sha256(json.dumps(hashed, sort_keys=True).encode()).hexdigest()
    return key, parts


def load_entry(path: Path) -> tuple[Dataset, PrepareStats] | None:
    """The dataset and counts of a cache entry; None when there is none or it is unreadable."""
    if not (path / "stats.json").exists():
        return None
    try:
        stats = PrepareStats(**json.loads((path / "stats.json").read_text()))
        return load_from_disk(str(path / "dataset")), stats
    except (OSError, ValueError, TypeError):
        return None


def save_entry(path: Path, ds: Dataset, stats: PrepareStats, parts: dict[str, Any]) -> None:
    """Write an entry atomically: into a temp dir beside `path`, then one rename."""
    # "keep": another run may write the same entry first; theirs holds the same arrays.
    with atomic_dir(path, if_exists="keep") as tmp:
        ds.save_to_disk(str(tmp / "dataset"))
        (tmp / "key.json").write_text(json.dumps(parts, indent=2, ensure_ascii=False) + "\n")
        (tmp / "stats.json").write_text(to_json(stats.as_dict(), indent=2) + "\n")


def _named(found: tuple[Dataset, PrepareStats], names: list[str]) -> tuple[Dataset, PrepareStats]:
    """An entry's dataset and counts, its mixture plan naming `names`: the entry is keyed by the
    inputs' bytes, so it may have been written (earlier, or just now by another process) by a
    run that read byte-identical files under other names, and this run must report its own."""
    ds, stats = found
    stats.mixture = [{**p, "path": name} for p, name in zip(stats.mixture, names)]
    return ds, stats


def _tokenize(load: Callable[[], tuple[list[Record], list[dict[str, Any]]]], tokenizer, template,
              opts: TemplateOptions, config: dict[str, Any], num_proc: int | None) -> tuple[Dataset, PrepareStats]:
    """Read the split and tokenize it; its mixture plan goes into the counts."""
    records, mixture = load()
    ds, stats = tokenize_records(records, tokenizer, template, config["max_length"], opts, num_proc)
    stats.mixture = mixture
    return ds, stats


def cached_tokenize(load: Callable[[], tuple[list[Record], list[dict[str, Any]]]], names: list[str], tokenizer, template,
                    opts: TemplateOptions, config: dict[str, Any], num_proc: int | None = None,
                    use_cache: bool = True, root: Path | None = None
                    ) -> tuple[Dataset, PrepareStats, CacheInfo]:
    """Tokenize a split, or reuse the cached result of an identical earlier run.

    Args:
        load: reads the split: (its records, its mixture plan per input or []); called only
            on a miss. The plan is kept in the entry's counts.
        names: the input names `load` reads (their bytes go into the key; a mixture plan read
            from the entry names them, whoever wrote it).
        tokenizer: HF tokenizer with the template's special tokens added.
        template: template object.
        opts: template options.
        config: the settings besides these that change the arrays; must hold "max_length".
        num_proc: worker processes for tokenizing (see `tokenized.resolve_num_proc`).
        use_cache: False tokenizes without reading or writing the cache.
        root: cache root (default `prepared_root()`).
    Returns:
        (dataset, counts, where it came from); on a miss the dataset is read back from the
        new entry, so a hit and a miss hand out the same thing.
    """
    key, parts = split_key(names, tokenizer, template, opts, config)
    if not use_cache:
        ds, stats = _tokenize(load, tokenizer, template, opts, config, num_proc)
        return ds, stats, CacheInfo(key, None, False)
    path = (root or prepared_root()) / key
    found = load_entry(path)
    if found is not None:
        return *_named(found, names), CacheInfo(key, path, True)
    if path.exists():  # damaged by hand (renames never leave a half entry): rebuild it
        shutil.rmtree(path, ignore_errors=True)
    ds, stats = _tokenize(load, tokenizer, template, opts, config, num_proc)
    save_entry(path, ds, stats, parts)
    found = load_entry(path)
    if found is None:
        raise OSError(f"cache entry {path} could not be read back after writing it")
    return *_named(found, names), CacheInfo(key, path, False)
