"""EWC / L2-SP in training: once per optimizer step, accumulation invariance, exact resume,
and with every objective off, training exactly as before."""

from __future__ import annotations

import shutil

import pytest
import torch
from safetensors.torch import load_file

from instructune.config import load_config
from instructune.recipes import train
from instructune.train.metrics_log import read_metrics

from assembled import trained
from killed import train_killed_at
from tiny import first_starter_train

# metrics.jsonl "loss" of a 3-step tiny run on main before the objectives existed (CPU, fp32):
# with every objective off they must not move by a bit.
# The first three losses with the objectives off, recorded from main before the objectives
# existed, when the starter set held 160 training records (the test trains on those).
MAIN_LOSSES = {"lora": [6.966385364532471, 6.922835826873779, 6.8692307472229],
               "full": [6.966385364532471, 6.962264060974121, 6.723103046417236]}
EWC_ON = ["objectives.ewc.weight=50", "objectives.l2sp.weight=20"]


def tiny_cfg(tiny_model, out, *extra):
    return load_config(None, [f"model.name={tiny_model}", f"output_dir={out}", "data.max_length=256",
                              "train.lr=1e-2", "train.warmup_ratio=0.0", "train.seed=3", "data.heldout=[]",
                              "objectives.ewc.max_tokens=1024", *extra])


def window(tiny_model, rows, micro_size):
    """(loss terms, gradients) of one window of `rows` in micro-batches of `micro_size`, with
    EWC and L2-SP on and the adapters moved off zero (at zero both penalties vanish)."""
    from accelerate import Accelerator

    from instructune.data.collate import collate
    from instructune.objectives.objective import TrainingObjective
    from instructune.recipes import builders
    from instructune.train.build import model_for_training
    from instructune.train.step import backward_window

    cfg = load_config(None, [f"model.name={tiny_model}", "lora.dropout=0.0", *EWC_ON,
                             "objectives.ewc.max_tokens=512"])
    torch.manual_seed(0)
    model, tok, _ = model_for_training(cfg.model, cfg.template, cfg.train, cfg.lora)
    extra, _ = builders.regularizers(cfg, model, tok, log=lambda s: None)
    with torch.no_grad():
        for n, p in model.named_parameters():
            if "lora_B" in n:
                p.normal_(std=0.05)
    acc = Accelerator(cpu=True)
    module = acc.prepare(TrainingObjective(model, objectives=extra))
    micro = [collate(rows[s:s + micro_size], tok.pad_token_id) for s in range(0, len(rows), micro_size)]
    _, _, terms = backward_window(module, micro, acc)
    return {k: float(v) for k, v in terms.items()}, {k: p.grad.clone() for k, p in model.named_parameters()
                                                     if p.requires_grad}


def test_window_8x1_equals_2x4_with_ewc_added_once(tiny_model, tiny_tokenizer):
    from instructune.data.inputs import load_inputs
    from instructune.data.templates import get_template
    from instructune.data.tokenized import tokenize_records

    ds, _ = tokenize_records(load_inputs(["starter:train"])[:8], tiny_tokenizer, get_template("chat"))
    rows = [ds[i] for i in range(8)]
    t8, g8 = window(tiny_model, rows, 8)
    t2, g2 = window(tiny_model, rows, 2)
    assert t8["ewc"] > 0 and t8["l2sp"] > 0
    assert t8 == pytest.approx(t2, rel=1e-5)
    for k in g8:
        torch.testing.assert_close(g8[k], g2[k], rtol=1e-4, atol=1e-6)


def test_loop_batch8_acc1_equals_batch2_acc4_with_ewc(tiny_model, tmp_path):
    # the data its tolerance was set on (a weight whose gradients are ~0 moves by float noise)
    common = ["train.max_steps=3", "train.group_by_length=false", *EWC_ON,
              f"data.train=[{first_starter_train(tmp_path)}]"]
    trained(tiny_cfg(tiny_model, tmp_path / "a", "train.batch_size=8", "train.grad_accum=1", *common))
    trained(tiny_cfg(tiny_model, tmp_path / "b", "train.batch_size=2", "train.grad_accum=4", *common))
    ma, mb = read_metrics(tmp_path / "a" / "metrics.jsonl"), read_metrics(tmp_path / "b" / "metrics.jsonl")
    assert len(ma) == 3 and ma[-1]["ewc_loss"] > 0 and ma[-1]["l2sp_loss"] > 0
    for key in ("loss", "ewc_loss", "l2sp_loss"):
        assert [m[key] for m in ma] == pytest.approx([m[key] for m in mb], rel=1e-4, abs=1e-9), key
    wa = load_file(tmp_path / "a" / "adapter" / "adapter_model.safetensors")
    wb = load_file(tmp_path / "b" / "adapter" / "adapter_model.safetensors")
    for k in wa:
        torch.testing.assert_close(wa[k], wb[k], rtol=1e-3, atol=1e-5)


@pytest.mark.parametrize("method", ["lora", "full"])
def test_resume_with_ewc_is_exact(tiny_model, tmp_path, monkeypatch, method):
    common = ["train.max_steps=4", "train.batch_size=4", "train.checkpoint_every=2", f"train.method={method}",
              "lora.dropout=0.1", *EWC_ON]
    train.main(tiny_cfg(tiny_model, tmp_path / "whole", *common))
    whole = read_metrics(tmp_path / "whole" / "metrics.jsonl")

    part = tmp_path / "part"
    train_killed_at(monkeypatch, tiny_cfg(tiny_model, part, *common), 3)
    # Without the cached Fisher the resumed run estimates it again: it must do so on the
    # pretrained weights (and copy θ* from them), not on the checkpoint's.
    from instructune.cache import cache_dir

    shutil.rmtree(cache_dir() / "fisher")
    train.main(tiny_cfg(tiny_model, part, *common), resume=True)
    resumed = read_metrics(part / "metrics.jsonl")
    assert [r["step"] for r in resumed] == [1, 2, 3, 4]
    assert whole[-1]["ewc_loss"] > 0
    for a, b in zip(resumed, whole):
        for key in ("loss", "ewc_loss", "l2sp_loss"):
            assert a[key] == pytest.approx(b[key], rel=1e-5), (a["step"], key)
    if method == "lora":
        wa, wb = (load_file(r / "adapter" / "adapter_model.safetensors") for r in (tmp_path / "whole", part))
    else:
        wa, wb = (load_file(r / "export" / "model.safetensors") for r in (tmp_path / "whole", part))
    for k in wa:
        torch.testing.assert_close(wa[k], wb[k])


@pytest.mark.parametrize("method", ["lora", "full"])
def test_objectives_off_trains_exactly_as_main(tiny_model, tmp_path, method):
    run = tmp_path / method
    first = first_starter_train(tmp_path)  # the starter set when the losses were recorded
    assembled, _ = trained(tiny_cfg(tiny_model, run, "train.max_steps=3", "train.batch_size=4",
                                    f"train.method={method}", f"data.train=[{first}]"), export=False)
    rows = read_metrics(run / "metrics.jsonl")
    # MAIN_LOSSES, equal to float rounding (the CPU's thread count
    # changes reduction order in the last bits; same-process bit-identity is
    # test_objectives_training.py::test_all_off_is_the_plain_next_token_loss).
    assert [r["loss"] for r in rows] == pytest.approx(MAIN_LOSSES[method], rel=1e-6, abs=0)
    assert not any(k.endswith("_loss") for r in rows for k in r) and not assembled.objective_info


def test_ewc_holds_the_weights_back(tiny_model, tmp_path):
    def delta_norm(run):  # Σ over adapted weights of ‖B·A‖
        w = load_file(run / "adapter" / "adapter_model.safetensors")
        return sum(float((w[k] @ w[k.replace("lora_B", "lora_A")]).norm()) for k in w if "lora_B" in k)

    common = ["train.max_steps=6", "train.batch_size=4"]
    trained(tiny_cfg(tiny_model, tmp_path / "free", *common))
    held, _ = trained(tiny_cfg(tiny_model, tmp_path / "held", *common, "objectives.ewc.weight=1e5"))
    assert held.objective_info["fisher"]["documents"] > 0
    assert delta_norm(tmp_path / "held") < 0.5 * delta_norm(tmp_path / "free")
