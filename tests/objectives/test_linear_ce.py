"""Chunked linear cross-entropy equals the all-logits loss, in value and gradients."""

from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F
from torch import nn

from instructune.objectives.linear_ce import linear_cross_entropy, resolve_loss_impl


def reference(hidden, head, targets):
    return F.cross_entropy(head(hidden).float(), targets, reduction="sum")


def grads(fn, hidden, head, targets):
    h = hidden.detach().clone().requires_grad_(hidden.requires_grad)
    head.zero_grad()
    loss = fn(h, head, targets)
    loss.backward()
    return loss.detach(), h.grad, {n: p.grad.clone() for n, p in head.named_parameters() if p.grad is not None}


@pytest.mark.parametrize("bias", [False, True])
@pytest.mark.parametrize("chunk", [1, 7, 64])
def test_chunked_matches_all_logits_in_loss_and_gradients(bias, chunk):
    torch.manual_seed(0)
    head = nn.Linear(16, 50, bias=bias)
    hidden, targets = torch.randn(23, 16, requires_grad=True), torch.randint(0, 50, (23,))
    want = grads(reference, hidden, head, targets)
    got = grads(lambda h, m, t: linear_cross_entropy(h, m, t, "chunked", chunk), hidden, head, targets)
    torch.testing.assert_close(got[0], want[0])
    torch.testing.assert_close(got[1], want[1])
    assert got[2].keys() == want[2].keys()
    for k in want[2]:
        torch.testing.assert_close(got[2][k], want[2][k])


def test_frozen_head_gets_no_gradient_and_hidden_still_does():
    torch.manual_seed(1)
    head = nn.Linear(8, 30, bias=False).requires_grad_(False)
    hidden, targets = torch.randn(10, 8, requires_grad=True), torch.randint(0, 30, (10,))
    want = grads(reference, hidden, head, targets)
    got = grads(lambda h, m, t: linear_cross_entropy(h, m, t, "chunked", 3), hidden, head, targets)
    torch.testing.assert_close(got[1], want[1])
    assert got[2] == {} and head.weight.grad is None


def test_wrapped_head_uses_checkpointed_chunks_and_matches():
    torch.manual_seed(2)

    class Scaled(nn.Module):  # not a plain nn.Linear: takes the per-chunk checkpoint path
        def __init__(self):
            super().__init__()
            self.inner = nn.Linear(8, 30)

        def forward(self, x):
            return self.inner(x) * 0.5

    head = Scaled()
    hidden, targets = torch.randn(11, 8, requires_grad=True), torch.randint(0, 30, (11,))
    want = grads(reference, hidden, head, targets)
    got = grads(lambda h, m, t: linear_cross_entropy(h, m, t, "chunked", 4), hidden, head, targets)
    torch.testing.assert_close(got[0], want[0])
    torch.testing.assert_close(got[1], want[1])
    for k in want[2]:
        torch.testing.assert_close(got[2][k], want[2][k])


def test_no_grad_and_empty_inputs():
    head = nn.Linear(4, 9)
    with torch.no_grad():
        h, t = torch.randn(5, 4), torch.randint(0, 9, (5,))
        torch.testing.assert_close(linear_cross_entropy(h, head, t, "chunked", 2), reference(h, head, t))
    empty = linear_cross_entropy(torch.zeros(0, 4, requires_grad=True), head, torch.zeros(0, dtype=torch.long))
    assert float(empty) == 0.0 and empty.requires_grad


def test_auto_is_chunked_without_cuda():
    assert resolve_loss_impl("auto", "cpu") == "chunked"
    assert resolve_loss_impl("logits", "cuda") == "logits"
