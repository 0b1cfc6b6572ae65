"""`varlen`: attention over packed records from their boundaries, without a (B, 1, T, T) mask.

Registered with transformers as `attn_implementation="varlen"` when this module is imported.
The collator (`data/collate.py`) gives every packed / padding-free micro-batch `cu_seqlens`
(int32 (R+1,): where each record starts in the flattened B*T tokens) and `max_seqlen` (a host
int, so no device sync is needed to launch); `response_nll` passes them to the model as
transformers' flash-attention kwargs (`cu_seq_lens_q/k`, `max_length_q/k`), which every
decoder layer forwards to its attention function unchanged.

Kernels:
- CUDA, half precision, `torch.nn.attention.varlen.varlen_attn` present (torch >= 2.10):
  PyTorch's own flash-attention varlen kernel, causal inside each record. Cost is linear in
  the records' own lengths; nothing is spent on cross-record blocks.
- otherwise (CPU, float32): the same function through SDPA with a block-diagonal causal mask
  built from `cu_seqlens` (the reference used by the CPU tests).
A sliding-window layer (Mistral, Gemma 3's local layers: transformers passes `sliding_window`)
keeps its window inside each record, in both kernels (flash through `window_size`; a torch whose
varlen kernel has no window runs the masked reference). Soft-capped attention scores (Gemma 2)
are refused: neither kernel can compute them, and `resolve_attention` never picks this
function, or SDPA, for a model that soft-caps (`attention_limit`).
Without `cu_seqlens` (held-out loss on right-padded rows) it is plain causal SDPA. It builds no
padding mask, so it is a training path: `resolve_attention` maps it to "sdpa" for inference
(generation passes a 2D padding mask and a KV cache that this function never sees).
"""

from __future__ import annotations

import functools
import inspect

import torch
import torch.nn.functional as F

VARLEN = "varlen"
# transformers' flash-attention kwarg names; decoder layers pass them through to attention.
CU_Q, CU_K, MAX_Q, MAX_K = "cu_seq_lens_q", "cu_seq_lens_k", "max_length_q", "max_length_k"


@functools.lru_cache(maxsize=1)
def _torch_varlen():
    """(varlen_attn, its parameter names) or None when this torch has no varlen kernel."""
    try:
        from torch.nn.attention.varlen import varlen_attn
    except ImportError:
        return None
    return varlen_attn, frozenset(inspect.signature(varlen_attn).parameters)


def varlen_kernel_available(device: torch.device | str) -> bool:
    """Whether the flash varlen kernel runs on `device` (CUDA with a torch that has it)."""
    return torch.device(device).type == "cuda" and _torch_varlen() is not None


def _repeat_kv(x: torch.Tensor, groups: int) -> torch.Tensor:
    """(N, H_kv, D) → (N, H_kv*groups, D), each kv head repeated for its query group."""
    return x if groups == 1 else x.repeat_interleave(groups, dim=1)


def _flash_varlen(q, k, v, cu, max_len: int, scale: float, window: int | None = None) -> torch.Tensor:
    """Causal flash attention per record, each query seeing at most its `window` last keys
    (itself included) when a window is given. q (N, H, D), k/v (N, H_kv, D) → (N, H, D)."""
    fn, params = _torch_varlen()
    groups = q.shape[1] // k.shape[1]
    kw = {"scale": scale}
    if "enable_gqa" in params and groups > 1:
        kw["enable_gqa"] = True
    else:
        k, v = _repeat_kv(k, groups), _repeat_kv(v, groups)
    # torch 2.10 takes is_causal; later releases express causality as a (left, 0) window.
    kw.update({"window_size": (-1 if window is None else window - 1, 0)} if "window_size" in params
              else {"is_causal": True})
    return fn(q, k, v, cu, cu, max_len, max_len, **kw)


def block_causal_mask(cu: torch.Tensor, n: int, window: int | None = None) -> torch.Tensor:
    """(n, n) bool: token i may attend to token j when both lie in one record and j <= i
    (and, with a sliding `window`, i - j < window: transformers' sliding-window rule).

    Args:
        cu: int (R+1,) record starts in the flattened tokens, cu[-1] == n.
        n: total tokens.
        window: the layer's sliding window, or None for full causal attention.
    """
    record = torch.bucketize(torch.arange(n, device=cu.device), cu[1:].to(torch.long), right=True)
    idx = torch.arange(n, device=cu.device)
    mask = (record[:, None] == record[None, :]) & (idx[None, :] <= idx[:, None])
    return mask if window is None else mask & (idx[:, None] - idx[None, :] < window)


def _masked_reference(q, k, v, cu, scale: float, window: int | None = None) -> torch.Tensor:
    """The same attention through SDPA and a block-diagonal causal mask. Shapes as `_flash_varlen`."""
    groups = q.shape[1] // k.shape[1]
    k, v = _repeat_kv(k, groups), _repeat_kv(v, groups)
    mask = block_causal_mask(cu, q.shape[0], window)
    out = F.scaled_dot_product_attention(q.transpose(0, 1), k.transpose(0, 1), v.transpose(0, 1),
                                         attn_mask=mask, scale=scale)
    return out.transpose(0, 1)


def _compute_dtype(t: torch.Tensor) -> torch.dtype:
    """The dtype autocast would run attention in (the tensor's own dtype without autocast)."""
    kind = t.device.type
    return torch.get_autocast_dtype(kind) if torch.is_autocast_enabled(kind) else t.dtype


def _flash_fits(device: torch.device, dtype: torch.dtype, window: int | None) -> bool:
    """Whether the flash varlen kernel computes this call: CUDA, half precision, and a kernel
    that takes a window when the layer slides (torch 2.10's takes only is_causal)."""
    return (varlen_kernel_available(device) and dtype in (torch.bfloat16, torch.float16)
            and (window is None or "window_size" in _torch_varlen()[1]))


def varlen_attention_forward(module: torch.nn.Module, query: torch.Tensor, key: torch.Tensor,
                             value: torch.Tensor, attention_mask: torch.Tensor | None,
                             scaling: float | None = None, dropout: float = 0.0, **kwargs):
    """transformers attention function: query (B, H, T, D), key/value (B, H_kv, T, D) →
    ((B, T, H, D), None). Records are given by kwargs `cu_seq_lens_q` over the flattened B*T
    tokens; without them, causal attention per row (right-padded rows need no more). A layer's
    `sliding_window` kwarg is kept inside each record; a `softcap` raises ValueError."""
    if kwargs.get("softcap") is not None:
        raise ValueError("the varlen attention cannot soft-cap attention scores; load this model with eager")
    cu = kwargs.get(CU_Q)
    if cu is None:
        from transformers.integrations.sdpa_attention import sdpa_attention_forward

        return sdpa_attention_forward(module, query, key, value, attention_mask, dropout=dropout,
                                      scaling=scaling, **kwargs)
    B, H, T, D = query.shape
    scale = scaling if scaling is not None else D ** -0.5
    q, k, v = (x.transpose(1, 2).reshape(B * T, x.shape[1], D) for x in (query, key, value))
    dtype = _compute_dtype(q)
    window = kwargs.get("sliding_window")
    if _flash_fits(q.device, dtype, window):
        # Under autocast RoPE can leave q/k in float32 (fp32 master weights); flash needs half.
        out = _flash_varlen(q.to(dtype), k.to(dtype), v.to(dtype), cu.to(torch.int32), int(kwargs[MAX_Q]), scale,
                            window)
    else:
        out = _masked_reference(q, k, v, cu, scale, window)
    return out.reshape(B, T, H, D), None


def register() -> None:
    """Make `attn_implementation="varlen"` known to transformers (idempotent)."""
    from transformers import AttentionInterface

    AttentionInterface.register(VARLEN, varlen_attention_forward)


def reads_cu_seqlens(model: torch.nn.Module) -> bool:
    """Whether `model` needs the collator's `cu_seqlens` to keep packed records apart."""
    cfg = getattr(model, "config", None)
    return getattr(cfg, "_attn_implementation", None) == VARLEN


def attention_limit(config) -> str | None:
    """Why a model's attention cannot run through SDPA or `varlen` (read from its transformers
    config, before any weight loads), or None when it can.

    Gemma 2 soft-caps its attention scores (tanh, `attn_logit_softcapping`): SDPA and both
    varlen kernels compute plain softmax attention, so only eager, flex attention and the
    flash-attention kernels that take a softcap are right for it.
    """
    if getattr(config, "attn_logit_softcapping", None):
        return "soft-caps its attention scores"
    return None


def resolve_attention(requested: str, device: torch.device | str, training: bool, config=None) -> str:
    """The attention implementation to load.

    Args:
        requested: `model.attn_implementation`: "auto", "varlen" or any name transformers
            accepts ("sdpa", "eager", "flex_attention", "flash_attention_2", ...).
        device: where the model runs.
        training: True for the training loop; False for evaluation / generation / serving.
        config: the model's transformers config, when known: a model with an
            `attention_limit` gets "eager" for "auto", and "sdpa" / "varlen" are refused.
    Returns:
        "auto" → "varlen" for training on a CUDA device with the varlen kernel, else "sdpa"
        ("eager" for a model SDPA cannot compute); "varlen" → "sdpa" when not training (it
        builds no padding mask for generation).
    Raises:
        ConfigError: "sdpa" or "varlen" for a model whose attention they cannot compute,
            naming the family and why.
    """
    limit = attention_limit(config) if config is not None else None
    if limit and requested == "auto":
        return "eager"
    if limit and requested in ("sdpa", VARLEN):
        from instructune.config import ConfigError

        raise ConfigError(f"model.attn_implementation={requested}: {config.model_type} {limit}, which {requested} "
                          f"cannot compute; use auto or eager (flex_attention and flash_attention_2 also can)")
    if requested == "auto":
        return VARLEN if training and varlen_kernel_available(device) else "sdpa"
    if requested == VARLEN and not training:
        return "sdpa"
    return requested


register()
