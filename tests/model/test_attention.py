"""`varlen` attention keeps packed records apart; the attention / dtype / device choices."""

from __future__ import annotations

import pytest
import torch

from instructune.data.collate import collate_packed
from instructune.model.attention import block_causal_mask, resolve_attention
from instructune.model.forward import model_inputs
from instructune.model.load import load_model, resolve_dtype
from instructune.model.packing import packing_supported


def test_block_causal_mask_is_causal_inside_each_record_only():
    m = block_causal_mask(torch.tensor([0, 2, 5], dtype=torch.int32), 5)
    want = torch.tensor([[1, 0, 0, 0, 0], [1, 1, 0, 0, 0], [0, 0, 1, 0, 0], [0, 0, 1, 1, 0], [0, 0, 1, 1, 1]])
    assert torch.equal(m, want.bool())


def test_varlen_packed_rows_give_each_record_its_own_logits(tiny_model):
    model = load_model(tiny_model, attn_implementation="varlen", device="cpu", training=True).eval()
    assert model.config._attn_implementation == "varlen"
    torch.manual_seed(0)
    records = [torch.randint(5, 500, (n,)).tolist() for n in (6, 3, 5, 5)]
    rows = [{"input_ids": r, "labels": r, "segment_ids": [2] * len(r)} for r in records]
    batch = collate_packed([rows[:2], rows[2:]], pad_id=0)  # two packed rows, the first padded
    assert batch["cu_seqlens"].tolist() == [0, 6, 10, 15, 20] and batch["max_seqlen"] == 6
    with torch.no_grad():
        packed = model(**model_inputs(model, batch)).logits
        flat = packed.reshape(-1, packed.shape[-1])
        for i, r in enumerate(records):
            start = [0, 6, 10, 15][i]
            alone = model(input_ids=torch.tensor([r])).logits[0]
            torch.testing.assert_close(flat[start:start + len(r)], alone, rtol=1e-4, atol=1e-4)
    # Without the boundaries the same rows mix records: the probe tells the two apart.
    with torch.no_grad():
        mixed = model(input_ids=batch["input_ids"], position_ids=batch["position_ids"]).logits
    assert not torch.allclose(mixed.reshape(-1, mixed.shape[-1])[6:9], flat[6:9], atol=1e-3)
    assert packing_supported(model)


def test_auto_choices_on_cpu_and_for_inference():
    assert resolve_attention("auto", "cpu", training=True) == "sdpa"
    assert resolve_attention("varlen", "cuda", training=False) == "sdpa"  # no padding masks for generation
    assert resolve_attention("eager", "cuda", training=True) == "eager"
    assert resolve_dtype("auto", "cpu") in ("float32", "bfloat16")
    assert resolve_dtype("float16", "cpu") == "float16"
    with pytest.raises(ValueError):
        resolve_dtype("int8", "cpu")
