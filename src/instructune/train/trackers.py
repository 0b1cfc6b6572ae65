"""Experiment trackers of `train.report_to`, through accelerate's (`Accelerator(log_with=...)`).

    check_trackers(["wandb"])                       # before the model loads: is the package there
    init_trackers(accelerator, names, run_dir, config_dict)

Each tracker gets the resolved config, then every metrics row (each loss term, lr, held-out
metrics) as `TrainingRun.log` writes it. Every one works offline by default: TensorBoard
writes under the run dir, wandb runs in offline mode into the run dir (WANDB_MODE=online to
sync), MLflow writes to a local file store RUN/mlruns unless MLFLOW_TRACKING_URI names another.
"""

from __future__ import annotations

import importlib.util
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

        mlflow.set_tracking_uri((run_dir / MLRUNS).resolve().as_uri())
    accelerator.init_trackers(PROJECT, config=flat_config(config), init_kwargs=init_kwargs(names, run_dir))
