"""Task alignment: does the response answer *its own* instruction rather than a neighbour's?

For each record, the response embedding is compared with its own prompt (instruction +
context, or the context alone when closer: a rewrite resembles its context more than the
words "Rewrite this") and, the same way, with the prompts of the other records (all of them, or a seeded sample of
`max_others` when the set is larger; prompts with exactly the same text are skipped). With
`margin = cos(response, own prompt) − max cos(response, another prompt)`:

    score = clip(0.5 + margin / (2 · MARGIN_SCALE), 0, 1)       in [0, 1]

so 0.5 means "as close to another instruction as to its own", 1.0 a clear win by
MARGIN_SCALE (0.2) or more, 0.0 a clear loss (an off-topic or swapped response). The reason
gives the rank of the own instruction and the nearest other one. A response of fewer than
SHORT_WORDS words ("42", "About 2,300 kilometres.") carries little meaning, so its margin
counts half (the scale doubles): weak evidence sends a record to review rather than out.

When the set has a generator (`quality.judge=true`), an LLM judge also answers yes/no for each
record (`quality.judge`) and the score is the mean of the two.
"""

from __future__ import annotations

import numpy as np

from instructune.quality._text import words
from instructune.quality.judge import judge_records
from instructune.quality.score import Score, ScoringSet, prompt_text

MARGIN_SCALE = 0.2
SHORT_WORDS = 5
CHUNK = 1024  # records compared at once: (CHUNK, others) similarities in memory


def _others(n: int, max_others: int, seed: int) -> np.ndarray:
    """Indices of the records every response is compared with (all, or a seeded sample)."""
    if n <= max_others:
        return np.arange(n)
    return np.sort(np.random.default_rng(seed).choice(n, size=max_others, replace=False))


def embedding_scores(data: ScoringSet, max_others: int = 4096, seed: int = 0) -> list[Score]:
    """The embedding part of the alignment score (see the module docstring)."""
    n = len(data)
    prompts, contexts, responses = data.prompt_vecs, data.context_vecs, data.response_vecs
    group = {}
    gid = np.array([group.setdefault(prompt_text(r), len(group)) for r in data.records])  # (N,)
    others = _others(n, max_others, seed)
    own = np.maximum(np.einsum("nd,nd->n", responses, prompts), np.einsum("nd,nd->n", responses, contexts))  # (N,)
    out: list[Score] = []
    for start in range(0, n, CHUNK):
        stop = min(start + CHUNK, n)
        sims = np.maximum(responses[start:stop] @ prompts[others].T,
                          responses[start:stop] @ contexts[others].T)  # (chunk, K)
        sims[gid[start:stop, None] == gid[others][None, :]] = -np.inf  # itself and identical prompts
        for k in range(stop - start):
            i, row = start + k, sims[k]
            j = int(np.argmax(row)) if row.size else -1
            if j < 0 or not np.isfinite(row[j]):
                out.append(Score(1.0, "no other instructions to compare with"))
                continue
            best, rank = float(row[j]), int((row > own[i]).sum()) + 1
            margin = float(own[i]) - best
            scale = MARGIN_SCALE * (2 if len(words(data.records[i].response)) < SHORT_WORDS else 1)
            value = float(np.clip(0.5 + margin / (2 * scale), 0.0, 1.0))
            nearest = data.records[others[j]].id
            out.append(Score(round(value, 6), (
                f"own instruction ranks {rank} of {int(np.isfinite(row).sum()) + 1} (cosine {own[i]:.2f}); "
                f"nearest other {nearest} ({best:.2f}), margin {margin:+.2f}")))
    return out


def score(data: ScoringSet, max_others: int = 4096, seed: int = 0) -> list[Score]:
    """Alignment of every record, in [0, 1]; with a generator, averaged with the LLM judge."""
    if not len(data):
        return []
    scores = embedding_scores(data, max_others, seed)
    if data.generator is None:
        return scores
    verdicts = judge_records(data.generator, data.records)
    return [Score(round((s.value + v) / 2, 6), f"{s.reason}; judge: {why}",
                  s.codes + (() if v >= 0.5 else ("judge_no",)))
            for s, (v, why) in zip(scores, verdicts)]
