"""The `pipeline` section: the stages `instructune run` runs, in order (recipes/run.py)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

from instructune.config.errors import FieldError, require

# Every stage in the one order they may run in; a recipe lists a subsequence of it.
STAGES = ("ingest", "synth", "augment", "quality", "refine", "review", "train", "eval", "report")
# The loop without these is not a loop: raw file in, scored model and report out.
REQUIRED = ("ingest", "quality", "train", "eval", "report")


@dataclass
class PipelineConfig:
    """`instructune run`: the instruction-tuning loop as one recipe.

    Attributes:
        stages: the stages to run, in this order: ingest, synth, augment, quality, refine,
            review, train, eval, report; synth, augment, refine and review may be left out.
            [] (the default): no pipeline; `run` needs a recipe that lists them. Each stage
            reads its usual section: ingest `data`, synth `synth` + `self_instruct` / `evol`,
            augment `data.augment.constraints`, quality `quality`, refine `refine`, train
            `model` `data` `template` `lora` `train` `addons` `objectives`, eval `eval`.
        synth_method: the synth stage's method: "self-instruct" (new tasks from the ingested
            training records as seeds) or "evol" (the ingested records made deeper and broader).
        keep_ingested: train on the ingested records as well as the synthesised ones (with
            synth); false trains on the synthesised records alone.
        on_error: the ingest stage's bad rows: "fail" stops at the first one, "skip" writes it to
            RUN/data/<split>.rejects.jsonl and counts it by reason in the lineage.
    """

    stages: list[str] = field(default_factory=list)
    synth_method: Literal["self-instruct", "evol"] = "self-instruct"
    keep_ingested: bool = True
    on_error: Literal["fail", "skip"] = "fail"

    def __post_init__(self) -> None:
        check_stages(self.stages)


def check_stages(stages: list[str]) -> None:
    """A list of stages is known, in order, without repeats, and holds the required ones.

    Raises:
        FieldError: naming the entry (`stages[2]`) and the allowed stages.
    """
    if not stages:
        return
    last = -1
    for i, name in enumerate(stages):
        if name not in STAGES:
            raise FieldError(f"stages[{i}]", f"unknown stage {name!r}; allowed, in this order: {', '.join(STAGES)}")
        at = STAGES.index(name)
        if at <= last:
            raise FieldError(f"stages[{i}]", f"{name!r} comes after {stages[i - 1]!r}; stages run in this order: "
                                             f"{', '.join(STAGES)}")
        last = at
    missing = [s for s in REQUIRED if s not in stages]
    require(not missing, "stages", f"missing {', '.join(map(repr, missing))}; every pipeline has "
                                   f"{', '.join(REQUIRED)} (optional: synth, augment, refine, review)")
