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
written under a temp name and renamed into place; a split that keeps no record is an error
that writes nothing.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from instructune.config import Config, entry_label, entry_path
from instructune.data.errors import DataError
from instructune.data.jsonio import write_json
from instructune.data.splits import save_split, split_for
from instructune.data.tokenized import PrepareStats
from instructune.recipes import builders


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
    tokenizer = builders.template_tokenizer(cfg)
    done = {}
    for split, names in (("train", cfg.data.train), ("heldout", cfg.data.heldout)):
        if names:
            if log:  # datasets' bars are off: this line says what the wait is for
                log(f"{split}: preparing {', '.join(map(entry_label, names))} ...")
            done[split] = split_for(cfg.data, cfg.template, tokenizer, names, num_proc, log, split)
    for split, (_, st) in done.items():  # every split is checked before any is written
        check_kept(split, st, getattr(cfg.data, split))
    for split, (ds, _) in done.items():
        save_split(ds, out_dir / split)
    stats = {split: st.as_dict() for split, (_, st) in done.items()}
    write_json(out_dir / "stats.json", stats)
    return stats


def check_kept(split: str, st: PrepareStats, names: list) -> None:
    """A split that keeps no record would train or evaluate on nothing: an error saying why.

    Raises:
        DataError: every record of the split was dropped (no trained token left after
            truncation to data.max_length).
    """
    if not st.kept:
        raise DataError(", ".join(map(entry_path, names)), f"{split}: no record kept, so nothing was written: all {st.records} "
                        f"dropped, no trained token left within data.max_length (raise it)")
