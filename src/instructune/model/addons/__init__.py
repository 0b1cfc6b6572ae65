"""The instruction-aware add-ons: a plain registry, one file per add-on.

    addons = build_addons(cfg.addons.enabled(), lm.config)      # {name: Addon}
    fwd = InstructForward(peft_model, addons)                    # attached after peft wrapped it

Each is zero- or near-zero-initialised, so attached and untrained the model is the base
model; see each file for what it does, and `base.py` for where add-ons hook in.
"""

from __future__ import annotations

from typing import Any

from instructune.config import ConfigError
from instructune.model.addons.base import Addon
from instructune.model.addons.instruction_attention import InstructionAttention
from instructune.model.addons.reasoning_head import ReasoningHead
from instructune.model.addons.segment_embedding import SegmentEmbedding
from instructune.model.addons.temperature_head import TemperatureHead
from instructune.model.addons.two_stream import TwoStream

ADDONS: dict[str, type[Addon]] = {
    "segment_embedding": SegmentEmbedding,
    "instruction_attention": InstructionAttention,
    "two_stream": TwoStream,
    "temperature_head": TemperatureHead,
    "reasoning_head": ReasoningHead,
}


def check_addons(sections: dict[str, Any], lm_config) -> None:
    """Refuse an enabled add-on that cannot run on the model of `lm_config` (from its config
    alone, so the `train` checks call it before the weights load).

    Raises:
        ValueError: an unknown add-on name. ConfigError: the first add-on's refusal (`Addon.refusal`).
    """
    unknown = sorted(set(sections) - set(ADDONS))
    if unknown:
        raise ValueError(f"unknown add-on(s) {unknown}; allowed: {', '.join(ADDONS)}")
    for name, section in sections.items():
        if why := ADDONS[name].refusal(section, lm_config):
            raise ConfigError(why)


def build_addons(sections: dict[str, Any], lm_config, **resources: Any) -> dict[str, Addon]:
    """{name: new Addon} for the enabled sections ({name: config section}), sized for `lm_config`;
    `resources` (tokenizer, embed) go to the add-ons that need them.

    Raises:
        ValueError / ConfigError: as `check_addons`.
    """
    check_addons(sections, lm_config)
    return {name: ADDONS[name].from_config(section, lm_config, **resources) for name, section in sections.items()}
