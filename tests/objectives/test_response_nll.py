"""Response NLL: the selective LM head equals the full-logit loss and HF's own loss."""

from __future__ import annotations

import pytest
import torch

from instructune.data.collate import collate
from instructune.data.inputs import load_inputs
from instructune.data.templates import get_template
from instructune.data.tokenized import tokenize_records
from instructune.model.load import load_model
from instructune.objectives.response_nll import response_nll


@pytest.fixture(scope="module")
def batch(tiny_tokenizer):
    ds, _ = tokenize_records(load_inputs(["starter:train"])[:4], tiny_tokenizer, get_template("chat"))
    return collate([ds[i] for i in range(4)], tiny_tokenizer.pad_token_id)


def test_selective_head_equals_full_logits_and_hf_loss(tiny_model, batch):
    model = load_model(tiny_model)
    sel = response_nll(model, batch, selective=True)
    full = response_nll(model, batch, selective=False)
    torch.testing.assert_close(sel["nll_sum"], full["nll_sum"], rtol=1e-5, atol=1e-4)
    assert int(sel["n_tokens"]) == int((batch["labels"][:, 1:] != -100).sum())
    # HF's mean loss (with an attention mask) over the same labels agrees: right padding needs no mask.
    hf = model(input_ids=batch["input_ids"], attention_mask=batch["attention_mask"], labels=batch["labels"]).loss
    torch.testing.assert_close(sel["nll_sum"] / sel["n_tokens"], hf, rtol=1e-5, atol=1e-5)


def test_selective_head_gradients_match(tiny_model, batch):
    grads = []
    for selective in (True, False):
        model = load_model(tiny_model)
        response_nll(model, batch, selective=selective)["nll_sum"].backward()
        grads.append({n: p.grad for n, p in model.named_parameters()})
    for n in grads[0]:
        torch.testing.assert_close(grads[0][n], grads[1][n], rtol=1e-4, atol=1e-5)


def test_golden_loss_of_the_tiny_model(tiny_model, batch):
    # A seeded 2-layer model at init predicts ~uniformly over its 1024-token vocabulary.
    out = response_nll(load_model(tiny_model), batch)
    assert (out["nll_sum"] / out["n_tokens"]).item() == pytest.approx(6.93, abs=0.05)  # ln(1024) = 6.93


@pytest.mark.parametrize("impl", ["chunked", "logits"])
def test_loss_impls_and_precomputed_index_equal_the_selective_reference(tiny_model, batch, impl):
    from instructune.data.collate import loss_index

    grads = []
    for kind, b in (("ref", batch), (impl, loss_index(dict(batch)))):
        model = load_model(tiny_model)
        out = response_nll(model, b, loss_impl="logits" if kind == "ref" else impl, chunk_tokens=5)
        out["nll_sum"].backward()
        grads.append((out["nll_sum"].detach(), int(out["n_tokens"]),
                      {n: p.grad for n, p in model.named_parameters()}))
    torch.testing.assert_close(grads[0][0], grads[1][0])
    assert grads[0][1] == grads[1][1] == int((batch["labels"][:, 1:] != -100).sum())
    for n in grads[0][2]:
        torch.testing.assert_close(grads[0][2][n], grads[1][2][n], rtol=1e-4, atol=1e-6)
