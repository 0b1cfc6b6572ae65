"""The ablation page's difference cells: method, p, Holm, and the MDE where nothing was found."""

from instructune.evaluate.ablation_report import ablation_page, difference_cell

BOOT = {"diff": 0.02, "lo": -0.01, "hi": 0.05, "n": 3, "n_items": 40, "method": "bootstrap over seeds x items",
        "significant": False, "p": 0.21, "se": 0.015, "mde": 0.042,
        "holm": {"p": 0.63, "multiplier": 3, "lo": -0.02, "hi": 0.06, "significant": False, "mde": 0.05}}


def test_not_found_reads_as_nothing_larger_than_the_mde():
    cell = difference_cell(BOOT, 3)
    assert 'class="nosig"' in cell and "bootstrap over seeds x items, n=3 × 40 items" in cell
    assert "p 0.21" in cell and "Holm p 0.63 [-0.020, 0.060]" in cell and "nothing larger than ±0.042" in cell


def test_significant_before_holm_only_is_not_green():
    d = {**BOOT, "lo": 0.001, "significant": True, "p": 0.04, "holm": {**BOOT["holm"], "p": 0.12}}
    cell = difference_cell(d, 3)
    assert 'class="nosig"' in cell and "n.s. after Holm: nothing larger than ±0.050" in cell
    found = difference_cell({**d, "holm": {**d["holm"], "p": 0.04, "significant": True}}, 3)
    assert 'class="sig"' in found and "n.s." not in found


def test_an_old_summary_without_method_still_renders_as_t_over_seeds():
    old = {"diff": -0.1, "lo": -0.2, "hi": 0.05, "n": 3, "significant": False}
    assert "t over seeds, n=3)" in difference_cell(old, 3) and "no difference" in difference_cell(old, 3)
    summary = {"baseline": "a", "confidence": 0.95, "arms": {
        "a": {"seeds": [0], "metrics": {"heldout.response_loss": {"mean": 1.0, "lo": 1.0, "hi": 1.0, "n": 1}},
              "vs_baseline": {}},
        "b": {"seeds": [0], "metrics": {"heldout.response_loss": {"mean": 0.9, "lo": 0.9, "hi": 0.9, "n": 1}},
              "vs_baseline": {"heldout.response_loss": old}}}}
    assert "t over seeds" in ablation_page(summary, "t", [])


def test_an_exact_difference_is_neither_significant_nor_no_difference():
    same = {"diff": 8192.0, "lo": 8192.0, "hi": 8192.0, "n": 3, "method": "t over seeds", "significant": False,
            "p": 1.0, "se": 0.0, "mde": 0.0}
    cell = difference_cell(same, 0)
    assert 'class="nosig"' in cell and "the same at every seed: no spread to test" in cell
    assert "no difference" not in cell
