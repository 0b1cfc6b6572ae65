"""`quality/response_lm.py` on the tiny model: the batched, left-padded, clipped reading equals a
plain forward pass over each pair alone."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from instructune.quality.response_lm import ResponseLM, clip_prompt, clip_response

PAIRS = [("Name a colour.", "Blue"), ("Explain why the sky is blue.", "Sunlight is scattered by the air, and blue the most."),
         ("What is 12 + 30?", "12 + 30 = 42, not 41."), ("Say nothing.", "ok")]


@pytest.fixture(scope="module")
def lm(tiny_model):
    from instructune.model.load import load_model, load_tokenizer

    return ResponseLM(load_model(tiny_model, dtype="float32", device="cpu"), load_tokenizer(tiny_model), "tiny",
                      batch_size=3)


def plain(lm: ResponseLM, prompt: str, response: str):
    """(log p of each response token, log p of the end of turn, full log-prob rows) from one unpadded forward."""
    ids, start, end = lm.encode(prompt, response)
    with torch.no_grad():
        logp = torch.log_softmax(lm.model(torch.tensor([ids])).logits[0].float(), -1)  # (L, V)
    rows = logp[start - 1:end]  # predictions of the response tokens, then of the end of turn
    picked = rows.gather(-1, torch.tensor(ids[start:end + 1])[:, None])[:, 0].numpy()
    return picked[:-1], float(picked[-1]), rows.numpy()


def test_encode_puts_the_response_between_the_template_and_its_end_of_turn(lm):
    ids, start, end = lm.encode("Name a colour.", "  Blue ")
    assert ids[-1] == lm.end_id == lm.tokenizer.convert_tokens_to_ids("<|im_end|>")
    assert lm.tokenizer.decode(ids[start:end]) == "Blue"  # stripped
    assert lm.tokenizer.decode(ids[:start]).endswith("<|im_start|>assistant\n")


def test_batched_reading_equals_one_plain_forward_per_pair(lm):
    reads = lm.read(PAIRS)  # batch size 3: rows of different lengths, left-padded together
    cols = list(lm.watch_ids.values())
    for (p, r), rd in zip(PAIRS, reads):
        tokens, end, rows = plain(lm, p, r)
        np.testing.assert_allclose(rd.token_logprobs, tokens, atol=1e-4)
        assert rd.end_logprob == pytest.approx(end, abs=1e-4)
        np.testing.assert_allclose(rd.watched, rows[:, cols], atol=1e-4)  # (T + 1, K)
        ids, start, stop = lm.encode(p, r)
        skip = [rows[t, ids[start + t + 1]] for t in range(stop - start)]  # the next token in place of this one
        np.testing.assert_allclose(rd.skip_logprobs, skip, atol=1e-4)
        assert rd.token_ids == ids[start:stop]


def test_watched_texts_are_single_tokens_with_their_columns(lm):
    assert lm.column("\n") == list(lm.watch_ids).index("\n")
    assert lm.column("no such text") is None
    assert all(len(lm.tokenizer(t, add_special_tokens=False)["input_ids"]) == 1 for t in lm.watch_ids)


def test_clipping_keeps_the_ends_that_matter():
    assert clip_prompt("a" * 10 + "b" * 10, 10) == "aaaaa [...] bbbbb"
    assert clip_response("x" * 5 + "end", 4) == "xend"
    assert clip_prompt("short", 10) == "short"


def test_a_model_without_a_chat_template_is_refused(lm):
    class NoTemplate:
        chat_template = None

    with pytest.raises(ValueError, match="no chat template"):
        ResponseLM(lm.model, NoTemplate(), "bare")
