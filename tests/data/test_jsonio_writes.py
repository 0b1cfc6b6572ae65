"""Every JSON file instructune writes is strict JSON: NaN and Infinity become null."""

from __future__ import annotations

import json
import math

from instructune.data.jsonio import finite, to_json, write_json, write_jsonl


def _strict(text: str):
    def refuse(name):
        raise ValueError(f"not JSON: {name}")
    return json.loads(text, parse_constant=refuse)


def test_non_finite_numbers_are_written_as_null_at_any_depth(tmp_path):
    obj = {"spearman": float("nan"), "ppl": [1.5, float("inf"), (float("-inf"), 2)], "ok": 3, "s": "é"}
    assert finite(obj) == {"spearman": None, "ppl": [1.5, None, [None, 2]], "ok": 3, "s": "é"}
    write_json(tmp_path / "a.json", obj)
    write_jsonl(tmp_path / "b.jsonl", [obj, {"x": math.nan}])
    assert _strict((tmp_path / "a.json").read_text())["ppl"] == [1.5, None, [None, 2]]
    assert [_strict(x) for x in (tmp_path / "b.jsonl").read_text().splitlines()][1] == {"x": None}
    assert "é" in to_json(obj)  # text stays readable UTF-8, not \\u escapes
