"""The packing probe and the padding-free choice: properties of the model's attention."""

from __future__ import annotations

from instructune.model.load import load_model
from instructune.model.packing import packing_supported, resolve_padding_free


def test_packing_probe_detects_a_model_that_attends_across_records(tiny_model, monkeypatch):
    import transformers.masking_utils as mu

    model = load_model(tiny_model).train()
    assert packing_supported(model)
    assert packing_supported(load_model(tiny_model, attn_implementation="eager"))
    # Without transformers' packed-sequence detection, records would see each other.
    monkeypatch.setattr(mu, "find_packed_sequence_indices", lambda position_ids: None)
    assert not packing_supported(model)
    assert model.training  # the probe restores the mode it found


def test_padding_free_auto_follows_the_attention(tiny_model):
    sdpa = load_model(tiny_model, device="cpu")
    varlen = load_model(tiny_model, attn_implementation="varlen", device="cpu", training=True)
    assert resolve_padding_free("auto", False, sdpa) is False
    assert resolve_padding_free("auto", False, varlen) is True
    assert resolve_padding_free("auto", True, varlen) is False  # packing already removes padding
    assert resolve_padding_free(True, False, sdpa) is True
