"""LM head + cross-entropy at trained positions without ever holding all their logits.

    nll_sum = linear_cross_entropy(hidden (N, d), head, targets (N,), impl="chunked", chunk=4096)

A step on 24k trained tokens with a 49k vocabulary would otherwise build a (24k, 49k) logit
matrix and an fp32 copy of it (~5 GB each) only to reduce it to one number. Three ways:

- "chunked" (any device): for an `nn.Linear` head, `ChunkedLinearCE` walks the tokens in
  chunks of `chunk`; for each it builds the chunk's logits, its NLL and, in the same pass, the
  gradients w.r.t. the hidden states and the head weight (softmax - onehot), so nothing of
  size (chunk, V) outlives its chunk and backward only scales the stored gradients. Memory:
  O(chunk·V + N·d + V·d), independent of N·V. For any other head module (a peft wrapper with
  trainable token rows, say) each chunk is checkpointed instead: its logits are recomputed in
  backward.
- "liger": liger-kernel's fused linear cross-entropy (Triton; CUDA), the same idea fused.
- "logits": all logits at once (the reference the others are tested against).
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn
from torch.utils.checkpoint import checkpoint

from instructune.model.kernels import liger_available

IMPLS = ("chunked", "liger", "logits")


def resolve_loss_impl(requested: str, device: torch.device | str) -> str:
    """"auto" → "liger" on CUDA when liger-kernel is installed, else "chunked"."""
    if requested != "auto":
        return requested
    return "liger" if torch.device(device).type == "cuda" and liger_available() else "chunked"


def _compute_dtype(h: torch.Tensor, w: torch.Tensor) -> torch.dtype:
    """The dtype the head's matmul runs in: autocast's, else the promoted input dtype."""
    kind = h.device.type
    if torch.is_autocast_enabled(kind):
        return torch.get_autocast_dtype(kind)
    return torch.promote_types(h.dtype, w.dtype)


class ChunkedLinearCE(torch.autograd.Function):
    """Σ_i -log softmax(h_i W^T + b)[t_i], with gradients computed chunk by chunk in forward.

    forward(hidden (N, d), weight (V, d), bias (V,) or None, targets (N,) long, chunk int,
    needs (hidden, weight, bias) bools) → () float32. The matmuls run in the autocast dtype
    (bf16 under mixed precision), the softmax and the sums in float32; the weight gradient
    accumulates in float32.
    """

    @staticmethod
    def forward(ctx, hidden, weight, bias, targets, chunk: int, needs: tuple[bool, bool, bool]):
        dtype = _compute_dtype(hidden, weight)
        need_hidden_grad, need_w, need_b = needs
        with torch.autocast(hidden.device.type, enabled=False):
            w = weight.to(dtype)
            h_all = hidden.to(dtype)
            grad_h = torch.empty_like(hidden) if need_hidden_grad else None
            grad_w = torch.zeros(weight.shape, dtype=torch.float32, device=weight.device) if need_w else None
            grad_b = torch.zeros(bias.shape, dtype=torch.float32, device=bias.device) if need_b else None
            total = torch.zeros((), dtype=torch.float32, device=hidden.device)
            for s in range(0, hidden.shape[0], chunk):
                h, t = h_all[s:s + chunk], targets[s:s + chunk]
                logits = (h @ w.t()).float()
                if bias is not None:
                    logits += bias.float()
                lse = torch.logsumexp(logits, dim=-1)
                total += (lse - logits.gather(1, t[:, None]).squeeze(1)).sum()
                if not (need_hidden_grad or need_w or need_b):
                    continue
                # d nll / d logits = softmax - onehot, built in place over the logits.
                g = logits.sub_(lse[:, None]).exp_()
                g[torch.arange(len(t), device=g.device), t] -= 1.0
                if need_b:
                    grad_b += g.sum(0)
                g = g.to(dtype)
                if need_hidden_grad:
                    grad_h[s:s + chunk] = (g @ w).to(hidden.dtype)
                if need_w:
                    grad_w += g.t() @ h
        ctx.save_for_backward(grad_h, grad_w, grad_b)
        ctx.dtypes = (weight.dtype, bias.dtype if bias is not None else None)
        return total

    @staticmethod
    def backward(ctx, grad_out):
        grad_h, grad_w, grad_b = ctx.saved_tensors
        w_dtype, b_dtype = ctx.dtypes
        return (grad_h * grad_out.to(grad_h.dtype) if grad_h is not None else None,
                (grad_w * grad_out).to(w_dtype) if grad_w is not None else None,
                (grad_b * grad_out).to(b_dtype) if grad_b is not None else None,
                None, None, None)


def _plain_linear(head: nn.Module) -> bool:
    """A head whose output is exactly F.linear(x, head.weight, head.bias), with its weight at hand
    (not a DeepSpeed ZeRO-3 partition, which is only gathered inside the module's own forward)."""
    return type(head) is nn.Linear and not hasattr(head.weight, "ds_id")


def _chunk_nll(head: nn.Module, h: torch.Tensor, t: torch.Tensor) -> torch.Tensor:
    return F.cross_entropy(head(h).float(), t, reduction="sum")


def linear_cross_entropy(hidden: torch.Tensor, head: nn.Module, targets: torch.Tensor, impl: str = "chunked",
                         chunk: int = 4096) -> torch.Tensor:
    """Summed NLL of `targets` under the logits `head(hidden)`.

    Args:
        hidden: (N, d) hidden states at the trained positions.
        head: the LM head (`get_output_embeddings()`), usually an `nn.Linear` (V, d).
        targets: (N,) long token ids, none ignored (positions were selected before).
        impl: "chunked" | "liger" | "logits" (see the module docstring).
        chunk: tokens per chunk for "chunked".
    Returns:
        () float32 sum over the N tokens.
    """
    if impl not in IMPLS:
        raise ValueError(f"unknown loss impl {impl!r}; allowed: {', '.join(IMPLS)}")
    if hidden.shape[0] == 0:
        return hidden.sum().float() * 0.0  # keeps the graph (and DDP's gradient hooks) intact
    if impl == "logits":
        return F.cross_entropy(head(hidden).float(), targets, reduction="sum")
    if impl == "liger" and _plain_linear(head):
        from liger_kernel.transformers.functional import liger_fused_linear_cross_entropy

        return liger_fused_linear_cross_entropy(hidden, head.weight, targets, bias=head.bias,
                                                reduction="sum").float()
    if _plain_linear(head):
        grad = torch.is_grad_enabled()
        needs = (grad and hidden.requires_grad, grad and head.weight.requires_grad,
                 grad and head.bias is not None and head.bias.requires_grad)
        return ChunkedLinearCE.apply(hidden, head.weight, head.bias, targets, chunk, needs)
    # A wrapped head (e.g. peft trainable token rows): recompute each chunk's logits in backward.
    total = torch.zeros((), dtype=torch.float32, device=hidden.device)
    for s in range(0, hidden.shape[0], chunk):
        h, t = hidden[s:s + chunk], targets[s:s + chunk]
        total = total + (checkpoint(_chunk_nll, head, h, t, use_reentrant=False)
                         if torch.is_grad_enabled() else _chunk_nll(head, h, t))
    return total
