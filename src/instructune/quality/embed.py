"""Moved to `instructune.embed` (shared with synth/topics.py). Kept only for
recipes/quality.py, which imports `load_embedder` from here; remove once it imports
`instructune.embed`."""

from instructune.embed import DEFAULT_EMBEDDER, Embedder, load_embedder, resolve_embedder

__all__ = ["DEFAULT_EMBEDDER", "Embedder", "load_embedder", "resolve_embedder"]
