"""Helpers for the reader tests: write rows written in the test as JSONL / a JSON array / text."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent))  # for oasst_fixture


@pytest.fixture
def write(tmp_path):
    """`write(name, rows, array=False)` → path of a JSONL file (or JSON array) in tmp_path;
    `rows` may also be a str, written as is."""

    def _write(name: str, rows, array: bool = False) -> str:
        path = tmp_path / name
        if isinstance(rows, str):
            path.write_text(rows, encoding="utf-8")
        elif array:
            path.write_text(json.dumps(rows, indent=1), encoding="utf-8")
        else:
            path.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
        return str(path)

    return _write
