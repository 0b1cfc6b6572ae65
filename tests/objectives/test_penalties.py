"""EWC / L2-SP penalties: golden values on hand-made weights, chunking, the LoRA ΔW form."""

from __future__ import annotations

import pytest
import torch
from torch import nn

from instructune.objectives.ewc import build_ewc, normalized
from instructune.objectives.l2sp import build_l2sp
from instructune.objectives.quadratic import QuadraticPenalty, lora_squared_delta, squared_distance

# A 2x3 weight: θ − θ* and F chosen by hand.
DIFF = torch.tensor([[1.0, 0.0, -1.0], [2.0, 1.0, 0.0]])
FISHER = torch.tensor([[1.0, 2.0, 3.0], [0.5, 1.0, 4.0]])


class Lin(nn.Module):
    def __init__(self):
        super().__init__()
        self.lin = nn.Linear(3, 2, bias=False)

    def forward(self, x):
        return self.lin(x)


def test_full_form_golden_value_and_gradient():
    ref = torch.zeros(2, 3)
    model = Lin()
    with torch.no_grad():
        model.lin.weight.copy_(ref + DIFF)
    ewc = QuadraticPenalty("ewc", 10.0, fisher={"lin.weight": FISHER}, anchor={"lin.weight": ref})
    value = ewc.step_terms(model)["ewc"]
    # ½ Σ F·Δ² = ½ (1·1 + 0 + 3·1 + 0.5·4 + 1·1 + 0) = ½ · 7
    assert value.item() == pytest.approx(3.5)
    assert ewc.weights() == {"ewc": 10.0}
    value.backward()
    torch.testing.assert_close(model.lin.weight.grad, FISHER * DIFF)  # ∂/∂θ of ½ F Δ² = F Δ


def lora_lin(A, B, alpha):
    from peft import LoraConfig, get_peft_model

    model = get_peft_model(Lin(), LoraConfig(r=A.shape[0], lora_alpha=alpha, target_modules=["lin"]))
    layer = model.base_model.model.lin
    with torch.no_grad():
        layer.lora_A["default"].weight.copy_(A)
        layer.lora_B["default"].weight.copy_(B)
    return model, layer


def test_lora_form_golden_value_uses_peft_scaling():
    # r = 1, alpha = 0.5: peft's scale alpha / r = 0.5; ΔW = 0.5·B·A = [[.5, 0, -.5], [1, 0, -1]]
    model, layer = lora_lin(torch.tensor([[1.0, 0.0, -1.0]]), torch.tensor([[1.0], [2.0]]), alpha=0.5)
    assert layer.scaling["default"] == 0.5
    name = "base_model.model.lin.base_layer.weight"
    assert name in dict(model.named_parameters())
    ewc = build_ewc(model, {name: FISHER}, weight=1.0)
    # Σ F·ΔW² = 1·.25 + 0 + 3·.25 + .5·1 + 0 + 4·1 = 5.5; halved
    assert ewc.step_terms(model)["ewc"].item() == pytest.approx(2.75)
    # L2-SP: ½ Σ ΔW² = ½ (.25 + .25 + 1 + 1)
    assert build_l2sp(model, weight=1.0).step_terms(model)["l2sp"].item() == pytest.approx(1.25)


def test_lora_gradient_matches_autograd_through_the_whole_delta():
    torch.manual_seed(0)
    A, B, F = torch.randn(4, 7, requires_grad=True), torch.randn(9, 4, requires_grad=True), torch.rand(9, 7)
    ours = lora_squared_delta(A, B, 0.7, F, chunk_elements=14)  # blocks of 2 rows
    gA, gB = torch.autograd.grad(ours, (A, B))
    plain = (F * (0.7 * B @ A) ** 2).sum()
    rA, rB = torch.autograd.grad(plain, (A, B))
    torch.testing.assert_close(ours, plain)
    torch.testing.assert_close(gA, rA)
    torch.testing.assert_close(gB, rB)


@pytest.mark.parametrize("chunk", [1, 7, 50, 1 << 22])
def test_chunked_equals_unchunked(chunk):
    torch.manual_seed(1)
    p = torch.randn(13, 5, requires_grad=True)
    ref, F = torch.randn(13, 5), torch.rand(13, 5)
    whole = squared_distance(p, ref, F, chunk_elements=1 << 30)
    (g_whole,) = torch.autograd.grad(whole, p)
    part = squared_distance(p, ref, F, chunk_elements=chunk)
    (g_part,) = torch.autograd.grad(part, p)
    torch.testing.assert_close(part, whole)
    torch.testing.assert_close(g_part, g_whole)
    torch.testing.assert_close(whole, ((p - ref) ** 2 * F).sum())
    A, B = torch.randn(3, 5, requires_grad=True), torch.randn(13, 3, requires_grad=True)
    whole = lora_squared_delta(A, B, 2.0, F, chunk_elements=1 << 30)
    gw = torch.autograd.grad(whole, (A, B))
    part = lora_squared_delta(A, B, 2.0, F, chunk_elements=chunk)
    gp = torch.autograd.grad(part, (A, B))
    torch.testing.assert_close(part, whole)
    for a, b in zip(gp, gw):
        torch.testing.assert_close(a, b)


def test_l2sp_lora_trace_form_equals_delta_with_unit_fisher():
    torch.manual_seed(2)
    A, B = torch.randn(4, 6, requires_grad=True), torch.randn(8, 4, requires_grad=True)
    trace = lora_squared_delta(A, B, 0.3)
    delta = lora_squared_delta(A, B, 0.3, torch.ones(8, 6), chunk_elements=6)
    torch.testing.assert_close(trace, delta)
    for a, b in zip(torch.autograd.grad(trace, (A, B)), torch.autograd.grad(delta, (A, B))):
        torch.testing.assert_close(a, b)


def test_vector_parameters_and_normalized_fisher():
    p = nn.Parameter(torch.tensor([1.0, 2.0, 3.0]))
    val = squared_distance(p, torch.zeros(3), torch.tensor([1.0, 0.0, 2.0]))
    assert val.item() == pytest.approx(1 + 0 + 18)
    n = normalized({"a": torch.tensor([1.0, 3.0]), "b": torch.tensor([[0.0, 4.0]])})
    torch.testing.assert_close(n["a"], torch.tensor([0.5, 1.5]))  # mean of every entry: 2
    torch.testing.assert_close(n["b"], torch.tensor([[0.0, 2.0]]))


def test_zero_at_the_start_and_full_form_built_from_the_model():
    model = Lin()
    fisher = {"lin.weight": FISHER}
    ewc, l2 = build_ewc(model, fisher, 1.0), build_l2sp(model, 1.0)
    assert ewc.step_terms(model)["ewc"].item() == 0.0 and l2.step_terms(model)["l2sp"].item() == 0.0
    with torch.no_grad():
        model.lin.weight.add_(DIFF)  # θ* was copied when built, so moving θ is penalised
    assert ewc.step_terms(model)["ewc"].item() == pytest.approx(3.5)
    assert l2.step_terms(model)["l2sp"].item() == pytest.approx(0.5 * (DIFF ** 2).sum().item())
