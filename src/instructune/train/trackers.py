"""Experiment trackers of `train.report_to`, through accelerate's (`Accelerator(log_with=...)`).

    check_trackers(["wandb"])                       # before the model loads: is the package there
    init_trackers(accelerator, names, run_dir, config_dict)
    log_report(accelerator, names, run_dir / "train_summary.json")   # at the end, before end_training

Each tracker gets the resolved config, then every metrics row (each loss term, lr, held-out
metrics) as `TrainingRun.log` writes it, then the run's report (train_summary.json: steps,
final metrics, parameters, data counts). Every one works offline by default: TensorBoard
writes under the run dir, wandb runs in offline mode into the run dir (WANDB_MODE=online to
sync), MLflow writes to a local file store RUN/mlruns unless MLFLOW_TRACKING_URI names another.
MLflow 3 keeps its file store only on request (MLFLOW_ALLOW_FILE_STORE); the database store it
recommends needs SQLAlchemy, which mlflow-skinny does not bring, so choosing RUN/mlruns also
makes that request.
"""

from __future__ import annotations

import importlib.util
import json
import os
from pathlib import Path
from typing import Any

from instructune.config import ConfigError
from instructune.rundir import MLRUNS

# tracker name → (the module it needs, the extra that installs it)
PACKAGES = {"tensorboard": ("tensorboard", "tensorboard"), "wandb": ("wandb", "wandb"), "mlflow": ("mlflow", "mlflow")}
PROJECT = "instructune"


def check_trackers(names: list[str]) -> None:
    """Refuse, in one line naming the extra to install, a tracker whose package is missing."""
    for name in names:
        module, extra = PACKAGES[name]
        if importlib.util.find_spec(module) is None:
            raise ConfigError(f"train.report_to: {name} is not installed; pip install instructune[{extra}]")


def init_kwargs(names: list[str], run_dir: Path) -> dict[str, dict[str, Any]]:
    """Per-tracker start arguments that keep them local and offline unless the environment says otherwise."""
    out: dict[str, dict[str, Any]] = {}
    if "wandb" in names:
        out["wandb"] = {"mode": os.environ.get("WANDB_MODE", "offline"), "dir": str(run_dir),
                        "name": run_dir.resolve().name}
    if "mlflow" in names:
        out["mlflow"] = {"run_name": run_dir.resolve().name}
    return out


def flat_config(cfg: dict[str, Any], prefix: str = "") -> dict[str, Any]:
    """A nested config as {"train.lr": 2e-4, ...} with scalar values (lists and None as text),
    the shape TensorBoard's hparams and MLflow's params take."""
    out: dict[str, Any] = {}
    for key, value in cfg.items():
        name = f"{prefix}{key}"
        if isinstance(value, dict):
            out.update(flat_config(value, f"{name}."))
        elif isinstance(value, (bool, int, float, str)):
            out[name] = value
        else:
            out[name] = str(value)
    return out


def init_trackers(accelerator, names: list[str], run_dir: Path, config: dict[str, Any]) -> None:
    """Start the trackers of `names` and log the config to each (main process only logs)."""
    if not names:
        return
    if "mlflow" in names and not os.environ.get("MLFLOW_TRACKING_URI"):
        import mlflow

        os.environ["MLFLOW_ALLOW_FILE_STORE"] = "true"  # see the module doc
        mlflow.set_tracking_uri((run_dir / MLRUNS).resolve().as_uri())
    accelerator.init_trackers(PROJECT, config=flat_config(config), init_kwargs=init_kwargs(names, run_dir))


def log_report(accelerator, names: list[str], summary_path: Path) -> None:
    """Give each tracker the run's report, `summary_path` (train_summary.json), from the main
    process: TensorBoard as a text entry, wandb as `report.*` summary values and the file among
    the run's files, MLflow as an artifact. Call it before `accelerator.end_training()`."""
    if not names or not accelerator.is_main_process:
        return
    summary = json.loads(summary_path.read_text())
    if "tensorboard" in names:
        text = "```\n" + json.dumps(summary, indent=2) + "\n```"  # markdown: keep the JSON's layout
        accelerator.get_tracker("tensorboard", unwrap=True).add_text(summary_path.stem, text)
    if "wandb" in names:
        run = accelerator.get_tracker("wandb", unwrap=True)
        run.summary.update({f"report.{k}": v for k, v in flat_config(summary).items()})
        run.save(str(summary_path), base_path=str(summary_path.parent), policy="now")
    if "mlflow" in names:
        import mlflow

        mlflow.log_artifact(str(summary_path))
