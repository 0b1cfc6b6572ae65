"""The embedded default model, for real (marked slow: converts the GGUF, trains a few steps).

Run alone with `pytest -m slow`.
"""

from __future__ import annotations

import json

import pytest

pytestmark = pytest.mark.slow


def test_default_model_converts_trains_and_exports(tmp_path, monkeypatch):
    monkeypatch.setenv("INSTRUCTUNE_CACHE", str(tmp_path / "cache"))
    from instructune.model.load import DEFAULT_MODEL, load_model, load_tokenizer, resolve_model

    path = resolve_model(DEFAULT_MODEL)
    cfg = json.loads((tmp_path / "cache" / "models" / "SmolLM2-135M-Instruct" / "config.json").read_text())
    assert "quantization_config" not in cfg and cfg["num_hidden_layers"] == 30
    model, tok = load_model(DEFAULT_MODEL), load_tokenizer(DEFAULT_MODEL)
    assert str(model.dtype) == "torch.float32" and getattr(model, "hf_quantizer", None) is None
    assert tok.pad_token_id == tok.eos_token_id and "<|im_start|>" in tok.chat_template
    assert model.get_output_embeddings().weight.data_ptr() == model.get_input_embeddings().weight.data_ptr()
    assert resolve_model(DEFAULT_MODEL) == path  # second call reuses the cache

    from instructune.config import load_config
    from instructune.recipes import train

    run = tmp_path / "run"
    summary = train.main(load_config("quickstart", [f"output_dir={run}", "train.max_steps=3", "train.batch_size=2",
                                                    "eval.batch_size=8", "train.eval_every=3", "train.checkpoint_every=0"]))
    assert summary["steps"] == 3 and summary["final"]["eval_loss"] < 4.0

    from transformers import AutoModelForCausalLM, AutoTokenizer

    tuned, ttok = AutoModelForCausalLM.from_pretrained(run / "export"), AutoTokenizer.from_pretrained(run / "export")
    ids = ttok.apply_chat_template([{"role": "user", "content": "What is the capital of France?"}],
                                   add_generation_prompt=True, return_tensors="pt", return_dict=True)
    out = tuned.generate(**ids, max_new_tokens=8, do_sample=False)
    assert "Paris" in ttok.decode(out[0, ids["input_ids"].shape[1]:])


def test_first_use_conversion_shows_one_line_of_our_own(tmp_path):
    import os
    import subprocess
    import sys

    env = {**os.environ, "INSTRUCTUNE_CACHE": str(tmp_path / "cache"), "OMP_NUM_THREADS": "1"}
    proc = subprocess.run([sys.executable, "-m", "instructune", "generate", "--prompt", "Hi", "--no-progress",
                           "generate.max_new_tokens=1"], capture_output=True, text=True, timeout=600, env=env)
    assert proc.returncode == 0, proc.stderr[-2000:]
    # was: transformers' "Converting and de-quantizing GGUF tensors" bar, and DeepSpeed's line on stdout
    assert proc.stderr.count("\n") == 1 and proc.stderr.startswith("converting the default model to a float32 "
                                                                   "checkpoint (first use only) → ")
    assert "[WARNING]" not in proc.stdout
