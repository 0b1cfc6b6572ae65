"""Tasks kept out of training (`data.heldout_tasks`) and an entry's own `task`: the training
split loses exactly those tasks' records, a misspelt task is an error, and the eval splits the
held-out records into seen and unseen tasks."""

from __future__ import annotations

import json
from collections import Counter

import pytest

from instructune.cli import main as cli
from instructune.config import ConfigError, SourceConfig, load_config
from instructune.data.inputs import load_inputs
from instructune.data.record import Record
from instructune.data.splits import load_prepared, without_tasks
from instructune.recipes.builders import heldout_sets, split_by_task


def _write(path, rows):
    path.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    return str(path)


def _pc(tmp_path, name, n):
    """A prompt/completion file (P3's layout): no task field of its own."""
    return _write(tmp_path / f"{name}.jsonl", [{"prompt": f"{name} prompt {i}?", "completion": f"{name} {i}"}
                                               for i in range(n)])


def test_an_entry_task_fills_records_without_one(tmp_path):
    plain = _pc(tmp_path, "sentiment", 3)
    own = _write(tmp_path / "own.jsonl", [{"instruction": "a", "output": "b", "category": "qa"},
                                          {"instruction": "c", "output": "d"}])
    recs = load_inputs([SourceConfig(plain, task="sentiment"), SourceConfig(own, task="other")])
    assert [r.task for r in recs] == ["sentiment"] * 3 + ["qa", "other"]  # a record's own task wins
    assert [r.task for r in load_inputs([plain])] == [None] * 3


def test_without_tasks_drops_them_and_says_so():
    recs = [Record(id=str(i), instruction="x", response="y", task=t) for i, t in enumerate("aabcc")]
    said = []
    kept = without_tasks(recs, ["c"], "train", said.append)
    assert [r.task for r in kept] == ["a", "a", "b"]
    assert said == ["train: 2 records of held-out tasks left out (c 2); 3 kept"]


def test_a_task_no_record_has_is_an_error_naming_the_tasks_there_are():
    recs = [Record(id=str(i), instruction="x", response="y", task=t) for i, t in enumerate("ab")]
    with pytest.raises(ConfigError, match=r"no train record has task 'sentimnt'; tasks in the train data: a, b"):
        without_tasks(recs, ["sentimnt"], "train")


def test_the_eval_splits_held_out_records_into_seen_and_unseen_tasks(tmp_path):
    held = [SourceConfig(_pc(tmp_path, "qa", 2), task="qa"), SourceConfig(_pc(tmp_path, "senti", 3), task="senti")]
    cfg = load_config(None, [])
    cfg.data.heldout, cfg.data.heldout_tasks = held, ["senti"]
    sets = heldout_sets(cfg)
    assert {k: Counter(r.task for r in v) for k, v in sets.items()} == {
        "heldout": {"qa": 2, "senti": 3}, "heldout_seen": {"qa": 2}, "heldout_unseen": {"senti": 3}}
    with pytest.raises(ConfigError, match="no held-out record has task 'other'"):
        split_by_task(sets["heldout"], ["other"])


def test_prepare_leaves_the_held_out_tasks_out_of_training_only(tiny_model, tmp_path, capsys):
    train = (f"data.train=[{{path: {_pc(tmp_path, 'qa', 6)}, task: qa}}, "
             f"{{path: {_pc(tmp_path, 'senti', 4)}, task: senti}}]")
    heldout = f"data.heldout=[{{path: {_pc(tmp_path, 'senti_h', 2)}, task: senti}}]"
    args = ["prepare", f"model.name={tiny_model}", "data.max_length=64", train, heldout]
    assert cli([*args, "data.heldout_tasks=[senti]", "--output", str(tmp_path / "p")]) == 0
    assert "train: 4 records of held-out tasks left out (senti 4); 6 kept" in capsys.readouterr().out
    assert Counter(load_prepared(tmp_path / "p" / "train")["task"]) == {"qa": 6}
    assert Counter(load_prepared(tmp_path / "p" / "heldout")["task"]) == {"senti": 2}  # held-out data keeps them
    # Without the setting the same inputs are tokenized anew, not taken from the cache entry above.
    assert cli([*args, "--output", str(tmp_path / "all")]) == 0
    assert Counter(load_prepared(tmp_path / "all" / "train")["task"]) == {"qa": 6, "senti": 4}
    assert cli([*args, "data.heldout_tasks=[sentiment]", "--output", str(tmp_path / "typo")]) == 2
    assert "data.heldout_tasks: no train record has task 'sentiment'; tasks in the train data: qa, senti" in \
        capsys.readouterr().err
