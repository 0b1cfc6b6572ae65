"""Plausibility: is the response as written likelier than its minimal variants?

An edited number ("worth $25 billion" for 15) or a flipped negation ("a figure could not be
seen running") leaves a response fluent, so neither the embeddings nor the format rules see
it. The quality LM (`quality.lm`; `ScoringSet.readings`, `quality/response_lm.py`) reads each
record once, teacher-forced, and at each spot where a minimal edit could have been made it
compares the token written with the variant's token at the same place:

- a digit: the likeliest other digit there (a number changed);
- a negation word (not, never, no): the token after it, as if the word were deleted;
- the token after an auxiliary verb (is, can, would, ...): " not", as if one were inserted.

`gap` = log p(variant's token) − log p(written token), in nats; the score is exp(−max gap)
over the record's spots, clipped to (0, 1]: 1.0 when the text as written is at least as
likely as every variant at every spot, 0.05 when some variant is e^3 (20) times likelier.
Only the first token of each variant is compared (one forward per record instead of one per
variant), so a variant that is unlikely at its spot but would make the rest of the text
likelier is missed. A record without such spots scores 1.0.

A 135M model knows few facts, so many a right number surprises it; the default threshold
only flags (`quality.flag_below.plausibility`), and the reason names the spot.
"""

from __future__ import annotations

import math

import numpy as np

from instructune.quality.response_lm import DIGITS, Reading
from instructune.quality.score import Score, ScoringSet

NEGATIONS = (" not", " never", " no")
AUXILIARIES = (" is", " are", " was", " were", " can", " will", " does", " do", " did", " should", " could",
               " would", " has", " have", " had", " must", " may")


def one_token_ids(tokenizer, texts: tuple[str, ...]) -> set[int]:
    """Ids of the `texts` that are one token each in this tokenizer (the others are left out)."""
    ids = [tokenizer(t, add_special_tokens=False)["input_ids"] for t in texts]
    return {i[0] for i in ids if len(i) == 1}


def spot_gaps(rd: Reading, digit_cols: dict[int, int], not_col: int | None, negations: set[int],
              auxiliaries: set[int]) -> list[tuple[float, int, str]]:
    """(gap in nats, token position, kind) for every spot of one response (module docstring).

    Args:
        rd: the response's reading.
        digit_cols: digit token id → its column of `rd.watched`.
        not_col: the column of " not" (None: no insertion variants).
        negations, auxiliaries: token ids of the negation words and auxiliary verbs.
    """
    out = []
    cols = list(digit_cols.values())
    for t, tok in enumerate(rd.token_ids):
        written = rd.token_logprobs[t]
        if tok in digit_cols:
            others = rd.watched[t, cols].copy()
            others[cols.index(digit_cols[tok])] = -np.inf
            out.append((float(others.max() - written), t, "another digit"))
        elif tok in negations:
            out.append((float(rd.skip_logprobs[t] - written), t, "negation removed"))
        elif not_col is not None and t > 0 and rd.token_ids[t - 1] in auxiliaries:
            out.append((float(rd.watched[t, not_col] - written), t, "negation added"))
    return out


def score(data: ScoringSet) -> list[Score]:
    """Plausibility scores of every record, in (0, 1] (see the module docstring)."""
    if not len(data):
        return []
    lm = data.lm
    tok = lm.tokenizer
    digit_cols = {lm.watch_ids[d]: lm.column(d) for d in DIGITS if d in lm.watch_ids}
    negations, auxiliaries = one_token_ids(tok, NEGATIONS), one_token_ids(tok, AUXILIARIES)
    out = []
    for rd in data.readings:
        gaps = spot_gaps(rd, digit_cols, lm.column(" not"), negations, auxiliaries) if rd is not None else []
        if not gaps:
            out.append(Score(1.0, "no number, negation or auxiliary verb to vary"))
            continue
        gap, t, kind = max(gaps)
        where = tok.decode(rd.token_ids[max(0, t - 6):t + 1]).strip()
        out.append(Score(round(min(1.0, math.exp(-max(gap, 0.0))), 6),
                         f"{len(gaps)} spots; the likeliest variant ({kind}) at ...{where!r} is "
                         f"{gap:+.2f} nats over the text as written"))
    return out
