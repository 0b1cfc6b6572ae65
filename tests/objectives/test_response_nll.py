"""Response NLL: the selective LM head equals the full-logit loss and HF's own loss."""

from __future__ import annotations

import math
from types import SimpleNamespace

import pytest
import torch
import torch.nn.functional as F
from torch import nn

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


class _OneHot(nn.Module):
    """The "decoder": the hidden state at t is the one-hot vector of input token t."""

    def forward(self, input_ids, position_ids=None, use_cache=False):
        return SimpleNamespace(last_hidden_state=F.one_hot(input_ids, 4).float())


class TableLM(nn.Module):
    """A causal LM whose logits at position t are fixed numbers chosen by input token t:
    `TABLE[input_ids[t]]`, so every log-softmax is known by hand. Decoder and head can be
    called apart, like a transformers model, so the selective path runs too."""

    TABLE = torch.tensor([
        [0.0, 0.0, 0.0, 0.0],                       # token 0: uniform, p = 1/4 each
        [math.log(3), 0.0, 0.0, 0.0],               # token 1: p(0) = 3/6, the others 1/6
        [0.0, 0.0, math.log(2), math.log(5)],       # token 2: p = 1/9, 1/9, 2/9, 5/9
        [math.log(3), 0.0, 0.0, 0.0],               # token 3: as token 1
    ])

    def __init__(self):
        super().__init__()
        self.config = SimpleNamespace()  # no logit softcapping or scaling
        self.decoder, self.head = _OneHot(), nn.Linear(4, 4, bias=False)
        with torch.no_grad():
            self.head.weight.copy_(self.TABLE.T)  # one_hot(i) @ W.T = TABLE[i]

    def get_decoder(self):
        return self.decoder

    def get_output_embeddings(self):
        return self.head

    def forward(self, input_ids, position_ids=None, use_cache=False):
        return SimpleNamespace(logits=self.head(self.decoder(input_ids).last_hidden_state))


@pytest.mark.parametrize("selective", [True, False])
def test_hand_computed_nll_on_fixed_logits(selective):
    # Token t + 1 is predicted at position t, from the logits of input token t.
    batch = {"input_ids": torch.tensor([[1, 2, 3, 0], [1, 0, 2, 0]]),
             "labels": torch.tensor([[-100, -100, 3, 0], [-100, 0, 2, -100]])}
    # Row 0: position 1 (token 2) predicts 3: p = 5/9; position 2 (token 3) predicts 0: p = 1/2.
    # Row 1: position 0 (token 1) predicts 0: p = 1/2; position 1 (token 0) predicts 2: p = 1/4.
    # Position 2 of row 1 and position 0 of row 0 are not trained (label -100).
    by_hand = -(math.log(5 / 9) + math.log(1 / 2) + math.log(1 / 2) + math.log(1 / 4))  # = ln 28.8
    out = response_nll(TableLM(), batch, selective=selective)
    assert int(out["n_tokens"]) == 4
    assert out["nll_sum"].item() == pytest.approx(by_hand, abs=1e-5)
    assert by_hand == pytest.approx(math.log(28.8))


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
