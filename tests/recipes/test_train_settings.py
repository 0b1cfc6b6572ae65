"""train prints its resolved settings first; eval_every=0 means no held-out pass at all."""

from __future__ import annotations

import json

import pytest

from instructune.cli import main as cli
from instructune.config import Config, load_config
from instructune.recipes.train import settings_lines
from instructune.train.metrics_log import read_metrics


def test_settings_name_the_key_choices():
    cfg = load_config(None, ["output_dir=runs/x", "train.grad_accum=2", "train.max_steps=50"])
    text = "\n".join(settings_lines(cfg, processes=3, threads=2))
    for part in ("model        smollm2-135m-instruct (auto)",
                 "method       lora (r 16, alpha 32, dropout 0.0, target all-linear)",
                 "lr           0.0002 (warmup 5% of steps, then cosine)",
                 "length       1 epoch(s), at most 50 steps",
                 "batch        4 records × 2 accumulation × 3 processes = 24 records per step",
                 "max_length   512 tokens", "template     chat", "threads      2 per process",
                 "held-out     starter:heldout: every 100 steps and at the end",
                 "output dir   runs/x"):
        assert part in text, part


def test_eval_every_zero_says_no_held_out_pass():
    cfg = load_config(None, ["train.eval_every=0"])
    assert "held-out     none during or after training (train.eval_every=0; `instructune eval` scores a run)" in \
        "\n".join(settings_lines(cfg, processes=1, threads=1))


def test_the_baseline_defaults_are_the_documented_ones():
    t = Config().train
    assert (t.method, t.epochs, t.batch_size, t.grad_accum, t.lr, t.warmup_ratio) == ("lora", 1, 4, 1, 2e-4, 0.05)
    assert (t.eval_every, t.checkpoint_every) == (100, 100)
    assert Config().data.max_length == 512 and Config().template.name == "chat"


@pytest.mark.parametrize("every, evaluated", [(0, False), (5, True)])
def test_held_out_pass_follows_eval_every(tiny_model, tmp_path, capsys, every, evaluated):
    run = tmp_path / "run"
    assert cli(["train", f"model.name={tiny_model}", f"output_dir={run}", "train.max_steps=2", "data.max_length=64",
                f"train.eval_every={every}"]) == 0
    out = capsys.readouterr().out
    assert "output dir   " + str(run) in out  # the settings come first
    assert any("eval_loss" in r for r in read_metrics(run / "metrics.jsonl")) == evaluated


@pytest.mark.parametrize("categorised, warned", [(False, True), (True, False)])
def test_a_temperature_head_on_one_constant_target_is_warned_about(tiny_model, tmp_path, capsys, categorised, warned):
    """Records without task categories all get the head's default target: train says so."""
    rows = [{"instruction": f"Question {i}?", "output": f"Answer {i}.",
             **({"category": ["classification", "brainstorming"][i % 2]} if categorised else {})} for i in range(4)]
    data = tmp_path / "data.jsonl"
    data.write_text("".join(json.dumps(r) + "\n" for r in rows))
    assert cli(["train", f"model.name={tiny_model}", f"output_dir={tmp_path / 'run'}", "train.max_steps=1",
                f"data.train=[{data}]", "data.heldout=[]", "data.max_length=64", "train.eval_every=0",
                "addons.temperature_head.enabled=true"]) == 0
    out = capsys.readouterr().out
    line = ("warning: addons.temperature_head: every training record has the target temperature 0.7 "
            "(task categories in the data: none), so the head learns a constant")
    assert (line in out) == warned, out
