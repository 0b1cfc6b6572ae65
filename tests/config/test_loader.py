"""Typed config: recipes, overrides, and errors that name the key and the allowed values."""

from __future__ import annotations

import pytest
import yaml

from instructune.config import RECIPES_DIR, Config, ConfigError, list_recipes, load_config, save_config, to_dict
from instructune.config.diff import flatten


def _same(written, loaded) -> bool:
    """A YAML value and the typed value it loaded as: YAML reads 1e-4 as a string and `no` as
    false, which the loader types by the field (a float, the string "no")."""
    if isinstance(written, str) and isinstance(loaded, float):
        return float(written) == loaded
    if written is False and loaded == "no":
        return True
    return written == loaded


@pytest.mark.parametrize("name", list_recipes())
def test_every_shipped_recipe_loads_with_the_values_it_writes(name):
    """Each key the recipe file sets reaches the Config with its value (a key dropped or renamed
    on load would leave the default in its place)."""
    cfg = load_config(name)
    assert isinstance(cfg, Config)
    written = flatten(yaml.safe_load((RECIPES_DIR / f"{name}.yaml").read_text()))
    loaded = flatten(to_dict(cfg))
    wrong = {k: (v, loaded.get(k, "<missing>")) for k, v in written.items() if not _same(v, loaded.get(k))}
    assert not wrong, wrong


def test_shipped_recipes_exist():
    assert "quickstart" in list_recipes()


def test_overrides_are_typed():
    cfg = load_config("quickstart", ["train.lr=1e-4", "train.batch_size=2", "lora.target_modules=[q_proj, v_proj]",
                                     "template.name=alpaca", "data.format=null", "train.report_to=[tensorboard]"])
    assert cfg.train.lr == 1e-4 and isinstance(cfg.train.lr, float)
    assert cfg.train.batch_size == 2 and cfg.lora.target_modules == ["q_proj", "v_proj"]
    assert cfg.template.name == "alpaca" and cfg.data.format is None and cfg.train.report_to == ["tensorboard"]


@pytest.mark.parametrize("override, words", [
    ("train.lrr=1", "unknown key 'train.lrr' (nearest: lr); allowed: method, epochs"),
    ("nope.x=1", "unknown key 'nope'"),
    ("template.name=chatml", "template.name: got 'chatml'; expected one of chat, inst, alpaca"),
    ("train.batch_size=two", "train.batch_size: got 'two'; expected int"),
    ("train.report_to=[neptune]", "train.report_to[0]: got 'neptune'; expected one of"),
    ("train.tensorboard=true", "train.tensorboard was replaced by train.report_to (train.report_to=[tensorboard]"),
    ("train.lr", "must look like section.key=value"),
])
def test_bad_keys_and_values_are_named(override, words):
    with pytest.raises(ConfigError) as e:
        load_config("quickstart", [override])
    assert words in str(e.value)


def test_unknown_recipe_lists_shipped():
    with pytest.raises(ConfigError, match="shipped: .*quickstart"):
        load_config("no-such-recipe")


def test_yaml_recipe_file_and_saved_config_roundtrip(tmp_path):
    recipe = tmp_path / "r.yaml"
    recipe.write_text("train:\n  epochs: 3\nmodel:\n  name: some/model\n")
    cfg = load_config(str(recipe), ["train.seed=7"])
    assert cfg.train.epochs == 3 and cfg.model.name == "some/model" and cfg.train.seed == 7
    save_config(cfg, tmp_path / "config.yaml")
    again = load_config(str(tmp_path / "config.yaml"))
    assert to_dict(again) == to_dict(cfg)
    assert yaml.safe_load((tmp_path / "config.yaml").read_text())["train"]["seed"] == 7
