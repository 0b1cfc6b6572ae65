"""Semantic coherence: does the response talk about what the prompt talks about?

Score: the cosine similarity of the sentence embeddings of the response (rationale + response)
and the prompt (instruction, plus the context when there is one), or the context alone when
that is higher (a rewrite or summary is close to its context, less to "Rewrite this ..."),
clipped to [0, 1] (negative cosines mean "unrelated" as much as 0 does). With all-MiniLM-L6-v2, on-topic
answers mostly score 0.3-0.8; unrelated text 0.0-0.15. Short factual answers ("42",
"Mercury.") carry little meaning and score low even when right, which is why the default
thresholds are low and why `alignment` compares against the other instructions instead.
"""

from __future__ import annotations

import numpy as np

from instructune.quality.score import Score, ScoringSet


def score(data: ScoringSet) -> list[Score]:
    """Coherence of every record, in [0, 1]."""
    if not len(data):
        return []
    to_prompt = np.einsum("nd,nd->n", data.prompt_vecs, data.response_vecs)  # (N,)
    to_context = np.einsum("nd,nd->n", data.context_vecs, data.response_vecs)  # (N,), 0 without context
    return [Score(round(max(float(c), float(x), 0.0), 6),
                  f"cosine {c:.2f} between prompt and response" if c >= x else
                  f"cosine {x:.2f} between context and response (prompt {c:.2f})")
            for c, x in zip(to_prompt, to_context)]
