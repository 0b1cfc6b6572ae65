"""The extra objectives in training: accumulation invariance (8×1 = 2×4) with each term on,
exact resume with learned multi-task weights, and all-off = the plain next-token loss."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from safetensors.torch import load_file

from instructune.config import load_config
from instructune.recipes import train
from instructune.train.build import loss_terms, model_for_training
from instructune.train.metrics_log import read_metrics

from killed import train_killed_at


def fake_embed(texts):
    """A deterministic stand-in for MiniLM: 8 numbers per text from its bytes."""
    return np.stack([np.random.default_rng(sum(t.encode()) + len(t)).standard_normal(8).astype(np.float32)
                     for t in texts])


def window(tiny_model, rows, micro_size, overrides, plain=False):
    """(loss, {term: window mean}, gradients) of one window of `rows` in micro-batches of `micro_size`."""
    from accelerate import Accelerator

    from instructune.data.collate import collate
    from instructune.objectives.objective import TrainingObjective
    from instructune.train.step import backward_window

    cfg = load_config(None, [f"model.name={tiny_model}", "lora.dropout=0.0", *overrides])
    torch.manual_seed(0)
    model, tok, _ = model_for_training(cfg.model, cfg.template, cfg.train, cfg.lora)
    ds = rows["ds"]
    torch.manual_seed(1)
    objectives = {} if plain else loss_terms(cfg.objectives, cfg.train, cfg.data, model, ds, tok, embed=fake_embed)
    acc = Accelerator(cpu=True)
    module = acc.prepare(TrainingObjective(model, objectives=objectives))
    n = len(rows["rows"])
    micro = [{**collate(rows["rows"][s:s + micro_size], tok.pad_token_id), "rows": list(range(s, s + micro_size))}
             for s in range(0, n, micro_size)]
    loss, _, terms = backward_window(module, micro, acc)
    grads = {k: p.grad.clone() for k, p in module.named_parameters() if p.grad is not None}
    return float(loss), {k: float(v) for k, v in terms.items()}, grads


@pytest.fixture(scope="module")
def eight_rows(tiny_tokenizer):
    from instructune.data.inputs import load_inputs
    from instructune.data.templates import get_template
    from instructune.data.tokenized import tokenize_records

    ds, _ = tokenize_records(load_inputs(["starter:train"])[:8], tiny_tokenizer, get_template("chat"))
    return {"ds": ds, "rows": [ds[i] for i in range(8)]}


ARMS = {
    "instruction": ["objectives.instruction.weight=0.5", "objectives.instruction.group=2"],
    "instruction_tokens": ["objectives.instruction_tokens.weight=0.5"],
    "multitask_fixed": ["objectives.multitask.mode=fixed", "objectives.multitask.inverse_frequency=true"],
    "multitask_learned": ["objectives.multitask.mode=learned"],
    "representation": ["objectives.representation.weight=0.5"],
}


@pytest.mark.parametrize("arm", list(ARMS))
def test_accumulation_invariance_8x1_equals_2x4(tiny_model, eight_rows, arm):
    l8, t8, g8 = window(tiny_model, eight_rows, 8, ARMS[arm])
    l2, t2, g2 = window(tiny_model, eight_rows, 2, ARMS[arm])
    assert set(t8) == set(t2) and len(t8) > 1
    for k in t8:
        assert t8[k] == pytest.approx(t2[k], rel=1e-5, abs=1e-6), k
    assert g8.keys() == g2.keys()
    assert any(k.startswith("objectives.") for k in g8) == (arm != "instruction_tokens" and arm != "multitask_fixed")
    for k in g8:
        torch.testing.assert_close(g8[k], g2[k], rtol=1e-4, atol=1e-6)


def test_all_off_is_the_plain_next_token_loss(tiny_model, eight_rows):
    cfg = load_config(None, [f"model.name={tiny_model}"])
    assert loss_terms(cfg.objectives, cfg.train, cfg.data, None, eight_rows["ds"], None) == {}
    lp, tp, gp = window(tiny_model, eight_rows, 2, [], plain=True)
    lo, to, go = window(tiny_model, eight_rows, 2, [])
    assert lp == lo and tp == to == {"nll": lp}
    for k in gp:
        assert torch.equal(gp[k], go[k]), k


def tiny_cfg(tiny_model, out, *extra):
    return load_config(None, [f"model.name={tiny_model}", f"output_dir={out}", "data.max_length=256",
                              "train.lr=1e-2", "train.warmup_ratio=0.0", "train.seed=3", "data.heldout=[]",
                              *extra])


def test_resume_is_exact_with_learned_multitask_weights(tiny_model, tmp_path, monkeypatch):
    common = ["train.max_steps=6", "train.batch_size=4", "train.checkpoint_every=3", "lora.dropout=0.1",
              "objectives.multitask.mode=learned", "objectives.instruction.weight=0.2",
              "objectives.instruction.warmup_steps=4"]
    train.main(tiny_cfg(tiny_model, tmp_path / "full", *common))
    full = read_metrics(tmp_path / "full" / "metrics.jsonl")
    weights = sorted(k for k in full[0] if k.startswith("weight/"))
    assert weights and "lambda/instruction" in full[0]
    assert full[-1][weights[0]] != 1.0 or full[-1][weights[1]] != 1.0  # the weights did learn
    ckpt = tmp_path / "full" / "checkpoints" / "step-000006" / "objectives.safetensors"
    assert "multitask.rho" in load_file(ckpt)

    part = tmp_path / "part"
    train_killed_at(monkeypatch, tiny_cfg(tiny_model, part, *common), 5)
    train.main(tiny_cfg(tiny_model, part, *common), resume=True)
    resumed = read_metrics(part / "metrics.jsonl")
    assert [r["step"] for r in resumed] == [1, 2, 3, 4, 5, 6]
    for a, b in zip(resumed, full):
        for k in ["loss", "multitask_loss", "lambda/instruction", "instruction_loss", *weights]:
            if k in b:
                assert a[k] == pytest.approx(b[k], rel=1e-5), (a["step"], k)


def test_a_task_absent_from_the_step_is_left_out_of_the_log(tiny_model, eight_rows):
    # Tasks come from all 8 records; this window holds the first two (open_qa, closed_qa).
    from instructune.train.loop import term_metrics

    two = {"ds": eight_rows["ds"], "rows": eight_rows["rows"][:2]}
    loss, terms, _ = window(tiny_model, two, 1, ARMS["multitask_fixed"])
    assert terms["nll/open_qa"] > 0 and terms["nll/closed_qa"] > 0
    assert np.isnan(terms["nll/summarization"])  # no tokens of it: no mean, not a loss of 0
    logged = term_metrics(terms)
    assert "nll/summarization" not in logged and "nll/brainstorming" not in logged
    assert logged["nll/open_qa"] == terms["nll/open_qa"] and np.isfinite(loss)


@pytest.mark.parametrize("mode,ignored", [("mask", True), ("mix", True), ("drop", False)])
def test_instruction_modelling_skips_instruction_maskings_token(tiny_model, tiny_tokenizer, eight_rows, mode, ignored):
    cfg = load_config(None, [f"model.name={tiny_model}", "objectives.instruction_tokens.weight=0.5",
                             "data.instruction_masking.fraction=0.2", f"data.instruction_masking.mode={mode}"])
    model, tok, _ = model_for_training(cfg.model, cfg.template, cfg.train, cfg.lora)
    term = loss_terms(cfg.objectives, cfg.train, cfg.data, model, eight_rows["ds"], tok)["instruction_tokens"]
    assert term.ignore_id == (tiny_tokenizer.unk_token_id if ignored else None)
