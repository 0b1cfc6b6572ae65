"""End-to-end CLI runs on temp dirs with the tiny model: files written, parameters changed."""

from __future__ import annotations

import io
import json
import re
import subprocess
import sys

import torch
from datasets import load_from_disk

from instructune.cli import main as cli
from tiny import FAST_EVAL


def test_quickstart_on_tiny_model(tiny_model, tmp_path, capsys):
    run = tmp_path / "qs"
    (run / "checkpoints" / "step-000099").mkdir(parents=True)  # a previous run
    (run / "checkpoints" / "step-000099" / "state.json").write_text("{}")
    (run / "config.yaml").write_text("{}\n")
    args = ["quickstart", "--output", str(run), f"model.name={tiny_model}", "train.epochs=2",
            "train.lr=5e-3", "train.eval_every=0", "eval.max_new_tokens=8", *FAST_EVAL]
    # the run-dir rules: a dir holding a run is refused (it used to be replaced with no word) ...
    assert cli(args) == 2
    err = capsys.readouterr().err
    assert f"--output {run} already holds quickstart outputs (config.yaml, checkpoints)" in err and "--overwrite" in err
    assert (run / "checkpoints" / "step-000099").exists()
    code = cli([*args, "--overwrite"])  # ... and replaced with --overwrite
    out = capsys.readouterr().out
    assert code == 0, out
    for name in ("config.yaml", "metrics.jsonl", "adapter", "export", "eval.json", "eval_generations.jsonl",
                 "data/train.jsonl", "data/augmented.jsonl", "data/prepared/train", "checkpoints"):
        assert (run / name).exists(), name
    assert not (run / "checkpoints" / "step-000099").exists()
    assert f"replacing the previous run in {run}" in out
    res = json.loads((run / "eval.json").read_text())
    assert set(res) == {"base", "tuned", "comparison", "meta"}
    for m in (res["base"], res["tuned"]):
        assert {"response_loss", "perplexity", "rouge_l", "exact_match"} <= set(m)
    assert res["tuned"]["response_loss"] < res["base"]["response_loss"]
    assert "response loss" in out and "ROUGE-L" in out and "exact match" in out and str(run) in out
    # Where the time went, stage by stage, in the order the stages ran.
    assert re.search(r"finished in \d+ s \(ingest \d+ s, augment \d+ s, prepare \d+ s, train \d+ s, evaluate \d+ s, "
                     r"report \d+ s\)",
                     out), out[-800:]
    from safetensors.torch import load_file

    adapter = load_file(run / "adapter" / "adapter_model.safetensors")
    assert any(k.endswith("lora_B.weight") and v.abs().sum() > 0 for k, v in adapter.items())  # B starts at 0


def test_prepare_writes_datasets_and_stats(tiny_model, tmp_path, capsys):
    out = tmp_path / "prep"
    assert cli(["prepare", "--output", str(out), f"model.name={tiny_model}", "data.max_length=64"]) == 0
    printed = capsys.readouterr().out
    stats = json.loads((out / "stats.json").read_text())
    assert stats["train"]["records"] == 180 and stats["train"]["kept"] + stats["train"]["dropped"] == 180
    assert stats["train"]["truncated"] > 0  # 64 tokens is short for some starter records
    for key in ("records", "tokens", "trained_tokens", "truncated", "dropped"):
        assert key in printed
    ds = load_from_disk(str(out / "train"))
    assert len(ds) == stats["train"]["kept"] and max(ds["length"]) <= 64
    assert sum(ds["n_trained"]) == stats["train"]["trained_tokens"]


def test_train_then_eval_and_generate(tiny_model, tmp_path, capsys):
    run = tmp_path / "run"
    assert cli(["train", f"model.name={tiny_model}", f"output_dir={run}", "train.max_steps=2"]) == 0
    assert cli(["eval", "--tuned", str(run), f"model.name={tiny_model}", f"output_dir={run}",
                "eval.max_records=4", "eval.max_new_tokens=4", *FAST_EVAL]) == 0
    res = json.loads((run / "eval.json").read_text())
    assert res["base"]["records"] == res["tuned"]["records"] == 4
    out = tmp_path / "gen.jsonl"
    assert cli(["generate", "--model", str(run), "--prompt", "Name a color.", "--prompt", "Say hi.",
                f"model.name={tiny_model}", "generate.max_new_tokens=4", "--output", str(out)]) == 0
    rows = [json.loads(x) for x in out.read_text().splitlines()]
    assert [r["instruction"] for r in rows] == ["Name a color.", "Say hi."]
    assert all(isinstance(r["generation"], str) for r in rows)


def test_sampling_is_seeded(tiny_model):
    from instructune.generation.batched import generate_ids
    from instructune.generation.params import GenParams
    from instructune.model.load import load_model, load_tokenizer

    model, tok = load_model(tiny_model), load_tokenizer(tiny_model)
    prompts = [tok("Name a color.")["input_ids"], tok("Hi")["input_ids"]]
    g = GenParams(max_new_tokens=6, temperature=1.0, top_p=0.9, top_k=50, seed=1)
    a, b = generate_ids(model, tok, prompts, g), generate_ids(model, tok, prompts, g)
    assert a == b and all(len(x) <= 6 for x in a)


def test_batched_greedy_equals_one_by_one(tiny_model):
    from instructune.generation.batched import generate_ids
    from instructune.generation.params import GenParams
    from instructune.model.load import load_model, load_tokenizer

    model, tok = load_model(tiny_model), load_tokenizer(tiny_model)
    prompts = [tok("Name a color please now.")["input_ids"], tok("Hi")["input_ids"]]
    greedy = GenParams(max_new_tokens=6, temperature=0.0)
    batched = generate_ids(model, tok, prompts, greedy, batch_size=2)
    single = [generate_ids(model, tok, [p], greedy, batch_size=1)[0] for p in prompts]
    assert batched == single  # left padding does not change greedy outputs


def test_chat_repl_keeps_history(tiny_model):
    from instructune.config import load_config
    from instructune.recipes.generate import chat

    lines = iter(["Hello", "Tell me more", "/reset", "Again", "/exit"])
    out = io.StringIO()
    chat(load_config(None, [f"model.name={tiny_model}", "generate.max_new_tokens=3"]), read=lambda _: next(lines),
         out=out)
    text = out.getvalue()
    assert text.count("model> ") == 3 and "(history cleared)" in text


def test_chat_cli_over_stdin(tiny_model):
    proc = subprocess.run([sys.executable, "-m", "instructune", "chat", f"model.name={tiny_model}",
                           "generate.max_new_tokens=3"], input="Hello\n/exit\n", capture_output=True, text=True,
                          timeout=120)
    assert proc.returncode == 0, proc.stderr
    assert "model> " in proc.stdout


def test_bad_override_exits_2_naming_the_key(capsys):
    assert cli(["train", "train.nope=1"]) == 2
    assert "unknown key 'train.nope'" in capsys.readouterr().err


def test_lora_adapter_reloads_with_peft(tiny_model, tmp_path):
    from peft import PeftModel
    from transformers import AutoModelForCausalLM

    run = tmp_path / "run"
    assert cli(["train", f"model.name={tiny_model}", f"output_dir={run}", "train.max_steps=2",
                "train.lr=1e-2", "data.heldout=[]"]) == 0
    base = AutoModelForCausalLM.from_pretrained(tiny_model)
    merged = PeftModel.from_pretrained(base, run / "adapter").merge_and_unload()
    export = AutoModelForCausalLM.from_pretrained(run / "export")
    for k, v in export.state_dict().items():
        torch.testing.assert_close(merged.state_dict()[k], v)
