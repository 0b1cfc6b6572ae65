"""Documents as token ids: the cut and the budget that the forgetting eval and EWC share."""

from __future__ import annotations

from instructune.data.documents import encode, within_budget


def test_budget_scores_leading_documents():
    ids = [[0] * 5, [0] * 3, [0] * 4]  # 4, 2, 3 predictions
    assert within_budget(ids, None) == ids
    assert within_budget(ids, 4) == ids[:1]
    assert within_budget(ids, 5) == ids[:2]  # the second crosses the budget and is kept whole
    assert within_budget(ids, 6) == ids[:2]


def test_encode_cuts_each_document_to_max_length(tiny_tokenizer):
    text = "Write a short poem about the sea and the wind over the harbour at night."
    whole = tiny_tokenizer(text, add_special_tokens=False)["input_ids"]
    assert encode(tiny_tokenizer, [text], max_length=10_000) == [list(whole)]
    assert encode(tiny_tokenizer, [text, "Name three colors."], max_length=4)[0] == list(whole[:4])
