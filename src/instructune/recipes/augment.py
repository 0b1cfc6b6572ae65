"""`instructune augment --constraints`: records → the same records with verifiable constraints
added and responses that meet them, checked with the eval's strict checkers.

    instructune augment --constraints starter:train --output aug.jsonl
    instructune augment --constraints data.jsonl --output aug.jsonl data.augment.constraints.generate=0.3

Writes OUT (the augmented records, canonical JSONL), OUT's stem + `.dropped.jsonl` (each record
that could not be made compliant, with the reason) and `.summary.json` (types, drops, reasons,
generator calls, records/s). Training takes the same settings as `data.augment.constraints`
(`augment_training_data`, then `trained_on`).
"""

from __future__ import annotations

import dataclasses
import time
from collections import Counter
from pathlib import Path

from instructune.augment.augmenter import Augmenter, Outcome
from instructune.config import Config, ConfigError, ConstraintAugmentConfig, ReaderConfig, SynthConfig
from instructune.data.inputs import load_inputs
from instructune.data.jsonio import write_json, write_jsonl
from instructune.data.record import Record
from instructune.recipes.ingest import beside


def side_paths(output: Path) -> tuple[Path, Path]:
    """(dropped records, summary) beside `output`."""
    return beside(output, "dropped.jsonl"), beside(output, "summary.json")


def summarize(outcomes: list[Outcome], seconds: float) -> dict:
    """Counts of an augmentation: kept and dropped records, drops by reason, and per type how
    often it was drawn, how often it ended in a kept record, and the share dropped."""
    kept = [o for o in outcomes if o.record]
    drawn = Counter(t for o in outcomes for t in o.drawn)
    in_kept = Counter(c["id"] for o in kept for c in o.record.meta["augment"]["constraints"])
    dropped_with = Counter(t for o in outcomes if o.dropped for t in o.drawn)
    generated = [o for o in kept if any(c["how"] == "generate" for c in o.record.meta["augment"]["constraints"])]
    calls = sum(o.calls for o in outcomes)
    return {
        # records: augmentations tried (sources × copies); sources: distinct input records.
        "records": len(outcomes), "sources": len({o.source for o in outcomes}), "kept": len(kept),
        "dropped": len(outcomes) - len(kept),
        "reasons": dict(Counter(o.dropped for o in outcomes if o.dropped).most_common()),
        # Per type: drawn for a record; in a kept record; left out of a kept record (it did not
        # fit the response); and the share of its draws whose record was dropped.
        "types": {t: {"drawn": drawn[t], "kept": in_kept[t], "left_out": drawn[t] - in_kept[t] - dropped_with[t],
                      "dropped_share": round(dropped_with[t] / drawn[t], 4)} for t in sorted(drawn)},
        "constraints_per_record": dict(sorted(Counter(
            len(o.record.meta["augment"]["constraints"]) for o in kept).items())),
        "generator_calls": calls,
        "calls_per_generated_record": round(calls / len(generated), 2) if generated else None,
        "seconds": round(seconds, 3), "records_per_second": round(len(outcomes) / max(seconds, 1e-9), 2),
    }


def augment_records(records: list[Record], settings: ConstraintAugmentConfig, synth: SynthConfig
                    ) -> tuple[list[Outcome], float]:
    """Outcomes for `records` and the seconds taken; a generator is built from `synth` only
    when `settings.generate` asks for one."""
    generator = None
    if settings.generate > 0:
        from instructune.synth.backends import build_generator

        generator = build_generator(synth)
    t0 = time.perf_counter()
    outcomes = Augmenter(settings).augment_all(records, generator)
    return outcomes, time.perf_counter() - t0


def write(outcomes: list[Outcome], output: Path, seconds: float) -> dict:
    """Write the kept records, the drops and the summary; returns the summary."""
    dropped_path, summary_path = side_paths(output)
    write_jsonl(output, (o.record.to_dict() for o in outcomes if o.record))
    write_jsonl(dropped_path, ({"source": o.source, "reason": o.dropped, "drawn": o.drawn}
                               for o in outcomes if o.dropped))
    summary = {**summarize(outcomes, seconds), "output": str(output), "dropped_path": str(dropped_path)}
    write_json(summary_path, summary)
    return summary


def main(inputs: list[str], output: str | Path, settings: ConstraintAugmentConfig, synth: SynthConfig,
         fmt: str | None = None, reader: ReaderConfig | None = None, overwrite: bool = False) -> dict:
    """Augment the records of `inputs` into `output`; returns the summary.

    Raises:
        ConfigError: `output` exists without `overwrite`, or no record could be augmented.
    """
    output = Path(output)
    if output.exists() and not overwrite:
        raise ConfigError(f"{output} exists; pass --overwrite to replace it (and its .dropped.jsonl and "
                          f".summary.json), or choose another --output")
    records = load_inputs(inputs, fmt, reader)
    outcomes, seconds = augment_records(records, settings, synth)
    summary = write(outcomes, output, seconds)
    if not summary["kept"]:
        raise ConfigError(f"augment kept 0 of {len(records)} records (reasons: {summary['reasons']}); "
                          f"see {summary['dropped_path']}")
    return summary


def trained_on(cfg: Config, path: Path) -> Config:
    """`cfg` training on the augmented records in `path` (beside the originals when
    `keep_original`), with augmentation off so that nothing augments twice."""
    settings = cfg.data.augment.constraints
    train = [*cfg.data.train, str(path)] if settings.keep_original else [str(path)]
    off = dataclasses.replace(cfg.data.augment, constraints=dataclasses.replace(settings, enabled=False))
    return dataclasses.replace(cfg, data=dataclasses.replace(cfg.data, train=train, augment=off))


def augment_training_data(cfg: Config, path: Path) -> dict:
    """Augment `cfg`'s training records into `path` (and the files beside it); the summary."""
    records = load_inputs(cfg.data.train, cfg.data.format, cfg.data.reader, cfg.data.mix_seed)
    outcomes, seconds = augment_records(records, cfg.data.augment.constraints, cfg.synth)
    summary = write(outcomes, path, seconds)
    if not summary["kept"]:
        raise ConfigError(f"data.augment.constraints: kept 0 of {len(records)} training records "
                          f"(reasons: {summary['reasons']}); see {summary['dropped_path']}")
    return summary


def augmentation_line(summary: dict, path: Path) -> str:
    """What train and quickstart print once the training records are augmented."""
    dropped = f" (dropped {summary['dropped']}: {summary['reasons']})" if summary["dropped"] else ""
    return (f"constraint augmentation: {summary['kept']} augmented records from {summary['sources']} "
            f"training records → {path}{dropped}")
