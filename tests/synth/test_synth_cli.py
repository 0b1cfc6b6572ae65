"""`instructune synth self-instruct|evol` end to end: the tiny model through the CLI (wiring,
files, counters), the recipe with a scripted generator, and errors that exit 2."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest
import yaml

from instructune.cli import main
from instructune.config import ConfigError, load_config
from instructune.data.errors import DataError
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
    report = check_counters(out)
    assert report["rounds_done"] == 1 and report["requests"] >= 2 and report["generator"] == tiny_model
    assert lines(out / "rounds.jsonl")[0]["round"] == 1
    captured = capsys.readouterr()
    # 12 tokens from a random tiny model: every candidate is cut off, and a run that makes no
    # record says so (exit 2) rather than reporting success
    if report["records"]:
        assert rc == 0 and "self_instruct:" in captured.out
    else:
        assert rc == 2 and "no record made" in captured.err


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
    gen = ScriptedGenerator([("Make this task harder", "Harder task: Name three rare fish found "
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


# --- the run-dir rules: a rerun never rewrites a run's config.yaml under its records ---------

def _chat_generator() -> ScriptedGenerator:
    """Two new tasks a round, each with one instance (Self-Instruct's chat style)."""
    return ScriptedGenerator([("Here is a list of tasks:", "1. Name three countries in South America.\n"
                                                           "2. Suggest a name for a bakery."),
                              ("Use these two labelled lines", "Input: None\nOutput: An answer.")])


def _si_config(seeds: Path, *extra: str):
    return load_config("synth", [f"self_instruct.seeds=[{seeds}]", "self_instruct.rounds=1",
                                 "self_instruct.prompts_per_round=1", "self_instruct.prompt_style=chat",
                                 "self_instruct.new_per_prompt=2", "self_instruct.tasks_per_prompt=2",
                                 "self_instruct.human_per_prompt=1", *extra])


@pytest.fixture
def si_run(tmp_path):
    """A finished Self-Instruct run made from the user's own seed file."""
    seeds = tmp_path / "my_seeds.jsonl"
    seeds.write_text("".join(json.dumps({"instruction": f"Give an example of a {x}.", "output": "One."}) + "\n"
                             for x in ("fruit", "tree", "river")))
    out = tmp_path / "si"
    report = synth.main(_si_config(seeds), "self-instruct", out, gen=_chat_generator(), progress=False)
    assert report["records"] == 2
    return seeds, out


def test_a_rerun_on_a_synth_dir_is_refused_and_keeps_its_config(si_run, capsys):
    """Issue 19: rerunning self-instruct on a dir made from other seeds rewrote its config.yaml
    (seeds: [starter:train] replaced the real seed file) and went on, with no warning."""
    seeds, out = si_run
    saved = (out / "config.yaml").read_text()
    assert main(["synth", "self-instruct", "--output", str(out), "self_instruct.rounds=1"]) == 2
    err = capsys.readouterr().err
    assert f"--output {out} already holds synth outputs" in err and "--resume" in err and "--overwrite" in err
    assert err.count("\n") == 1 and "Traceback" not in err
    assert (out / "config.yaml").read_text() == saved
    assert yaml.safe_load(saved)["self_instruct"]["seeds"] == [str(seeds)]


def test_a_resume_with_other_settings_is_refused_naming_them(si_run, capsys):
    seeds, out = si_run
    saved = (out / "config.yaml").read_text()
    assert main(["synth", "self-instruct", "--resume", "--output", str(out), "self_instruct.rounds=2"]) == 2
    err = capsys.readouterr().err
    assert "self_instruct.seeds (saved [" in err and "now ['starter:train'])" in err
    assert "self_instruct.rounds" not in err  # the step count may grow
    assert (out / "config.yaml").read_text() == saved
    assert main(["synth", "evol", "--resume", "--output", str(out)]) == 2
    assert f"{out} holds a self-instruct run, not evol" in capsys.readouterr().err


def test_resume_continues_and_overwrite_replaces(si_run, tmp_path):
    seeds, out = si_run
    (out / "notes.txt").write_text("mine")
    more = synth.main(_si_config(seeds, "self_instruct.rounds=2"), "self-instruct", out, gen=_chat_generator(),
                      progress=False, resume=True)
    assert more["rounds_done"] == 2 and load_config(str(out / "config.yaml")).self_instruct.rounds == 2
    said = []
    again = synth.main(_si_config(seeds), "self-instruct", out, gen=_chat_generator(), progress=False,
                       overwrite=True, say=said.append)
    assert again["rounds_done"] == 1 and len(lines(out / "rounds.jsonl")) == 1
    assert "rounds.jsonl" in said[0] and (out / "notes.txt").read_text() == "mine"
    with pytest.raises(ConfigError, match="nothing to continue"):
        synth.main(_si_config(seeds), "self-instruct", tmp_path / "fresh", gen=_chat_generator(), progress=False,
                   resume=True)


def test_a_run_that_makes_no_record_is_an_error(tmp_path, capsys):
    seeds = tmp_path / "seeds.jsonl"
    seeds.write_text(json.dumps({"instruction": "Give an example of a fruit.", "output": "Apple."}) + "\n")
    gen = ScriptedGenerator([("Here is a list of tasks:", "1. Hi.")])  # too short: rejected
    with pytest.raises(DataError, match=r"no record made \(1 candidates rejected: \{'too_short': 1\}"):
        synth.main(_si_config(seeds), "self-instruct", tmp_path / "out", gen=gen, progress=False)
    assert lines(tmp_path / "out" / "rejects.jsonl")[0]["reason"] == "too_short"  # the log stays
