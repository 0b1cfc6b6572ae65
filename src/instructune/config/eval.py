"""The `eval` section: evaluation of base and tuned models."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

from instructune.config.errors import at_least, check_ranges, require

SUITES = ("loss", "generation", "ifeval", "forgetting")


@dataclass
class EvalConfig:
    """Evaluation of base and tuned models (`instructune eval`, and during training).

    Attributes:
        without_addons: when the tuned run has add-ons that change the forward, also evaluate it
            without them (what a plain transformers / vLLM deployment of its export/ runs) and
            report the difference.
        suites: what `instructune eval` runs: "loss" (teacher-forced response loss per held-out
            set), "generation" (greedy generations: ROUGE-L, exact match), "ifeval" (verifiable
            instruction checks, strict and loose), "forgetting" (general-text perplexity),
            "temperature" (on a tuned run with `addons.temperature_head`: Spearman of predicted
            vs target temperature on held-out records, and ROUGE-L of a factual + creative mix
            at the predicted temperature against fixed 0, 0.3, 0.7 and 1.0; not a default).
        sets: extra named held-out sets, each a list of files ({code: [c.jsonl]}); each is
            reported on its own (eval.json, `eval_loss/<name>` in metrics.jsonl) beside
            `data.heldout`, which is the set named "heldout".
        max_records: evaluate on at most this many records of each held-out set; 0 for all.
        max_new_tokens: generation length for ROUGE-L / exact match.
        batch_size: records per forward pass.
        ifeval_prompts: an IFEval-format prompts file (Google's input_data.jsonl works); null
            uses the shipped set.
        ifeval_max_prompts: score at most this many prompts (the first ones); 0 for all.
        ifeval_max_new_tokens: generation cap for the verifiable-instruction prompts. 0 (the
            default) fits each prompt: what its instructions need (e.g. "at least 300 words" at
            ~1.8 tokens a word, evaluate/ifeval/length_budget.py), at least 192, rounded up to
            64, prompts batched by cap; N > 0 gives every prompt N tokens (what figures before
            fitted caps used: 96, 128 or 192), and eval says how many prompts N cuts short.
        forgetting_corpus: general text for the forgetting perplexity: a .txt file (documents
            separated by a line holding only ---), a .jsonl file with a `text` field, or a
            saved HF dataset dir; null uses the shipped reference corpus (50 documents). How
            it is split: the eval scores the leading documents, in file order, up to
            forgetting_max_tokens; EWC (objectives.ewc, when its corpus is this one) fits its
            Fisher on documents taken from the end (objectives.ewc.take=last), so the two
            read different documents unless their budgets together exceed the corpus (train
            then warns how many are shared). Nothing else of it is held out or trained on.
        forgetting_max_length: tokens per document at most (the same for base and tuned).
        forgetting_max_tokens: score the leading documents until this many tokens are
            predicted (a fixed prefix, the same for base and tuned); 0 scores the whole corpus.
            The default takes about half of the shipped corpus (19 of 50 documents, every
            genre) and halves its cost; the interval is wider for it.
        generate_every: during training, every this many optimizer steps, generate on a small
            held-out subset and log ROUGE-L and the verifiable-instruction pass rate; 0 never.
        generate_records: records (and verifiable prompts) in that subset.
        bootstrap: bootstrap resamples for paired base-vs-tuned intervals.
        confidence: the confidence level of every interval.
        seed: seed of the bootstrap.
    """

    suites: list[Literal["loss", "generation", "ifeval", "forgetting", "temperature"]] = field(
        default_factory=lambda: list(SUITES))
    without_addons: bool = True
    sets: dict[str, list[str]] = field(default_factory=dict)
    max_records: int = 0
    max_new_tokens: int = 96
    batch_size: int = 8
    ifeval_prompts: str | None = None
    ifeval_max_prompts: int = 0
    ifeval_max_new_tokens: int = 0
    forgetting_corpus: str | None = None
    forgetting_max_length: int = 512
    forgetting_max_tokens: int = 8192
    generate_every: int = 0
    generate_records: int = 16
    bootstrap: int = 2000
    confidence: float = 0.95
    seed: int = 0

    def __post_init__(self) -> None:
        check_ranges(self, {"max_records": at_least(0), "max_new_tokens": at_least(1), "batch_size": at_least(1),
                            "ifeval_max_prompts": at_least(0), "ifeval_max_new_tokens": at_least(0),
                            "forgetting_max_length": at_least(2), "forgetting_max_tokens": at_least(0),
                            "generate_every": at_least(0),
                            "generate_records": at_least(1), "bootstrap": at_least(100), "seed": at_least(0)})
        require(0.5 <= self.confidence < 1, "confidence", f"got {self.confidence}; expected in [0.5, 1)")
        require("heldout" not in self.sets, "sets", "the name 'heldout' is data.heldout's; pick another name")
        for name, files in self.sets.items():
            require(bool(files), f"sets.{name}", "expected at least one file")
