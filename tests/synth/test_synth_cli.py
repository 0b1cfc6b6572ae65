"""`instructune synth self-instruct|evol` end to end: the tiny model through the CLI (wiring,
files, counters), the recipe with a scripted generator, and errors that exit 2."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest
import yaml

from instructune.cli import main
from instructune.config import load_config
from instructune.data.formats._fields import derived_id
from instructune.recipes import synth

sys.path.insert(0, str(Path(__file__).parent))
from scripted_generator import ScriptedGenerator  # noqa: E402


def lines(path: Path) -> list[dict]:
    return [json.loads(x) for x in path.read_text().splitlines()] if path.exists() else []


def check_counters(out: Path) -> dict:
    """The report agrees with the files it describes."""
    report = json.loads((out / "report.json").read_text())
    rejects = lines(out / "rejects.jsonl")
    assert report["records"] == len(lines(out / "records.jsonl"))
    assert report["rejected"] == len(rejects) == sum(report["reasons"].values())
    assert report["reasons"] == {r: sum(x["reason"] == r for x in rejects) for r in report["reasons"]}
    assert yaml.safe_load((out / "config.yaml").read_text())["synth"]["backend"] == "local"
    return report


def test_cli_self_instruct_with_the_tiny_model(tmp_path, tiny_model, capsys):
    out = tmp_path / "si"
    rc = main(["synth", "self-instruct", "--output", str(out), f"synth.model={tiny_model}",
               "self_instruct.rounds=1", "self_instruct.prompts_per_round=2", "self_instruct.max_new_tokens=12"])
    assert rc == 0
    report = check_counters(out)
    assert report["rounds_done"] == 1 and report["requests"] >= 2 and report["generator"] == tiny_model
    assert lines(out / "rounds.jsonl")[0]["round"] == 1
    assert "self_instruct:" in capsys.readouterr().out


def test_cli_evol_with_the_tiny_model(tmp_path, tiny_model):
    out = tmp_path / "evol"
    rc = main(["synth", "evol", "--input", "starter:heldout", "--output", str(out), f"synth.model={tiny_model}",
               "evol.generations=1", "evol.per_generation=3", "evol.clusters=0",
               "evol.evolve_max_new_tokens=12", "evol.response_max_new_tokens=12"])
    assert rc == 0
    report = check_counters(out)
    assert report["generations_done"] == 1 and report["inputs"] == 30
    assert report["records"] + report["rejected"] == 3  # every evolution is accounted for
    assert sum(op["accepted"] + op["rejected"] for op in report["operations"].values()) == 3


def test_recipe_with_a_scripted_generator(tmp_path):
    gen = ScriptedGenerator([("Rewrite the given prompt", "Rewritten prompt: Name three rare fish found "
                                                          "only in deep ocean trenches."),
                             ("", "The anglerfish, the gulper eel and the fangtooth.")])
    pool = tmp_path / "pool.jsonl"
    pool.write_text('{"instruction": "Name a fish.", "input": "", "output": "Cod."}\n'
                    '{"instruction": "Name a sea bird.", "input": "", "output": "Gull."}\n')  # alpaca
    cfg = load_config("synth", [f"evol.input=[{pool}]", "evol.generations=1", "evol.clusters=0",
                                "evol.operations=[deepen]"])
    out = tmp_path / "out"
    report = synth.main(cfg, "evol", out, gen=gen, progress=False)
    # both parents evolve into the same prompt: the second is a duplicate
    assert report["records"] == 1 and report["reasons"] == {"duplicate": 1}
    (rec,) = lines(out / "records.jsonl")
    assert rec["meta"]["parent_id"] == derived_id("alpaca", str(pool), 1)
    assert rec["response"].startswith("The anglerfish")
    assert load_config(str(out / "config.yaml")).evol.operations == ["deepen"]


@pytest.mark.parametrize("argv, words", [
    (["synth", "evol", "--input", "no/such.jsonl", "--output", "{out}"], "no/such.jsonl"),
    (["synth", "self-instruct", "--output", "{out}", "self_instruct.human_per_prompt=20"],
     "self_instruct.human_per_prompt: got 20; expected in [0, tasks_per_prompt]"),
    (["synth", "evol", "--output", "{out}", "evol.operations=[]"], "evol.operations: got []; expected non-empty"),
    (["synth", "evol", "--output", "{out}", "evol.operations=[fly]"], "evol.operations[0]: got 'fly'"),
])
def test_cli_errors_exit_2(tmp_path, capsys, argv, words):
    assert main([a.replace("{out}", str(tmp_path / "o")) for a in argv]) == 2
    assert words in capsys.readouterr().err
