"""Where instructune keeps what it builds once and reuses: `$INSTRUCTUNE_CACHE`, default
`~/.cache/instructune`.

    cache_dir() / "models"     # converted default model (model/load.py)
    cache_dir() / "prepared"   # tokenized splits (data/prepare_cache.py)

A module of its own so that every layer can find the cache without importing another layer.
"""

from __future__ import annotations

import os
from pathlib import Path


def cache_dir() -> Path:
    """`$INSTRUCTUNE_CACHE` or `~/.cache/instructune` (read on every call, so tests can point
    it elsewhere)."""
    return Path(os.environ.get("INSTRUCTUNE_CACHE", Path.home() / ".cache" / "instructune"))
