"""`instructune generate`: progress while generating, prompt-only inputs."""

from __future__ import annotations

import io
import json

import pytest
from rich.console import Console

from instructune.cli import main as cli
from instructune.config import load_config
from instructune.data.record import Record


def test_generation_reports_progress_per_batch_and_keeps_the_outputs(tiny_model):
    from instructune.data.render import render_prompt
    from instructune.data.templates import get_template
    from instructune.generation.batched import generate_text
    from instructune.generation.params import GenParams
    from instructune.recipes.generate import generate, load

    cfg = load_config(None, [f"model.name={tiny_model}", "generate.max_new_tokens=4", "generate.batch_size=2"])
    records = [Record(id=str(i), instruction=t, response="") for i, t in
               enumerate(["Hi", "Name a color please.", "Say hello to the world now.", "Why?", "Count to three."])]
    seen = []
    texts = [g.text for g in generate(cfg, records, on_batch=lambda done, tokens: seen.append((done, tokens)))]
    assert [d for d, _ in seen] == [2, 4, 5] and all(t > 0 for _, t in seen)
    engine = load(cfg, None)
    tok = engine.tokenizer
    prompts = [render_prompt(r, tok, get_template("chat")) for r in records]
    g = cfg.generate
    # same batches, same (greedy) outputs
    assert texts == generate_text(engine.model, tok, prompts, GenParams.from_config(g), g.batch_size)


def test_the_progress_bar_shows_records_tokens_per_second_and_eta():
    from instructune.recipes.generate import progress_bar

    buf = io.StringIO()
    with progress_bar(10, enabled=True, console=Console(file=buf, force_terminal=True, width=120)) as on_batch:
        on_batch(4, 40)
    text = buf.getvalue()
    assert "4/10" in text and "tok/s" in text
    quiet = io.StringIO()
    with progress_bar(10, enabled=True, console=Console(file=quiet, force_terminal=False)) as on_batch:
        on_batch(4, 40)
    assert quiet.getvalue() == ""  # not a terminal: no bar


def test_generate_has_a_no_progress_flag():
    from instructune.cli import parse

    assert parse(["generate", "--prompt", "x", "--no-progress"]).no_progress is True


def test_a_run_dir_renders_prompts_with_its_own_template_and_addons(tiny_model, tmp_path, monkeypatch):
    """generate --model RUN_DIR: the run's template (alpaca here), segments from its renderer,
    its add-ons attached, and temperature=auto from its head."""
    import instructune.generation.engine as engine_mod
    from instructune.data.render import render_prompt_segments
    from instructune.data.templates import get_template
    from instructune.model.load import load_tokenizer

    run = tmp_path / "run"
    assert cli(["train", f"model.name={tiny_model}", f"output_dir={run}", "template.name=alpaca", "train.max_steps=1",
                "data.max_length=256", "train.eval_every=0", "addons.segment_embedding.enabled=true",
                "addons.temperature_head.enabled=true"]) == 0
    seen = {}
    real = engine_mod.generate_ids

    def spy(model, tok, prompts, g, **kw):
        seen.update(prompts=prompts, segments=kw.get("segments"), addons=list(model.addons), temperature=g.temperature)
        return real(model, tok, prompts, g, **kw)

    monkeypatch.setattr(engine_mod, "generate_ids", spy)
    assert cli(["generate", "--model", str(run), "--prompt", "Name a color.", "generate.max_new_tokens=3",
                "generate.temperature=auto", "--no-progress"]) == 0
    tok = load_tokenizer(str(run / "export"))
    ids, segments = render_prompt_segments(Record(id="p", instruction="Name a color.", response=""), tok,
                                           get_template("alpaca"))
    assert seen == {"prompts": [ids], "segments": [segments], "addons": ["segment_embedding", "temperature_head"],
                    "temperature": "auto"}

    # Each written row records the temperature the head chose for its prompt.
    from instructune.generation.auto_temperature import predict_temperatures
    from instructune.generation.load import load_for_inference

    out = tmp_path / "gens.jsonl"
    asks = ["Name a color.", "Write a long poem about the sea and the stars at night."]
    assert cli(["generate", "--model", str(run), *[a for q in asks for a in ("--prompt", q)], "--output", str(out),
                "generate.max_new_tokens=3", "generate.temperature=auto", "--no-progress"]) == 0
    fwd, _ = load_for_inference(str(run))
    rendered = [render_prompt_segments(Record(id="p", instruction=q, response=""), tok, get_template("alpaca"))
                for q in asks]
    want = [predict_temperatures(fwd, [p], [sg], tok.pad_token_id).item() for p, sg in rendered]
    rows = [json.loads(line) for line in out.read_text().splitlines()]
    assert [r["temperature"] for r in rows] == [pytest.approx(t, abs=1e-4) for t in want]

def test_an_empty_input_file_is_named_as_empty(tiny_model, tmp_path, capsys):
    empty = tmp_path / "prompts.jsonl"
    empty.write_text("\n")
    assert cli(["generate", "--model", tiny_model, "--input", str(empty), "--no-progress"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and f"error: {empty}: --input: the file is empty" in err  # was: give --prompt or --input
