"""The `refine` section: Self-Refine of responses (`synth ...` and `quality --refine`)."""

from __future__ import annotations

from dataclasses import dataclass

from instructune.config.errors import UNIT, at_least, between, check_ranges


@dataclass
class RefineConfig:
    """Self-Refine (Madaan et al.): the generator critiques each response against its
    instruction, then revises it, for up to `rounds` rounds (`synth/refine.py`).

    Attributes:
        rounds: critique/revise rounds at most, 0 to 10; 0 turns refining off. A record stops
            early when the critique finds nothing to fix or its quality score stops improving.
        max_new_tokens: tokens per critique and per revision.
        temperature: sampling temperature of both requests, 0 to 2; 0 is greedy.
        min_gain: a revision is kept only when it beats the best quality score so far by more
            than this, in [0, 1] (score noise is not a gain).
        seed: sampling seed (round r uses seed + r).
    """

    rounds: int = 0
    max_new_tokens: int = 256
    temperature: float = 0.0
    min_gain: float = 0.01
    seed: int = 0

    def __post_init__(self) -> None:
        check_ranges(self, {"rounds": between(0, 10), "max_new_tokens": at_least(1), "temperature": between(0, 2),
                            "min_gain": UNIT, "seed": at_least(0)})
