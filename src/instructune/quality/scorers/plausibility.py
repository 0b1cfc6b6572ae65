"""Plausibility: is the response as written likelier than its minimal variants?

An edited number ("worth $25 billion" for 15) or a flipped negation ("a figure could not be
seen running") leaves a response fluent, so neither the embeddings nor the format rules see
it. The quality LM (`quality.lm`; `ScoringSet.read`, `quality/response_lm.py`) reads each
record with a digit or a negation word in its (clipped) response once, teacher-forced, and at
each such spot compares the token written with a minimal variant's token at the same place:

- a digit: the likeliest other digit there (the number changed);
- a negation word (not, never, no): the token after it, as if the word were deleted.

`gap` = log p(variant's token) − log p(written token), in nats, less the spot's margin
(`MARGINS`): a number must be DIGIT_MARGIN (7) nats less likely than another to count, a
negation not at all. A 135M model knows few facts, so many a right number surprises it; the
margins were set on the damage benchmark's seed-0 draw (README, Damage benchmark) to keep
clean records' flags down. The score is exp(−max(0, largest gap)), in (0, 1]: 1.0 when no
variant beats the text as written by its margin. Only the first token of each variant is
compared (one forward per record instead of one per variant), so a variant that is no likelier
at its spot but makes the rest of the text likelier is missed; so is a negation that was
removed (no "not" to delete). A record without a digit or a negation word scores 1.0 unread.
The default threshold flags any excess (`quality.flag_below.plausibility` 1.0), never rejects,
and the reason names the spot; `Score.extra["gaps"]` keeps the largest gap of each kind before
its margin (what bench/quality_damage.py sweeps the margins over).
"""

from __future__ import annotations

import math
import re

import numpy as np

from instructune.quality.response_lm import DIGITS, Reading, clip_response
from instructune.quality.score import Score, ScoringSet, response_text

NEGATIONS = (" not", " never", " no")
_ASK = re.compile(r"\d|\b(?:not|never|no)\b", re.I)  # what makes a record worth reading
DIGIT_MARGIN = 7.0
MARGINS = {"another digit": DIGIT_MARGIN, "negation removed": 0.0}


def one_token_ids(tokenizer, texts: tuple[str, ...]) -> set[int]:
    """Ids of the `texts` that are one token each in this tokenizer (the others are left out)."""
    ids = [tokenizer(t, add_special_tokens=False)["input_ids"] for t in texts]
    return {i[0] for i in ids if len(i) == 1}


def spot_gaps(rd: Reading, digit_cols: dict[int, int], negations: set[int]) -> list[tuple[float, int, str]]:
    """(gap in nats, token position, kind) for every spot of one response, the gap before its
    margin (module docstring).

    Args:
        rd: the response's reading.
        digit_cols: digit token id → its column of `rd.watched`.
        negations: token ids of the negation words.
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
    return out


def score(data: ScoringSet) -> list[Score]:
    """Plausibility scores of every record, in (0, 1] (see the module docstring)."""
    if not len(data):
        return []
    lm = data.lm
    tok = lm.tokenizer
    digit_cols = {lm.watch_ids[d]: lm.column(d) for d in DIGITS if d in lm.watch_ids}
    negations = one_token_ids(tok, NEGATIONS)
    texts = [clip_response(response_text(r).strip(), lm.response_chars) for r in data.records]
    reads = data.read([i for i, t in enumerate(texts) if _ASK.search(t)])
    out = []
    for i in range(len(data)):
        gaps = spot_gaps(reads[i], digit_cols, negations) if i in reads else []
        if not gaps:
            out.append(Score(1.0, "no number or negation to vary"))
            continue
        excess, gap, t, kind = max((g - MARGINS[k], g, t, k) for g, t, k in gaps)
        where = tok.decode(reads[i].token_ids[max(0, t - 6):t + 1]).strip()
        largest = {k: round(max(g for g, _, kk in gaps if kk == k), 4) for k in dict.fromkeys(k for _, _, k in gaps)}
        out.append(Score(round(math.exp(-max(excess, 0.0)), 6),
                         f"{len(gaps)} spots; the likeliest variant ({kind}) at ...{where!r} is {gap:+.2f} nats "
                         f"over the text as written (margin {MARGINS[kind]:g})", extra={"gaps": largest}))
    return out
