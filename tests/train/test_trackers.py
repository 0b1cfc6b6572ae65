"""train.report_to: the trackers get the config and every metrics row, offline; a tracker
whose package is missing is one line naming the extra; the old train.tensorboard key says what
replaced it."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import pytest

from instructune.cli import main as cli
from instructune.train.trackers import check_trackers, flat_config, init_kwargs

MISSING = [n for n, m in (("wandb", "wandb"), ("mlflow", "mlflow")) if importlib.util.find_spec(m) is None]


def train_args(tiny_model, out, *extra):
    return ["train", f"model.name={tiny_model}", f"output_dir={out}", "train.max_steps=2", "train.eval_every=1",
            "eval.max_records=3", "objectives.instruction_tokens.weight=0.1", *extra]


@pytest.mark.skipif(not MISSING, reason="wandb and mlflow are both installed")
def test_missing_tracker_package_is_one_line_naming_the_extra(tiny_model, tmp_path, capsys):
    name = MISSING[0]
    assert cli(train_args(tiny_model, tmp_path / "run", f"train.report_to=[{name}]")) == 2
    err = capsys.readouterr().err.strip()
    assert err == f"instructune train: error: train.report_to: {name} is not installed; pip install instructune[{name}]"
    assert not (tmp_path / "run").exists()  # refused before anything was written


def test_old_tensorboard_key_says_what_replaced_it(tmp_path, capsys):
    assert cli(["train", f"output_dir={tmp_path}", "train.tensorboard=true"]) == 2
    assert "train.tensorboard was replaced by train.report_to" in capsys.readouterr().err


def test_tensorboard_gets_config_loss_terms_and_eval_metrics(tiny_model, tmp_path):
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

    run = tmp_path / "run"
    assert cli(train_args(tiny_model, run, "train.report_to=[tensorboard]")) == 0
    events = [p.parent for p in run.rglob("events.out.tfevents*")]
    tags = set()
    for d in events:
        acc = EventAccumulator(str(d))
        acc.Reload()
        tags |= set(acc.Tags()["scalars"]) | set(acc.Tags().get("tensors", []))
    assert {"loss", "instruction_tokens_loss", "eval_loss", "lr"} <= tags, tags
    assert any((d / "hparams.yml").exists() or "_hparams_" in str(d) for d in [run, *events, *run.rglob("*")])


def test_offline_settings_and_flat_config(tmp_path, monkeypatch):
    monkeypatch.delenv("WANDB_MODE", raising=False)
    kw = init_kwargs(["wandb", "mlflow"], tmp_path)
    assert kw["wandb"]["mode"] == "offline" and kw["wandb"]["dir"] == str(tmp_path)
    monkeypatch.setenv("WANDB_MODE", "online")
    assert init_kwargs(["wandb"], tmp_path)["wandb"]["mode"] == "online"
    assert flat_config({"train": {"lr": 1e-3, "report_to": ["wandb"]}, "x": None}) == {
        "train.lr": 1e-3, "train.report_to": "['wandb']", "x": "None"}
    check_trackers(["tensorboard"])  # installed: no error


@pytest.mark.skipif(importlib.util.find_spec("wandb") is None, reason="wandb not installed (extra: wandb)")
def test_wandb_offline_run_logs_loss_terms(tiny_model, tmp_path, monkeypatch):
    monkeypatch.delenv("WANDB_MODE", raising=False)
    run = tmp_path / "run"
    assert cli(train_args(tiny_model, run, "train.report_to=[wandb]")) == 0
    history = "".join(p.read_text(errors="ignore") for p in (run / "wandb").rglob("*.log"))
    assert list((run / "wandb").glob("offline-run-*")), history


@pytest.mark.skipif(importlib.util.find_spec("mlflow") is None, reason="mlflow not installed (extra: mlflow)")
def test_mlflow_file_store_gets_params_and_metrics(tiny_model, tmp_path, monkeypatch):
    monkeypatch.delenv("MLFLOW_TRACKING_URI", raising=False)
    run = tmp_path / "run"
    assert cli(train_args(tiny_model, run, "train.report_to=[mlflow]")) == 0
    metrics = {p.name for p in Path(run / "mlruns").rglob("metrics/*")}
    params = {p.name for p in Path(run / "mlruns").rglob("params/*")}
    assert {"loss", "instruction_tokens_loss", "eval_loss"} <= metrics and "train.lr" in params
