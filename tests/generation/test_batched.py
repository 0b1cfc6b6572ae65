"""`generate_ids` on the running batch gives transformers' greedy replies, and streams the same text."""

from __future__ import annotations

import torch

from instructune.data.render import stop_ids
from instructune.generation.batched import generate_ids
from instructune.generation.engine import Engine
from instructune.generation.params import GenParams


def hf_greedy(model, tok, prompt, n):
    """transformers' generate, one prompt alone (no padding), cut at the end tokens."""
    with torch.no_grad():
        out = model.generate(torch.tensor([prompt]), attention_mask=torch.ones(1, len(prompt), dtype=torch.long),
                             max_new_tokens=n, do_sample=False, eos_token_id=sorted(stop_ids(tok)),
                             pad_token_id=tok.pad_token_id)[0, len(prompt):].tolist()
    return out[:next((i for i, t in enumerate(out) if t in stop_ids(tok)), len(out))]


def test_greedy_equals_transformers_generate_with_refills(varied, prompts):
    model, tok = varied
    # batch 4 over 6 prompts: two rows join as the first ones end (max length 12)
    got = generate_ids(model, tok, prompts, GenParams(max_new_tokens=12, temperature=0), batch_size=4)
    assert got == [hf_greedy(model, tok, p, 12) for p in prompts]


def test_streamed_pieces_join_to_the_generated_text(varied, prompts):
    model, tok = varied
    engine = Engine(model, tok)
    text = tok.decode(generate_ids(model, tok, prompts[:1], GenParams(max_new_tokens=10, temperature=0))[0],
                      skip_special_tokens=True)
    stop = text[4:6]
    for params in (GenParams(max_new_tokens=10, temperature=0), GenParams(max_new_tokens=10, temperature=0,
                                                                          stop=[stop])):
        pieces: list[str] = []
        g = engine.stream(prompts[0], params, pieces.append)
        assert "".join(pieces) == g.text == engine.generate(prompts[:1], params)[0].text
    assert g.text == text[:text.index(stop)] and g.finish_reason == "stop"
