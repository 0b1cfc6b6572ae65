"""The real default generator (SmolLM2-135M-Instruct, offline) through Self-Instruct and
Evol-Instruct: one round / one generation with small counts; files and counters agree.

Opt-in: python -m pytest -m slow tests/synth/test_synth_slow.py
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from instructune.config import load_config
from instructune.recipes import synth


def lines(path: Path) -> list[dict]:
    return [json.loads(x) for x in path.read_text().splitlines()] if path.exists() else []


@pytest.mark.slow
def test_default_generator_runs_both_methods(tmp_path):
    cfg = load_config("synth", [
        "self_instruct.rounds=1", "self_instruct.prompts_per_round=1", "self_instruct.max_new_tokens=48",
        "evol.generations=1", "evol.per_generation=2", "evol.clusters=4",
        "evol.evolve_max_new_tokens=48", "evol.response_max_new_tokens=48"])
    gen = synth.build_generator(cfg)
    assert gen.name == "smollm2-135m-instruct"

    si = synth.main(cfg, "self-instruct", tmp_path / "si", gen=gen, progress=False)
    records, rejects = lines(tmp_path / "si" / "records.jsonl"), lines(tmp_path / "si" / "rejects.jsonl")
    assert si["rounds_done"] == 1 and si["records"] == len(records) and si["rejected"] == len(rejects)
    assert si["records"] + si["rejected"] >= 1  # the model proposed at least one task
    assert all(r["source"] == {"generator": gen.name, "method": "self_instruct", "round": 1} for r in records)

    requests = gen.stats.requests
    ev = synth.main(cfg, "evol", tmp_path / "evol", gen=gen, progress=False)
    records = lines(tmp_path / "evol" / "records.jsonl")
    assert ev["generations_done"] == 1 and ev["records"] + ev["rejected"] == 2
    assert ev["requests"] == gen.stats.requests - requests >= 2
    assert all(r["meta"]["generation"] == 1 and r["meta"]["parent_id"].startswith("starter-train-") for r in records)
    assert sum(d["count"] for d in ev["clusters"]["before"]) == 180
    assert sum(d["count"] for d in ev["clusters"]["after"]) == 180 + ev["records"]
