"""The `eval` section: evaluation of base and tuned models."""

from __future__ import annotations

from dataclasses import dataclass

from instructune.config.errors import at_least, check_ranges


@dataclass
class EvalConfig:
    """Evaluation of base and tuned models on the held-out split.

    Attributes:
        max_records: evaluate on at most this many held-out records; 0 for all.
        max_new_tokens: generation length for ROUGE-L / exact match.
        batch_size: records per forward pass.
    """

    max_records: int = 0
    max_new_tokens: int = 96
    batch_size: int = 8

    def __post_init__(self) -> None:
        check_ranges(self, {"max_records": at_least(0), "max_new_tokens": at_least(1), "batch_size": at_least(1)})
