"""The two-way (seeds × items) bootstrap: closed forms in its degenerate cases, pairing, links,
the p-value and the minimum detectable effect."""

import math

import numpy as np
import pytest

from instructune.evaluate.two_way_bootstrap import ItemGrid, ItemScores, Resampled, two_way


def scores(values, den=None, link="ratio", ref=None):
    n = len(values)
    return ItemScores(tuple(f"i{k}" for k in range(n)), tuple(float(v) for v in values),
                      tuple(float(d) for d in (den or [1.0] * n)), link,
                      tuple(ref[0]) if ref else (), tuple(ref[1]) if ref else ())


def test_with_one_seed_it_is_the_item_bootstrap_of_the_paired_differences():
    # Items only: the bootstrap SE of a mean of n paired differences is sd_pop(d) / sqrt(n),
    # and the percentile interval is close to mean ± 1.96 SE.
    rng = np.random.default_rng(3)
    x, y = rng.normal(0.3, 1.0, 200), rng.normal(0.0, 1.0, 200)
    d = x - y
    r = two_way(ItemGrid.stack([scores(x)]), ItemGrid.stack([scores(y)]), seed=0, n_boot=20000)
    se = d.std() / math.sqrt(len(d))  # ddof 0: the bootstrap's plug-in population
    assert r.estimate == pytest.approx(d.mean())
    assert r.se == pytest.approx(se, rel=0.03)
    lo, hi = r.interval(0.95)
    assert lo == pytest.approx(d.mean() - 1.96 * se, abs=0.08 * se)
    assert hi == pytest.approx(d.mean() + 1.96 * se, abs=0.08 * se)


def test_with_items_that_agree_it_is_the_t_interval_over_seeds():
    # Every item of a seed scores the seed's value: only the seed draw moves the mean. S − 1 draws
    # of S make the SE the unbiased s / sqrt(S), and Satterthwaite's df is S − 1: the interval is
    # the Student-t interval over seeds.
    seed_values = [0.2, 0.5, 0.9, 0.4]
    r = two_way(ItemGrid.stack([scores([v] * 30) for v in seed_values]), None, seed=1, n_boot=20000)
    s = np.std(seed_values, ddof=1) / 2
    assert r.estimate == pytest.approx(np.mean(seed_values)) and r.seed_var == pytest.approx(s ** 2)
    assert r.se == pytest.approx(s, rel=0.03) and r.df == pytest.approx(3, rel=0.1)
    lo, hi = r.interval(0.95)
    half = 3.182446 * s  # t(0.975, 3 df)
    assert lo == pytest.approx(r.estimate - half, rel=0.05) and hi == pytest.approx(r.estimate + half, rel=0.05)


def test_three_identical_seeds_still_have_an_interval_from_the_items():
    arm, base = scores([1, 1, 0, 1, 1, 0, 1, 1]), scores([0, 1, 0, 0, 1, 0, 1, 0])
    r = two_way(ItemGrid.stack([arm] * 3), ItemGrid.stack([base] * 3), seed=0, n_boot=2000)
    lo, hi = r.interval(0.95)
    assert r.estimate == pytest.approx(0.375) and hi - lo > 0.2 and not r.degenerate


def test_pairing_by_item_cancels_what_both_arms_share():
    # Items differ wildly in difficulty; the arm is 0.05 better on every one: no spread at all.
    hard = np.linspace(0.0, 0.9, 40)
    r = two_way(ItemGrid.stack([scores(hard + 0.05)] * 2), ItemGrid.stack([scores(hard)] * 2), seed=0, n_boot=500)
    assert r.estimate == pytest.approx(0.05) and r.se == pytest.approx(0.0, abs=1e-12) and r.degenerate
    assert r.p_value() == 1.0  # a zero-width interval is no test


def test_links_give_the_cells_own_figures():
    # token-weighted loss: Σnll / Σtokens, not the mean of per-record means
    loss = scores([2.0, 9.0], den=[1, 3])
    assert loss.value() == pytest.approx(11 / 4)
    assert scores([2.0, 9.0], den=[1, 3], link="exp").value() == pytest.approx(math.exp(11 / 4))
    rel = scores([2.0, 9.0], den=[1, 3], link="relative", ref=([2.0, 7.0], [1, 3]))
    assert rel.value() == pytest.approx(math.exp(11 / 4) / math.exp(9 / 4) - 1)


def test_the_same_seed_gives_the_same_draws():
    a, b = ItemGrid.stack([scores([1, 0, 1, 1]), scores([1, 1, 1, 0])]), ItemGrid.stack([scores([0, 0, 1, 1])] * 2)
    assert np.array_equal(two_way(a, b, seed=5, n_boot=300).draws, two_way(a, b, seed=5, n_boot=300).draws)
    assert not np.array_equal(two_way(a, b, seed=5, n_boot=300).draws, two_way(a, b, seed=6, n_boot=300).draws)


def test_the_p_value_is_the_t_test_the_interval_inverts():
    draws = np.array([0.0, 0.2, 0.4, 0.6, 0.8])  # se = sqrt(0.1)
    se = math.sqrt(0.1)
    items_only = Resampled(0.4, draws, 1, 10)  # one seed: df = inf, a z test
    assert items_only.p_value() == pytest.approx(2 * 0.5 * math.erfc(0.4 / se / math.sqrt(2)))
    seeds_only = Resampled(0.4, draws, 3, 10, seed_var=0.1)  # the seeds carry it all: df = 2
    assert seeds_only.df == pytest.approx(2)
    z = 0.4 / se
    assert seeds_only.p_value() == pytest.approx(1 - z / math.sqrt(2 + z * z))  # t with 2 df, in closed form
    lo, hi = seeds_only.interval(1 - seeds_only.p_value())  # the interval at level 1 − p touches 0
    assert lo == pytest.approx(0.0, abs=1e-9)


def test_the_mde_is_z_alpha_plus_z_power_times_the_se():
    r = Resampled(0.0, np.array([-1.0, 1.0]), 2, 2)  # se = sqrt(2)
    assert r.mde(0.05) == pytest.approx((1.959964 + 0.841621) * math.sqrt(2), rel=1e-6)


def test_cells_on_other_items_refuse_to_stack():
    with pytest.raises(ValueError, match="different items"):
        ItemGrid.stack([scores([1, 0]), scores([1, 0, 1])])
