"""`instructune augment --constraints` end to end, bad input, and augmentation inside train."""

from __future__ import annotations

import json

import pytest

from instructune.cli import main as cli


def read_jsonl(path):
    return [json.loads(line) for line in path.read_text().splitlines()]


def test_augment_writes_verified_records_drops_and_a_summary(tmp_path, capsys):
    out = tmp_path / "aug.jsonl"
    assert cli(["augment", "--constraints", "starter:train", "--output", str(out)]) == 0
    printed = capsys.readouterr().out
    summary = json.loads((tmp_path / "aug.summary.json").read_text())
    kept = list(read_jsonl(out))
    assert f"kept {summary['kept']} of 180 records" in printed and len(kept) == summary["kept"] > 100
    assert summary["reasons"].get("has_rationale") == 16  # chain-of-thought records are left alone
    dropped = list(read_jsonl(tmp_path / "aug.dropped.jsonl"))
    assert len(dropped) == summary["dropped"] and all(d["reason"] for d in dropped)
    assert summary["types"] and summary["generator_calls"] == 0
    # Nothing already written is lost: a second run refuses, --overwrite replaces.
    assert cli(["augment", "--constraints", "starter:train", "--output", str(out)]) == 2
    assert "exists; pass --overwrite" in capsys.readouterr().err
    assert cli(["augment", "--constraints", "starter:train", "--output", str(out), "--overwrite",
                "data.augment.constraints.seed=1"]) == 0
    assert list(read_jsonl(out)) != kept


@pytest.mark.parametrize("override, words", [
    ("data.augment.constraints.types=[no_such_type]", "data.augment.constraints.types[0]: got 'no_such_type'"),
    ("data.augment.constraints.generate=1.5", "data.augment.constraints.generate: got 1.5; expected in [0, 1]"),
    ("data.augment.constraints.max_constraints=0", "data.augment.constraints.max_constraints: got 0"),
])
def test_bad_settings_are_one_line_errors(tmp_path, capsys, override, words):
    assert cli(["augment", "--constraints", "starter:train", "--output", str(tmp_path / "a.jsonl"), override]) == 2
    err = capsys.readouterr().err
    assert words in err and "Traceback" not in err and not (tmp_path / "a.jsonl").exists()


def test_train_adds_the_augmented_records_beside_the_originals(tiny_model, tmp_path, capsys):
    run = tmp_path / "run"
    assert cli(["train", f"model.name={tiny_model}", f"output_dir={run}", "train.max_steps=1", "data.max_length=64",
                "train.eval_every=0", "data.augment.constraints.enabled=true"]) == 0
    out = capsys.readouterr().out
    kept = len(list(read_jsonl(run / "augmented.jsonl")))
    assert f"constraint augmentation: {kept} augmented records from 180 training records" in out
    assert f"data         starter:train, {run / 'augmented.jsonl'}" in out  # beside the originals
    saved = (run / "config.yaml").read_text()
    assert "enabled: true" in saved and "augmented.jsonl" not in saved  # the run's own settings, rerunnable


def test_augmenting_a_prepared_dir_is_refused(tmp_path, capsys):
    (tmp_path / "prep" / "train").mkdir(parents=True)
    assert cli(["train", f"data.prepared={tmp_path / 'prep'}", "data.augment.constraints.enabled=true",
                f"output_dir={tmp_path / 'run'}"]) == 2
    assert "data.augment.constraints.enabled: a prepared dir" in capsys.readouterr().err
