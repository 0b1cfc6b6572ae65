"""The run dir's layout: every entry a verb writes into its output dir, in one table
(docs/architecture.md §7).

    train     config.yaml, metrics.jsonl, checkpoints/, adapter/, export/, addons/,
              train_summary.json, tensorboard/, wandb/, mlruns/, augmented.jsonl (+ .dropped.jsonl, .summary.json:
              data.augment.constraints)
    eval      eval.json, eval_generations.jsonl, eval_items.json, ifeval_verdicts.jsonl, ifeval_verdicts_<model>.jsonl,
              ifeval_summary.json (eval --responses)
    report    report.html
    export    model-<quant>.gguf (`instructune export --gguf`)
    synth     config.yaml, records.jsonl, rejects.jsonl, rounds.jsonl / generations.jsonl,
              report.json, refined.jsonl
    quality   accepted.jsonl, flagged.jsonl, deferred.jsonl, rejected.jsonl, report.json
    review    review_decisions.jsonl, reviewed_accepted.jsonl (a person's work: no verb removes it)
    quickstart  data/, and what train, eval and report write
    run       one dir per stage: data/, synth/, augment/, quality/, refine/, train/, eval/ (each laid
              out as its verb's dir), stages/ (one <stage>.json per stage: its cache key, state and
              counts), and report.html

Everything that reads or writes a run dir names its entries through `RunDir` or these names.
One verb's outputs per dir: a verb refuses a dir that holds its outputs (`held`) unless
--overwrite (or --resume, where the verb can continue) says what to do, and `clear(root, verb)`
removes exactly that verb's entries and the entries made from them (`STALE`): a replaced run's
`addons/` would otherwise be attached to the new model by eval, generate, chat and serve. A file
the layout does not name (the user's own) is kept, so `output_dir=.` with `--overwrite` cannot
wipe a project; nor does eval --overwrite ever remove the trained model it writes beside.
"""

from __future__ import annotations

import shutil
from dataclasses import dataclass
from pathlib import Path
from typing import Any


@dataclass(frozen=True)
class Entry:
    """One entry of the layout.

    Attributes:
        pattern: the file or folder name, or a glob for a family of files.
        writer: the verb that writes it (a name two verbs write, config.yaml or report.json,
            has an entry for each).
        marks_run: whether its presence means the dir holds a training run (train refuses such
            a dir without --resume or --overwrite).
    """

    pattern: str
    writer: str
    marks_run: bool = False


CONFIG, METRICS, CHECKPOINTS = "config.yaml", "metrics.jsonl", "checkpoints"
ADAPTER, EXPORT, ADDONS = "adapter", "export", "addons"
SUMMARY, TENSORBOARD = "train_summary.json", "tensorboard"
WANDB, MLRUNS = "wandb", "mlruns"  # train.report_to's offline wandb runs and MLflow file store
AUGMENTED = "augmented.jsonl"  # the constraint-augmented training records, with the two files beside it
EVAL, GENERATIONS, VERDICTS = "eval.json", "eval_generations.jsonl", "ifeval_verdicts.jsonl"
ITEMS = "eval_items.json"  # per-item scores of each evaluated model (evaluate/item_scores.py)
REPORT = "report.html"
GGUF = "model-*.gguf"  # `instructune export --gguf`: model-f16.gguf, model-q8_0.gguf
IFEVAL_SUMMARY = "ifeval_summary.json"
# synth (Self-Instruct's steps log is rounds.jsonl, Evol-Instruct's generations.jsonl)
RECORDS, REJECTS = "records.jsonl", "rejects.jsonl"
ROUNDS, EVOL_GENERATIONS = "rounds.jsonl", "generations.jsonl"
RUN_REPORT, REFINED = "report.json", "refined.jsonl"
# quality: one file per decision
ACCEPTED, FLAGGED, DEFERRED, REJECTED = "accepted.jsonl", "flagged.jsonl", "deferred.jsonl", "rejected.jsonl"
REVIEW_LOG, REVIEWED = "review_decisions.jsonl", "reviewed_accepted.jsonl"
QUICKSTART_DATA = "data"
# `instructune run`: a dir per stage (the verb's own layout inside) and the stage records
PIPELINE_DIRS = ("data", "synth", "augment", "quality", "refine", "train", "eval")
STAGES_DIR = "stages"
# Each stage's dir: ingest writes data/, review writes into quality/ (the review page's files),
# report writes report.html into the run dir itself.
STAGE_DIRS = {"ingest": "data", "synth": "synth", "augment": "augment", "quality": "quality", "refine": "refine",
              "review": "quality", "train": "train", "eval": "eval", "report": ""}

LAYOUT = (
    Entry(CONFIG, "train", marks_run=True),
    Entry(METRICS, "train", marks_run=True),
    Entry(CHECKPOINTS, "train", marks_run=True),
    Entry(ADAPTER, "train", marks_run=True),
    Entry(EXPORT, "train", marks_run=True),
    Entry(ADDONS, "train", marks_run=True),
    Entry(SUMMARY, "train", marks_run=True),
    Entry(TENSORBOARD, "train"),
    Entry(WANDB, "train"),
    Entry(MLRUNS, "train"),
    Entry("augmented.*", "train"),
    Entry(EVAL, "eval"),
    Entry(GENERATIONS, "eval"),
    Entry(ITEMS, "eval"),
    Entry(VERDICTS, "eval"),
    Entry("ifeval_verdicts_*.jsonl", "eval"),  # the base model's, and the tuned one without add-ons
    Entry(IFEVAL_SUMMARY, "eval"),
    Entry(REPORT, "report"),
    Entry(GGUF, "export"),
    Entry(CONFIG, "synth"),
    Entry(RECORDS, "synth"),
    Entry(REJECTS, "synth"),
    Entry(ROUNDS, "synth"),
    Entry(EVOL_GENERATIONS, "synth"),
    Entry(RUN_REPORT, "synth"),
    Entry(REFINED, "synth"),
    Entry(ACCEPTED, "quality"),
    Entry(FLAGGED, "quality"),
    Entry(DEFERRED, "quality"),
    Entry(REJECTED, "quality"),
    Entry(RUN_REPORT, "quality"),
    Entry(REVIEW_LOG, "review"),
    Entry(REVIEWED, "review"),
    Entry(QUICKSTART_DATA, "quickstart"),
    *(Entry(name, "run") for name in PIPELINE_DIRS),
    Entry(STAGES_DIR, "run"),
)
MARKERS = tuple(e.pattern for e in LAYOUT if e.marks_run)
# The verbs whose whole output a verb's run also writes: quickstart trains, evaluates and reports.
RUNS = {"quickstart": ("train", "eval", "report"), "run": ("report",)}
# Outputs made from a verb's outputs: replacing the verb's makes them stale, so its --overwrite
# removes them too (an eval.json of a replaced model would be read as the new one's).
STALE = {"train": ("eval", "report", "export"), "eval": ("report",)}
# A verb's entry that is a dir laid out as another verb's: it is cleared by that verb's rule, so
# what that rule keeps stays (a pipeline's quality/ keeps the review decisions, a person's work).
NESTED = {("run", "quality"): "quality"}


class RunDir:
    """The paths of one run dir: `RunDir(path).export` etc. Nothing is created or checked."""

    def __init__(self, root: str | Path):
        self.root = Path(root)

    config = property(lambda self: self.root / CONFIG)
    metrics = property(lambda self: self.root / METRICS)
    checkpoints = property(lambda self: self.root / CHECKPOINTS)
    adapter = property(lambda self: self.root / ADAPTER)
    export = property(lambda self: self.root / EXPORT)
    addons = property(lambda self: self.root / ADDONS)
    summary = property(lambda self: self.root / SUMMARY)
    augmented = property(lambda self: self.root / AUGMENTED)
    eval = property(lambda self: self.root / EVAL)
    generations = property(lambda self: self.root / GENERATIONS)
    items = property(lambda self: self.root / ITEMS)
    report = property(lambda self: self.root / REPORT)

    def stage_dir(self, stage: str) -> Path:
        """`instructune run`: where a stage writes (RUN/data/, RUN/quality/, ...; the report
        stage RUN itself, for report.html)."""
        return self.root / STAGE_DIRS[stage]

    def stage_record(self, stage: str) -> Path:
        """`instructune run`: the record of a stage (RUN/stages/<stage>.json)."""
        return self.root / STAGES_DIR / f"{stage}.json"

    def verdicts(self, model: str = "tuned") -> Path:
        """IFEval verdicts of `model` ("tuned", or "base", "tuned_plain")."""
        return self.root / (VERDICTS if model == "tuned" else f"ifeval_verdicts_{model}.jsonl")

    def has_export(self) -> bool:
        """Whether a finished training run's merged model is here."""
        return (self.export / "config.json").exists()


def gguf_name(quant: str) -> str:
    """The default file name of a run's GGUF in `quant` ("f16", "q8_0")."""
    return GGUF.replace("*", quant)


def model_path(name: str) -> str:
    """A run dir means its merged `export/`; anything else (a model dir, a hub id) is used as given."""
    run = RunDir(name)
    return str(run.export) if run.has_export() else name


def writers(verb: str) -> list[str]:
    """The verbs whose entries make up `verb`'s output: itself and those it runs (`RUNS`)."""
    return [verb, *RUNS.get(verb, ())]


def outputs(verb: str | None = None, stale: bool = False) -> list[str]:
    """The layout's patterns that `verb` writes (None: every verb), with `stale` also those made
    from them (`STALE`), each once, in layout order.

    Raises:
        ValueError: `verb` writes nothing in the layout.
    """
    if verb is None:
        return list(dict.fromkeys(e.pattern for e in LAYOUT))
    names = writers(verb)
    if stale:
        names += [s for w in names for s in STALE.get(w, ())]
    if not any(e.writer in names for e in LAYOUT):
        raise ValueError(f"{verb!r} writes no run dir entry; verbs: {', '.join(dict.fromkeys(e.writer for e in LAYOUT))}")
    return list(dict.fromkeys(e.pattern for e in LAYOUT if e.writer in names))


def entries(root: str | Path, verb: str | None = None, stale: bool = False) -> list[Path]:
    """The entries of `outputs(verb, stale)` present under `root`, in layout order."""
    root = Path(root)
    if not root.is_dir():
        return []
    return list(dict.fromkeys(p for pattern in outputs(verb, stale) for p in sorted(root.glob(pattern))))


def held(root: str | Path, verb: str) -> list[str]:
    """Names of `verb`'s outputs already in `root` ([] when none): what makes a rerun there
    replace or continue an earlier one."""
    return [p.name for p in entries(root, verb)]


def holds_run(root: str | Path) -> list[str]:
    """Names of the entries that mark `root` as holding a training run ([] when none)."""
    return [m for m in MARKERS if (Path(root) / m).exists()]


def clear(root: str | Path, verb: str = "train") -> list[str]:
    """Remove `verb`'s entries under `root` and those made from them (`STALE`: train's removes
    eval's and the report, eval's the report); files not in the layout stay, and a `NESTED` dir
    keeps what its own verb's rule keeps. Returns their names."""
    removed = []
    for path in entries(root, verb, stale=True):
        if (verb, path.name) in NESTED and path.is_dir():
            clear(path, NESTED[verb, path.name])
            if not any(path.iterdir()):
                path.rmdir()
        elif path.is_dir() and not path.is_symlink():
            shutil.rmtree(path)
        else:
            path.unlink()
        removed.append(path.name)
    return removed


def saved_config(root: str | Path) -> dict[str, Any] | None:
    """The run's saved config.yaml as a dict; None when there is none (not a run dir).

    Raises:
        ValueError: config.yaml is there but is not valid YAML.
    """
    import yaml

    path = RunDir(root).config
    if not path.is_file():
        return None
    try:
        return yaml.safe_load(path.read_text()) or {}
    except yaml.YAMLError as e:
        raise ValueError(f"{path} is not valid YAML: {e}") from None
