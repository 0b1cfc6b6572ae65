"""The diagonal Fisher: a hand-computed linear case, the LoRA targets, the cache."""

from __future__ import annotations

import torch
import torch.nn.functional as F

from instructune.objectives.fisher import cached_fisher, corpus_ids, diagonal_fisher, fisher_targets, lm_fisher


def test_linear_softmax_fisher_equals_hand_computed_per_example_squares():
    # logits = W x with W = 0, so softmax = (.5, .5) and dL/dW = (softmax − onehot(t)) xᵀ.
    W = torch.zeros(2, 3, requires_grad=True)
    examples = [(torch.tensor([1.0, 2.0, 0.0]), 0), (torch.tensor([0.0, 1.0, -2.0]), 1)]

    def loss(ex):
        x, t = ex
        return F.cross_entropy((W @ x)[None], torch.tensor([t]))

    fisher = diagonal_fisher(loss, examples, {"W": W})["W"]
    # example 1: g = [-.5, .5]ᵀ [1, 2, 0] -> g² = [[.25, 1, 0], [.25, 1, 0]]
    # example 2: g = [.5, -.5]ᵀ [0, 1, -2] -> g² = [[0, .25, 1], [0, .25, 1]]
    expected = torch.tensor([[0.125, 0.625, 0.5], [0.125, 0.625, 0.5]])
    torch.testing.assert_close(fisher, expected)
    # the mean of squares, not the square of the mean gradient ([[-.25, .75, -.5]...]² would differ)
    assert W.grad is None  # nothing left in .grad


def tiny_docs(tiny_tokenizer):
    docs = ["The river runs past the old mill and into the sea.", "Bread needs flour, water, salt and time.",
            "A short one."]
    return corpus_ids(tiny_tokenizer, docs, max_length=32, max_tokens=10_000, take="first")


def test_lora_fisher_is_the_base_models_for_adapted_weights_only(tiny_model, tiny_tokenizer):
    from transformers import AutoModelForCausalLM

    from instructune.model.setup import apply_lora

    ids = tiny_docs(tiny_tokenizer)
    plain = AutoModelForCausalLM.from_pretrained(tiny_model)
    reference = lm_fisher(plain, ids)  # full fine-tuning: every parameter
    lora = apply_lora(AutoModelForCausalLM.from_pretrained(tiny_model), [], r=2, alpha=4, dropout=0.1,
                      target_modules=["q_proj", "v_proj"])
    with torch.no_grad():  # a trained adapter must not change the Fisher: it is the base model's
        for n, p in lora.named_parameters():
            if "lora_B" in n:
                p.normal_()
    lora.train()
    before = {n: p.requires_grad for n, p in lora.named_parameters()}
    fisher = lm_fisher(lora, ids)
    assert {n: p.requires_grad for n, p in lora.named_parameters()} == before and lora.training
    assert set(fisher) == {f"base_model.model.model.layers.{i}.self_attn.{m}.base_layer.weight"
                           for i in range(2) for m in ("q_proj", "v_proj")}
    for name, f in fisher.items():
        plain_name = name.removeprefix("base_model.model.").replace(".base_layer", "")
        torch.testing.assert_close(f, reference[plain_name], rtol=1e-4, atol=1e-12)
        assert f.dtype == torch.float32 and f.sum() > 0
    assert all(p.grad is None for p in lora.parameters())
    assert set(fisher_targets(lora)) == set(fisher)


def test_cache_is_reused_and_keyed_by_weights_and_documents(tiny_model, tiny_tokenizer, tmp_path, monkeypatch):
    from transformers import AutoModelForCausalLM

    monkeypatch.setenv("INSTRUCTUNE_CACHE", str(tmp_path))
    model = AutoModelForCausalLM.from_pretrained(tiny_model)
    ids = tiny_docs(tiny_tokenizer)
    first, info = cached_fisher(model, ids, {"corpus": "x"})
    assert not info["cached"] and (tmp_path / "fisher").is_dir()
    again, info2 = cached_fisher(model, ids, {"corpus": "x"})
    assert info2["cached"] and info2["key"] == info["key"]
    for k in first:
        torch.testing.assert_close(again[k], first[k])
    assert cached_fisher(model, ids[:2], {"corpus": "x"})[1]["key"] != info["key"]
    with torch.no_grad():
        model.model.norm.weight.add_(0.5)
    assert cached_fisher(model, ids, {"corpus": "x"})[1]["key"] != info["key"]


def test_corpus_ids_take_last_reads_from_the_end(tiny_tokenizer):
    docs = ["alpha beta gamma", "delta epsilon zeta", "eta theta iota"]
    last = corpus_ids(tiny_tokenizer, docs, max_length=64, max_tokens=1, take="last")
    first = corpus_ids(tiny_tokenizer, docs, max_length=64, max_tokens=1, take="first")
    assert tiny_tokenizer.decode(last[0]) == "eta theta iota"
    assert tiny_tokenizer.decode(first[0]) == "alpha beta gamma"
    assert len(last) == len(first) == 1
