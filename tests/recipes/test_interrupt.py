"""Ctrl-C: train says where its last checkpoint is and the exact command that resumes it
(exit 130, no traceback); chat stops the reply and keeps the conversation."""

from __future__ import annotations

import shlex

import pytest

from instructune.cli import main as cli
from instructune.train.metrics_log import MetricsLog, read_metrics


def interrupt_at(monkeypatch, step: int) -> None:
    """Ctrl-C while the loop logs `step` (after the checkpoint of the step before, if any)."""
    original = MetricsLog.write

    def write(self, row):
        if row["step"] == step:
            raise KeyboardInterrupt
        original(self, row)

    monkeypatch.setattr(MetricsLog, "write", write)


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
    assert command == f"instructune train --resume --recipe {run / 'config.yaml'} output_dir={run}"
    monkeypatch.undo()
    assert cli(shlex.split(command)[1:]) == 0  # the printed command works as printed
    assert [r["step"] for r in read_metrics(run / "metrics.jsonl")] == [1, 2, 3, 4]


def test_ctrl_c_before_any_checkpoint_says_there_is_nothing_to_resume(base, tmp_path, monkeypatch, capsys):
    run = tmp_path / "run"
    interrupt_at(monkeypatch, 1)
    assert cli(["train", *base, f"output_dir={run}", "train.max_steps=3"]) == 130
    err = capsys.readouterr().err
    assert "Traceback" not in err and "no checkpoint yet" in err
    assert f"start again with: instructune train --overwrite --recipe {run / 'config.yaml'} output_dir={run}" in err


def test_ctrl_c_in_any_other_verb_is_one_line_exit_130(monkeypatch, capsys):
    from instructune.recipes import stats

    def interrupted(*a, **k):
        raise KeyboardInterrupt

    monkeypatch.setattr(stats, "main", interrupted)
    assert cli(["stats", "starter:train"]) == 130
    assert capsys.readouterr().err == "instructune stats: interrupted\n"


class CtrlCOnce:
    """A text stream that raises KeyboardInterrupt at the first piece of the first reply."""

    def __init__(self):
        self.parts, self.fired = [], False

    def write(self, text):
        if not self.fired and self.parts and self.parts[-1] == "model> " and text.strip():
            self.fired = True
            raise KeyboardInterrupt
        self.parts.append(text)

    def flush(self):
        pass

    def getvalue(self):
        return "".join(self.parts)


def test_ctrl_c_during_a_chat_reply_stops_it_and_the_conversation_goes_on(tiny_model):
    from instructune.config import load_config
    from instructune.recipes.generate import chat

    lines = iter(["Hello", "Tell me more", "/exit"])
    out = CtrlCOnce()
    # Sampling: the untrained tiny model's greedy reply is blank.
    chat(load_config(None, [f"model.name={tiny_model}", "generate.max_new_tokens=6", "generate.temperature=1.0"]),
         read=lambda _: next(lines), out=out)
    text = out.getvalue()
    assert out.fired and "(stopped)" in text
    assert text.count("model> ") == 2  # the second turn was answered


def test_chat_streams_the_same_reply_as_batched_generation(tiny_model):
    import io

    from instructune.config import load_config
    from instructune.data.record import Record
    from instructune.data.render import render_prompt
    from instructune.data.templates import get_template
    from instructune.generation.batched import generate_text
    from instructune.generation.params import GenParams
    from instructune.recipes.generate import chat, load

    cfg = load_config(None, [f"model.name={tiny_model}", "generate.max_new_tokens=8", "generate.temperature=1.0"])
    out = io.StringIO()
    lines = iter(["Name a color.", "/exit"])
    chat(cfg, read=lambda _: next(lines), out=out)
    streamed = out.getvalue().split("model> ")[1].splitlines()[0]
    engine = load(cfg, None)
    tok = engine.tokenizer
    prompt = render_prompt(Record(id="x", instruction="Name a color.", response=""), tok, get_template("chat"))
    assert streamed and streamed == generate_text(engine.model, tok, [prompt], GenParams.from_config(cfg.generate))[0]
