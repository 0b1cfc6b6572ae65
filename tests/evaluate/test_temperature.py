"""The temperature head's report: Spearman by hand, and the suite end to end on a tiny run."""

from __future__ import annotations

import json

import numpy as np
import pytest
from rich.console import Console

from instructune.evaluate.temperature import ranks, spearman, spearman_interval


def test_ranks_share_ties():
    assert ranks(np.array([0.3, 0.1, 0.3, 0.9])).tolist() == [2.5, 1.0, 2.5, 4.0]


def test_spearman_golden_values():
    assert spearman([1, 2, 3, 4], [10, 20, 30, 40]) == pytest.approx(1.0)
    assert spearman([1, 2, 3, 4], [4, 3, 2, 1]) == pytest.approx(-1.0)
    # d = (0, -1, 1, 0): rho = 1 - 6*2 / (4*15) = 0.8
    assert spearman([1, 2, 3, 4], [1, 3, 2, 4]) == pytest.approx(0.8)
    assert np.isnan(spearman([1, 1, 1], [1, 2, 3]))


def test_spearman_interval_holds_the_estimate():
    rng = np.random.default_rng(0)
    a = rng.normal(size=40)
    b = a + rng.normal(size=40) * 0.5
    ci = spearman_interval(a, b, seed=0, n_boot=300, level=0.95)
    assert ci["lo"] <= ci["rho"] <= ci["hi"] and ci["n"] == 40 and ci["rho"] > 0.5


def test_a_constant_side_makes_the_correlation_undefined_and_says_which():
    from instructune.evaluate.results_table import results_table

    ci = spearman_interval([0.5, 0.6, 0.7], [0.7, 0.7, 0.7], seed=0, n_boot=50, level=0.95)
    assert np.isnan(ci["rho"]) and ci["undefined"] == "every target temperature is the same"
    assert "undefined" not in spearman_interval([1, 2, 3], [1, 3, 2], seed=0, n_boot=50, level=0.95)
    table = results_table({"tuned": {"temperature": {"spearman": ci}}})
    console = Console(width=200, record=True)
    console.print(table)
    assert "undefined: every target temperature is the same" in console.export_text()


def test_temperature_suite_on_a_run_with_the_head(tiny_model, tmp_path):
    from instructune.cli import main as cli

    run = tmp_path / "run"
    assert cli(["train", f"model.name={tiny_model}", f"output_dir={run}", "train.max_steps=2", "data.max_length=64",
                "addons.temperature_head.enabled=true", "train.eval_every=0"]) == 0
    assert cli(["eval", "--tuned", str(run), "eval.suites=[temperature]", "eval.max_new_tokens=4",
                "eval.bootstrap=100"]) == 0
    t = json.loads((run / "eval.json").read_text())["tuned"]["temperature"]
    assert t["spearman"]["n"] == 30 and -1 <= t["spearman"]["rho"] <= 1
    mixed = t["mixed"]
    assert mixed["n_factual"] + mixed["n_creative"] == mixed["rouge_l"]["auto"]["n"] > 0
    assert set(mixed["rouge_l"]) == {"auto", "0.0", "0.3", "0.7", "1.0"}
    assert set(mixed["auto_minus_fixed"]) == {"0.0", "0.3", "0.7", "1.0"}
