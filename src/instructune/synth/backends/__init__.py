"""Generator backends and `build_generator`: config → a `Generator`.

    gen = build_generator(cfg.synth)      # SynthConfig (or a whole Config: its .synth is used)

`BACKENDS` maps `synth.backend` to a builder that turns the config section into keyword
arguments, so the generator classes never see a config object.
"""

from __future__ import annotations

from collections.abc import Callable

from instructune.config import ConfigError, SynthConfig
from instructune.generation.generator import Generator
from instructune.synth.backends.local import LocalGenerator
from instructune.synth.backends.openai_http import GeneratorError, OpenAIGenerator


def local_from_config(cfg: SynthConfig) -> LocalGenerator:
    """A `LocalGenerator` loading `cfg.model`."""
    return LocalGenerator.load(cfg.model, dtype=cfg.dtype, batch_size=cfg.batch_size)


def openai_from_config(cfg: SynthConfig) -> OpenAIGenerator:
    """An `OpenAIGenerator` for `cfg.base_url`."""
    return OpenAIGenerator(
        cfg.base_url, cfg.model, api_key_env=cfg.api_key_env, concurrency=cfg.concurrency,
        connect_timeout=cfg.connect_timeout, read_timeout=cfg.read_timeout, max_retries=cfg.max_retries,
        backoff_base=cfg.backoff_base, backoff_max=cfg.backoff_max)


BACKENDS: dict[str, Callable[[SynthConfig], Generator]] = {
    "local": local_from_config,
    "openai": openai_from_config,
}


def build_generator(cfg) -> Generator:
    """The generator `cfg` names.

    Args:
        cfg: a `SynthConfig`, or a whole `Config` (its `synth` section is used).
    """
    cfg = getattr(cfg, "synth", cfg)
    if cfg.backend not in BACKENDS:
        raise ConfigError(f"synth.backend: got {cfg.backend!r}; expected one of {', '.join(BACKENDS)}")
    if cfg.concurrency < 1 or cfg.batch_size < 1:
        raise ConfigError("synth.concurrency and synth.batch_size must be >= 1")
    return BACKENDS[cfg.backend](cfg)


__all__ = ["BACKENDS", "GeneratorError", "LocalGenerator", "OpenAIGenerator", "build_generator"]
