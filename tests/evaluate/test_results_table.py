"""The eval table: a table on a wide terminal, one line per figure when piped or narrow (a
table folded into a pipe's 80 columns was unreadable)."""

from __future__ import annotations

import io

from rich.console import Console

from instructune.evaluate.results_table import print_results

CI = {"lo": 0.09, "hi": 0.32}
RESULTS = {
    "base": {"ifeval": {"prompt_level_strict": {"accuracy": 0.175, **CI}},
             "sets": {"heldout": {"response_loss": 2.1177}}},
    "tuned": {"ifeval": {"prompt_level_strict": {"accuracy": 0.4, "lo": 0.3, "hi": 0.5}},
              "sets": {"heldout": {"response_loss": 1.4461}}},
    "comparison": {"ifeval.prompt_level_strict": {"diff": 0.225, "lo": 0.1, "hi": 0.35, "significant": True},
                   "sets.heldout.response_loss": {"diff": -0.672, "lo": -0.89, "hi": -0.48, "significant": True}},
}


def printed(**console) -> str:
    out = io.StringIO()
    print_results(RESULTS, Console(file=out, **console))
    return out.getvalue()


def test_piped_output_is_one_line_per_figure():
    text = printed(width=80)
    assert text.splitlines() == [
        "evaluation (95% intervals)",
        "heldout: response loss: base 2.1177 | tuned 1.4461 | tuned − base -0.672 [-0.89,-0.48]",
        "IFEval prompt strict: base 0.175 [0.09,0.32] | tuned 0.400 [0.30,0.50] | tuned − base +0.225 [+0.10,+0.35]",
    ]


def test_a_wide_terminal_gets_the_table():
    text = printed(width=160, force_terminal=True)
    assert "┃" in text or "│" in text
    assert "IFEval prompt strict" in text and "+0.225 [+0.10,+0.35]" in text
