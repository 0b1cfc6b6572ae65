"""Ablation bookkeeping: grid, done cells, intervals over seeds (t) and over seeds × items
(bootstrap), paired differences, Holm's family and the minimum detectable effect."""

import json
import math

import pytest

from instructune.evaluate.ablation import (DONE, SEED_T, TWO_WAY, cell_items, cells, finished, paired_difference,
                                           summarize, t_interval)
from instructune.evaluate.two_way_bootstrap import ItemScores


def test_t_interval_matches_the_textbook_value():
    iv = t_interval([1.0, 2.0, 3.0])
    half = 4.302652729911275 * 1.0 / math.sqrt(3)  # t(0.975, 2 df) * sd / sqrt(n)
    assert iv["mean"] == 2.0 and iv["sd"] == pytest.approx(1.0)
    assert iv["lo"] == pytest.approx(2.0 - half) and iv["hi"] == pytest.approx(2.0 + half)


def test_one_seed_has_no_spread_and_no_significance():
    assert t_interval([0.5]) == {"mean": 0.5, "lo": 0.5, "hi": 0.5, "n": 1, "sd": 0.0}
    assert paired_difference({0: 2.0}, {0: 1.0})["significant"] is False


def test_differences_are_paired_by_seed():
    # the arm is about 0.1 better at every seed while seeds vary a lot: pairing sees it
    base = {0: 1.0, 1: 2.0, 2: 3.0}
    arm = {0: 1.1, 1: 2.12, 2: 3.09}
    d = paired_difference(arm, base)
    assert d["diff"] == pytest.approx(0.07 + 0.1 / 3) and d["lo"] > 0 and d["significant"]
    assert d["method"] == SEED_T and 0 < d["p"] < 0.05
    noisy = paired_difference({0: 1.2, 1: 1.9, 2: 3.2}, base)
    assert not noisy["significant"] and noisy["lo"] < 0 < noisy["hi"] and noisy["p"] > 0.05


def test_a_zero_width_interval_is_never_significant():
    # the same difference at every seed (up to rounding: 0.1 + 1e-16 noise): the t interval has
    # no width, so it tests nothing
    d = paired_difference({0: 1.1, 1: 2.2, 2: 3.3}, {0: 1.0, 1: 2.1, 2: 3.2})
    assert 0 < d["se"] < 1e-15
    assert d["lo"] == pytest.approx(d["hi"]) and d["significant"] is False and d["p"] == 1.0


def items(values):
    return ItemScores(tuple(f"p{i}" for i in range(len(values))), tuple(map(float, values)), (1.0,) * len(values))


BASE_ITEMS = [1, 0, 0, 1, 0, 1, 0, 0, 1, 0]  # 0.4
ARM_ITEMS = [1, 1, 0, 1, 0, 1, 1, 0, 1, 0]  # 0.6


def three_identical_seeds():
    results = {"a": {s: {"acc": 0.4} for s in range(3)}, "b": {s: {"acc": 0.6} for s in range(3)}}
    scores = {"a": {s: {"acc": items(BASE_ITEMS)} for s in range(3)},
              "b": {s: {"acc": items(ARM_ITEMS)} for s in range(3)}}
    return results, scores


def test_three_identical_seeds_get_their_interval_from_the_items():
    results, scores = three_identical_seeds()
    seeds_only = summarize(results, "a")["arms"]["b"]["vs_baseline"]["acc"]
    assert seeds_only["lo"] == pytest.approx(seeds_only["hi"]) and seeds_only["significant"] is False
    both = summarize(results, "a", items=scores, headline=["acc"])["arms"]["b"]["vs_baseline"]["acc"]
    assert both["method"] == TWO_WAY and both["n"] == 3 and both["n_items"] == 10
    assert both["diff"] == pytest.approx(0.2) and both["hi"] - both["lo"] > 0.1
    assert both["seed_t"]["lo"] == pytest.approx(both["seed_t"]["hi"])  # the old interval, kept beside
    # two items of ten moved: nothing near significance, and the MDE says what could have been seen
    assert not both["significant"] and both["p"] > 0.1 and both["mde"] > 0.2
    assert both["mde"] == pytest.approx((1.959964 + 0.841621) * both["se"], rel=1e-6)


def test_a_share_near_zero_keeps_its_interval_in_the_unit_range():
    # two seeds far apart: the t quantile on one degree of freedom reaches far past 0 and 1
    results = {"a": {0: {"heldout.exact_match": 0.02, "ifeval.prompt_level_strict": 0.97, "heldout.response_loss": 0.02},
                     1: {"heldout.exact_match": 0.1, "ifeval.prompt_level_strict": 0.9, "heldout.response_loss": 0.1}}}
    m = summarize(results, "a")["arms"]["a"]["metrics"]
    assert m["heldout.exact_match"]["lo"] == 0.0 and m["heldout.exact_match"]["hi"] < 1.0
    assert m["ifeval.prompt_level_strict"]["hi"] == 1.0 and m["ifeval.prompt_level_strict"]["lo"] > 0.0
    assert m["heldout.response_loss"]["lo"] < 0.0  # a loss is not a share: left as the t interval gives it
    # items kept: the two-way bootstrap's interval is clipped the same way
    scores = {"a": {0: {"heldout.exact_match": items([0] * 49 + [1])}, 1: {"heldout.exact_match": items([0] * 45 + [1] * 5)}}}
    two_way = summarize({"a": {0: {"heldout.exact_match": 0.02}, 1: {"heldout.exact_match": 0.1}}}, "a",
                        items=scores)["arms"]["a"]["metrics"]["heldout.exact_match"]
    assert two_way["method"] == TWO_WAY and two_way["lo"] == 0.0 < two_way["mean"] < two_way["hi"] < 1.0


def test_a_zero_width_bootstrap_interval_is_never_significant():
    results, scores = three_identical_seeds()
    scores["b"] = {s: {"acc": items([v + 0.2 for v in BASE_ITEMS])} for s in range(3)}  # +0.2 on every item
    d = summarize(results, "a", items=scores, headline=["acc"])["arms"]["b"]["vs_baseline"]["acc"]
    assert d["method"] == TWO_WAY and d["lo"] == pytest.approx(d["hi"]) == pytest.approx(0.2)
    assert d["significant"] is False and d["holm"]["significant"] is False and d["p"] == 1.0


def test_holm_adjusts_the_headline_family_and_keeps_the_unadjusted_beside():
    # three arms against a baseline on one headline metric and one other: the family is 3 tests
    results = {"base": {0: {"m": 0.0, "other": 0.0}, 1: {"m": 0.0, "other": 0.0}, 2: {"m": 0.0, "other": 0.0}}}
    shifts = {"x": [0.5, 0.52, 0.49], "y": [0.1, -0.1, 0.12], "z": [0.3, 0.1, 0.35]}
    for arm, vals in shifts.items():
        results[arm] = {s: {"m": v, "other": v} for s, v in enumerate(vals)}
    s = summarize(results, "base", headline=["m"])
    assert s["holm"]["family"] == ["x: m", "y: m", "z: m"] and s["holm"]["alpha"] == 0.05
    ps = {a: s["arms"][a]["vs_baseline"]["m"]["p"] for a in shifts}
    order = sorted(ps, key=ps.get)  # by hand: 3p, 2p, 1p with the running maximum
    want = {}
    running = 0.0
    for j, arm in enumerate(order):
        running = max(running, min(1.0, (3 - j) * ps[arm]))
        want[arm] = running
    for arm in shifts:
        d = s["arms"][arm]["vs_baseline"]["m"]
        assert d["holm"]["p"] == pytest.approx(want[arm]) and d["p"] == pytest.approx(ps[arm])
        if d["holm"]["multiplier"] > 1:  # adjusted intervals are wider, at level 1 − α / multiplier
            assert d["holm"]["hi"] - d["holm"]["lo"] > d["hi"] - d["lo"]
            assert d["holm"]["level"] == pytest.approx(1 - 0.05 / d["holm"]["multiplier"])
    assert "holm" not in s["arms"]["x"]["vs_baseline"]["other"]  # outside the family: unadjusted only
    assert s["arms"]["x"]["vs_baseline"]["m"]["holm"]["multiplier"] == 3


def test_cell_items_names_them_as_the_cell_json_metrics():
    e = {"ids": ["d0", "d1"], "num": [4.0, 6.0], "den": [2.0, 3.0]}
    got = cell_items({"sets.heldout.response_loss": e, "ifeval.prompt_level_loose": e, "forgetting": e},
                     {"forgetting": {"ids": ["d0", "d1"], "num": [2.0, 3.0], "den": [2.0, 3.0]}})
    assert set(got) == {"heldout.response_loss", "heldout.perplexity", "ifeval.prompt_level_loose",
                        "forgetting.perplexity", "forgetting.relative_change"}
    assert got["heldout.response_loss"].value() == pytest.approx(2.0)
    assert got["forgetting.relative_change"].value() == pytest.approx(math.exp(2.0) / math.exp(1.0) - 1)
    assert "forgetting.relative_change" not in cell_items({"forgetting": e})  # no base: no relative change


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


def test_grid_is_seed_major_and_a_cell_is_done_only_with_its_marker(tmp_path):
    grid = cells({"a": ["lora.r=8"], "b": []}, [0, 1])
    assert [(c.arm, c.seed) for c in grid] == [("a", 0), ("b", 0), ("a", 1), ("b", 1)]
    d = grid[0].dir(tmp_path)
    assert d == tmp_path / "cells" / "a" / "seed-0"
    d.mkdir(parents=True)
    assert finished(d) is None  # a killed cell: dir without marker
    (d / DONE).write_text(json.dumps({"config": {"lora.r": 8}, "metrics": {"loss": 1.0}}))
    assert finished(d) == {"config": {"lora.r": 8}, "metrics": {"loss": 1.0}}
