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
