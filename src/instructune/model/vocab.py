"""Growing the vocabulary for template tokens ([INST], [/INST]) with sensible initial rows.

A new token's embedding (and, when untied, its LM-head row) starts as the mean of the rows
of the sub-tokens its text split into before it was added: "[INST]" starts near "[", "INST",
"]". That keeps the new rows inside the distribution of trained ones instead of noise.
"""

from __future__ import annotations

import torch


def add_template_tokens(model, tokenizer, tokens: list[str]) -> list[int]:
    """Add `tokens` as special tokens, resize the model and initialise the new rows.

    Args:
        model: a transformers causal LM (before peft wrapping), or None to grow only the
            tokenizer (for `prepare`; the ids come out the same).
        tokenizer: its tokenizer (modified in place).
        tokens: token strings to add; ones already in the vocabulary are skipped.
    Returns:
        ids of the tokens that were added.
    """
    new = [t for t in tokens if t not in tokenizer.get_vocab()]
    if not new:
        return []
    pieces = {t: tokenizer(t, add_special_tokens=False)["input_ids"] for t in new}
    tokenizer.add_tokens(new, special_tokens=True)
    ids = tokenizer.convert_tokens_to_ids(new)
    if model is None:
        return ids
    old_rows = model.get_input_embeddings().weight.shape[0]
    if len(tokenizer) > old_rows:
        model.resize_token_embeddings(len(tokenizer), mean_resizing=False)
    with torch.no_grad():
        mats = [model.get_input_embeddings().weight]
        out = model.get_output_embeddings()
        if out is not None and out.weight.data_ptr() != mats[0].data_ptr():
            mats.append(out.weight)
        for t, i in zip(new, ids):
            for w in mats:
                w[i] = w[pieces[t]].mean(0)
    return ids
