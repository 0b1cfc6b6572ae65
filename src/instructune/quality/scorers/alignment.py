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

Floors (issue 19, measured by bench/quality_damage.py): evidence too weak to reject on sends a
record to review at most, so the value is at least WEAK_FLOOR (above the default reject_below
0.1, below flag_below 0.3) when the response is short, or when it is still close to its own
prompt (cosine ≥ ON_TOPIC, 0.1: a grocery list also near another food instruction, a joke
near another joke request). A
response copied from its own context (`score.copied_from_context`) is compared with its
instruction alone: its closeness to the context proves nothing.

When the set has a generator (`quality.judge=true`), the rubric LLM judge (`quality/judge.py`)
also scores each record, 1-5 mapped to [0, 1], and the score is the mean of the two.
"""

from __future__ import annotations

import numpy as np

from instructune.quality._text import words
from instructune.quality.judge import judge_records
from instructune.quality.score import Score, ScoringSet, prompt_text

MARGIN_SCALE = 0.2
SHORT_WORDS = 5
WEAK_FLOOR = 0.15
ON_TOPIC = 0.1
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
    own = np.where(data.copied, np.einsum("nd,nd->n", responses, data.instruction_vecs), own)
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
            short = len(words(data.records[i].response)) < SHORT_WORDS
            scale = MARGIN_SCALE * (2 if short else 1)
            value = float(np.clip(0.5 + margin / (2 * scale), 0.0, 1.0))
            nearest = data.records[others[j]].id
            why = (f"own instruction ranks {rank} of {int(np.isfinite(row).sum()) + 1} (cosine {own[i]:.2f}); "
                   f"nearest other {nearest} ({best:.2f}), margin {margin:+.2f}")
            if data.copied[i]:
                why = f"response copied from the context, compared with the instruction alone; {why}"
            if value < WEAK_FLOOR and (short or own[i] >= ON_TOPIC):
                value, why = WEAK_FLOOR, f"{why}; {'short response' if short else 'still on its own topic'}, " \
                                         f"raised to {WEAK_FLOOR}"
            out.append(Score(round(value, 6), why, ("copied",) if data.copied[i] else ()))
    return out


def score(data: ScoringSet, max_others: int = 4096, seed: int = 0) -> list[Score]:
    """Alignment of every record, in [0, 1]; with a generator, averaged with the LLM judge."""
    if not len(data):
        return []
    scores = embedding_scores(data, max_others, seed)
    if data.generator is None:
        return scores
    verdicts, _ = judge_records(data.generator, data.records, cache=data.judge_cache)
    return [Score(round((s.value + j.value) / 2, 6),
                  f"{s.reason}; judge: " + (f"{j.score}/5: {j.reason}" if j.parsed else j.reason),
                  s.codes + (() if j.value >= 0.5 else ("judge_no",)))
            for s, j in zip(scores, verdicts)]
