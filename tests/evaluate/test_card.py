"""The model card (export/README.md): written by train, rewritten by eval with its table;
generation_config.json carries the run's sampling defaults; the chat template travels with
the tokenizer."""

from __future__ import annotations

import json

import pytest
import yaml
from tiny import FAST_EVAL

from instructune.cli import main as cli
from instructune.evaluate.card import card_text


def front(text: str) -> dict:
    assert text.startswith("---\n")
    return yaml.safe_load(text.split("---", 2)[1])


@pytest.fixture(scope="module")
def run_dir(tiny_model, tmp_path_factory):
    """A trained tiny LoRA run with sampling defaults set, not yet evaluated."""
    run = tmp_path_factory.mktemp("card") / "run"
    assert cli(["train", f"model.name={tiny_model}", f"output_dir={run}", "train.max_steps=2", "lora.r=4",
                "train.eval_every=0", "eval.max_records=3", "generate.max_new_tokens=77",
                "generate.temperature=0.7", "generate.top_p=0.9", "objectives.instruction_tokens.weight=0.1"]) == 0
    return run


def test_train_writes_the_card_with_front_matter(run_dir, tiny_model):
    text = (run_dir / "export" / "README.md").read_text()
    meta = front(text)
    assert meta["base_model"] == tiny_model and meta["library_name"] == "transformers"
    assert meta["datasets"] == ["starter:train"] and "license" in meta and "instructune" in meta["tags"]
    assert "LoRA rank 4" in text and "`chat`" in text and "instruction_tokens (weight 0.1)" in text
    assert "| train | `starter:train` |" in text and "| heldout |" in text
    summary = json.loads((run_dir / "train_summary.json").read_text())
    assert f"| train | `starter:train` | {summary['data']['train_records']} |" in text
    assert "Not evaluated yet" in text and "instructune train --recipe config.yaml" in text
    assert "Add-ons: none" in text
    # The card's config block is the run's config: it reproduces the run.
    block = text.split("```yaml\n", 1)[1].split("```", 1)[0]
    assert yaml.safe_load(block) == yaml.safe_load((run_dir / "config.yaml").read_text())
    adapter = front((run_dir / "adapter" / "README.md").read_text())
    assert adapter["library_name"] == "peft"


def test_export_carries_sampling_defaults_and_chat_template(run_dir):
    gen = json.loads((run_dir / "export" / "generation_config.json").read_text())
    assert gen["max_new_tokens"] == 77 and gen["do_sample"] is True
    assert gen["temperature"] == pytest.approx(0.7) and gen["top_p"] == pytest.approx(0.9)
    from transformers import AutoTokenizer

    tok = AutoTokenizer.from_pretrained(run_dir / "export")
    assert tok.chat_template and "<|im_start|>" in tok.apply_chat_template(
        [{"role": "user", "content": "hi"}], tokenize=False)


def test_eval_rewrites_the_card_with_its_table(run_dir):
    assert cli(["eval", "--tuned", str(run_dir), "eval.max_records=3", "eval.max_new_tokens=4", *FAST_EVAL]) == 0
    text = (run_dir / "export" / "README.md").read_text()
    assert "Not evaluated yet" not in text
    assert "| figure | base | tuned | tuned − base |" in text
    assert "| heldout: response loss |" in text and "IFEval prompt strict" in text
    assert "Forgetting: general-text perplexity" in text and "relative change" in text
    assert text == card_text(run_dir)  # rebuilt from the run's files alone


def test_greedy_run_has_no_sampling_keys(tmp_path):
    from transformers import LlamaConfig

    from instructune.model.export import generation_config

    gen = generation_config(LlamaConfig(eos_token_id=2), {"temperature": 0.0, "max_new_tokens": 5})
    assert gen.do_sample is False and gen.max_new_tokens == 5 and gen.eos_token_id == 2
