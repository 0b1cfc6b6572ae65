"""Forgetting: a causal LM's perplexity on general text, tuned against base.

    docs = load_corpus(None)                      # evaluate.text_corpus: the shipped corpus
    base = corpus_perplexity(base_model, tokenizer, docs)
    tuned = corpus_perplexity(tuned_model, tokenizer, docs)
    forgetting_report(base, tuned)
    # {"base_perplexity": 21.50, "tuned_perplexity": ..., "relative_change": tuned / base - 1,
    #  "low": ..., "high": ..., "confidence": 0.95, "documents": 19, "tokens": 8350}

Instruction tuning can erode what a model knew of plain language; the perplexity of the
tuned model on ordinary prose, relative to the base model's, measures how much.

How a corpus is scored:
- each document is tokenized without special tokens and cut to its first `max_length`
  tokens (the same cut for base and tuned, so the figures compare); each token after the
  first is predicted from those before it, so a document of n tokens gives n - 1 predictions;
- perplexity is token-weighted: exp(sum of NLL over all predictions / their number);
- documents are batched by length with right padding and an attention mask; padded positions
  carry no loss, so the result does not depend on the batching;
- `max_tokens` scores only the leading documents, in corpus order, until that many tokens are
  predicted (the document that crosses the budget is scored whole): a fixed prefix, so base
  and tuned see the same documents.

Cost and the default budget. Scoring is one forward pass per token: on a busy 2-CPU machine
at 1 thread, SmolLM2-135M scored the whole shipped corpus (50 documents, 21.8k tokens) in
101 s and the default budget of 8192 tokens (its first 19 documents, 8.35k tokens, every
genre) in 51 s (`bench/forgetting_cost.py`); `eval` pays it twice, for base and tuned. The
budget trades precision for time: fewer documents widen the bootstrap interval (roughly as
1 / sqrt(documents)), though the pairing keeps it narrow, since both models read the same
text. `max_tokens=None` scores everything; on a GPU it takes seconds.

The relative change tuned / base - 1 gets a paired bootstrap interval over documents: both
models' per-document sums are resampled with the same documents, so the interval reflects
how much the change depends on which documents were chosen.
"""

from __future__ import annotations

import math

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from instructune.data.documents import encode, within_budget
from instructune.model.forward import InstructForward

DEFAULT_MAX_LENGTH = 512
DEFAULT_MAX_TOKENS = 8192  # the shipped corpus's first 19 of 50 documents (see "Cost" above)
DEFAULT_BATCH_TOKENS = 2048  # padded tokens per forward; the fp32 logits are this x vocab x 4 bytes


def length_batches(lengths: list[int], batch_tokens: int) -> list[list[int]]:
    """Document positions grouped, longest first, so that rows x longest row <= batch_tokens
    (at least one row per batch). Similar lengths together waste little on padding."""
    order = sorted(range(len(lengths)), key=lambda i: (-lengths[i], i))
    batches: list[list[int]] = []
    for i in order:
        # Rows are sorted longest first, so a batch's first row sets its padded width.
        if batches and (len(batches[-1]) + 1) * lengths[batches[-1][0]] <= batch_tokens:
            batches[-1].append(i)
        else:
            batches.append([i])
    return batches


def pad_batch(rows: list[list[int]], pad_id: int, device) -> tuple[torch.Tensor, torch.Tensor]:
    """(input_ids, attention_mask), both (B, T) long, right-padded with `pad_id`.

    Right padding keeps every real token at its true position (0, 1, ...), which models that
    derive positions from the sequence index rather than the mask need."""
    width = max(len(r) for r in rows)
    ids = torch.full((len(rows), width), pad_id, dtype=torch.long)
    mask = torch.zeros((len(rows), width), dtype=torch.long)
    for b, r in enumerate(rows):
        ids[b, :len(r)] = torch.tensor(r, dtype=torch.long)
        mask[b, :len(r)] = 1
    return ids.to(device), mask.to(device)


def batch_nll(model: nn.Module, rows: list[list[int]], pad_id: int, device) -> list[float]:
    """Summed NLL of each row's tokens 1..n-1 given the tokens before them.

    Args:
        rows: B token lists, each of at least 2 tokens.
    Returns:
        B floats. The (B, T, V) logits are reduced one row at a time in float32, so the
        extra memory is one (T, V) row, not a second copy of the batch.
    """
    ids, mask = pad_batch(rows, pad_id, device)
    if isinstance(model, InstructForward):
        # Right-padded: causal attention keeps real tokens from the pads without a mask. No
        # segments: plain text is read as text the model writes (the response segment).
        logits = model(ids, full_logits=True).logits
    else:
        logits = model(input_ids=ids, attention_mask=mask).logits  # (B, T, V)
    sums = []
    for b, r in enumerate(rows):
        n = len(r)
        sums.append(F.cross_entropy(logits[b, :n - 1].float(), ids[b, 1:n], reduction="sum").item())
    return sums


@torch.no_grad()
def corpus_perplexity(model: nn.Module, tokenizer, texts: list[str], max_length: int = DEFAULT_MAX_LENGTH,
                      max_tokens: int | None = DEFAULT_MAX_TOKENS,
                      batch_tokens: int = DEFAULT_BATCH_TOKENS) -> dict:
    """Token-weighted perplexity of a causal LM on documents (see the module docstring).

    Args:
        model: causal LM (plain or peft-wrapped); it runs on the device it is on.
        tokenizer: its tokenizer (the pad id is only a filler: padded positions are masked).
        texts: the documents, e.g. from `text_corpus.load_corpus`.
        max_length: tokens kept from the start of each document.
        max_tokens: predictions budget over leading documents; None for all documents.
        batch_tokens: padded tokens per forward pass (memory vs speed).
    Returns:
        {"nll": mean NLL per predicted token, "perplexity": exp(nll), "tokens": predictions,
         "documents": documents scored, "max_length": max_length,
         "doc_nll_sum": [NLL sum per document], "doc_tokens": [predictions per document]}
        with the per-document lists in corpus order (for `forgetting_report`'s bootstrap).
    Raises:
        ValueError: no document has two tokens (nothing to predict).
    """
    ids = within_budget(encode(tokenizer, texts, max_length), max_tokens)
    ids = [x for x in ids if len(x) >= 2]  # one token predicts nothing
    if not ids:
        raise ValueError("no document has the two tokens needed to predict one")
    device = next(model.parameters()).device
    pad_id = tokenizer.pad_token_id if tokenizer.pad_token_id is not None else 0
    was_training = model.training
    model.eval()
    nll = [0.0] * len(ids)
    try:
        for batch in length_batches([len(x) for x in ids], batch_tokens):
            for i, s in zip(batch, batch_nll(model, [ids[i] for i in batch], pad_id, device)):
                nll[i] = s
    finally:
        model.train(was_training)
    counts = [len(x) - 1 for x in ids]
    mean = sum(nll) / sum(counts)
    return {"nll": mean, "perplexity": math.exp(mean), "tokens": sum(counts), "documents": len(ids),
            "max_length": max_length, "doc_nll_sum": nll, "doc_tokens": counts}


def relative_change(base: dict, tuned: dict) -> float:
    """tuned perplexity / base perplexity - 1 (0.05: the tuned model is 5% more perplexed)."""
    return tuned["perplexity"] / base["perplexity"] - 1


def _paired_bootstrap(base_nll: np.ndarray, tuned_nll: np.ndarray, counts: np.ndarray,
                      confidence: float, resamples: int, seed: int) -> tuple[float, float]:
    """Percentile interval of the relative perplexity change over resampled documents.

    Args:
        base_nll, tuned_nll: (D,) per-document NLL sums of each model.
        counts: (D,) predictions per document (the same for both: same tokenizer and cut).
    Each resample draws D documents with replacement, the same ones for both models, and
    computes exp((sum tuned - sum base) / sum counts) - 1 on them.
    """
    rng = np.random.default_rng(seed)
    d = len(counts)
    block = max(1, 2_000_000 // d)  # resamples per block, so index arrays stay ~16 MB
    changes = []
    for start in range(0, resamples, block):
        idx = rng.integers(0, d, size=(min(block, resamples - start), d))  # (R, D)
        diff = (tuned_nll[idx] - base_nll[idx]).sum(axis=1) / counts[idx].sum(axis=1)
        changes.append(np.expm1(diff))
    changes = np.concatenate(changes)
    alpha = (1 - confidence) / 2
    return float(np.quantile(changes, alpha)), float(np.quantile(changes, 1 - alpha))


def forgetting_report(base: dict, tuned: dict, confidence: float = 0.95, resamples: int = 2000,
                      seed: int = 0) -> dict:
    """Base and tuned perplexity, their relative change, and a paired bootstrap interval.

    Args:
        base, tuned: `corpus_perplexity` results on the same documents and max_length.
        confidence: interval coverage in (0, 1).
        resamples: bootstrap resamples.
        seed: seed of the resampling (the same seed gives the same interval).
    Returns:
        {"base_perplexity", "tuned_perplexity", "relative_change", "low", "high",
         "confidence", "documents", "tokens"}
    Raises:
        ValueError: the two results were not scored on the same documents.
    """
    if base["doc_tokens"] != tuned["doc_tokens"]:
        raise ValueError("base and tuned were scored on different documents or token cuts "
                         f"({base['documents']} documents / {base['tokens']} tokens vs "
                         f"{tuned['documents']} / {tuned['tokens']}); use the same corpus, "
                         "tokenizer, max_length and max_tokens")
    if not 0 < confidence < 1:
        raise ValueError(f"confidence must be in (0, 1), got {confidence}")
    low, high = _paired_bootstrap(np.asarray(base["doc_nll_sum"], dtype=np.float64),
                                  np.asarray(tuned["doc_nll_sum"], dtype=np.float64),
                                  np.asarray(base["doc_tokens"], dtype=np.float64),
                                  confidence, resamples, seed)
    return {"base_perplexity": base["perplexity"], "tuned_perplexity": tuned["perplexity"],
            "relative_change": relative_change(base, tuned), "low": low, "high": high,
            "confidence": confidence, "documents": base["documents"], "tokens": base["tokens"]}
