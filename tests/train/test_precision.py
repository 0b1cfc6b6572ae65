"""Mixed-precision choices per device and float32 trainable parameters."""

from __future__ import annotations

import torch
from torch import nn

from instructune.train import precision
from instructune.train.precision import Precision, keep_trainable_fp32, resolve_precision


def test_cpu_without_fast_bf16_stays_float32(monkeypatch):
    monkeypatch.setattr(precision, "supports_bf16", lambda d: False)
    assert resolve_precision("auto", "auto", "lora", "cpu") == Precision("float32", "no")
    assert resolve_precision("auto", "auto", "full", "cpu") == Precision("float32", "no")


def test_gpu_with_bf16_autocasts_and_keeps_fp32_masters_for_full_finetuning(monkeypatch):
    monkeypatch.setattr(precision, "supports_bf16", lambda d: True)
    assert resolve_precision("auto", "auto", "lora", "cuda") == Precision("bfloat16", "bf16")
    assert resolve_precision("auto", "auto", "full", "cuda") == Precision("float32", "bf16")
    assert resolve_precision("auto", "fp16", "lora", "cuda") == Precision("float16", "fp16")
    assert resolve_precision("auto", "no", "lora", "cuda") == Precision("float32", "no")
    assert resolve_precision("float32", "auto", "lora", "cuda") == Precision("float32", "bf16")


def test_trainable_half_parameters_become_float32_and_frozen_ones_stay():
    m = nn.Sequential(nn.Linear(2, 2), nn.Linear(2, 2)).to(torch.bfloat16)
    m[0].requires_grad_(False)
    assert keep_trainable_fp32(m) == 2
    assert m[0].weight.dtype == torch.bfloat16 and m[1].weight.dtype == m[1].bias.dtype == torch.float32


def test_lora_layers_take_autocast_inputs_without_a_float32_round_trip(tiny_model):
    from instructune.model.load import load_model
    from instructune.model.setup import apply_lora
    from instructune.train.precision import autocast_adapter_inputs

    torch.manual_seed(0)
    model = apply_lora(load_model(tiny_model, device="cpu"), [], r=4, alpha=8, dropout=0.0,
                       target_modules="all-linear")
    x = torch.randint(5, 500, (2, 12))
    with torch.autocast("cpu", dtype=torch.bfloat16):
        before = model(input_ids=x).logits.float()
        assert autocast_adapter_inputs(model) == 14  # 7 adapted linears x 2 layers
        after = model(input_ids=x).logits.float()
    assert all(not m.cast_input_dtype_enabled for m in model.modules() if hasattr(m, "cast_input_dtype_enabled"))
    torch.testing.assert_close(after, before, rtol=2e-2, atol=2e-2)
