"""The training loop on the tiny model: accumulation invariance, checkpoints, resume, export."""

from __future__ import annotations

import json
import re

import pytest
import torch
from safetensors.torch import load_file

from instructune.config import load_config
from instructune.recipes import train
from instructune.train.metrics_log import read_metrics

from assembled import trained
from killed import train_killed_at
from tiny import first_starter_train


def tiny_cfg(tiny_model, out, *extra):
    return load_config(None, [f"model.name={tiny_model}", f"output_dir={out}", "data.max_length=256",
                              "train.lr=1e-2", "train.warmup_ratio=0.0", "train.seed=3", "eval.batch_size=16",
                              *extra])


def grads_for(tiny_model, rows, micro_size):
    """Gradients and loss of one window of `rows` split into micro-batches of `micro_size`."""
    from accelerate import Accelerator

    from instructune.data.collate import collate
    from instructune.train.build import model_for_training
    from instructune.objectives.objective import TrainingObjective
    from instructune.train.step import backward_window

    cfg = load_config(None, [f"model.name={tiny_model}", "lora.dropout=0.0"])
    torch.manual_seed(0)
    model, tok, _ = model_for_training(cfg.model, cfg.template, cfg.train, cfg.lora)
    acc = Accelerator(cpu=True)
    module = acc.prepare(TrainingObjective(model))
    micro = [collate(rows[s:s + micro_size], tok.pad_token_id) for s in range(0, len(rows), micro_size)]
    loss, n, _ = backward_window(module, micro, acc)
    return float(loss), int(n), {k: p.grad.clone() for k, p in model.named_parameters() if p.requires_grad}


def test_accumulation_invariance_8x1_equals_2x4(tiny_model, tiny_tokenizer):
    from instructune.data.inputs import load_inputs
    from instructune.data.templates import get_template
    from instructune.data.tokenized import tokenize_records

    ds, _ = tokenize_records(load_inputs(["starter:train"])[:8], tiny_tokenizer, get_template("chat"))
    rows = [ds[i] for i in range(8)]
    assert len({len(r["input_ids"]) for r in rows}) > 1  # uneven lengths: naive per-batch means would differ
    loss8, n8, g8 = grads_for(tiny_model, rows, 8)
    loss2, n2, g2 = grads_for(tiny_model, rows, 2)
    assert n8 == n2 == sum(r["n_trained"] for r in rows)
    assert loss8 == pytest.approx(loss2, rel=1e-5)
    for k in g8:
        torch.testing.assert_close(g8[k], g2[k], rtol=1e-4, atol=1e-6)


def test_loop_batch8_acc1_equals_batch2_acc4(tiny_model, tmp_path):
    # the data its tolerance was set on (a weight whose gradients are ~0 moves by float noise)
    common = ["train.max_steps=3", "train.group_by_length=false", "data.heldout=[]",
              f"data.train=[{first_starter_train(tmp_path)}]"]
    _, a = trained(tiny_cfg(tiny_model, tmp_path / "a", "train.batch_size=8", "train.grad_accum=1", *common))
    _, b = trained(tiny_cfg(tiny_model, tmp_path / "b", "train.batch_size=2", "train.grad_accum=4", *common))
    la = [m["loss"] for m in read_metrics(tmp_path / "a" / "metrics.jsonl")]
    lb = [m["loss"] for m in read_metrics(tmp_path / "b" / "metrics.jsonl")]
    assert len(la) == 3 and la == pytest.approx(lb, rel=1e-4)
    wa = load_file(tmp_path / "a" / "adapter" / "adapter_model.safetensors")
    wb = load_file(tmp_path / "b" / "adapter" / "adapter_model.safetensors")
    for k in wa:
        torch.testing.assert_close(wa[k], wb[k], rtol=1e-3, atol=1e-5)
    assert a.step == b.step == 3


def test_run_dir_layout_checkpoints_and_export(tiny_model, tmp_path):
    run = tmp_path / "run"
    summary = train.main(tiny_cfg(tiny_model, run, "train.max_steps=4", "train.checkpoint_every=2",
                                  "train.eval_every=2", "train.batch_size=4", "train.report_to=[tensorboard]"))
    for name in ("config.yaml", "metrics.jsonl", "adapter/adapter_config.json", "export/config.json",
                 "export/model.safetensors", "export/tokenizer.json", "train_summary.json"):
        assert (run / name).exists(), name
    ckpts = sorted(p.name for p in (run / "checkpoints").iterdir())
    assert ckpts == ["step-000002", "step-000004"]
    for f in ("trainable.safetensors", "optimizer.pt", "scheduler.pt", "rng.pt", "state.json"):
        assert (run / "checkpoints" / "step-000002" / f).exists()
    state = json.loads((run / "checkpoints" / "step-000002" / "state.json").read_text())
    assert state == {"step": 2, "epoch": 0, "position": 2, "processes": 1}
    rows = read_metrics(run / "metrics.jsonl")
    assert [r["step"] for r in rows] == [1, 2, 3, 4]
    assert "eval_loss" in rows[1] and "eval_loss" in rows[3] and "eval_loss" not in rows[0]
    assert list((run / "runs").rglob("events.out.tfevents*")) or list(run.rglob("events.out.tfevents*"))
    assert summary["final"]["eval_loss"] > 0


def trained_tensors(cfg) -> set[str]:
    """Names, as in the exported model, of the tensors that training `cfg` may change: the
    parameters left trainable by `model_for_training` (a LoRA pair stands for the base weight
    it is merged into)."""
    from instructune.train.build import model_for_training

    model, _, _ = model_for_training(cfg.model, cfg.template, cfg.train, cfg.lora)
    names = set()
    for name, p in model.named_parameters():
        if p.requires_grad:
            name = name.removeprefix("base_model.model.")
            names.add(re.sub(r"\.lora_[AB]\.default(?=\.weight$)", "", name))
    return names


def assert_changed_exactly(base: dict, tuned: dict, trainable: set[str], tied: bool) -> None:
    """Every trainable tensor of the export differs from the base model, every other is equal."""
    assert set(base) == set(tuned)
    if tied:  # lm_head shares embed_tokens' tensor: it is trained when the embedding is
        trainable = trainable | ({"lm_head.weight"} if "model.embed_tokens.weight" in trainable else set())
    assert trainable and trainable <= set(tuned)
    changed = {n for n in tuned if not torch.equal(base[n], tuned[n])}
    assert sorted(trainable - changed) == [], "trainable tensors that did not change"
    assert sorted(changed - trainable) == [], "frozen tensors that changed"


def test_export_loads_with_plain_transformers_and_weights_changed(tiny_model, tmp_path):
    from transformers import AutoModelForCausalLM, AutoTokenizer

    run = tmp_path / "run"
    cfg = tiny_cfg(tiny_model, run, "train.max_steps=3", "data.heldout=[]")
    trained(cfg)
    base = AutoModelForCausalLM.from_pretrained(tiny_model)
    tuned = AutoModelForCausalLM.from_pretrained(run / "export")
    tok = AutoTokenizer.from_pretrained(run / "export")
    trainable = trained_tensors(cfg)
    assert any("q_proj" in n for n in trainable) and not any("norm" in n for n in trainable)
    assert_changed_exactly(base.state_dict(), tuned.state_dict(), trainable, base.config.tie_word_embeddings)
    assert tok.chat_template
    ids = tok.apply_chat_template([{"role": "user", "content": "Hi"}], add_generation_prompt=True,
                                  return_tensors="pt", return_dict=True)
    out = tuned.generate(**ids, max_new_tokens=5, do_sample=False)
    assert out.shape[1] > ids["input_ids"].shape[1]


def test_resume_continues_the_same_loss_curve(tiny_model, tmp_path, monkeypatch):
    common = ["train.max_steps=6", "train.batch_size=4", "train.checkpoint_every=3", "data.heldout=[]",
              "lora.dropout=0.1"]  # dropout makes the RNG state matter
    train.main(tiny_cfg(tiny_model, tmp_path / "full", *common))
    full = read_metrics(tmp_path / "full" / "metrics.jsonl")

    # The same run crashes while logging step 5, after the step-3 checkpoint.
    part = tmp_path / "part"
    train_killed_at(monkeypatch, tiny_cfg(tiny_model, part, *common), 5)
    assert [r["step"] for r in read_metrics(part / "metrics.jsonl")] == [1, 2, 3, 4]

    train.main(tiny_cfg(tiny_model, part, *common), resume=True)
    resumed = read_metrics(part / "metrics.jsonl")
    assert [r["step"] for r in resumed] == [1, 2, 3, 4, 5, 6]  # step 4 redone, not duplicated
    for a, b in zip(resumed, full):
        assert a["loss"] == pytest.approx(b["loss"], rel=1e-5), a["step"]
    wa = load_file(tmp_path / "full" / "adapter" / "adapter_model.safetensors")
    wb = load_file(part / "adapter" / "adapter_model.safetensors")
    for k in wa:
        torch.testing.assert_close(wa[k], wb[k])


def test_full_finetuning_trains_every_weight(tiny_model, tmp_path):
    run = tmp_path / "full"
    cfg = tiny_cfg(tiny_model, run, "train.method=full", "train.max_steps=2", "train.lr=1e-3", "data.heldout=[]")
    trained(cfg)
    assert not (run / "adapter").exists()
    from transformers import AutoModelForCausalLM

    base = AutoModelForCausalLM.from_pretrained(tiny_model)
    tuned = AutoModelForCausalLM.from_pretrained(run / "export").state_dict()
    trainable = trained_tensors(cfg)
    assert "model.norm.weight" in trainable and "model.embed_tokens.weight" in trainable
    assert_changed_exactly(base.state_dict(), tuned, trainable, base.config.tie_word_embeddings)
