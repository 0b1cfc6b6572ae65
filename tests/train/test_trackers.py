"""train.report_to: the trackers get the config, every metrics row (each loss term, the
held-out metrics, the final held-out pass) and the run's report, offline, read back from what
each wrote; a tracker whose package is missing is one line naming the extra; the old
train.tensorboard key says what replaced it."""

from __future__ import annotations

import importlib.util
import json
import sys
from pathlib import Path

import pytest

from instructune.cli import main as cli
from instructune.train.metrics_log import read_metrics
from instructune.train.trackers import check_trackers, flat_config, init_kwargs


def train_args(tiny_model, out, *extra):
    """3 steps, held-out pass every 2: eval metrics at step 2 and at the last step, 3."""
    return ["train", f"model.name={tiny_model}", f"output_dir={out}", "train.max_steps=3", "train.eval_every=2",
            "eval.max_records=3", "objectives.instruction_tokens.weight=0.1", *extra]


def logged_rows(run: Path) -> list[dict]:
    """metrics.jsonl's rows, the held-out rows of a step merged into its row (as trackers keep them)."""
    rows: dict[int, dict] = {}
    for row in read_metrics(run / "metrics.jsonl"):
        rows.setdefault(row["step"], {}).update(row)
    return [rows[s] for s in sorted(rows)]


def check_rows(run: Path, got: dict[int, dict]) -> None:
    """Every value of every metrics row is what the tracker holds at that step."""
    rows = logged_rows(run)
    assert "eval_loss" in rows[-1] and "instruction_tokens_loss" in rows[0]
    for row in rows:
        for key, value in row.items():
            if key != "step":
                assert got[row["step"]][key] == pytest.approx(value), (row["step"], key)


@pytest.mark.parametrize("name", ["wandb", "mlflow"])
def test_missing_tracker_package_is_one_line_naming_the_extra(tiny_model, tmp_path, capsys, monkeypatch, name):
    monkeypatch.setitem(sys.modules, name, None)  # as if not installed: find_spec answers None
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
    assert {"loss", "instruction_tokens_loss", "eval_loss", "lr", "train_summary/text_summary"} <= tags, tags
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
def test_wandb_offline_run_holds_config_every_row_and_the_report(tiny_model, tmp_path, monkeypatch):
    from wandb_records import read_run

    monkeypatch.delenv("WANDB_MODE", raising=False)
    run = tmp_path / "run"
    assert cli(train_args(tiny_model, run, "train.report_to=[wandb]", "train.lr=0.0005")) == 0
    [log] = (run / "wandb").glob("offline-run-*/run-*.wandb")
    got = read_run(log)
    assert got["config"]["train.lr"] == 0.0005 and got["config"]["train.report_to"] == "['wandb']"
    steps: dict[int, dict] = {}
    for row in got["history"]:
        steps.setdefault(row["_step"], {}).update(row)
    check_rows(run, steps)
    summary = json.loads((run / "train_summary.json").read_text())
    assert got["summary"]["report.steps"] == 3
    assert got["summary"]["report.final.eval_loss"] == pytest.approx(summary["final"]["eval_loss"])
    assert "train_summary.json" in got["files"]
    assert json.loads((log.parent / "files" / "train_summary.json").read_text()) == summary


@pytest.mark.skipif(importlib.util.find_spec("mlflow") is None, reason="mlflow not installed (extra: mlflow)")
def test_mlflow_file_store_holds_config_every_row_and_the_report(tiny_model, tmp_path, monkeypatch):
    from mlflow.tracking import MlflowClient

    monkeypatch.delenv("MLFLOW_TRACKING_URI", raising=False)
    monkeypatch.setenv("MLFLOW_ALLOW_FILE_STORE", "false")  # mlflow 3's default: train must opt in for RUN/mlruns
    run = tmp_path / "run"
    assert cli(train_args(tiny_model, run, "train.report_to=[mlflow]", "train.lr=0.0005")) == 0
    client = MlflowClient(tracking_uri=(run / "mlruns").as_uri())
    [found] = client.search_runs([client.get_experiment_by_name("instructune").experiment_id])
    assert found.data.params["train.lr"] == "0.0005" and found.info.run_name == "run"
    keys = {k for row in logged_rows(run) for k in row} - {"step"}
    check_rows(run, {row["step"]: {k: next((m.value for m in client.get_metric_history(found.info.run_id, k)
                                            if m.step == row["step"]), None) for k in keys}
                     for row in logged_rows(run)})
    local = client.download_artifacts(found.info.run_id, "train_summary.json", str(tmp_path))
    assert json.loads(Path(local).read_text()) == json.loads((run / "train_summary.json").read_text())
