"""Template tokens: added as single special tokens, rows initialised from their sub-tokens."""

from __future__ import annotations

import torch

from instructune.model.load import load_model, load_tokenizer
from instructune.model.vocab import add_template_tokens


def test_inst_tokens_are_added_with_mean_initialised_rows(tiny_model):
    tok, model = load_tokenizer(tiny_model), load_model(tiny_model)
    before = model.get_input_embeddings().weight.detach().clone()
    pieces = {t: tok(t, add_special_tokens=False)["input_ids"] for t in ("[INST]", "[/INST]")}
    assert all(len(p) > 1 for p in pieces.values())  # split into several sub-tokens before
    ids = add_template_tokens(model, tok, ["[INST]", "[/INST]"])
    assert ids == [before.shape[0], before.shape[0] + 1]
    assert tok("[INST] hi [/INST]", add_special_tokens=False)["input_ids"][0] == ids[0]
    emb = model.get_input_embeddings().weight
    assert emb.shape[0] == len(tok)
    for t, i in zip(("[INST]", "[/INST]"), ids):
        torch.testing.assert_close(emb[i], before[pieces[t]].mean(0))
    torch.testing.assert_close(emb[: before.shape[0]], before)  # old rows untouched
    # Tied LM head sees the same rows, so logits stay finite and in range.
    assert model.get_output_embeddings().weight.data_ptr() == emb.data_ptr()
    assert add_template_tokens(model, tok, ["[INST]"]) == []  # idempotent


def test_tokenizer_only_growth_gives_the_same_ids(tiny_model):
    a, b = load_tokenizer(tiny_model), load_tokenizer(tiny_model)
    assert add_template_tokens(None, a, ["[INST]", "[/INST]"]) == add_template_tokens(load_model(tiny_model), b,
                                                                                       ["[INST]", "[/INST]"])


def test_lora_with_inst_template_trains_the_new_rows(tiny_model, tmp_path):
    from instructune.config import load_config
    from assembled import trained

    run = tmp_path / "run"
    trained(load_config(None, [f"model.name={tiny_model}", f"output_dir={run}", "template.name=inst",
                                  "train.max_steps=3", "train.lr=1e-2", "data.heldout=[]"]))
    from transformers import AutoModelForCausalLM, AutoTokenizer

    tok = AutoTokenizer.from_pretrained(run / "export")
    tuned = AutoModelForCausalLM.from_pretrained(run / "export")
    i = tok.convert_tokens_to_ids("[INST]")
    base_tok, base = load_tokenizer(tiny_model), load_model(tiny_model)
    add_template_tokens(base, base_tok, ["[INST]", "[/INST]"])
    assert not torch.allclose(tuned.get_input_embeddings().weight[i], base.get_input_embeddings().weight[i])
    prompt = tok.apply_chat_template([{"role": "user", "content": "Hi"}], tokenize=False)
    assert prompt.startswith("[INST] Hi [/INST]")
