"""The complexity scorer: counts, the weighted score and bins."""

from __future__ import annotations

import math

import pytest
from quality_records import rec

from instructune.quality.score import ScoringSet
from instructune.quality.scorers.complexity import bin_of, complexity, counts, score


def test_counts():
    easy = rec("e", "What is the capital of Peru?", "Lima.")
    hard = rec("h", "A shop sells pens for 3 dollars and pads for 5 dollars. Without using a calculator, explain "
                    "step by step how much 2 pens and 4 pads cost, in at most 40 words.",
               "First, 2 pens cost 2 × 3 = 6 dollars. Then 4 pads cost 4 × 5 = 20 dollars. "
               "Therefore the total is 6 + 20 = 26 dollars.")
    assert counts(easy) == {"constraints": 0, "steps": 0, "words": 7}
    # constraints: "at most 40 words" + the cues "without", "step by step", "at most"; steps: 3 markers
    # (first, then, therefore), 3 "=", 5 numbers in the instruction (4 beyond the first), "explain".
    assert counts(hard) == {"constraints": 4, "steps": 11, "words": 57}


def test_weighted_score():
    c = {"constraints": 2, "steps": 1, "words": 20}
    assert complexity(c) == pytest.approx(0.4 * 2 / 4 + 0.35 * 1 / 5 + 0.25 * math.log1p(20) / math.log1p(300))
    assert complexity({"constraints": 9, "steps": 9, "words": 5000}) == pytest.approx(1.0)


def test_bins():
    assert [bin_of(v, [0.25, 0.5], ["easy", "medium", "hard"]) for v in (0.0, 0.2499, 0.25, 0.5, 1.0)] == [
        "easy", "easy", "medium", "hard", "hard"]


def test_score_carries_bin_and_reason():
    s = score(ScoringSet([rec("e", "What is the capital of Peru?", "Lima.")]))[0]
    assert s.value == pytest.approx(0.25 * math.log1p(7) / math.log1p(300), abs=1e-6)
    assert s.extra == {"bin": "easy", "constraints": 0, "steps": 0, "words": 7}
    assert s.reason == "0 constraint(s), 0 reasoning step(s), 7 words → 0.09 (easy)"


def test_bins_and_edges_must_agree():
    with pytest.raises(ValueError, match="3 bins need 2 edges"):
        score(ScoringSet([]), edges=(0.5,), bins=("a", "b", "c"))
