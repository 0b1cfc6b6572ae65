"""Ctrl-C: train says where its last checkpoint is and the exact command that resumes it
(exit 130, no traceback); chat stops the reply and keeps the conversation."""

from __future__ import annotations

import shlex

import pytest

from instructune.cli import main as cli
from instructune.recipes import train
from instructune.train.metrics_log import read_metrics


def interrupt_at(monkeypatch, step: int) -> None:
    """Ctrl-C while the loop logs `step` (after the checkpoint of the step before, if any)."""
    original = train.MetricsLog.write

    def write(self, row):
        if row["step"] == step:
            raise KeyboardInterrupt
        original(self, row)

    monkeypatch.setattr(train.MetricsLog, "write", write)


@pytest.fixture
def base(tiny_model):
    return [f"model.name={tiny_model}", "data.max_length=128", "train.lr=1e-2", "data.heldout=[]"]


def test_ctrl_c_in_train_names_the_checkpoint_and_the_resume_command(base, tmp_path, monkeypatch, capsys):
    run = tmp_path / "run"
    interrupt_at(monkeypatch, 3)
    assert cli(["train", *base, f"output_dir={run}", "train.max_steps=4", "train.checkpoint_every=2"]) == 130
    err = capsys.readouterr().err
    assert "Traceback" not in err
    assert f"last checkpoint: {run / 'checkpoints' / 'step-000002'} (step 2 of 4)" in err
    command = err.split("resume with: ")[1].splitlines()[0]
    assert command == f"instructune train --resume --recipe {run / 'config.yaml'}"
    monkeypatch.undo()
    assert cli(shlex.split(command)[1:]) == 0  # the printed command works as printed
    assert [r["step"] for r in read_metrics(run / "metrics.jsonl")] == [1, 2, 3, 4]


def test_ctrl_c_before_any_checkpoint_says_there_is_nothing_to_resume(base, tmp_path, monkeypatch, capsys):
    run = tmp_path / "run"
    interrupt_at(monkeypatch, 1)
    assert cli(["train", *base, f"output_dir={run}", "train.max_steps=3"]) == 130
    err = capsys.readouterr().err
    assert "Traceback" not in err and "no checkpoint yet" in err
    assert f"start again with: instructune train --overwrite --recipe {run / 'config.yaml'}" in err


def test_ctrl_c_in_any_other_verb_is_one_line_exit_130(monkeypatch, capsys):
    from instructune.recipes import stats

    def interrupted(*a, **k):
        raise KeyboardInterrupt

    monkeypatch.setattr(stats, "main", interrupted)
    assert cli(["stats", "starter:train"]) == 130
    assert capsys.readouterr().err == "instructune stats: interrupted\n"
