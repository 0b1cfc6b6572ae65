"""`instructune prepare`: records → tokenized Arrow datasets on disk, with stats.

    DIR/train/      datasets.save_to_disk (input_ids, labels, segment_ids, length, n_trained, task)
    DIR/heldout/
    DIR/stats.json  per split: records, kept, tokens, trained_tokens, truncated, dropped
"""

from __future__ import annotations

from pathlib import Path

from datasets import Dataset, load_from_disk

from instructune.config import Config
from instructune.data.inputs import load_inputs
from instructune.data.jsonio import write_json
from instructune.data.templates import TemplateOptions, get_template
from instructune.data.tokenized import PrepareStats, tokenize_records
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


def tokenize_split(cfg: Config, tokenizer, names: list[str], num_proc: int | None = None
                   ) -> tuple[Dataset, PrepareStats]:
    """Load and tokenize one split's inputs."""
    records = load_inputs(names, cfg.data.format)
    return tokenize_records(records, tokenizer, get_template(cfg.template.name), cfg.data.max_length,
                            template_options(cfg), num_proc=num_proc)


def main(cfg: Config, out_dir: str | Path, num_proc: int | None = None) -> dict[str, dict[str, int]]:
    """Write the prepared splits under `out_dir`; returns the stats per split."""
    out_dir = Path(out_dir)
    tokenizer = template_tokenizer(cfg)
    stats = {}
    for split, names in (("train", cfg.data.train), ("heldout", cfg.data.heldout)):
        if not names:
            continue
        ds, st = tokenize_split(cfg, tokenizer, names, num_proc)
        ds.save_to_disk(str(out_dir / split))
        stats[split] = st.as_dict()
    write_json(out_dir / "stats.json", stats)
    return stats


def load_prepared(path: str | Path) -> Dataset:
    """A split written by `main`."""
    return load_from_disk(str(path))
