"""`instructune export RUN --gguf`: the file transformers reads back gives the export's logits
(f16 tight, q8_0 within a stated tolerance) and the same greedy generations."""

from __future__ import annotations

import json
import shutil

import pytest
import torch
import yaml
from tiny import build_tiny

from instructune import rundir
from instructune.cli import main as cli
from instructune.model.gguf_export import write_gguf

PROMPTS = ["Summarize the following article.", "Write a short poem about the sea.",
           "What is the capital of France?", "List three uses of a paperclip."]
# Max |logit difference| allowed, against logits of magnitude ~1 in the tiny model; measured
# 3.2e-4 (f16) and 7.7e-3 (q8_0) on it.
TOLERANCE = {"f16": 2e-3, "q8_0": 3e-2}
SHARPEN = 8.0


@pytest.fixture(scope="module")
def run(tmp_path_factory):
    """A run dir whose export/ is the tiny Llama, and whose config names an add-on."""
    from transformers import AutoModelForCausalLM

    root = tmp_path_factory.mktemp("gguf") / "run"
    build_tiny(root / "export")
    # The random tiny model attends almost uniformly, so a wrong order of the rotary rows
    # would barely move its logits; sharper attention makes the comparison see it.
    model = AutoModelForCausalLM.from_pretrained(root / "export", dtype=torch.float32)
    with torch.no_grad():
        for layer in model.model.layers:
            layer.self_attn.q_proj.weight.mul_(SHARPEN)
            layer.self_attn.k_proj.weight.mul_(SHARPEN)
    model.save_pretrained(root / "export")
    (root / "config.yaml").write_text(yaml.safe_dump({"addons": {"temperature_head": {"enabled": True}}}))
    return root


def load_pair(run, quant):
    from transformers import AutoModelForCausalLM, AutoTokenizer

    name = f"model-{quant}.gguf"
    if not (run / name).exists():
        write_gguf(run / "export", run / name, quant)
    ref = AutoModelForCausalLM.from_pretrained(run / "export", dtype=torch.float32).eval()
    got = AutoModelForCausalLM.from_pretrained(run, gguf_file=name, dtype=torch.float32).eval()
    return ref, got, AutoTokenizer.from_pretrained(run / "export"), AutoTokenizer.from_pretrained(run, gguf_file=name)


@pytest.mark.parametrize("quant", ["f16", "q8_0"])
def test_gguf_logits_and_greedy_generations_match_the_export(run, quant):
    ref, got, tok, gguf_tok = load_pair(run, quant)
    agree, worst = 0, 0.0
    for prompt in PROMPTS:
        ids = tok(prompt, return_tensors="pt").input_ids
        assert gguf_tok(prompt).input_ids == ids[0].tolist()  # the tokenizer travels too
        with torch.no_grad():
            diff = (ref(ids).logits - got(ids).logits).abs().max().item()
            a = ref.generate(ids, max_new_tokens=12, do_sample=False, pad_token_id=tok.pad_token_id)
            b = got.generate(ids, max_new_tokens=12, do_sample=False, pad_token_id=tok.pad_token_id)
        assert diff < TOLERANCE[quant], (prompt, diff)
        worst = max(worst, diff)
        agree += a.tolist() == b.tolist()
    print(f"{quant}: max |logit diff| {worst:.2e}; greedy generations agree on {agree}/{len(PROMPTS)} prompts")
    assert agree == len(PROMPTS) if quant == "f16" else agree >= len(PROMPTS) - 1


def test_cli_writes_the_default_file_and_says_addons_are_left_out(run, capsys):
    assert cli(["export", str(run), "--gguf", "q8_0", "--output", str(run / "model-q8_0.gguf")]) == 0
    out = capsys.readouterr().out
    assert "temperature_head are not in the GGUF" in out and "model-q8_0.gguf" in out
    assert cli(["export", str(run), "--gguf", "f16"]) == 0
    assert (run / rundir.gguf_name("f16")).exists()


def test_train_overwrite_removes_the_gguf_with_its_model(tmp_path):
    (tmp_path / "export").mkdir()
    (tmp_path / "export" / "config.json").write_text("{}")
    (tmp_path / "model-f16.gguf").write_bytes(b"GGUF")
    (tmp_path / "mine.gguf").write_bytes(b"GGUF")
    assert "model-f16.gguf" in rundir.clear(tmp_path, "train")
    assert (tmp_path / "mine.gguf").exists()  # not in the layout: the user's own


def test_other_family_is_one_line_and_writes_nothing(run, tmp_path, capsys):
    other = tmp_path / "other"
    shutil.copytree(run / "export", other / "export")
    cfg = json.loads((other / "export" / "config.json").read_text())
    (other / "export" / "config.json").write_text(json.dumps({**cfg, "model_type": "gpt_neox"}))
    assert cli(["export", str(other), "--gguf", "f16"]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and "model_type 'gpt_neox' is not supported; supported: llama" in err
    assert not list(other.glob("*.gguf"))
    assert cli(["export", str(tmp_path / "nothing"), "--gguf", "f16"]) == 2
