"""The run dir's layout: every entry a run writes, in one table (docs/architecture.md §7).

    train   config.yaml, metrics.jsonl, checkpoints/, adapter/, export/, addons/,
            train_summary.json, tensorboard/
    eval    eval.json, eval_generations.jsonl, ifeval_verdicts.jsonl, ifeval_verdicts_<model>.jsonl
    report  report.html

Everything that reads or writes a run dir names its entries through `RunDir`, and `clear`
(what `train --overwrite` does) removes exactly the entries of `LAYOUT`, so an output added
here can never be left behind by a replaced run: the replaced run's `addons/` would otherwise
be attached to the new model by eval, generate, chat and serve. A file the layout does not
name (the user's own) is kept, so `output_dir=.` with `--overwrite` cannot wipe a project.
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
        writer: the verb that writes it.
        marks_run: whether its presence means the dir holds a training run (train refuses such
            a dir without --resume or --overwrite).
    """

    pattern: str
    writer: str
    marks_run: bool = False


CONFIG, METRICS, CHECKPOINTS = "config.yaml", "metrics.jsonl", "checkpoints"
ADAPTER, EXPORT, ADDONS = "adapter", "export", "addons"
SUMMARY, TENSORBOARD = "train_summary.json", "tensorboard"
EVAL, GENERATIONS, VERDICTS = "eval.json", "eval_generations.jsonl", "ifeval_verdicts.jsonl"
REPORT = "report.html"

LAYOUT = (
    Entry(CONFIG, "train", marks_run=True),
    Entry(METRICS, "train", marks_run=True),
    Entry(CHECKPOINTS, "train", marks_run=True),
    Entry(ADAPTER, "train", marks_run=True),
    Entry(EXPORT, "train", marks_run=True),
    Entry(ADDONS, "train", marks_run=True),
    Entry(SUMMARY, "train", marks_run=True),
    Entry(TENSORBOARD, "train"),
    Entry(EVAL, "eval"),
    Entry(GENERATIONS, "eval"),
    Entry(VERDICTS, "eval"),
    Entry("ifeval_verdicts_*.jsonl", "eval"),  # the base model's, and the tuned one without add-ons
    Entry(REPORT, "report"),
)
MARKERS = tuple(e.pattern for e in LAYOUT if e.marks_run)


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
    eval = property(lambda self: self.root / EVAL)
    generations = property(lambda self: self.root / GENERATIONS)
    report = property(lambda self: self.root / REPORT)

    def verdicts(self, model: str = "tuned") -> Path:
        """IFEval verdicts of `model` ("tuned", or "base", "tuned_plain")."""
        return self.root / (VERDICTS if model == "tuned" else f"ifeval_verdicts_{model}.jsonl")

    def has_export(self) -> bool:
        """Whether a finished training run's merged model is here."""
        return (self.export / "config.json").exists()


def model_path(name: str) -> str:
    """A run dir means its merged `export/`; anything else (a model dir, a hub id) is used as given."""
    run = RunDir(name)
    return str(run.export) if run.has_export() else name


def entries(root: str | Path) -> list[Path]:
    """The layout's entries present under `root`, in layout order."""
    root = Path(root)
    if not root.is_dir():
        return []
    return [p for e in LAYOUT for p in sorted(root.glob(e.pattern))]


def holds_run(root: str | Path) -> list[str]:
    """Names of the entries that mark `root` as holding a training run ([] when none)."""
    return [m for m in MARKERS if (Path(root) / m).exists()]


def clear(root: str | Path) -> list[str]:
    """Remove every entry of the layout under `root` (files not in it stay); returns their names."""
    removed = []
    for path in entries(root):
        if path.is_dir() and not path.is_symlink():
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
