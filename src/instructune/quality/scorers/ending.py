"""Ending: does the response stop where a finished answer would, in the language model's view?

A response that ends on closing punctuation (. ! ? ) ] " and the like) has closed its last
sentence and scores 1.0 unread: the question is for the others, which stop without a sign.
Each of them is read once, teacher-forced, by the quality LM (`quality.lm`, the default chat
model; `ScoringSet.read`, `quality/response_lm.py`): the prompt as a user turn, the response
as the assistant turn. Right after the response's last token the model gives a
probability to every next token; the score is the share it gives to stopping there:

    value = p(end of turn) + p(a token that closes a sentence or line: . ! ? newline)

A response cut mid-sentence ("... making the Harry Potter") leaves almost all of the mass on
words that carry on (value near 0); a finished one, even a bare label ("Positive", "3"), gives
the end of turn, a full stop or a new line a fair share. The model's hunch is not proof (a
small model also wants to go on after many a finished answer), so the default only flags,
below `quality.flag_below.ending`.

Score in [0, 1] (higher: more finished); 1.0 for an empty response (the format scorer rejects
it). The reason gives both probabilities. On a CPU the reading costs about as many forward
tokens as the clipped prompt and response hold (`quality/response_lm.py`), which is why closed
responses are not read.
"""

from __future__ import annotations

import math
import re

import numpy as np

from instructune.quality.response_lm import CLOSERS
from instructune.quality.score import Score, ScoringSet, response_text

# A last character that closes a sentence, a bracket or a quotation, or an emoji.
CLOSED = re.compile(r"[.!?…)\]}\"'”’»`]\s*$|[\u2600-\u27bf\U0001F000-\U0001FAFF]\s*$")


def score(data: ScoringSet) -> list[Score]:
    """Ending scores of every record, in [0, 1] (see the module docstring)."""
    if not len(data):
        return []
    lm = data.lm
    cols = [lm.column(t) for t in CLOSERS if t in lm.watch_ids]
    out = []
    texts = [response_text(r) for r in data.records]
    open_rows = [i for i, t in enumerate(texts) if t.strip() and not CLOSED.search(t)]
    reads = data.read(open_rows)
    for i, text in enumerate(texts):
        if not text.strip():
            out.append(Score(1.0, "empty response: nothing to end"))
        elif i not in reads:
            out.append(Score(1.0, "ends on closing punctuation"))
        else:
            rd = reads[i]
            p_end = math.exp(rd.end_logprob)
            p_close = float(np.exp(rd.watched[-1, cols]).sum())
            out.append(Score(round(min(1.0, p_end + p_close), 6), f"stops without closing punctuation; after it "
                             f"p(end of turn) {p_end:.3f}, p(. ! ? or a new line) {p_close:.3f}"))
    return out
