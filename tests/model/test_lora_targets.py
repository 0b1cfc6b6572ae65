"""`lora.target_modules` entries that match no module are named, with the modules there are
(peft dropped such an entry silently when another matched, or failed with a traceback)."""

from __future__ import annotations

import pytest

from instructune.config import ConfigError
from instructune.model.setup import apply_lora


@pytest.fixture(scope="module")
def base(tiny_model):
    from transformers import AutoModelForCausalLM

    return AutoModelForCausalLM.from_pretrained(tiny_model)


@pytest.mark.parametrize("targets", [["qproj"], ["q_proj", "qproj"]])
def test_an_entry_matching_nothing_names_it_and_the_linear_layers(base, targets):
    with pytest.raises(ConfigError) as e:
        apply_lora(base, [], r=2, alpha=4, dropout=0.0, target_modules=targets)
    assert str(e.value) == ("lora.target_modules: 'qproj' matches no module; the model has q_proj, k_proj, "
                            "v_proj, o_proj, gate_proj, up_proj, down_proj, lm_head (or use all-linear)")


def test_a_regex_matching_nothing_is_named_too(base):
    with pytest.raises(ConfigError, match=r"lora.target_modules: '.\*qproj' matches no module"):
        apply_lora(base, [], r=2, alpha=4, dropout=0.0, target_modules=".*qproj")


@pytest.mark.parametrize("targets", [["q_proj", "self_attn.v_proj"], ".*\\.(q|v)_proj", "all-linear"])
def test_entries_that_match_are_accepted(tiny_model, targets):
    from transformers import AutoModelForCausalLM

    model = apply_lora(AutoModelForCausalLM.from_pretrained(tiny_model), [], r=2, alpha=4, dropout=0.0,
                       target_modules=targets)
    assert any("lora_A" in n for n, _ in model.named_parameters())
