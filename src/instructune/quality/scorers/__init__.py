"""The quality scorers, one file each, registered in `SCORERS` (a plain dict).

A scorer is `score(data: ScoringSet, **options) -> list[Score]`: one `Score` (value, reason,
codes) per record, in order. Ranges are documented in each file; all are in [0, 1] and higher
is better, except two that describe a record rather than grade it: `complexity` (higher is
harder; feeds balancing and the optional ceiling) and `domain` (the confidence in the record's
domain label; `decide(review_domains=...)` sends finance, law and health records to review).
The embedding scorers need `ScoringSet(embedder=...)`; the LM scorers (ending, plausibility)
need `ScoringSet(lm=...)`, a `quality.response_lm.ResponseLM`, and read each record once
between them (`ScoringSet.read`).
"""

from __future__ import annotations

from collections.abc import Callable

from instructune.quality.score import Score, ScoringSet
from instructune.quality.scorers import (alignment, coherence, complexity, contradiction, domain, ending, format,
                                        plausibility, reference)

SCORERS: dict[str, Callable[..., list[Score]]] = {
    "coherence": coherence.score,
    "alignment": alignment.score,
    "format": format.score,
    "reference": reference.score,
    "contradiction": contradiction.score,
    "complexity": complexity.score,
    "domain": domain.score,
    "ending": ending.score,
    "plausibility": plausibility.score,
}
EMBEDDING_SCORERS = frozenset({"coherence", "alignment", "reference", "domain"})
LM_SCORERS = frozenset({"ending", "plausibility"})

__all__ = ["EMBEDDING_SCORERS", "LM_SCORERS", "SCORERS", "Score", "ScoringSet"]
