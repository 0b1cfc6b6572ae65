"""One run per run dir: a dir holding a run is refused, replaced (--overwrite) or resumed
(--resume, only with a compatible config and a checkpoint); the default dir is fresh."""

from __future__ import annotations

import json
import re
import shlex
import shutil

import pytest

from instructune.cli import main as cli
from instructune.train.metrics_log import read_metrics


@pytest.fixture
def base(tiny_model):
    """Overrides every run here shares (a tiny model; no held-out pass, to keep it quick)."""
    return [f"model.name={tiny_model}", "data.max_length=128", "train.lr=1e-2", "data.heldout=[]"]


def ckpts(run):
    return sorted(p.name for p in (run / "checkpoints").iterdir())


def ok(capsys, *args) -> str:
    """Run a command that must succeed; returns its stdout (and clears what it printed)."""
    code = cli(list(args))
    out, err = capsys.readouterr()
    assert code == 0, err[-2000:]
    return out


def refused(capsys, *args) -> str:
    """Run a command that must fail with exit code 2 and one line on stderr; returns that line."""
    code = cli(list(args))
    err = capsys.readouterr().err
    assert code == 2 and err.count("\n") == 1 and "Traceback" not in err, err[-2000:]
    return err


def test_a_dir_holding_a_run_is_refused_without_resume_or_overwrite(base, tmp_path, capsys):
    run = tmp_path / "run"
    ok(capsys, "train", *base, f"output_dir={run}", "train.max_steps=2", "train.checkpoint_every=2")
    before = (run / "metrics.jsonl").read_text()
    err = refused(capsys, "train", *base, f"output_dir={run}", "train.max_steps=3")
    assert f"output_dir {run} already holds a training run" in err
    assert "--resume" in err and "--overwrite" in err and "new output_dir" in err
    assert (run / "metrics.jsonl").read_text() == before and ckpts(run) == ["step-000002"]


def test_overwrite_replaces_the_run_and_keeps_other_files(base, tmp_path, capsys):
    run = tmp_path / "run"
    ok(capsys, "train", *base, f"output_dir={run}", "train.max_steps=4", "train.checkpoint_every=2")
    (run / "notes.txt").write_text("mine")
    out = ok(capsys, "train", "--overwrite", *base, f"output_dir={run}", "train.max_steps=1")
    assert f"replacing the previous run in {run}" in out
    assert ckpts(run) == ["step-000001"]
    assert [r["step"] for r in read_metrics(run / "metrics.jsonl")] == [1]
    assert (run / "notes.txt").read_text() == "mine"


def test_the_issue_repro_no_longer_mixes_two_runs(base, tmp_path, capsys):
    """cp -r RUN reuse; train max_steps=3 into reuse; train --resume max_steps=6 into reuse."""
    run, reuse = tmp_path / "RUN", tmp_path / "reuse"
    ok(capsys, "train", *base, f"output_dir={run}", "train.max_steps=12", "train.checkpoint_every=4")
    shutil.copytree(run, reuse)
    err = refused(capsys, "train", *base, "train.max_steps=3", "train.checkpoint_every=3", f"output_dir={reuse}")
    assert "already holds a training run" in err
    assert ckpts(reuse) == ["step-000008", "step-000012"]  # nothing written, nothing pruned
    export = (reuse / "export" / "model.safetensors").read_bytes()
    err = refused(capsys, "train", "--resume", *base, "train.max_steps=6", f"output_dir={reuse}")
    assert "the newest checkpoint, step 12, is past this run's last step 6" in err
    assert (reuse / "export" / "model.safetensors").read_bytes() == export  # not overwritten
    # The command a refusal suggests continues the copy, though its config.yaml names RUN.
    err = refused(capsys, "train", "--resume", f"output_dir={reuse}", "train.max_steps=16")
    command = shlex.split(err.split("To continue it as it was configured: ")[1].replace(" [train.max_steps=N]", ""))
    assert command[-1] == f"output_dir={reuse}"
    ok(capsys, *command[1:], "train.max_steps=14")
    assert [r["step"] for r in read_metrics(reuse / "metrics.jsonl")][-2:] == [13, 14]
    assert [r["step"] for r in read_metrics(run / "metrics.jsonl")][-1] == 12  # RUN untouched


def test_resume_refuses_a_different_config_naming_the_keys(base, tmp_path, capsys):
    run = tmp_path / "run"
    ok(capsys, "train", *base, f"output_dir={run}", "train.max_steps=2", "train.checkpoint_every=1")
    err = refused(capsys, "train", "--resume", *base, f"output_dir={run}", "train.max_steps=4", "train.lr=1e-3",
                  "lora.r=4", "train.log_every=2")
    assert "train.lr (saved 0.01, now 0.001)" in err and "lora.r (saved 16, now 4)" in err
    diffs = err.split("a resumed run must keep")[0]
    assert "log_every" not in diffs and "max_steps" not in diffs  # these may change
    assert f"instructune train --resume --recipe {run / 'config.yaml'} output_dir={run}" in err


def test_resume_continues_a_compatible_run_to_more_steps(base, tmp_path, capsys):
    run = tmp_path / "run"
    ok(capsys, "train", *base, f"output_dir={run}", "train.max_steps=2", "train.checkpoint_every=1")
    out = ok(capsys, "train", "--resume", "--recipe", str(run / "config.yaml"), "train.max_steps=3")
    assert "resumed from step 2" in out
    assert [r["step"] for r in read_metrics(run / "metrics.jsonl")] == [1, 2, 3]


def test_resume_without_a_checkpoint_says_so(base, tmp_path, capsys):
    err = refused(capsys, "train", "--resume", *base, f"output_dir={tmp_path / 'none'}")
    assert "does not exist; nothing to resume" in err
    (tmp_path / "empty").mkdir()
    assert "has no checkpoint" in refused(capsys, "train", "--resume", *base, f"output_dir={tmp_path / 'empty'}")


def test_resume_refuses_another_process_count(base, tmp_path, capsys):
    run = tmp_path / "run"
    ok(capsys, "train", *base, f"output_dir={run}", "train.max_steps=2", "train.checkpoint_every=1")
    state = run / "checkpoints" / "step-000002" / "state.json"
    assert json.loads(state.read_text())["processes"] == 1
    state.write_text(json.dumps({**json.loads(state.read_text()), "processes": 2}))
    err = refused(capsys, "train", "--resume", *base, f"output_dir={run}", "train.max_steps=3")
    assert "written by 2 processes; this run has 1" in err


def test_default_output_dir_is_a_fresh_timestamped_dir(base, tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    ok(capsys, "train", *base, "train.max_steps=1")
    out = ok(capsys, "train", *base, "train.max_steps=1")  # same second or not: a new dir
    runs = sorted(p.name for p in (tmp_path / "runs").iterdir())
    assert len(runs) == 2 and all(re.fullmatch(r"train-\d{8}-\d{6}(-\d+)?", r) for r in runs), runs
    assert f'"run_dir": "runs/{runs[1]}"' in out


def test_eval_without_a_run_dir_asks_for_one(capsys):
    assert "give --tuned RUN_DIR" in refused(capsys, "eval")


def test_new_run_dirs_never_clash_and_several_processes_must_name_theirs(tmp_path, monkeypatch):
    from instructune.config import Config
    from instructune.recipes.checks import CheckError
    from instructune.recipes.train import new_run_dir, with_run_dir

    first = new_run_dir(tmp_path, now=0)
    (tmp_path / first).mkdir()
    assert new_run_dir(tmp_path, now=0) == first + "-2"
    monkeypatch.setenv("WORLD_SIZE", "2")
    with pytest.raises(CheckError, match="several processes need it named"):
        with_run_dir(Config())
    assert with_run_dir(Config(output_dir="runs/x")).output_dir == "runs/x"
