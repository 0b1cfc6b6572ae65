"""bench/augment_transfer.py: tuned − base on the constraint types training saw and on the
others, for one run or over the seeds of an arm."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from bench_script import load_bench

SEEN, UNSEEN = "keywords:existence", "language:response_language"
PROMPTS = [f"p{i}" for i in range(12)]


def _bench():
    return load_bench("augment_transfer")


def _jsonl(path: Path, rows: list[dict]) -> Path:
    path.write_text("".join(json.dumps(r) + "\n" for r in rows))
    return path


def _verdicts(path: Path, follows: list[bool]) -> Path:
    """Prompt i holds one instruction, of the seen type for even i and the unseen type for odd i."""
    return _jsonl(path, [{"prompt": p, "instruction_id_list": [SEEN if i % 2 == 0 else UNSEEN],
                          "follow_instruction_list": [f], "follow_all_instructions": f}
                         for i, (p, f) in enumerate(zip(PROMPTS, follows))])


def _run(tmp_path: Path, name: str, follows: list[bool]) -> Path:
    run = tmp_path / name
    run.mkdir()
    _verdicts(run / "ifeval_verdicts.jsonl", follows)
    _jsonl(run / "augmented.jsonl", [{"meta": {"augment": {"constraints": [{"id": SEEN}]}}}])
    return run


def test_one_run_and_the_seeds_of_an_arm(tmp_path):
    base = _verdicts(tmp_path / "base.jsonl", [False] * 6 + [True] * 6)  # seen 3/6, unseen 3/6
    # tuned: every seen instruction followed at seed 0, five of six at seed 1; no unseen one
    r0 = _run(tmp_path, "s0", [i % 2 == 0 for i in range(12)])
    r1 = _run(tmp_path, "s1", [i % 2 == 0 and i != 0 for i in range(12)])
    m = _bench()
    one = m.transfer([r0], [r0 / "augmented.jsonl"], base)
    assert one["unseen_types"] == [UNSEEN]
    seen, unseen = one["instruction_level_strict"]["seen"], one["instruction_level_strict"]["unseen"]
    assert (seen["n"], seen["base"], seen["tuned"]) == (6, 0.5, 1.0) and seen["diff"] == pytest.approx(0.5)
    assert unseen["diff"] == pytest.approx(-0.5) and one["prompt_level_strict"]["all"]["diff"] == pytest.approx(0.0)
    assert one["per_type"][SEEN]["diff"] == pytest.approx(0.5) and one["per_type"][UNSEEN]["diff"] == pytest.approx(-0.5)
    both = m.transfer([r0, r1], [r0 / "augmented.jsonl", r1 / "augmented.jsonl"], base)
    s = both["instruction_level_strict"]["seen"]
    assert s["seeds"] == 2 and s["diff"] == pytest.approx((0.5 + 1 / 3) / 2) and s["lo"] < s["diff"] < s["hi"]
    assert s["mde"] > 0 and 0 <= s["p"] <= 1
    assert both["per_type"][SEEN]["diff"] == pytest.approx(s["diff"])  # one type: its row is the group's
    # a run trained without augmentation saw no type: its "all" rows are its whole gain
    plain = m.transfer([r0], [tmp_path / "none.jsonl"], base)
    assert plain["instruction_level_strict"]["seen"]["n"] == 0 and plain["unseen_types"] == [SEEN, UNSEEN]
    assert plain["instruction_level_strict"]["all"]["diff"] == pytest.approx(0.0)
    # seeds that trained on other constraint types are not one arm
    _jsonl(r1 / "augmented.jsonl", [{"meta": {"augment": {"constraints": [{"id": UNSEEN}]}}}])
    with pytest.raises(SystemExit, match="different constraint types"):
        m.transfer([r0, r1], [r0 / "augmented.jsonl", r1 / "augmented.jsonl"], base)
