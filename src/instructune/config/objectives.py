"""The `objectives` section: loss terms beyond the next-token loss (`objectives/`).

Each objective is off by default (weight 0); with all off, training is exactly the plain
next-token loss, bit for bit.

    instructune train objectives.ewc.weight=1000 objectives.l2sp.weight=10
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

from instructune.config.errors import at_least, check_ranges


@dataclass
class EWCConfig:
    """Elastic weight consolidation: (weight/2)·Σ F·(θ − θ*)², F the diagonal Fisher of the
    pretrained model on a reference corpus, θ* the pretrained weights; with LoRA, θ − θ* is
    each adapted weight's change scale·B·A (`objectives/ewc.py`). Logged as `ewc_loss`
    (the penalty before the weight).

    Attributes:
        weight: λ, the penalty's weight; 0 switches EWC off.
        corpus: reference text the Fisher is estimated on: a .txt / .jsonl file or a
            save_to_disk dir (`evaluate/text_corpus.py`); "" uses eval.forgetting_corpus
            (the shipped general-text corpus by default).
        take: which documents: "last" reads the corpus from its end, so that the forgetting
            eval (which scores the leading documents) reads text the Fisher never saw;
            "first" reads it from the start.
        max_tokens: estimate on documents until this many predicted tokens (the document
            that crosses it counts whole); each document is one example.
        max_length: tokens per document at most.
        normalize: "mean" divides F by its mean over every entry, so that weight means the
            same as objectives.l2sp.weight with the Fisher only redistributing it (and does not
            depend on the corpus size or the loss scale); "none" keeps the raw Fisher.
        cache: reuse a Fisher saved under the instructune cache dir (keyed by the model's
            weights, the documents' tokens and these settings), and save a new one there.
    """

    weight: float = 0.0
    corpus: str = ""
    take: Literal["last", "first"] = "last"
    max_tokens: int = 4096
    max_length: int = 512
    normalize: Literal["mean", "none"] = "mean"
    cache: bool = True

    def __post_init__(self) -> None:
        check_ranges(self, {"weight": at_least(0), "max_tokens": at_least(1), "max_length": at_least(2)})


@dataclass
class L2SPConfig:
    """L2 toward the pretrained weights: (weight/2)·Σ (θ − θ*)²; with LoRA, Σ over each adapted
    weight's change scale·B·A (`objectives/l2sp.py`). Logged as `l2sp_loss` (before the weight).

    Attributes:
        weight: the penalty's weight; 0 switches L2-SP off.
    """

    weight: float = 0.0

    def __post_init__(self) -> None:
        check_ranges(self, {"weight": at_least(0)})


@dataclass
class ObjectivesConfig:
    """Extra loss terms (`objectives/`); all off by default.

    Attributes:
        ewc: see EWCConfig.
        l2sp: see L2SPConfig.
    """

    ewc: EWCConfig = field(default_factory=EWCConfig)
    l2sp: L2SPConfig = field(default_factory=L2SPConfig)
