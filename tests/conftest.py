"""Shared fixtures: the tiny model, a cache dir, small record sets."""

from __future__ import annotations

import os
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent))
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")

from tiny import build_tiny  # noqa: E402


def pytest_configure(config):
    """Point the instructune cache at a per-session temp dir so tests never fill the user's
    cache; reuse an already converted default model from the user's cache when there is one."""
    import tempfile

    user_models = Path(os.environ.get("INSTRUCTUNE_CACHE", Path.home() / ".cache" / "instructune")) / "models"
    cache = Path(tempfile.mkdtemp(prefix="instructune-test-cache-"))
    if user_models.is_dir():
        (cache / "models").symlink_to(user_models)
    os.environ["INSTRUCTUNE_CACHE"] = str(cache)


@pytest.fixture(scope="session")
def tiny_model(tmp_path_factory) -> str:
    """Path of a tiny seeded Llama + tokenizer (built once per session)."""
    return str(build_tiny(tmp_path_factory.mktemp("tiny") / "model"))


@pytest.fixture(scope="session")
def tiny_tokenizer(tiny_model):
    from instructune.model.load import load_tokenizer

    return load_tokenizer(tiny_model)
