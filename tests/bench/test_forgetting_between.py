"""bench/forgetting_between.py: B's general-text perplexity against A's, paired over documents."""

from __future__ import annotations

import json
import math
from pathlib import Path

import pytest
from bench_script import load_bench


def _bench():
    return load_bench("forgetting_between")


def _eval_dir(path: Path, nll: list[float], tokens: list[int]) -> Path:
    path.mkdir()
    items = {"tuned": {"forgetting": {"ids": [f"d{i}" for i in range(len(nll))], "num": nll, "den": tokens}}}
    (path / "eval_items.json").write_text(json.dumps(items))
    return path


def test_b_against_a_is_the_ratio_of_token_weighted_perplexities(tmp_path):
    tokens = [100, 50, 200, 80]
    nll_a = [300.0, 140.0, 610.0, 250.0]
    nll_b = [n + 0.05 * t for n, t in zip(nll_a, tokens)]  # 0.05 nats more on every token
    a, b = _eval_dir(tmp_path / "a", nll_a, tokens), _eval_dir(tmp_path / "b", nll_b, tokens)
    out = _bench().main([str(a), str(b), "--out", str(tmp_path / "r.json")])
    d = out["b_vs_a"]
    assert d["relative_change"] == pytest.approx(math.exp(0.05) - 1)
    # the same shift on every document: every resample sees it
    assert d["low"] == pytest.approx(d["relative_change"]) and d["high"] == pytest.approx(d["relative_change"])
    assert out["a"]["perplexity"] == pytest.approx(math.exp(sum(nll_a) / sum(tokens)))
    assert json.loads((tmp_path / "r.json").read_text()) == out
    same = _bench().main([str(a), str(a)])["b_vs_a"]
    assert same["relative_change"] == 0.0 == same["low"] == same["high"]
