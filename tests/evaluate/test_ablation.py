"""Ablation bookkeeping: grid, done cells, t intervals over seeds, paired differences."""

import json
import math

import pytest

from instructune.evaluate.ablation import DONE, cells, finished, paired_difference, summarize, t_interval


def test_t_interval_matches_the_textbook_value():
    iv = t_interval([1.0, 2.0, 3.0])
    half = 4.302652729911275 * 1.0 / math.sqrt(3)  # t(0.975, 2 df) * sd / sqrt(n)
    assert iv["mean"] == 2.0 and iv["sd"] == pytest.approx(1.0)
    assert iv["lo"] == pytest.approx(2.0 - half) and iv["hi"] == pytest.approx(2.0 + half)


def test_one_seed_has_no_spread_and_no_significance():
    assert t_interval([0.5]) == {"mean": 0.5, "lo": 0.5, "hi": 0.5, "n": 1, "sd": 0.0}
    assert paired_difference({0: 2.0}, {0: 1.0})["significant"] is False


def test_differences_are_paired_by_seed():
    # the arm is 0.1 better at every seed while seeds vary a lot: pairing sees it
    base = {0: 1.0, 1: 2.0, 2: 3.0}
    arm = {0: 1.1, 1: 2.1, 2: 3.1}
    d = paired_difference(arm, base)
    assert d["diff"] == pytest.approx(0.1) and d["lo"] == pytest.approx(0.1) and d["significant"]
    noisy = paired_difference({0: 1.2, 1: 1.9, 2: 3.2}, base)
    assert not noisy["significant"] and noisy["lo"] < 0 < noisy["hi"]


def test_summarize_has_every_metric_per_arm_and_differences_off_the_baseline():
    results = {"a": {0: {"loss": 1.0, "acc": 0.5}, 1: {"loss": 1.2, "acc": 0.6}},
               "b": {0: {"loss": 0.8, "acc": 0.55}, 1: {"loss": 1.0, "acc": float("nan")}}}
    s = summarize(results, "a")
    assert s["baseline"] == "a" and set(s["arms"]) == {"a", "b"}
    assert s["arms"]["a"]["vs_baseline"] == {}
    assert s["arms"]["b"]["metrics"]["loss"]["mean"] == pytest.approx(0.9)
    assert s["arms"]["b"]["vs_baseline"]["loss"]["diff"] == pytest.approx(-0.2)
    assert s["arms"]["b"]["metrics"]["acc"]["n"] == 1  # the NaN seed is left out, not averaged in
    assert s["arms"]["b"]["vs_baseline"]["acc"]["n"] == 1


def test_grid_is_arm_major_and_a_cell_is_done_only_with_its_marker(tmp_path):
    grid = cells({"a": ["lora.r=8"], "b": []}, [0, 1])
    assert [(c.arm, c.seed) for c in grid] == [("a", 0), ("a", 1), ("b", 0), ("b", 1)]
    d = grid[0].dir(tmp_path)
    assert d == tmp_path / "cells" / "a" / "seed-0"
    d.mkdir(parents=True)
    assert finished(d) is None  # a killed cell: dir without marker
    (d / DONE).write_text(json.dumps({"config": {"lora.r": 8}, "metrics": {"loss": 1.0}}))
    assert finished(d) == {"config": {"lora.r": 8}, "metrics": {"loss": 1.0}}
