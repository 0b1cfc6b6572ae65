"""Records → a tokenized HF `datasets.Dataset` (columns input_ids, labels, segment_ids, length).

Rendering runs through `Dataset.map` so that `num_proc` parallelises it. Records whose
response would be truncated away are removed and counted, never trained as all -100.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass

from datasets import Dataset

from instructune.data.record import Record
from instructune.data.render import IGNORE, render
from instructune.data.templates import TemplateOptions


@dataclass
class PrepareStats:
    """Counts from tokenizing a set of records.

    Attributes:
        records: records in.
        kept: records out (records - dropped).
        tokens: tokens over kept records.
        trained_tokens: tokens with a label (loss taken).
        truncated: records cut to fit max_length (kept or not).
        dropped: records removed because no trained token survived truncation.
    """

    records: int = 0
    kept: int = 0
    tokens: int = 0
    trained_tokens: int = 0
    truncated: int = 0
    dropped: int = 0

    def as_dict(self) -> dict[str, int]:
        return asdict(self)


def _render_batch(batch: dict[str, list], tokenizer, template, max_length: int | None,
                  opts: TemplateOptions) -> dict[str, list]:
    out: dict[str, list] = {"input_ids": [], "labels": [], "segment_ids": [], "length": [],
                            "n_trained": [], "truncated": [], "dropped": [], "task": []}
    for rec_json in batch["record"]:
        rec = Record.from_dict(json.loads(rec_json))
        r = render(rec, tokenizer, template, max_length, opts)
        out["input_ids"].append(r.input_ids)
        out["labels"].append(r.labels)
        out["segment_ids"].append(r.segment_ids)
        out["length"].append(len(r.input_ids))
        out["n_trained"].append(sum(1 for x in r.labels[1:] if x != IGNORE))
        out["truncated"].append(r.truncated)
        out["dropped"].append(r.dropped)
        out["task"].append(rec.task or "")
    return out


def tokenize_records(records: list[Record], tokenizer, template, max_length: int | None = None,
                     opts: TemplateOptions | None = None, num_proc: int | None = None
                     ) -> tuple[Dataset, PrepareStats]:
    """Render every record; returns the kept rows and the counts.

    Args:
        records: canonical records.
        tokenizer: HF tokenizer (with any template special tokens already added).
        template: template object.
        max_length: cap on tokens per record.
        opts: template options.
        num_proc: worker processes for `Dataset.map`.
    Returns:
        (dataset with columns input_ids, labels, segment_ids, length, n_trained, task; stats)
    """
    opts = opts or TemplateOptions()
    raw = Dataset.from_dict({"record": [json.dumps(r.to_dict(), ensure_ascii=False) for r in records]})
    ds = raw.map(_render_batch, batched=True, batch_size=256, remove_columns=["record"],
                 num_proc=num_proc if num_proc and num_proc > 1 and len(records) > 1000 else None,
                 fn_kwargs={"tokenizer": tokenizer, "template": template,
                            "max_length": max_length, "opts": opts},
                 desc="rendering")
    stats = PrepareStats(records=len(ds), truncated=int(sum(ds["truncated"])), dropped=int(sum(ds["dropped"])))
    ds = ds.filter(lambda d: [not x for x in d], input_columns=["dropped"], batched=True)
    ds = ds.remove_columns(["truncated", "dropped"])
    stats.kept = len(ds)
    stats.tokens = int(sum(ds["length"]))
    stats.trained_tokens = int(sum(ds["n_trained"]))
    return ds, stats
