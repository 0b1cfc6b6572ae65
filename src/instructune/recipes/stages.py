"""The stages of `instructune run`, one entry each in `STAGES` (docs/architecture.md §7).

A stage is four small functions: the config settings it reads (`settings`), the files whose
content it reads (`inputs`), its run (`run`: the verb's own recipe function, writing into the
stage's dir, returning its lineage counts) and what it hands on (`hand_on`: the record files
the next stage reads, the training pool). `hand_on` runs for a skipped stage too, so the pool
a cached stage hands on is the same files its run wrote.

Lineage counts, one dict per stage: {"in": records read, "out": records handed on,
"reasons": {why a record left or waits: n}, "detail": {a few figures of the stage}}.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from rich.console import Console

from instructune import rundir
from instructune.config import Config, ConfigError, to_dict
from instructune.config.diff import flatten
from instructune.config.source import entry_path
from instructune.data.starter import resolve_input


class ReviewStop(Exception):
    """The review stage stops the pipeline: flagged records wait for a person.

    Attributes:
        counts: the stage's lineage counts so far (flagged, pending).
        message: what to tell the user (the review command, the count, how to continue).
    """

    def __init__(self, counts: dict[str, Any], message: str):
        super().__init__(message)
        self.counts, self.message = counts, message


@dataclass
class Flow:
    """What passes from stage to stage.

    Attributes:
        cfg: the resolved config.
        run: the pipeline's run dir.
        console: where the verbs print.
        say: one plain line to the user.
        pool: the record files the next stage reads (the training data so far).
        heldout: the ingested held-out records ([] when data.heldout is empty).
        resume_hint: the command that continues this pipeline (printed by the review stop).
    """

    cfg: Config
    run: rundir.RunDir
    console: Console
    say: Callable[[str], None]
    pool: list[str] = field(default_factory=list)
    heldout: list[str] = field(default_factory=list)
    resume_hint: str = "instructune run --resume"

    def dir(self, stage: str) -> Path:
        return self.run.stage_dir(stage)

    def pool_config(self, **train_changes: Any) -> Config:
        """`cfg` reading the pool as canonical records (`data.format` is the raw files' format)."""
        d = self.cfg.data
        data = dataclasses.replace(d, train=list(self.pool), heldout=list(self.heldout), format="records",
                                   prepared="", **train_changes)
        return dataclasses.replace(self.cfg, data=data)


@dataclass(frozen=True)
class Stage:
    """One stage: see the module docstring.

    Attributes:
        settings: config → the settings it reads (dotted keys → values): part of its cache key.
        inputs: flow → the files it reads: their content is part of its cache key.
        run: (flow, resume) → lineage counts; `resume` continues a killed run of this stage.
        hand_on: updates `flow.pool` / `flow.heldout` to what the stage wrote.
    """

    settings: Callable[[Config], dict[str, Any]]
    inputs: Callable[[Flow], list[Path]]
    run: Callable[[Flow, bool], dict[str, Any]]
    hand_on: Callable[[Flow], None] = lambda flow: None


def pick(cfg: Config, *keys: str) -> dict[str, Any]:
    """The flat settings of `cfg` under each dotted key ("quality", "data.reader", ...)."""
    flat = flatten(to_dict(cfg))
    return {k: v for k, v in flat.items() if any(k == p or k.startswith(p + ".") for p in keys)}


def lineage(n_in: int, n_out: int, reasons: dict[str, int] | None = None, **detail: Any) -> dict[str, Any]:
    """One stage's lineage counts (module docstring)."""
    return {"in": n_in, "out": n_out, "reasons": {k: v for k, v in (reasons or {}).items() if v}, "detail": detail}


def count_records(files: list[str | Path]) -> int:
    """Records (non-blank lines) in canonical JSONL files."""
    n = 0
    for f in files:
        with open(f, encoding="utf-8") as fh:
            n += sum(1 for line in fh if line.strip())
    return n


# --- ingest: raw files → RUN/data/train.jsonl, heldout.jsonl --------------------------------

def raw_files(cfg: Config, split: str) -> list[str]:
    """The paths of `data.<split>` (the ingest stage reads plain files; a column mapping, cap or
    weight is a training-time mixture, which the pipeline does not take).

    Raises:
        ConfigError: an entry with settings, naming it.
    """
    entries = getattr(cfg.data, split)
    for i, e in enumerate(entries):
        if not isinstance(e, str):
            raise ConfigError(f"data.{split}[{i}]: the ingest stage reads plain files; {entry_path(e)!r} has "
                              f"settings (columns, cap or weight): give its path alone")
    return list(entries)


def ingest_run(flow: Flow, resume: bool) -> dict[str, Any]:
    from instructune.recipes import ingest

    cfg, counts = flow.cfg, {}
    for split in ("train", "heldout"):
        files = raw_files(cfg, split)
        if files:
            counts[split] = ingest.main(files, flow.dir("ingest") / f"{split}.jsonl", cfg.data.format,
                                        reader=cfg.data.reader, on_error=cfg.pipeline.on_error)
    train = counts["train"]
    dropped = {**{f"rejected row: {r}": n for r, n in train["rejected"].items()},
               **{f"left out by reader filter: {r}": n for r, n in train["skipped"].items()}}
    heldout = counts.get("heldout", {}).get("records", 0)
    flow.say(f"ingested {train['records']} training records ({', '.join(sorted(set(train['formats'].values())))}) "
             f"and {heldout} held-out records → {flow.dir('ingest')}")
    return lineage(train["records"] + sum(dropped.values()), train["records"], dropped, heldout=heldout,
                   tasks=train["tasks"])


def ingest_hand_on(flow: Flow) -> None:
    flow.pool = [str(flow.dir("ingest") / "train.jsonl")]
    flow.heldout = [str(flow.dir("ingest") / "heldout.jsonl")] if flow.cfg.data.heldout else []


INGEST = Stage(
    settings=lambda cfg: pick(cfg, "data.train", "data.heldout", "data.format", "data.reader", "pipeline.on_error"),
    inputs=lambda flow: [Path(resolve_input(f)) for s in ("train", "heldout") for f in raw_files(flow.cfg, s)],
    run=ingest_run, hand_on=ingest_hand_on)


# --- synth: the pool as seeds (Self-Instruct) or starting pool (Evol-Instruct) → RUN/synth/ ---

def synth_config(flow: Flow) -> Config:
    """`cfg` with the method reading the pool; refining is the refine stage's, not synth's."""
    cfg = flow.cfg
    if cfg.pipeline.synth_method == "self-instruct":
        method = {"self_instruct": dataclasses.replace(cfg.self_instruct, seeds=list(flow.pool),
                                                       seed_format="records")}
    else:
        method = {"evol": dataclasses.replace(cfg.evol, input=list(flow.pool), input_format="records")}
    return dataclasses.replace(cfg, refine=dataclasses.replace(cfg.refine, rounds=0), **method)


def synth_run(flow: Flow, resume: bool) -> dict[str, Any]:
    from instructune.recipes import synth

    out, method = flow.dir("synth"), flow.cfg.pipeline.synth_method
    resume = resume and bool(rundir.held(out, "synth"))
    report = synth.main(synth_config(flow), method, out, resume=resume, overwrite=not resume, say=flow.say)
    synth.print_report(report, out, flow.console)
    seeds = count_records(flow.pool)
    made = report["records"]
    kept = seeds + made if flow.cfg.pipeline.keep_ingested else made
    return lineage(seeds, kept, {f"candidate rejected: {r}": n for r, n in report["reasons"].items()},
                   method=method, made=made, requests=report["requests"],
                   candidates_rejected=report["rejected"])


def synth_hand_on(flow: Flow) -> None:
    made = str(flow.dir("synth") / rundir.RECORDS)
    flow.pool = [*flow.pool, made] if flow.cfg.pipeline.keep_ingested else [made]


def synth_settings(cfg: Config) -> dict[str, Any]:
    method = "self_instruct" if cfg.pipeline.synth_method == "self-instruct" else "evol"
    return pick(cfg, "synth", method, "pipeline.synth_method", "pipeline.keep_ingested")


SYNTH = Stage(settings=synth_settings, inputs=lambda flow: [Path(p) for p in flow.pool], run=synth_run,
              hand_on=synth_hand_on)


# --- augment: verifiable constraints added to the pool → RUN/augment/augmented.jsonl ---------

def augmented_path(flow: Flow) -> Path:
    return flow.dir("augment") / rundir.AUGMENTED


def augment_run(flow: Flow, resume: bool) -> dict[str, Any]:
    from instructune.recipes import augment

    cfg, out = flow.cfg, augmented_path(flow)
    settings = cfg.data.augment.constraints
    summary = augment.main(flow.pool, out, settings, cfg.synth, "records", cfg.data.reader, overwrite=True)
    flow.say(augment.augmentation_line(summary, out))
    n_in = summary["sources"]
    return lineage(n_in, summary["kept"] + (n_in if settings.keep_original else 0),
                   {f"augmentation dropped: {r}": n for r, n in summary["reasons"].items()},
                   augmented=summary["kept"], keep_original=settings.keep_original)


def augment_hand_on(flow: Flow) -> None:
    out = str(augmented_path(flow))
    flow.pool = [*flow.pool, out] if flow.cfg.data.augment.constraints.keep_original else [out]


def augment_settings(cfg: Config) -> dict[str, Any]:
    keys = ["data.augment.constraints", "data.reader"]
    return pick(cfg, *keys, *(["synth"] if cfg.data.augment.constraints.generate > 0 else []))


AUGMENT = Stage(settings=augment_settings, inputs=lambda flow: [Path(p) for p in flow.pool], run=augment_run,
                hand_on=augment_hand_on)


# --- quality: score the pool → RUN/quality/accepted / flagged / deferred / rejected.jsonl ---

def quality_run(flow: Flow, resume: bool) -> dict[str, Any]:
    from instructune.recipes import quality

    out = flow.dir("quality")
    report = quality.main(flow.pool_config(), flow.pool, out, flow.console, overwrite=True)
    quality.print_summary(report, out, flow.console)
    d, why = report["decisions"], report["reasons"]
    reasons = {**{f"rejected: {c}": n for c, n in why["reject"].items()},
               **{f"flagged for review: {c}": n for c, n in why["flag"].items()},
               **{f"deferred: {c}": n for c, n in why["defer"].items()}}
    return lineage(report["records"], d["accept"], reasons, decisions=d)


def quality_settings(cfg: Config) -> dict[str, Any]:
    return pick(cfg, "quality", "data.reader", *(["synth"] if cfg.quality.judge else []))


QUALITY = Stage(settings=quality_settings, inputs=lambda flow: [Path(p) for p in flow.pool], run=quality_run,
                hand_on=lambda flow: setattr(flow, "pool", [str(flow.dir("quality") / rundir.ACCEPTED)]))


# --- refine: Self-Refine the accepted records → RUN/refine/refined.jsonl --------------------

def refine_run(flow: Flow, resume: bool) -> dict[str, Any]:
    from instructune.data.inputs import load_inputs
    from instructune.data.jsonio import write_json, write_jsonl
    from instructune.recipes import quality

    records = load_inputs(flow.pool, "records")
    cfg = flow.cfg
    refined, stats = quality.refine(cfg, records, quality.scoring_set(cfg, records), flow.console)
    out = flow.dir("refine")
    write_json(out / "report.json", stats)  # before the records: the records mark the stage's output
    write_jsonl(out / rundir.REFINED, (r.to_dict() for r in refined))
    return lineage(len(records), len(refined), **stats)


REFINE = Stage(settings=lambda cfg: pick(cfg, "refine", "synth", "quality"),
               inputs=lambda flow: [Path(p) for p in flow.pool], run=refine_run,
               hand_on=lambda flow: setattr(flow, "pool", [str(flow.dir("refine") / rundir.REFINED)]))


# --- review: a person decides the flagged records (instructune review RUN/quality) ----------

def review_run(flow: Flow, resume: bool) -> dict[str, Any]:
    """Stop for review while flagged records are pending, unless continuing (`run --resume`):
    then train on the decisions recorded so far (approved and edited records join the pool;
    rejected and still pending ones stay out)."""
    from instructune.quality.review_store import ReviewStore

    out = flow.dir("review")
    store = ReviewStore(out)
    c, flagged = store.counts(), len(store.records)
    if c["pending"] and not resume:
        counts = lineage(flagged, 0, {"waiting for review": c["pending"]}, decided=flagged - c["pending"])
        raise ReviewStop(counts, f"review: {c['pending']} of {flagged} flagged records wait for a decision: "
                                 f"instructune review {out}\nthen continue with: {flow.resume_hint}")
    if flagged:
        store.write_accepted()  # the approved and edited records, as the page writes them
    return lineage(flagged, c["approve"] + c["edit"], {"rejected by the reviewer": c["reject"],
                                                       "left pending at --resume": c["pending"]},
                   approved=c["approve"], edited=c["edit"])


def review_hand_on(flow: Flow) -> None:
    reviewed = flow.dir("review") / rundir.REVIEWED
    if reviewed.is_file() and reviewed.stat().st_size:
        flow.pool = [*flow.pool, str(reviewed)]


REVIEW = Stage(settings=lambda cfg: {},
               inputs=lambda flow: [flow.dir("review") / rundir.FLAGGED, flow.dir("review") / rundir.REVIEW_LOG],
               run=review_run, hand_on=review_hand_on)


# --- train: the pool → RUN/train/ (a train run dir) -----------------------------------------

def train_config(flow: Flow) -> Config:
    """The training config: the pool, the ingested held-out records, RUN/train; with an augment
    stage, augmentation is off (the pool holds its records already)."""
    changes: dict[str, Any] = {}
    if "augment" in flow.cfg.pipeline.stages:
        a = flow.cfg.data.augment
        changes["augment"] = dataclasses.replace(a, constraints=dataclasses.replace(a.constraints, enabled=False))
    cfg = flow.pool_config(**changes)
    return dataclasses.replace(cfg, output_dir=str(flow.dir("train")))


def train_run(flow: Flow, resume: bool) -> dict[str, Any]:
    from instructune.recipes import train
    from instructune.train.checkpoint import list_checkpoints

    cfg = train_config(flow)
    # A killed train stage continues from its newest checkpoint through train's own resume;
    # killed before its first checkpoint, it starts over.
    resume = resume and bool(list_checkpoints(rundir.RunDir(cfg.output_dir).checkpoints))
    if resume:
        flow.say(f"continuing the killed training run in {cfg.output_dir} from its newest checkpoint")
    summary = train.main(cfg, resume=resume, overwrite=not resume)
    n_in, rows = count_records(flow.pool), summary["data"]["train_records"]
    final = summary["final"]
    flow.say(f"trained {summary['steps']} steps on {rows} records; final loss {final.get('loss', float('nan')):.4f}")
    return lineage(n_in, rows, {"left out by prepare (no token left to train on)": max(n_in - rows, 0)},
                   steps=summary["steps"], loss=final.get("loss"), eval_loss=final.get("eval_loss"))


def train_settings(cfg: Config) -> dict[str, Any]:
    """What training reads; of `eval`, the held-out batch size, and the generation probe's
    settings only when the probe runs (`eval.generate_every`)."""
    probe = ["eval.generate_records", "eval.ifeval_prompts", "eval.max_new_tokens"] if cfg.eval.generate_every else []
    return pick(cfg, "model", "data", "template", "lora", "train", "addons", "objectives", "eval.batch_size",
                "eval.generate_every", *probe)


TRAIN = Stage(settings=train_settings, inputs=lambda flow: [Path(p) for p in [*flow.pool, *flow.heldout]],
              run=train_run)


# --- eval: base vs tuned on the held-out records → RUN/eval/ --------------------------------

def eval_run(flow: Flow, resume: bool) -> dict[str, Any]:
    from instructune.evaluate.results_table import print_results
    from instructune.recipes import evaluate

    cfg = train_config(flow)
    results = evaluate.main(cfg, tuned=cfg.output_dir, out_dir=flow.dir("eval"), console=flow.console,
                            overwrite=True)
    print_results(results, flow.console)
    n = sum(results["meta"]["sets"].values())
    detail = {m: {k: results[m].get(k) for k in ("response_loss", "rouge_l", "exact_match")}
              for m in ("base", "tuned") if m in results}
    if "ifeval" in cfg.eval.suites:
        detail["ifeval_prompts"] = results["meta"]["ifeval_prompts"]
    return lineage(n, n, **detail)


EVAL = Stage(settings=lambda cfg: pick(cfg, "eval", "model", "template", "data.max_length"),
             inputs=lambda flow: [flow.dir("train") / rundir.SUMMARY, *map(Path, flow.heldout)], run=eval_run)


# --- report: RUN/report.html ---------------------------------------------------------------

def report_run(flow: Flow, resume: bool) -> dict[str, Any]:
    from instructune.evaluate.lineage import pipeline_report
    from instructune.recipes.stage_cache import read_record

    records = {s: r for s in flow.cfg.pipeline.stages if (r := read_record(flow.run.stage_record(s)))}
    page = pipeline_report({s: {"counts": r.counts, "seconds": r.seconds} for s, r in records.items()
                            if r.state == "done"}, flow.dir("train"), flow.dir("eval"))
    out = flow.run.report
    from instructune.atomic import atomic_path

    with atomic_path(out) as tmp:
        tmp.write_text(page)
    flow.say(f"wrote {out}")
    return lineage(0, 0)


REPORT = Stage(settings=lambda cfg: {},
               inputs=lambda flow: [flow.dir("eval") / rundir.EVAL, flow.dir("train") / rundir.METRICS],
               run=report_run)


STAGES: dict[str, Stage] = {"ingest": INGEST, "synth": SYNTH, "augment": AUGMENT, "quality": QUALITY,
                            "refine": REFINE, "review": REVIEW, "train": TRAIN, "eval": EVAL, "report": REPORT}
