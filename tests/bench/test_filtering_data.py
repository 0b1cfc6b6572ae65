"""bench/filtering_data.py: a known share of a training set replaced by damaged versions of the
same records, each labelled with its damage, and the count of where quality control put them."""

from __future__ import annotations

import argparse
import json
from collections import Counter

from instructune.data.inputs import load_inputs
from bench_script import load_bench


def _bench():
    return load_bench("filtering_data")


def test_a_share_of_the_records_is_replaced_in_place_and_labelled():
    clean = load_inputs(["starter:train"])
    damaged, labels = _bench().damage_some(clean, 0.3, seed=0, foreign=["Ceci est une phrase en français."])
    assert len(damaged) == len(clean) and len(labels) == round(0.3 * len(clean))
    for before, after in zip(clean, damaged):
        if after.id in labels:  # the damaged twin of the record at the same position
            assert after.id == f"{before.id}~{labels[after.id]}" and after.response != before.response
        else:
            assert after is before
    # the damage types take turns: each one used, none more than its share plus one
    counts = Counter(labels.values())
    assert len(counts) >= 6 and max(counts.values()) - min(counts.values()) <= 2
    assert _bench().damage_some(clean, 0.3, seed=0, foreign=["Ceci est une phrase en français."])[1] == labels  # seeded


def test_where_counts_each_outcome_file_by_label(tmp_path):
    (tmp_path / "quality").mkdir()
    (tmp_path / "labels.json").write_text(json.dumps({"a~truncated": "truncated", "b~refusal": "refusal"}))
    rows = {"accepted": ["c", "d"], "flagged": ["a~truncated", "e"], "rejected": ["b~refusal"]}
    for outcome, ids in rows.items():
        (tmp_path / "quality" / f"{outcome}.jsonl").write_text("".join(json.dumps({"id": i}) + "\n" for i in ids))
    out = _bench().where(argparse.Namespace(dir=tmp_path, out=None))
    assert out["clean"] == {"accepted": 2, "flagged": 1, "deferred": 0, "rejected": 0, "total": 3}
    assert out["truncated"]["flagged"] == 1 and out["refusal"]["rejected"] == 1
