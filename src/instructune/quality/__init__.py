"""Quality control: scorers, thresholds, complexity balancing and the review queue.

    data = ScoringSet(records, embedder=load_embedder(), reference=known_good)
    scores = {name: SCORERS[name](data) for name in SCORERS}
    verdicts = decide_all(scores, {"format": (0.25, 1.0)})

`instructune quality` (recipes/quality.py) runs the whole pass and `instructune review`
(recipes/review.py) serves the flagged records for a human decision.
"""

from instructune.embed import DEFAULT_EMBEDDER, Embedder, load_embedder, resolve_embedder
from instructune.quality.balance import balance, bin_counts
from instructune.quality.constraints import Constraint, parse_constraints
from instructune.quality.decide import DECISIONS, Verdict, decide, decide_all, quality_block, quality_value
from instructune.quality.score import Score, ScoringSet
from instructune.quality.scorers import SCORERS

__all__ = ["DECISIONS", "DEFAULT_EMBEDDER", "SCORERS", "Constraint", "Embedder", "Score", "ScoringSet",
           "Verdict", "balance", "bin_counts", "decide", "decide_all", "load_embedder", "parse_constraints",
           "quality_block", "quality_value", "resolve_embedder"]
