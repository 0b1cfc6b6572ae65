"""Plain-text documents as token ids, cut and budgeted the same way wherever they are scored.

    ids = encode(tokenizer, load_corpus(None), max_length=512)   # evaluate/text_corpus.py
    ids = within_budget(ids, max_tokens=8192)                     # the leading documents only

The forgetting eval (`evaluate/forgetting.py`) and the EWC Fisher (`objectives/fisher.py`)
read the same reference corpus; both cut each document to its first `max_length` tokens and
count a budget in predictions (n - 1 per document of n tokens), so that `train` can tell how
many documents the two share.
"""

from __future__ import annotations


def encode(tokenizer, texts: list[str], max_length: int) -> list[list[int]]:
    """Token ids of each text, without special tokens, cut to its first `max_length`."""
    ids = tokenizer(texts, add_special_tokens=False, truncation=True, max_length=max_length)["input_ids"]
    return [list(x) for x in ids]


def within_budget(ids: list[list[int]], max_tokens: int | None) -> list[list[int]]:
    """The leading documents whose predictions reach `max_tokens` (the last one whole)."""
    if max_tokens is None:
        return ids
    kept, total = [], 0
    for x in ids:
        if total >= max_tokens:
            break
        kept.append(x)
        total += max(len(x) - 1, 0)
    return kept
