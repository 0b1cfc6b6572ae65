"""The `ablation` section: arms × seeds of the same recipe (`instructune ablate`)."""

from __future__ import annotations

from dataclasses import dataclass, field

from instructune.config.errors import at_least, check_ranges, require

# The family Holm adjusts by default: the figures the README's ablation tables lead with.
HEADLINE = ("heldout.response_loss", "ifeval.prompt_level_loose", "ifeval.instruction_level_loose",
            "forgetting.relative_change")


@dataclass
class AblationConfig:
    """Arms × seeds: every arm trains and evaluates on the same data with the same seeds.

    Attributes:
        arms: arm name → its `key=value` overrides on top of the recipe, in order; the first
            arm is the baseline ({lora-r8: [lora.r=8], lora-r16: [lora.r=16]}).
        seeds: seeds per arm (0, 1, ... set as `train.seed`).
        first_seed: the first seed.
        headline: the metrics (ablation.json names, e.g. heldout.response_loss,
            ifeval.prompt_level_strict) whose differences from the baseline, over every arm, form
            the one family whose p-values get Holm's adjustment; the rest are reported unadjusted.
    """

    arms: dict[str, list[str]] = field(default_factory=dict)
    seeds: int = 3
    first_seed: int = 0
    headline: list[str] = field(default_factory=lambda: list(HEADLINE))

    def __post_init__(self) -> None:
        check_ranges(self, {"seeds": at_least(1), "first_seed": at_least(0)})
        for name in self.arms:
            require(name.replace("-", "").replace("_", "").replace(".", "").isalnum(), f"arms.{name}",
                    "arm names hold letters, digits, '-', '_' and '.' only (they name folders)")
        require(bool(self.headline), "headline", "give at least one metric (e.g. [heldout.response_loss])")
