"""`QuadraticPenalty`: Σ F·(θ − θ*)² over the weights training can change, with bounded memory.

    pen = QuadraticPenalty("ewc", weight=λ, fisher={name: F}, anchor={name: θ*})    # full FT
    pen = QuadraticPenalty("ewc", weight=λ, fisher={name: F}, lora=True)            # LoRA
    pen.step_terms(model)   # {"ewc": ½ Σ F·(θ − θ*)²}, a () fp32 tensor with a gradient
    pen.weights()           # {"ewc": λ}: train/step.py adds λ·value once per optimizer step

The shared machinery of EWC (`ewc.py`, F = the Fisher) and L2-SP (`l2sp.py`, F = 1).

Full fine-tuning: θ is every trained parameter and θ* its value before training (`anchor`).
LoRA: the trained change of an adapted weight W (out, in) is ΔW = scale·B·A, with A (r, in),
B (out, r) and peft's scale = alpha / r, so θ − θ* = ΔW and the penalty is Σ F·(scale·B·A)²
with F the Fisher of the base weight W.

Memory: autograd would keep every (θ − θ*) or every ΔW alive until backward, a second copy of
the model. Two `autograd.Function`s instead compute the value and the gradient one block of
rows at a time (recomputing the block in backward), so the extra memory is one block of at
most `CHUNK_ELEMENTS` fp32 values plus the gradient itself. With F = 1 the LoRA form needs no
ΔW at all: ‖scale·B·A‖² = scale²·Σ (BᵀB) ⊙ (A·Aᵀ), two (r, r) matrices.

The F and θ* tensors are plain attributes, not buffers: they are not in the module's
state_dict (they are rebuilt from the pretrained model, or the Fisher cache, on resume) and
DDP does not broadcast them every forward.
"""

from __future__ import annotations

import torch
from torch import nn
from instructune.objectives.term import LossTerm

CHUNK_ELEMENTS = 1 << 22  # 4M fp32 values (16 MiB) per block of rows


def block_rows(cols: int, chunk_elements: int = CHUNK_ELEMENTS) -> int:
    """Rows per block so that a block of `cols` columns holds at most `chunk_elements` values."""
    return max(1, chunk_elements // max(cols, 1))


def as_rows(t: torch.Tensor) -> torch.Tensor:
    """`t` as a 2-D (rows, cols) view: a matrix as is, a vector as one column per entry."""
    return t.reshape(t.shape[0] if t.ndim else 1, -1)


class _SquaredDistance(torch.autograd.Function):
    """Σ F·(p − ref)² (F None: 1), in fp32, one block of rows at a time; saves no difference."""

    @staticmethod
    def forward(ctx, p, ref, fisher, chunk_elements):
        p2, r2 = as_rows(p), as_rows(ref)
        f2 = as_rows(fisher) if fisher is not None else None
        rows = block_rows(p2.shape[1], chunk_elements)
        total = torch.zeros((), dtype=torch.float32, device=p.device)
        for s in range(0, p2.shape[0], rows):
            d = p2[s:s + rows].float() - r2[s:s + rows]  # (rows, cols)
            d2 = d * d
            total += (d2 * f2[s:s + rows]).sum() if f2 is not None else d2.sum()
        ctx.save_for_backward(p, ref, fisher)
        ctx.chunk_elements = chunk_elements
        return total

    @staticmethod
    def backward(ctx, g):
        p, ref, fisher = ctx.saved_tensors
        p2, r2 = as_rows(p), as_rows(ref)
        f2 = as_rows(fisher) if fisher is not None else None
        rows = block_rows(p2.shape[1], ctx.chunk_elements)
        grad = torch.empty_like(p2)
        for s in range(0, p2.shape[0], rows):
            d = (p2[s:s + rows].float() - r2[s:s + rows]) * (2 * g)  # d/dp of d² is 2d
            grad[s:s + rows] = d * f2[s:s + rows] if f2 is not None else d
        return grad.view_as(p), None, None, None


class _LoraSquaredDelta(torch.autograd.Function):
    """Σ F·(scale·B·A)² over rows of ΔW, one block at a time; ΔW is recomputed in backward.

    A (r, in), B (out, r), F (out, in) (a view; already transposed for fan_in_fan_out).
    """

    @staticmethod
    def forward(ctx, A, B, fisher, scale, chunk_elements):
        rows = block_rows(A.shape[1], chunk_elements)
        total = torch.zeros((), dtype=torch.float32, device=A.device)
        Af = A.float()
        for s in range(0, B.shape[0], rows):
            delta = scale * (B[s:s + rows].float() @ Af)  # (rows, in)
            total += (fisher[s:s + rows] * delta * delta).sum()
        ctx.save_for_backward(A, B, fisher)
        ctx.scale, ctx.chunk_elements = scale, chunk_elements
        return total

    @staticmethod
    def backward(ctx, g):
        A, B, fisher = ctx.saved_tensors
        scale = ctx.scale
        rows = block_rows(A.shape[1], ctx.chunk_elements)
        Af = A.float()
        gA = torch.zeros_like(Af)
        gB = torch.empty_like(B, dtype=torch.float32)
        for s in range(0, B.shape[0], rows):
            Bs = B[s:s + rows].float()  # (rows, r)
            delta = scale * (Bs @ Af)  # (rows, in)
            gd = (2 * g) * fisher[s:s + rows] * delta  # ∂/∂ΔW of F·ΔW²
            gB[s:s + rows] = scale * (gd @ Af.T)  # (rows, r)
            gA += scale * (Bs.T @ gd)  # (r, in)
        return gA.to(A.dtype), gB.to(B.dtype), None, None, None


def squared_distance(p: torch.Tensor, ref: torch.Tensor, fisher: torch.Tensor | None = None,
                     chunk_elements: int = CHUNK_ELEMENTS) -> torch.Tensor:
    """Σ F·(p − ref)², a () fp32 tensor differentiable in `p`.

    Args:
        p: a trained parameter, any shape; ref, fisher: fp32, the same shape (fisher None: 1).
    """
    return _SquaredDistance.apply(p, ref, fisher, chunk_elements)


def lora_squared_delta(A: torch.Tensor, B: torch.Tensor, scale: float, fisher: torch.Tensor | None = None,
                       chunk_elements: int = CHUNK_ELEMENTS) -> torch.Tensor:
    """Σ F·(scale·B·A)², a () fp32 tensor differentiable in A and B.

    Args:
        A: (r, in) lora_A weight; B: (out, r) lora_B weight; scale: peft's scaling.
        fisher: (out, in) fp32, or None for F = 1 (then exact through (r, r) products).
    """
    if fisher is None:
        Af, Bf = A.float(), B.float()
        return scale * scale * ((Bf.T @ Bf) * (Af @ Af.T)).sum()
    return _LoraSquaredDelta.apply(A, B, fisher, scale, chunk_elements)


def lora_layers(model: nn.Module) -> dict[str, nn.Module]:
    """{module name: peft LoRA layer} of every weight adapted by a LoRA adapter."""
    from peft.tuners.lora import LoraLayer

    return {name: m for name, m in model.named_modules() if isinstance(m, LoraLayer) and m.lora_A}


def lora_factors(layer: nn.Module) -> tuple[torch.Tensor, torch.Tensor, float, bool]:
    """(A (r, in), B (out, r), scale, fan_in_fan_out) of a LoRA layer's one active adapter."""
    active = [a for a in layer.active_adapters if a in layer.lora_A]
    if len(active) != 1:
        raise ValueError(f"EWC / L2-SP need exactly one active LoRA adapter per layer, got {active}")
    name = active[0]
    if getattr(layer, "use_dora", {}).get(name):
        raise ValueError("EWC / L2-SP do not support DoRA adapters (ΔW is not scale·B·A)")
    A, B = layer.lora_A[name].weight, layer.lora_B[name].weight
    if A.ndim != 2 or B.ndim != 2:
        raise ValueError(f"EWC / L2-SP support LoRA on linear layers only, got lora_A {tuple(A.shape)}")
    return A, B, float(layer.scaling[name]), bool(getattr(layer, "fan_in_fan_out", False))


def base_weight_name(layer_name: str) -> str:
    """The parameter name of the base weight a LoRA layer adapts (the Fisher's key)."""
    return f"{layer_name}.base_layer.weight"


class QuadraticPenalty(LossTerm):
    """A per-step objective term: value ½ Σ F·(θ − θ*)², weight λ (see the module docstring).

    Args:
        term: the term's name ("ewc", "l2sp"); logged as `<term>_loss`.
        weight: λ.
        fisher: {parameter name: F (its shape, fp32)}; None: F = 1. With `lora`, the names
            are base weights (`base_weight_name`).
        anchor: {parameter name: θ* (fp32)} for full fine-tuning; unused with `lora`.
        lora: penalise each adapted weight's ΔW = scale·B·A (θ* is then the base weight).
        chunk_elements: values per block of rows (memory vs the number of matmuls).
    """

    def __init__(self, term: str, weight: float, fisher: dict[str, torch.Tensor] | None = None,
                 anchor: dict[str, torch.Tensor] | None = None, lora: bool = False,
                 chunk_elements: int = CHUNK_ELEMENTS):
        super().__init__()
        if not lora and anchor is None:
            raise ValueError("full fine-tuning needs the anchor weights θ*")
        self.term, self.weight, self.lora = term, weight, lora
        self.fisher, self.anchor, self.chunk_elements = fisher, anchor, chunk_elements
        self._layers: list[str] | None = None

    def weights(self) -> dict[str, float]:
        return {self.term: self.weight}

    def step_terms(self, model: nn.Module) -> dict[str, torch.Tensor]:
        """{term: ½ Σ F·(θ − θ*)²} for `model` (the peft-wrapped or plain HF model)."""
        total = self._lora_total(model) if self.lora else self._full_total(model)
        return {self.term: 0.5 * total}

    def _full_total(self, model: nn.Module) -> torch.Tensor:
        total = None
        for name, ref in self.anchor.items():
            f = self.fisher[name] if self.fisher is not None else None
            part = squared_distance(model.get_parameter(name), ref, f, self.chunk_elements)
            total = part if total is None else total + part
        return total

    def _lora_total(self, model: nn.Module) -> torch.Tensor:
        if self._layers is None:  # module names are fixed once peft has wrapped the model
            self._layers = sorted(lora_layers(model))
            if not self._layers:
                raise ValueError(f"{self.term}: the model has no LoRA layers")
        total = None
        for name in self._layers:
            A, B, scale, transposed = lora_factors(model.get_submodule(name))
            f = self.fisher[base_weight_name(name)] if self.fisher is not None else None
            if f is not None and transposed:  # the weight is stored (in, out); ΔW rows are its columns
                f = f.T
            part = lora_squared_delta(A, B, scale, f, self.chunk_elements)
            total = part if total is None else total + part
        return total
