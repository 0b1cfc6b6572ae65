"""The `data.augment` section: verifiable-constraint augmentation of the training records
(`augment/`; `instructune augment --constraints` takes the same settings)."""

from __future__ import annotations

from dataclasses import dataclass, field

from instructune.config.errors import UNIT, FieldError, at_least, check_ranges, require

# The constraint types augmentation knows (IFEval ids); `augment/types.py` defines each, and a
# test holds the two lists equal. Kept here so that the config checks a name before anything loads.
CONSTRAINT_TYPES = (
    "punctuation:no_comma", "detectable_format:number_bullet_lists", "detectable_format:multiple_sections",
    "length_constraints:number_paragraphs", "length_constraints:nth_paragraph_first_word",
    "detectable_format:number_highlighted_sections", "detectable_format:constrained_response",
    "detectable_format:title", "detectable_content:postscript", "startend:end_checker", "combination:repeat_prompt",
    "change_case:english_lowercase", "change_case:english_capital", "startend:quotation",
    "detectable_format:json_format", "keywords:existence", "keywords:frequency", "keywords:forbidden_words",
    "keywords:letter_frequency", "length_constraints:number_words", "length_constraints:number_sentences",
    "change_case:capital_word_frequency", "language:response_language", "combination:two_responses",
    "detectable_content:number_placeholders",
)


@dataclass
class ConstraintAugmentConfig:
    """Constraint augmentation (`data.augment.constraints.*`).

    Attributes:
        enabled: add constraint-augmented records to the training data (train, quickstart).
        types: the constraint types to draw from (IFEval ids); [] for every known type.
        held_out: types never drawn, e.g. to measure transfer to unseen constraint types.
        min_constraints, max_constraints: constraints per augmented record, drawn uniformly.
        generate: share of records whose response the generator (`synth.*`) writes for a
            constraint no rewrite can meet (another language, two answers, placeholders); the
            rest are met by rewriting or by drawing from the response. 0 needs no generator.
        max_attempts: generations per record before it is dropped as failing its constraints.
        copies: augmented versions of each record, each with its own draw of constraints
            (more constraint examples from the same responses).
        keep_original: train on the original records as well as their augmented copies.
        seed: seeds the draws (per record, so one record's draw does not depend on the others).
    """

    enabled: bool = False
    types: list[str] = field(default_factory=list)
    held_out: list[str] = field(default_factory=list)
    min_constraints: int = 1
    max_constraints: int = 3
    generate: float = 0.0
    max_attempts: int = 3
    copies: int = 1
    keep_original: bool = True
    seed: int = 0

    def __post_init__(self) -> None:
        check_ranges(self, {"min_constraints": at_least(1), "max_constraints": at_least(1), "generate": UNIT,
                            "max_attempts": at_least(1), "copies": at_least(1)})
        require(self.max_constraints >= self.min_constraints, "max_constraints",
                f"got {self.max_constraints}; expected >= min_constraints ({self.min_constraints})")
        for name in ("types", "held_out"):
            for i, t in enumerate(getattr(self, name)):
                if t not in CONSTRAINT_TYPES:
                    raise FieldError(f"{name}[{i}]", f"got {t!r}; expected one of {', '.join(CONSTRAINT_TYPES)}")
        left = [t for t in (self.types or CONSTRAINT_TYPES) if t not in self.held_out]
        require(bool(left), "held_out", "holds out every type in `types`; nothing is left to draw")

    def drawable(self) -> list[str]:
        """The types a record may get: `types` (or all) less `held_out`, in the known order."""
        return [t for t in CONSTRAINT_TYPES if (not self.types or t in self.types) and t not in self.held_out]


@dataclass
class DataAugmentConfig:
    """Augmentation of the training records (`data.augment.*`).

    Attributes:
        constraints: verifiable-constraint augmentation; see `ConstraintAugmentConfig`.
    """

    constraints: ConstraintAugmentConfig = field(default_factory=ConstraintAugmentConfig)
