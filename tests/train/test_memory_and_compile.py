"""Activation checkpointing and torch.compile change speed and memory, never the numbers."""

from __future__ import annotations

import pytest
import torch

from instructune.config import load_config
from instructune.data.collate import collate_packed
from instructune.objectives.response_nll import response_nll
from instructune.train.build import model_for_training
from instructune.train.metrics_log import read_metrics

from assembled import trained


def lora_grads(tiny_model, batch, *extra):
    cfg = load_config(None, [f"model.name={tiny_model}", "lora.dropout=0.0", *extra])
    torch.manual_seed(0)
    model, _, _ = model_for_training(cfg.model, cfg.template, cfg.train, cfg.lora, "cpu")
    model.train()
    calls, hooked = [], []
    layer = model.get_base_model().model.layers[0]
    # The layer's MLP runs again when the layer is recomputed in backward.
    inner = layer.mlp.forward
    layer.mlp.forward = lambda *a, **k: calls.append(1) or inner(*a, **k)
    # A forward hook on the layer (as trackers and probes use) sees the real output once.
    handle = layer.register_forward_hook(lambda mod, args, out: hooked.append(out[0].shape if isinstance(out, tuple)
                                                                              else out.shape))
    out = response_nll(model, batch)
    out["nll_sum"].backward()
    handle.remove()
    assert hooked == [(batch["input_ids"].shape[0], batch["input_ids"].shape[1], 64)]
    return out["nll_sum"].detach(), {n: p.grad for n, p in model.named_parameters() if p.requires_grad}, len(calls)


def test_activation_checkpointing_with_lora_packing_and_hooks_keeps_loss_and_gradients(tiny_model, tiny_tokenizer):
    torch.manual_seed(1)
    rows = [{"input_ids": (ids := torch.randint(5, 500, (n,)).tolist()), "labels": ids, "segment_ids": [2] * n}
            for n in (7, 5, 9)]
    batch = collate_packed([rows[:2], rows[2:]], tiny_tokenizer.pad_token_id)
    loss0, g0, calls0 = lora_grads(tiny_model, batch)
    loss1, g1, calls1 = lora_grads(tiny_model, batch, "train.activation_checkpointing=true")
    torch.testing.assert_close(loss0, loss1)
    for n in g0:
        torch.testing.assert_close(g0[n], g1[n], rtol=1e-5, atol=1e-7)
    assert calls0 == 1 and calls1 == 2  # the hook sees the forward and its recomputation in backward


def run(tiny_model, out, *extra):
    cfg = load_config(None, [f"model.name={tiny_model}", f"output_dir={out}", "data.max_length=256",
                             "train.max_steps=1", "train.batch_size=4", "train.seed=3", "data.heldout=[]",
                             "data.packing=true", *extra])
    trained(cfg, export=False)
    return [r["loss"] for r in read_metrics(out / "metrics.jsonl")]


def test_compiled_layers_train_like_eager(tiny_model, tmp_path):
    eager = run(tiny_model, tmp_path / "eager")
    compiled = run(tiny_model, tmp_path / "compiled", "train.compile=true")
    assert compiled == pytest.approx(eager, rel=1e-4)


def test_activation_checkpointing_with_fused_lora_keeps_loss_and_gradients(tiny_model, tiny_tokenizer):
    torch.manual_seed(1)
    rows = [{"input_ids": (ids := torch.randint(5, 500, (n,)).tolist()), "labels": ids, "segment_ids": [2] * n}
            for n in (7, 5, 9)]
    batch = collate_packed([rows[:2], rows[2:]], tiny_tokenizer.pad_token_id)
    loss0, g0, _ = lora_grads(tiny_model, batch)
    loss1, g1, calls = lora_grads(tiny_model, batch, "lora.fuse_adapters=true", "train.activation_checkpointing=true")
    torch.testing.assert_close(loss0, loss1)
    for n in g0:
        torch.testing.assert_close(g0[n], g1[n], rtol=1e-5, atol=1e-6)
    assert calls == 2
