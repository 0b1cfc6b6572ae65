"""Ending: does the response stop where a finished answer would, in the language model's view?

Each record is read once, teacher-forced, by the quality LM (`quality.lm`, the default chat
model; `ScoringSet.readings`, `quality/response_lm.py`): the prompt as a user turn, the
response as the assistant turn. Right after the response's last token the model gives a
probability to every next token; the score is the share it gives to stopping there:

    value = p(end of turn) + p(a token that closes a sentence or line: . ! ? newline)

or, when the response's last token is itself such a closer ("... more than red light."), the
probability the model gave that closer where it stands, if higher: after a full stop a model
may well want to write another sentence, but a sentence it expected to end there has ended.
A response cut mid-sentence ("... making the Harry Potter") leaves almost all of the mass on
words that carry on (value near 0); a finished one, even a bare label ("Positive", "3"), gives
the end of turn, a full stop or a new line a fair share. The model's hunch is not proof (a
small model also wants to go on after many a finished answer), so the default only flags,
below `quality.flag_below.ending`.

Score in [0, 1] (higher: more finished); 1.0 for an empty response (the format scorer rejects
it). The reason gives both probabilities.
"""

from __future__ import annotations

import math

import numpy as np

from instructune.quality.response_lm import CLOSERS
from instructune.quality.score import Score, ScoringSet


def score(data: ScoringSet) -> list[Score]:
    """Ending scores of every record, in [0, 1] (see the module docstring)."""
    if not len(data):
        return []
    lm = data.lm
    cols = [lm.column(t) for t in CLOSERS if t in lm.watch_ids]
    closer_ids = {lm.watch_ids[t] for t in CLOSERS if t in lm.watch_ids}
    out = []
    for rd in data.readings:
        if rd is None:
            out.append(Score(1.0, "empty response: nothing to end"))
            continue
        p_end = math.exp(rd.end_logprob)
        p_close = float(np.exp(rd.watched[-1, cols]).sum())
        why = f"after the response: p(end of turn) {p_end:.3f}, p(. ! ? or a new line) {p_close:.3f}"
        value = p_end + p_close
        if rd.token_ids[-1] in closer_ids and (p_own := math.exp(rd.token_logprobs[-1])) > value:
            value, why = p_own, f"p({lm.tokenizer.decode(rd.token_ids[-1:])!r}) {p_own:.3f} where it closes the response"
        out.append(Score(round(min(1.0, value), 6), why))
    return out
