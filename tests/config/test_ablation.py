"""The `ablation` section: the headline metrics Holm adjusts."""

import pytest

from instructune.config import ConfigError, load_config
from instructune.config.ablation import HEADLINE


def test_the_headline_family_defaults_to_the_readme_columns_and_can_be_set():
    assert load_config(None, []).ablation.headline == list(HEADLINE)
    assert load_config(None, ["ablation.headline=[ifeval.prompt_level_strict]"]).ablation.headline == [
        "ifeval.prompt_level_strict"]


def test_an_empty_headline_family_is_refused_naming_the_key():
    with pytest.raises(ConfigError, match=r"^ablation\.headline: give at least one metric"):
        load_config(None, ["ablation.headline=[]"])
