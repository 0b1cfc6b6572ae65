"""Exact and near-duplicate removal: which records go, what they duplicate, and the CLI."""

from __future__ import annotations

import json
import os
import random
import subprocess
import sys

import pytest

from instructune.cli import main as cli
from instructune.data.dedup import dedup, normalise
from instructune.data.formats._fields import derived_id
from instructune.data.rouge import lcs_length, position_masks
from instructune.data.record import Record, Turn

BUS = "The city will extend the downtown bus lanes by {} kilometres next spring to cut commute times."
ROWS = [  # alpaca rows; ids become alpaca-<line>
    {"instruction": "Name a primary color.", "input": "", "output": "Red."},                       # 1
    {"instruction": "name a PRIMARY colour", "input": "", "output": "red"},                        # 2 near 1
    {"instruction": "Name a primary   color!", "input": "", "output": "Red"},                      # 3 exact 1
    {"instruction": "Summarize the passage in one sentence.", "input": BUS.format("four"),
     "output": "The city is extending bus lanes to shorten commutes."},                            # 4
    {"instruction": "Summarize the passage in one sentence.", "input": BUS.format("five"),
     "output": "The city is extending bus lanes to shorten commutes."},                            # 5 near 4
    {"instruction": "Write a haiku about the sea.", "input": "",
     "output": "Waves fold into foam / salt wind carries gull voices / the tide keeps its time"},   # 6
    {"instruction": "Translate to French.", "input": "The cat sleeps.", "output": "Le chat dort."},  # 7
    {"instruction": "Translate to German.", "input": "The cat sleeps.", "output": "Die Katze schläft."},  # 8
    {"instruction": "Write a haiku about the sea.", "input": "",
     "output": "Waves fold into foam / salt wind carries gull voices / the tide keeps its time"},   # 9 exact 6
]


@pytest.fixture()
def data(tmp_path):
    path = tmp_path / "in.jsonl"
    path.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in ROWS))
    return path


def records():
    return [Record(id=f"r{i}", instruction=r["instruction"], context=r["input"], response=r["output"])
            for i, r in enumerate(ROWS, start=1)]


def test_normalise():
    assert normalise("  Name a primary   COLOR!\n") == "name a primary color"
    assert normalise("Straße, ﬁne.") == "strasse fine"  # NFKC + case folding


def test_lcs_matches_dynamic_programming():
    def dp(a, b):
        prev = [0] * (len(b) + 1)
        for x in a:
            cur = [0]
            for j, y in enumerate(b):
                cur.append(prev[j] + 1 if x == y else max(prev[j + 1], cur[j]))
            prev = cur
        return prev[-1]

    rng = random.Random(0)
    for _ in range(300):
        a = [rng.choice("abcd") for _ in range(rng.randint(0, 70))]
        b = [rng.choice("abcd") for _ in range(rng.randint(0, 70))]
        assert lcs_length(a, position_masks(b), len(b)) == dp(a, b)


def test_minhash_removes_exact_then_near_duplicates():
    kept, removed = dedup(records(), "minhash")
    assert [r.id for r in kept] == ["r1", "r2", "r4", "r6", "r7", "r8"]
    assert [r.to_dict() for r in removed] == [
        {"id": "r3", "duplicate_of": "r1", "method": "exact", "similarity": 1.0},
        {"id": "r5", "duplicate_of": "r4", "method": "minhash", "similarity": 0.9141},
        {"id": "r9", "duplicate_of": "r6", "method": "exact", "similarity": 1.0},
    ]


def test_rouge_removes_near_duplicates_at_its_threshold():
    kept, removed = dedup(records(), "rouge")
    assert [r.id for r in kept] == ["r1", "r4", "r6", "r7", "r8"]
    # "name a primary colour red" vs "name a primary color red": LCS 4 of 5 + 5 words -> 0.8
    assert [r.to_dict() for r in removed] == [
        {"id": "r2", "duplicate_of": "r1", "method": "rouge", "similarity": 0.8},
        {"id": "r3", "duplicate_of": "r1", "method": "exact", "similarity": 1.0},
        {"id": "r5", "duplicate_of": "r4", "method": "rouge", "similarity": 0.9688},
        {"id": "r9", "duplicate_of": "r6", "method": "exact", "similarity": 1.0},
    ]
    kept, removed = dedup(records(), "rouge", threshold=0.81)
    assert [r.id for r in removed] == ["r3", "r5", "r9"]  # 0.8 is below 0.81


def test_first_occurrence_is_kept_whatever_the_order():
    kept, removed = dedup(records()[::-1], "minhash")
    assert [r.id for r in kept] == ["r9", "r8", "r7", "r5", "r3", "r2"]
    assert [(r.id, r.duplicate_of) for r in removed] == [("r6", "r9"), ("r4", "r5"), ("r1", "r3")]


# Runs `dedup` on the records read from stdin and prints what it removed, in a fresh interpreter.
_DEDUP_IN_A_NEW_PROCESS = """
import json, sys
from instructune.data.dedup import dedup
from instructune.data.record import Record
recs = [Record.from_dict(d) for d in json.load(sys.stdin)]
print(json.dumps([r.to_dict() for r in dedup(recs, "minhash")[1]]))
"""


def test_minhash_removes_the_same_records_under_any_string_hash_seed():
    """MinHash must hash shingles with a fixed function: Python's hash() of a str changes with
    PYTHONHASHSEED, so two runs on the same data would remove different records."""
    data = json.dumps([r.to_dict() for r in records()])
    removed = []
    for seed in ("1", "2"):
        env = {**os.environ, "PYTHONHASHSEED": seed}
        done = subprocess.run([sys.executable, "-c", _DEDUP_IN_A_NEW_PROCESS], input=data, env=env,
                              capture_output=True, text=True, check=True)
        removed.append(json.loads(done.stdout))
    assert removed[0] == removed[1] and removed[0]


def test_conversations_that_only_end_alike_are_kept():
    end = dict(instruction="Thanks!", response="You're welcome.")
    a = Record(id="a", history=[Turn("user", "What is 2 + 2?"), Turn("assistant", "4")], **end)
    b = Record(id="b", history=[Turn("user", "Name a planet."), Turn("assistant", "Mars")], **end)
    for method in ("minhash", "rouge"):
        assert [r.id for r in dedup([a, b], method)[0]] == ["a", "b"]


def test_fields_choose_what_is_compared():
    # Different instructions and answers, one context: duplicates only when comparing the context.
    recs = records()[6:8]  # Translate to French / German, same context
    assert len(dedup(recs, "rouge", 0.7)[0]) == 2
    kept, removed = dedup(recs, "rouge", 0.7, fields=("context",))
    assert [r.to_dict() for r in removed] == [{"id": "r8", "duplicate_of": "r7", "method": "exact", "similarity": 1.0}]


@pytest.mark.parametrize("kwargs", [{"method": "jaccard"}, {"threshold": 0.0}, {"threshold": 1.5},
                                    {"fields": ("prompt",)}])
def test_bad_settings_are_refused(kwargs):
    with pytest.raises(ValueError):
        dedup(records(), **kwargs)


def test_cli_writes_kept_and_removed(data, tmp_path, capsys):
    out = tmp_path / "out" / "kept.jsonl"
    assert cli(["dedup", str(data), "--output", str(out), "--method", "rouge"]) == 0
    printed = capsys.readouterr().out
    assert "kept 5 of 9 records" in printed and "{'exact': 2, 'rouge': 2}" in printed
    kept = [json.loads(line) for line in out.read_text().splitlines()]
    def rid(n):  # the id of line n of `data` (an Alpaca file without ids)
        return derived_id("alpaca", str(data), n)

    assert [r["id"] for r in kept] == [rid(1), rid(4), rid(6), rid(7), rid(8)]
    assert kept[1]["context"] == BUS.format("four") and kept[1]["source"]["format"] == "alpaca"
    removed = [json.loads(line) for line in (tmp_path / "out" / "kept.removed.jsonl").read_text().splitlines()]
    assert removed == [
        {"id": rid(2), "duplicate_of": rid(1), "method": "rouge", "similarity": 0.8},
        {"id": rid(3), "duplicate_of": rid(1), "method": "exact", "similarity": 1.0},
        {"id": rid(5), "duplicate_of": rid(4), "method": "rouge", "similarity": 0.9688},
        {"id": rid(9), "duplicate_of": rid(6), "method": "exact", "similarity": 1.0},
    ]


def test_cli_rejects_a_bad_threshold_with_exit_code_2(data, tmp_path, capsys):
    assert cli(["dedup", str(data), "--output", str(tmp_path / "k.jsonl"), "--threshold", "2"]) == 2
    assert "threshold must be in (0, 1]" in capsys.readouterr().err
    assert not (tmp_path / "k.jsonl").exists()


def test_two_runs_in_one_folder_keep_their_own_removals(data, tmp_path):
    """The default removals file was removed.jsonl beside --output: a second dedup into the same
    folder overwrote the first one's. It is named after the output now."""
    out = tmp_path / "out"
    assert cli(["dedup", str(data), "--output", str(out / "a.jsonl"), "--method", "rouge"]) == 0
    assert cli(["dedup", str(data), "--output", str(out / "b.jsonl"), "--method", "minhash"]) == 0
    a = [json.loads(x) for x in (out / "a.removed.jsonl").read_text().splitlines()]
    b = [json.loads(x) for x in (out / "b.removed.jsonl").read_text().splitlines()]
    assert {r["method"] for r in a} == {"exact", "rouge"} and "rouge" not in {r["method"] for r in b}


def test_on_error_skip_writes_bad_rows_to_a_rejects_file(data, tmp_path, capsys):
    bad = tmp_path / "bad.jsonl"
    bad.write_text(data.read_text() + json.dumps({"instruction": "No answer.", "input": ""}) + "\n")
    out = tmp_path / "kept.jsonl"
    assert cli(["dedup", str(bad), "--output", str(out)]) == 2  # fail: the default, as for ingest
    assert f"{bad}:10" in capsys.readouterr().err and not out.exists()
    assert cli(["dedup", str(bad), "--output", str(out), "--on-error", "skip"]) == 0
    assert "rejected 1 rows" in capsys.readouterr().out
    (reject,) = [json.loads(x) for x in (tmp_path / "kept.rejects.jsonl").read_text().splitlines()]
    assert reject["line"] == 10 and reject["field"] == "output"
    assert len(out.read_text().splitlines()) == 6


def test_a_run_that_keeps_nothing_is_an_error_that_writes_nothing(tmp_path, capsys):
    empty = tmp_path / "empty.jsonl"
    empty.write_text("")
    out = tmp_path / "kept.jsonl"
    out.write_text("earlier\n")
    assert cli(["dedup", str(empty), "--format", "records", "--output", str(out)]) == 2
    err = capsys.readouterr().err
    assert "no record to deduplicate, so nothing was written" in err and "Traceback" not in err
    assert out.read_text() == "earlier\n" and not (tmp_path / "kept.removed.jsonl").exists()
