"""General-text perplexity against hand-computed NLL, batching invariance, truncation, budget,
and the paired bootstrap of the relative change."""

from __future__ import annotations

import math

import pytest
import torch

from instructune.evaluate.forgetting import corpus_perplexity, forgetting_report, length_batches, relative_change

DOCS = ["Write a short poem about the sea and the wind over the harbour at night.",
        "Name three primary colors."]


@pytest.fixture(scope="module")
def model(tiny_model):
    from instructune.model.load import load_model

    return load_model(tiny_model, attn_implementation="sdpa")


def hand_nll(model, ids: list[int]) -> float:
    """Sum over t >= 1 of logsumexp(logits[t-1]) - logits[t-1, ids[t]], one unpadded document,
    in float64 from the model's own logits."""
    with torch.no_grad():
        logits = model(input_ids=torch.tensor([ids])).logits[0].double()  # (n, V)
    return sum((torch.logsumexp(logits[t - 1], 0) - logits[t - 1, ids[t]]).item() for t in range(1, len(ids)))


def ids_of(tokenizer, text: str) -> list[int]:
    return tokenizer(text, add_special_tokens=False)["input_ids"]


def test_golden_value_from_the_models_own_logits(model, tiny_tokenizer):
    ids = [ids_of(tiny_tokenizer, d) for d in DOCS]
    assert len(ids[0]) > len(ids[1]) >= 3  # different lengths, so one batch pads
    sums = [hand_nll(model, x) for x in ids]
    counts = [len(x) - 1 for x in ids]
    r = corpus_perplexity(model, tiny_tokenizer, DOCS, max_length=512, max_tokens=None)
    assert r["doc_tokens"] == counts and r["tokens"] == sum(counts) and r["documents"] == 2
    assert r["doc_nll_sum"] == pytest.approx(sums, rel=1e-5)
    assert r["nll"] == pytest.approx(sum(sums) / sum(counts), rel=1e-5)  # token-weighted
    assert r["perplexity"] == pytest.approx(math.exp(sum(sums) / sum(counts)), rel=1e-5)
    assert not model.training


def test_padding_does_not_change_the_result(model, tiny_tokenizer):
    one = corpus_perplexity(model, tiny_tokenizer, DOCS, max_tokens=None, batch_tokens=1)  # batch 1
    two = corpus_perplexity(model, tiny_tokenizer, DOCS, max_tokens=None, batch_tokens=10_000)  # batch 2
    assert two["doc_nll_sum"] == pytest.approx(one["doc_nll_sum"], rel=1e-5)
    assert two["perplexity"] == pytest.approx(one["perplexity"], rel=1e-6)


def test_documents_are_cut_to_max_length(model, tiny_tokenizer):
    ids = [ids_of(tiny_tokenizer, d)[:6] for d in DOCS]
    r = corpus_perplexity(model, tiny_tokenizer, DOCS, max_length=6, max_tokens=None)
    assert r["doc_tokens"] == [5, 5] and r["max_length"] == 6
    assert r["doc_nll_sum"] == pytest.approx([hand_nll(model, x) for x in ids], rel=1e-5)


def test_budget_and_short_documents(model, tiny_tokenizer):
    r = corpus_perplexity(model, tiny_tokenizer, DOCS + ["x"], max_tokens=1)
    assert r["documents"] == 1 and r["doc_tokens"] == [len(ids_of(tiny_tokenizer, DOCS[0])) - 1]
    with pytest.raises(ValueError, match="two tokens"):
        corpus_perplexity(model, tiny_tokenizer, ["x", ""], max_tokens=None)


def test_length_batches_bound_padded_tokens():
    lengths = [5, 9, 2, 9, 4]
    batches = length_batches(lengths, batch_tokens=18)
    assert sorted(i for b in batches for i in b) == list(range(5))
    assert all(len(b) * max(lengths[i] for i in b) <= 18 for b in batches)
    assert batches[0] == [1, 3]  # longest first, ties in corpus order
    assert length_batches([50], batch_tokens=10) == [[0]]  # a long row still gets a batch


def result(nll: list[float], counts: list[int]) -> dict:
    mean = sum(nll) / sum(counts)
    return {"perplexity": math.exp(mean), "doc_nll_sum": nll, "doc_tokens": counts,
            "documents": len(counts), "tokens": sum(counts)}


def test_relative_change_and_its_paired_interval():
    # Two documents of 10 tokens. Resampling 2 documents gives {0,0}, {1,1} or one of each:
    # changes exp(1/10) - 1, 0 and exp(1/20) - 1. The 2.5% and 97.5% quantiles are the two
    # extremes (each drawn with probability 1/4). An unpaired resampling would mix base
    # document 1 (2.0 per token) with tuned document 0 (1.1) and reach far below 0.
    base, tuned = result([10.0, 20.0], [10, 10]), result([11.0, 20.0], [10, 10])
    assert relative_change(base, tuned) == pytest.approx(math.exp(1 / 20) - 1)
    rep = forgetting_report(base, tuned, resamples=4000, seed=0)
    assert rep["relative_change"] == pytest.approx(math.exp(1 / 20) - 1)
    assert rep["low"] == pytest.approx(0.0, abs=1e-12)
    assert rep["high"] == pytest.approx(math.exp(1 / 10) - 1)
    assert rep["documents"] == 2 and rep["tokens"] == 20 and rep["confidence"] == 0.95
    assert rep["base_perplexity"] == base["perplexity"] and rep["tuned_perplexity"] == tuned["perplexity"]


def test_interval_is_seeded_and_holds_the_estimate():
    gen = torch.Generator().manual_seed(0)
    counts = torch.randint(50, 200, (40,), generator=gen).tolist()
    base_nll = [c * (2 + 0.5 * torch.rand(1, generator=gen).item()) for c in counts]
    tuned_nll = [b + c * 0.3 * torch.rand(1, generator=gen).item() for b, c in zip(base_nll, counts)]
    base, tuned = result(base_nll, counts), result(tuned_nll, counts)
    a = forgetting_report(base, tuned, seed=3)
    assert a == forgetting_report(base, tuned, seed=3)
    assert a["low"] < a["relative_change"] < a["high"]
    assert forgetting_report(base, tuned, seed=4)["low"] != a["low"]
    wide = forgetting_report(base, tuned, confidence=0.99, seed=3)
    assert wide["low"] < a["low"] and wide["high"] > a["high"]
    same = forgetting_report(base, base)
    assert same["relative_change"] == same["low"] == same["high"] == 0.0


def test_report_refuses_different_documents():
    with pytest.raises(ValueError, match="different documents"):
        forgetting_report(result([1.0, 2.0], [3, 4]), result([1.0, 2.0], [3, 5]))
    with pytest.raises(ValueError, match="confidence"):
        forgetting_report(result([1.0], [3]), result([1.0], [3]), confidence=1.0)


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA device")
def test_runs_on_the_models_device(model, tiny_tokenizer):
    cpu = corpus_perplexity(model, tiny_tokenizer, DOCS, max_tokens=None)
    gpu = corpus_perplexity(model.to("cuda"), tiny_tokenizer, DOCS, max_tokens=None)
    model.to("cpu")
    assert gpu["doc_nll_sum"] == pytest.approx(cpu["doc_nll_sum"], rel=1e-4)
