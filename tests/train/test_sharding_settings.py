"""What a launch says about sharding, read before the Accelerator exists (no DeepSpeed needed):
the ZeRO stage, whether weights are split, and what a DeepSpeed config must be to fit a run."""

from __future__ import annotations

import json
from types import SimpleNamespace

import pytest

from instructune.config import ConfigError
from instructune.config.loader import load_config
from instructune.train.distributed import configure_deepspeed, deepspeed_stage, weight_sharding

CLEAN = ["ACCELERATE_USE_DEEPSPEED", "ACCELERATE_DEEPSPEED_ZERO_STAGE", "ACCELERATE_DEEPSPEED_CONFIG_FILE",
         "ACCELERATE_USE_FSDP"]


@pytest.fixture
def env(monkeypatch):
    for k in CLEAN:
        monkeypatch.delenv(k, raising=False)
    return monkeypatch


def test_stage_comes_from_accelerates_environment_or_the_named_json(env, tmp_path):
    assert deepspeed_stage() is None and weight_sharding("ddp") is None
    env.setenv("ACCELERATE_USE_DEEPSPEED", "true")
    env.setenv("ACCELERATE_DEEPSPEED_ZERO_STAGE", "2")
    assert deepspeed_stage() == 2 and weight_sharding("ddp") is None  # ZeRO-2 keeps whole weights
    env.setenv("ACCELERATE_DEEPSPEED_ZERO_STAGE", "3")
    assert weight_sharding("ddp") == "deepspeed zero-3"
    file = tmp_path / "ds.json"
    file.write_text(json.dumps({"zero_optimization": {"stage": 1}}))
    env.setenv("ACCELERATE_DEEPSPEED_CONFIG_FILE", str(file))
    assert deepspeed_stage() == 1  # the JSON wins over accelerate's own stage setting
    file.write_text("{not json")
    with pytest.raises(ConfigError, match="ds.json: not a readable DeepSpeed JSON config"):
        deepspeed_stage()


def test_fsdp_from_the_config_or_from_an_accelerate_launch(env):
    assert weight_sharding("fsdp") == "fsdp"
    env.setenv("ACCELERATE_USE_FSDP", "true")
    assert weight_sharding("ddp") == "fsdp"


def fake_accelerator(ds: dict):
    return SimpleNamespace(state=SimpleNamespace(deepspeed_plugin=SimpleNamespace(deepspeed_config=ds)))


def test_configure_deepspeed_fits_the_run():
    ds = {"zero_optimization": {"stage": 3}, "gradient_accumulation_steps": "auto", "gradient_clipping": 5.0,
          "train_batch_size": "auto"}
    said = []
    configure_deepspeed(fake_accelerator(ds), batch_size=4, max_grad_norm=1.0, log=said.append)
    assert ds["train_micro_batch_size_per_gpu"] == 4 and ds["gradient_accumulation_steps"] == 1
    assert ds["gradient_clipping"] == 1.0 and said == ["DeepSpeed config: gradient_clipping 5.0 -> 1.0 "
                                                       "(train.max_grad_norm)"]
    assert "train_batch_size" not in ds
    assert ds["zero_optimization"]["stage3_gather_16bit_weights_on_model_save"] is True


def test_configure_deepspeed_refuses_its_own_accumulation():
    with pytest.raises(ConfigError, match="gradient_accumulation_steps=8; it must be 1"):
        configure_deepspeed(fake_accelerator({"gradient_accumulation_steps": 8}), 2, 1.0)


def test_addons_and_weight_penalties_refuse_split_weights(env, tiny_model):
    from instructune.model.load import load_model
    from instructune.recipes import builders
    from instructune.train.build import with_addons

    env.setenv("ACCELERATE_USE_DEEPSPEED", "true")
    env.setenv("ACCELERATE_DEEPSPEED_ZERO_STAGE", "3")
    cfg = load_config(None, [f"model.name={tiny_model}", "addons.segment_embedding.enabled=true",
                             "objectives.l2sp.weight=0.1"])
    model = load_model(tiny_model, "float32", "sdpa", device="cpu")
    with pytest.raises(ConfigError, match="add-ons are not supported with deepspeed zero-3"):
        with_addons(cfg.addons, cfg.train, model)
    with pytest.raises(ConfigError, match="objectives.ewc / objectives.l2sp: not supported with deepspeed zero-3"):
        builders.regularizers(cfg, model, None)
    env.setenv("ACCELERATE_DEEPSPEED_ZERO_STAGE", "2")  # whole weights on every process: allowed
    assert with_addons(cfg.addons, cfg.train, model).addons
