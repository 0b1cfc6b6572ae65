"""Records → a tokenized HF `datasets.Dataset` (columns input_ids, labels, segment_ids, length).

Rendering runs through `Dataset.map` so that `num_proc` worker processes share it; each map
batch is rendered with one tokenizer call (`render.render_batch`). Records whose response
would be truncated away are removed and counted, never trained as all -100.
"""

from __future__ import annotations

import json
import os
from dataclasses import asdict, dataclass, field
from typing import Any

from datasets import Dataset, Features, List, Value

from instructune.data.record import Record
from instructune.data.render import IGNORE, render_batch
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
        mixture: per input of a mixture (several inputs, or a capped or weighted one), its plan and what it
            gave (`mixture.SourcePlan.as_dict`: path, read, max_records, weight, planned,
            planned_share, taken, counted before tokenizing); empty otherwise. Kept with the
            cached split, so a cache hit can still say what the mixture was.
    """

    records: int = 0
    kept: int = 0
    tokens: int = 0
    trained_tokens: int = 0
    truncated: int = 0
    dropped: int = 0
    mixture: list[dict[str, Any]] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        """The counts, and the mixture when there is one."""
        out = asdict(self)
        if not self.mixture:
            del out["mixture"]
        return out


# Below this many records per worker, starting a process costs more than it saves.
RECORDS_PER_PROC = 2000
MAX_AUTO_PROC = 8
# Records per map batch (one tokenizer call each); large enough to amortise per-call costs.
BATCH_SIZE = 1000
# Column types of a rendered dataset: int32 ids and int8 segments take half the disk of int64.
FEATURES = Features({"input_ids": List(Value("int32")), "labels": List(Value("int32")),
                     "segment_ids": List(Value("int8")), "length": Value("int32"),
                     "n_trained": Value("int32"), "truncated": Value("bool"), "dropped": Value("bool"),
                     "task": Value("string")})


def available_cpus() -> int:
    """CPUs this process may run on (its affinity mask where the OS has one)."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # macOS, Windows
        return os.cpu_count() or 1


def resolve_num_proc(num_proc: int | None, n_records: int) -> int:
    """Worker processes for rendering `n_records`.

    Args:
        num_proc: None or 0 to choose: one worker per `RECORDS_PER_PROC` records, at most the
            available CPUs and `MAX_AUTO_PROC`; a positive number is taken as asked, capped at
            the number of map batches (a worker needs at least one).
        n_records: records to render.
    """
    batches = max(1, -(-n_records // BATCH_SIZE))
    if num_proc is None or num_proc <= 0:
        num_proc = min(available_cpus(), MAX_AUTO_PROC, n_records // RECORDS_PER_PROC)
    return max(1, min(num_proc, batches))


def _render_batch(batch: dict[str, list], tokenizer, template, max_length: int | None,
                  opts: TemplateOptions) -> dict[str, list]:
    out: dict[str, list] = {"input_ids": [], "labels": [], "segment_ids": [], "length": [],
                            "n_trained": [], "truncated": [], "dropped": [], "task": []}
    records = [Record.from_dict(json.loads(rec_json)) for rec_json in batch["record"]]
    for rec, r in zip(records, render_batch(records, tokenizer, template, max_length, opts)):
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
        num_proc: worker processes for `Dataset.map`; None chooses (see `resolve_num_proc`).
    Returns:
        (dataset with columns input_ids, labels, segment_ids, length, n_trained, task; stats)
    """
    opts = opts or TemplateOptions()
    if not records:  # `map` on zero rows would not produce the columns
        return Dataset.from_dict({k: [] for k in FEATURES}, features=FEATURES).remove_columns(
            ["truncated", "dropped"]), PrepareStats()
    raw = Dataset.from_dict({"record": [json.dumps(r.to_dict(), ensure_ascii=False) for r in records]})
    procs = resolve_num_proc(num_proc, len(records))
    ds = raw.map(_render_batch, batched=True, batch_size=BATCH_SIZE, remove_columns=["record"],
                 num_proc=procs if procs > 1 else None, features=FEATURES,
                 fn_kwargs={"tokenizer": tokenizer, "template": template,
                            "max_length": max_length, "opts": opts},
                 desc="rendering")
    stats = count(ds)
    ds = ds.filter(lambda d: [not x for x in d], input_columns=["dropped"], batched=True)
    return ds.remove_columns(["truncated", "dropped"]), stats


def count(rendered: Dataset) -> PrepareStats:
    """The counts of a rendered dataset that still has its `truncated` / `dropped` columns
    (read as Arrow columns: iterating a column row by row in Python is far slower)."""
    import pyarrow.compute as pc

    table = rendered.with_format("arrow")[:]
    kept = pc.invert(table["dropped"])

    def total(col: str) -> int:
        return int(pc.sum(pc.filter(table[col], kept)).as_py() or 0)

    return PrepareStats(records=table.num_rows, kept=int(pc.sum(kept).as_py() or 0),
                        tokens=total("length"), trained_tokens=total("n_trained"),
                        truncated=int(pc.sum(table["truncated"]).as_py() or 0),
                        dropped=int(pc.sum(table["dropped"]).as_py() or 0))
