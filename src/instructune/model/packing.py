"""Whether a model keeps packed records apart, and whether padding-free batches suit it.

    padding_free = resolve_padding_free("auto", packing=False, model=model)   # True under `varlen`
    packing_supported(model)   # False: the model would attend across packed records

Packing itself (which rows share a packed row, their positions) is data (`data/pack.py`);
whether the model's attention reads the restarting positions as record boundaries is a
property of the model, probed here.
"""

from __future__ import annotations

import torch
from torch import nn

from instructune.data.pack import packed_positions
from instructune.model.forward import model_inputs


def resolve_padding_free(requested: bool | str, packing: bool, model: nn.Module) -> bool:
    """`data.padding_free`: "auto" is on when packing is off and the model's attention keeps
    records apart without building a (T, T) mask (`varlen`, flash attention)."""
    if requested != "auto":
        return bool(requested)
    attn = getattr(model.config, "_attn_implementation", "") or ""
    return not packing and (attn == "varlen" or attn.startswith("flash_attention") or "flash" in attn)


@torch.no_grad()
def packing_supported(model: nn.Module) -> bool:
    """Whether `model` keeps packed records apart when given restarting `position_ids`.

    Runs two short records alone and packed in one row, called as the training step calls it
    (`model_inputs`: no attention mask, no cache, the collator's `cu_seqlens`;
    eval mode so dropout draws no random numbers) and compares their logits.

    Args:
        model: a causal LM (plain or peft-wrapped).
    Returns:
        True when every packed logit matches the record's own logits (float32: atol 1e-4;
        half precision: atol 3e-2, far below the gap that attending across records makes).
    """
    was_training = model.training
    model.eval()
    try:
        device = next(model.parameters()).device
        vocab = model.get_input_embeddings().num_embeddings
        a = (torch.arange(5, device=device) * 7 + 3) % vocab
        b = (torch.arange(4, device=device) * 11 + 5) % vocab
        alone = [model(input_ids=x[None], use_cache=False).logits[0].float() for x in (a, b)]
        batch = {"input_ids": torch.cat([a, b])[None], "position_ids": torch.tensor([packed_positions([5, 4])], device=device),
                 "cu_seqlens": torch.tensor([0, 5, 9], dtype=torch.int32, device=device), "max_seqlen": 5}
        packed = model(**model_inputs(model, batch)).logits[0].float()
        half = next(model.parameters()).dtype != torch.float32 or torch.is_autocast_enabled(device.type)
        tol = 3e-2 if half else 1e-4
        return all(torch.allclose(p, q, atol=tol, rtol=tol) for p, q in zip((packed[:5], packed[5:]), alone))
    finally:
        model.train(was_training)
