"""`atomic_dir`: a directory appears whole or not at all; replace swaps, keep defers to a copy
already there."""

from __future__ import annotations

import pytest

from instructune.atomic import atomic_dir


def test_writes_the_directory_and_leaves_no_temp(tmp_path):
    with atomic_dir(tmp_path / "out") as tmp:
        (tmp / "a.txt").write_text("new")
    assert (tmp_path / "out" / "a.txt").read_text() == "new"
    assert [p.name for p in tmp_path.iterdir()] == ["out"]


def test_replace_swaps_the_old_copy_out(tmp_path):
    (tmp_path / "out").mkdir()
    (tmp_path / "out" / "old.txt").write_text("old")
    with atomic_dir(tmp_path / "out") as tmp:
        (tmp / "a.txt").write_text("new")
    assert [p.name for p in (tmp_path / "out").iterdir()] == ["a.txt"]
    assert [p.name for p in tmp_path.iterdir()] == ["out"]


def test_keep_leaves_an_existing_copy(tmp_path):
    (tmp_path / "out").mkdir()
    (tmp_path / "out" / "theirs.txt").write_text("theirs")
    with atomic_dir(tmp_path / "out", if_exists="keep") as tmp:
        (tmp / "ours.txt").write_text("ours")
    assert [p.name for p in (tmp_path / "out").iterdir()] == ["theirs.txt"]
    assert [p.name for p in tmp_path.iterdir()] == ["out"]


def test_a_failure_while_filling_changes_nothing(tmp_path):
    (tmp_path / "out").mkdir()
    (tmp_path / "out" / "old.txt").write_text("old")
    with pytest.raises(OSError, match="disk full"), atomic_dir(tmp_path / "out") as tmp:
        (tmp / "half.txt").write_text("half")
        raise OSError("disk full")
    assert [p.name for p in (tmp_path / "out").iterdir()] == ["old.txt"]
    assert [p.name for p in tmp_path.iterdir()] == ["out"]


def test_rejects_an_unknown_policy(tmp_path):
    with pytest.raises(ValueError, match="if_exists"), atomic_dir(tmp_path / "out", if_exists="merge"):
        pass
