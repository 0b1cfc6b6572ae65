"""Fused LoRA linears: one autograd function per adapted linear, one adapter GEMM per shared input.

peft's LoRA `Linear` computes `base(x) + lora_B(lora_A(dropout(x))) * scaling` as separate ops:
the base GEMM, the A GEMM, the B GEMM, the scale and the add forward; backward, the scale again
and two input gradients (base and lora_A) that autograd writes separately and then sums. With N
tokens the B output, its scaled copy, the sum and each input gradient are activation-sized
(N x d_out or N x d_in) while the rank-16 GEMMs around them do almost no arithmetic, so the
adapters cost a layer several passes over memory on top of its base GEMMs. q/k/v (and gate/up)
also read one input three (two) times for their A GEMMs, forward and backward.

`fuse_lora_linears(model)` computes every peft LoRA Linear it can with one function instead,
and the linears that a module calls on the same tensor (`SHARED_INPUT_NAMES`) as one group:

    forward   h = x @ (s * A_cat)^T                     one N x (k*r) GEMM for the group
              y_i = x @ W_i^T (+ b_i);  y_i += h_i @ B_i^T   the add is the GEMM's accumulate
    backward  gh_i = g_i @ B_i;  dB_i = g_i^T @ h_i
              dA_cat = s * (gh_cat^T @ x)               one GEMM for the group
              dx = gh_cat @ (s * A_cat);  dx += g_i @ W_i   accumulated in place, one buffer

with A_cat the group's lora_A weights stacked (k*r x d_in) and s each adapter's scaling. The
adapter parameters stay peft's own `lora_A` / `lora_B` weights (the function reads them on each
call), so saving, loading, merging and export see plain peft. Nothing is stored in the module
tree; `unfuse_lora_linears` restores peft's forward.

A linear takes peft's own path for a call (the group then does, for all its members) whenever
the fused one would not compute the same thing: adapters disabled or merged, several or no
active adapters, a LoRA variant (DoRA), bias on lora_B, fan_in_fan_out (Conv1D), dropout active
in training (peft draws one mask per linear), trainable base weights, extra call arguments, or
mismatched dtypes without autocast.
"""

from __future__ import annotations

import types
from collections.abc import Sequence

import torch
from torch import nn

# Sibling linears that transformers' decoders call on one tensor (attention input, MLP input).
SHARED_INPUT_NAMES: tuple[tuple[str, ...], ...] = (
    ("q_proj", "k_proj", "v_proj"),
    ("gate_proj", "up_proj"),
    ("query", "key", "value"),
    ("w1", "w3"),
)


class _FusedLoraFn(torch.autograd.Function):
    """k LoRA linears over one input x (N x d_in), all tensors in one compute dtype.

    Inputs: x (N x d_in), a_cat (R x d_in, R = sum of ranks), scales and ranks (k floats / ints),
    then W_1..W_k (d_out_i x d_in, frozen), b_1..b_k (d_out_i or None), B_1..B_k (d_out_i x r_i).
    Outputs: y_1..y_k (N x d_out_i).
    """

    @staticmethod
    def forward(ctx, x, a_cat, scales, ranks, *wbb):
        k = len(ranks)
        weights, biases, lora_b = wbb[:k], wbb[k:2 * k], wbb[2 * k:]
        # The scaling goes on the small A (R x d_in) rather than on an N x d_out output.
        col = _scale_column(scales, ranks, a_cat)
        a_s = a_cat * col
        h = x @ a_s.t()  # N x R: one read of x for the whole group
        outs, off = [], 0
        for w, b, bw, r in zip(weights, biases, lora_b, ranks):
            y = torch.mm(x, w.t()) if b is None else torch.addmm(b, x, w.t())
            # beta = 1: the adapter's contribution is accumulated by the GEMM into y, in place,
            # instead of a B output, a scaled copy and a sum (three activation-sized tensors).
            y.addmm_(h[:, off:off + r], bw.t())
            outs.append(y)
            off += r
        ctx.save_for_backward(x, a_s, h, *weights, *lora_b)
        ctx.scales, ctx.ranks = scales, ranks
        ctx.set_materialize_grads(False)  # an unused output gets no zero-filled gradient GEMMs
        return tuple(outs)

    @staticmethod
    def backward(ctx, *grads):
        x, a_s, h, *rest = ctx.saved_tensors
        ranks = ctx.ranks
        k = len(ranks)
        weights, lora_b = rest[:k], rest[k:]
        need = ctx.needs_input_grad
        with torch.autocast(x.device.type, enabled=False):
            gh_parts, grad_b, off = [], [None] * k, 0
            for i, (g, bw, r) in enumerate(zip(grads, lora_b, ranks)):
                if g is None:
                    gh_parts.append(x.new_zeros(x.shape[0], r))
                else:
                    gh_parts.append(g @ bw)  # N x r
                    if need[4 + 2 * k + i]:
                        grad_b[i] = g.t() @ h[:, off:off + r]  # d_out x r
                off += r
            gh = torch.cat(gh_parts, 1) if k > 1 else gh_parts[0]  # N x R
            grad_a = None
            if need[1]:
                # d(x @ (s*A)^T)/dA: one GEMM over x for the whole group, then the scale.
                grad_a = (gh.t() @ x) * _scale_column(ctx.scales, ranks, gh)
            grad_x = None
            if need[0]:
                # One buffer: the adapter's input gradient, then each base GEMM's, accumulated in
                # place (beta = 1) rather than written separately and summed by autograd.
                grad_x = gh @ a_s
                for g, w in zip(grads, weights):
                    if g is not None:
                        grad_x.addmm_(g, w)
        return (grad_x, grad_a, None, None) + (None,) * (2 * k) + tuple(grad_b)


def _scale_column(scales: Sequence[float], ranks: Sequence[int], like: torch.Tensor):
    """A python float when every adapter scales alike (the usual case), else an R x 1 column."""
    if len(set(scales)) == 1:
        return scales[0]
    col = torch.repeat_interleave(torch.tensor(scales, dtype=torch.float32), torch.tensor(ranks))
    return col.to(device=like.device, dtype=like.dtype)[:, None]


def _adapter(m: nn.Module) -> str | None:
    """The one active adapter of peft LoRA linear `m`, or None where the fused path does not apply."""
    if m.disable_adapters or m.merged or getattr(m, "fan_in_fan_out", False):
        return None
    active = m.active_adapters
    if len(active) != 1 or active[0] not in m.lora_A or active[0] in getattr(m, "lora_variant", {}):
        return None
    name = active[0]
    drop = m.lora_dropout[name]
    if not (isinstance(drop, nn.Identity) or not drop.training or drop.p == 0):
        return None
    base = m.get_base_layer()
    if not isinstance(base, nn.Linear) or base.weight.requires_grad or m.lora_B[name].bias is not None:
        return None
    if base.bias is not None and base.bias.requires_grad:
        return None
    return name


def fused_lora_forward(members: Sequence[nn.Module], x: torch.Tensor) -> list[torch.Tensor] | None:
    """The outputs of peft LoRA linears `members` on `x` (..., d_in), computed together; None
    where any member needs peft's own path (module docstring)."""
    names = [_adapter(m) for m in members]
    if None in names or not x.is_floating_point():
        return None
    dev = x.device.type
    bases = [m.get_base_layer() for m in members]
    a_w = [m.lora_A[n].weight for m, n in zip(members, names)]
    b_w = [m.lora_B[n].weight for m, n in zip(members, names)]
    if torch.is_autocast_enabled(dev):
        cdt = torch.get_autocast_dtype(dev)
    else:
        # Without autocast peft mixes dtypes by casting; that case keeps peft's path.
        cdt = x.dtype
        if any(t.dtype != cdt for t in [*(b.weight for b in bases), *a_w, *b_w]):
            return None
    x2 = x.reshape(-1, x.shape[-1]).to(cdt)
    # cat and cast stay outside the function: autograd takes the gradients back to the float32
    # parameters through them (as it does through autocast's casts in peft's path).
    a_cat = (torch.cat(a_w) if len(a_w) > 1 else a_w[0]).to(cdt)
    weights = [b.weight.to(cdt) for b in bases]
    biases = [None if b.bias is None else b.bias.to(cdt) for b in bases]
    lora_b = [w.to(cdt) for w in b_w]
    scales = tuple(float(m.scaling[n]) for m, n in zip(members, names))
    ranks = tuple(w.shape[0] for w in a_w)
    with torch.autocast(dev, enabled=False):
        outs = _FusedLoraFn.apply(x2, a_cat, scales, ranks, *weights, *biases, *lora_b)
    return [y.view(*x.shape[:-1], y.shape[-1]) for y in outs]


class SharedInputGroup:
    """The LoRA linears that one module calls on one tensor: the first call computes them all,
    the others take their output from it.

    A member called on another tensor (or on the same one changed in place since) recomputes
    the group, so a model that does not share the input stays correct, only slower. Outputs
    not yet taken are dropped at the next computation.
    """

    def __init__(self, members: Sequence[nn.Module]):
        self.members = list(members)
        self._x: torch.Tensor | None = None
        self._version = -1
        self._pending: dict[int, torch.Tensor] = {}

    def output(self, i: int, x: torch.Tensor, original, args, kwargs) -> torch.Tensor:
        if args or kwargs:
            return original(x, *args, **kwargs)
        if self._x is x and self._version == x._version and i in self._pending:
            y = self._pending.pop(i)
            if not self._pending:
                self._x = None
            return y
        outs = fused_lora_forward(self.members, x)
        if outs is None:
            self._x, self._pending = None, {}
            return original(x)
        self._pending = {j: y for j, y in enumerate(outs) if j != i}
        self._x, self._version = (x, x._version) if self._pending else (None, -1)
        return outs[i]


def _is_lora_linear(m: nn.Module) -> bool:
    from peft.tuners.lora import Linear as LoraLinear

    return isinstance(m, LoraLinear)


def fuse_lora_linears(model: nn.Module, share_inputs: bool = True) -> int:
    """Route every peft LoRA Linear in `model` through the fused function (module docstring);
    with `share_inputs`, siblings in `SHARED_INPUT_NAMES` form one group each. Call after
    `get_peft_model`. Returns how many linears are fused."""
    n = 0
    for parent in model.modules():
        children = {name: c for name, c in parent.named_children() if _is_lora_linear(c)}
        if not children:
            continue
        grouped: list[list[nn.Module]] = []
        if share_inputs:
            for names in SHARED_INPUT_NAMES:
                members = [children.pop(name) for name in names if name in children]
                if len(members) > 1:
                    grouped.append(members)
                elif members:
                    children[names[0]] = members[0]  # back to the singles
        grouped += [[c] for c in children.values()]
        for members in grouped:
            group = SharedInputGroup(members)
            for i, m in enumerate(members):
                _attach(m, group, i)
                n += 1
    return n


def _attach(m: nn.Module, group: SharedInputGroup, i: int) -> None:
    """Give `m` an instance-level forward that asks `group` (removed by `unfuse_lora_linears`).
    A bound method with the group on the module, not a closure, so that a deep copy of the
    model is fused over its own copies."""
    _detach(m)
    m._instructune_lora_group = (group, i)
    m.forward = types.MethodType(_grouped_forward, m)


def _grouped_forward(self: nn.Module, x: torch.Tensor, *args, **kwargs) -> torch.Tensor:
    group, i = self._instructune_lora_group
    return group.output(i, x, type(self).forward.__get__(self), args, kwargs)


def _detach(m: nn.Module) -> None:
    if "_instructune_lora_group" in m.__dict__:
        m.__dict__.pop("forward", None)
        del m.__dict__["_instructune_lora_group"]


def unfuse_lora_linears(model: nn.Module) -> int:
    """Put peft's own forward back on every fused linear; returns how many there were."""
    n = 0
    for m in model.modules():
        if "_instructune_lora_group" in m.__dict__:
            _detach(m)
            n += 1
    return n


def fused_lora_count(model: nn.Module) -> int:
    """How many linears of `model` are fused."""
    return sum("_instructune_lora_group" in m.__dict__ for m in model.modules())


def resolve_fuse(requested: bool | str, device: torch.device | str, compile: bool = False) -> bool:
    """`lora.fuse_adapters`: "auto" is on for training on CUDA, unless `train.compile` traces the
    layers (the group's shared-input bookkeeping is Python state between calls)."""
    if requested == "auto":
        return torch.device(device).type == "cuda" and not compile
    return bool(requested)
