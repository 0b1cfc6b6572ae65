"""Semantic coherence: does the response talk about what the prompt talks about?

Score: the cosine similarity of the sentence embeddings of the response (rationale + response)
and the prompt (instruction, plus the context when there is one), or the context alone when
that is higher (a rewrite or summary is close to its context, less to "Rewrite this ..."),
clipped to [0, 1] (negative cosines mean "unrelated" as much as 0 does). With all-MiniLM-L6-v2, on-topic
answers mostly score 0.3-0.8; unrelated text 0.0-0.15. Short factual answers ("42",
"Mercury.") carry little meaning and score low even when right, which is why the default
thresholds are low and why `alignment` compares against the other instructions instead.

Two corrections (issue 19, measured by bench/quality_damage.py):
- a response copied word for word from its own context (`score.copied_from_context`) is
  compared with the instruction alone: the copy is trivially close to the context and the
  prompt that contains it ("23" out of "23, 12, 17" for "What is the name of this city?");
- a response of fewer than SHORT_WORDS words ("Yes", "Positive", "3") scores at least
  WEAK_FLOOR: too little meaning to reject on, so it goes to review at worst.
"""

from __future__ import annotations

import numpy as np

from instructune.quality._text import words
from instructune.quality.score import Score, ScoringSet, response_text

SHORT_WORDS = 5
WEAK_FLOOR = 0.1  # above the default reject_below (0.05), below flag_below (0.2)


def _one(prompt: float, context: float, instruction: float, copied: bool, short: bool) -> Score:
    if copied:
        value, why = instruction, f"response copied from the context; cosine {instruction:.2f} with the instruction"
    elif prompt >= context:
        value, why = prompt, f"cosine {prompt:.2f} between prompt and response"
    else:
        value, why = context, f"cosine {context:.2f} between context and response (prompt {prompt:.2f})"
    value = max(value, 0.0)
    if short and value < WEAK_FLOOR:
        value, why = WEAK_FLOOR, f"{why}; short response, raised to {WEAK_FLOOR}"
    return Score(round(float(value), 6), why, ("copied",) if copied else ())


def score(data: ScoringSet) -> list[Score]:
    """Coherence of every record, in [0, 1]."""
    if not len(data):
        return []
    to_prompt = np.einsum("nd,nd->n", data.prompt_vecs, data.response_vecs)  # (N,)
    to_context = np.einsum("nd,nd->n", data.context_vecs, data.response_vecs)  # (N,), 0 without context
    to_instruction = np.einsum("nd,nd->n", data.instruction_vecs, data.response_vecs)  # (N,), 0 unless copied
    short = [len(words(response_text(r))) < SHORT_WORDS for r in data.records]
    return [_one(float(c), float(x), float(i), bool(k), s)
            for c, x, i, k, s in zip(to_prompt, to_context, to_instruction, data.copied, short)]
