"""Every numeric field is range-checked by the dataclass that declares it; errors name the key."""

import pytest

from instructune.config import ConfigError, TrainConfig, load_config


@pytest.mark.parametrize("override, message", [
    ("train.batch_size=0", "train.batch_size: got 0; expected >= 1"),
    ("train.grad_accum=0", "train.grad_accum: got 0; expected >= 1"),
    ("lora.r=0", "lora.r: got 0; expected >= 1"),
    ("train.lr=-1", "train.lr: got -1.0; expected > 0"),
    ("train.lr=.nan", "train.lr: got nan; expected > 0"),
    ("data.max_length=0", "data.max_length: got 0; expected >= 1"),
    ("quality.flag_below.coherence=2", "quality.flag_below.coherence: got 2.0; expected in [0, 1]"),
    ("quality.balance.max_share=[0.5,2,1]", "quality.balance.max_share[1]: got 2.0; expected in (0, 1]"),
    ("data.instruction_masking.fraction=1.5", "data.instruction_masking.fraction: got 1.5; expected in [0, 1]"),
    ("generate.top_p=0", "generate.top_p: got 0.0; expected in (0, 1]"),
    ("serve.port=70000", "serve.port: got 70000; expected in [0, 65535]"),
    ("quality.reject_above.complexity=1.5", "quality.reject_above.complexity: got 1.5; expected in [0, 1]"),
    ("quality.domain_min_confidence=1", "quality.domain_min_confidence: got 1.0; expected in (0, 1)"),
    ("refine.rounds=11", "refine.rounds: got 11; expected in [0, 10]"),
    ("refine.temperature=-1", "refine.temperature: got -1.0; expected in [0, 2]"),
])
def test_out_of_range_values_name_the_key_and_the_range(override, message):
    with pytest.raises(ConfigError) as e:
        load_config(None, [override])
    assert str(e.value) == message


def test_a_run_that_would_train_nothing_is_refused():
    with pytest.raises(ConfigError, match="train.epochs: epochs=0 and max_steps=0 would train nothing"):
        load_config(None, ["train.epochs=0", "train.max_steps=0"])
    with pytest.raises(ConfigError, match="train.max_steps: got -5; expected >= 0"):
        load_config(None, ["train.epochs=0", "train.max_steps=-5"])
    assert load_config(None, ["train.epochs=0", "train.max_steps=5"]).train.max_steps == 5


def test_sections_check_themselves_when_built_in_code_too():
    with pytest.raises(ConfigError, match="batch_size: got 0"):
        TrainConfig(batch_size=0)


def test_every_shipped_recipe_and_the_defaults_pass_their_own_checks(tmp_path):
    """Each loads without a ConfigError, and what save_config writes loads back to the same
    config (a value a check rewrote, or one that fails its check once saved, would differ)."""
    from instructune.config import list_recipes, save_config, to_dict

    for name in [None, *list_recipes()]:
        cfg = load_config(name)
        save_config(cfg, tmp_path / "saved.yaml")
        assert to_dict(load_config(str(tmp_path / "saved.yaml"))) == to_dict(cfg), name


def test_a_yaml_syntax_error_is_one_line_naming_the_file_and_line(tmp_path):
    bad = tmp_path / "bad.yaml"
    bad.write_text("train:\n  lr: 1e-4\n  epochs: [1\n")
    with pytest.raises(ConfigError) as e:
        load_config(str(bad))
    assert str(e.value).startswith(f"{bad}: not valid YAML: line ") and "\n" not in str(e.value)



def test_review_domains_name_only_known_domains():
    with pytest.raises(ConfigError, match="quality.review_domains\\[0\\]: got 'money'; expected one of finance, law, health"):
        load_config(None, ["quality.review_domains=[money]"])


def test_mixed_precision_no_survives_yaml_reading_it_as_false():
    from instructune.config import load_config

    assert load_config(None, ["train.mixed_precision=no"]).train.mixed_precision == "no"
    assert load_config(None, ["train.mixed_precision=bf16"]).train.mixed_precision == "bf16"
    with pytest.raises(ConfigError):
        load_config(None, ["train.mixed_precision=yes"])
    with pytest.raises(ConfigError):
        load_config(None, ["model.attn_implementation=flashy"])
