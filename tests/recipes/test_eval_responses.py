"""`instructune eval --suite ifeval --responses R`: scores existing responses, loads no model."""

from __future__ import annotations

import json

from instructune.cli import main as cli
from instructune.evaluate import ifeval


def test_scores_responses_without_a_model(tmp_path, capsys):
    prompts = ifeval.load_prompts()[:3]
    # The first response is all lowercase with no comma; whatever each prompt asks, the file is valid.
    rows = [{"prompt": p.prompt, "response": "a plain answer"} for p in prompts]
    responses = tmp_path / "responses.jsonl"
    responses.write_text("".join(json.dumps(r) + "\n" for r in rows))
    out = tmp_path / "out"
    assert cli(["eval", "--suite", "ifeval", "--responses", str(responses), "--output", str(out),
                "model.name=/nonexistent/never-loaded"]) == 0
    verdicts = [json.loads(x) for x in (out / "ifeval_verdicts.jsonl").read_text().splitlines()]
    assert len(verdicts) == 3 and {"key", "prompt", "response", "instruction_id_list", "follow_all_instructions",
                                   "follow_instruction_list", "follow_all_instructions_loose",
                                   "follow_instruction_list_loose"} <= set(verdicts[0])
    summary = json.loads((out / "ifeval_summary.json").read_text())
    assert summary["scored"] == 3 and summary["missing_responses"]["count"] == len(ifeval.load_prompts()) - 3
    assert "prompt" in capsys.readouterr().out


def test_responses_need_an_output_dir_and_the_ifeval_suite(tmp_path, capsys):
    r = tmp_path / "r.jsonl"
    r.write_text("")
    assert cli(["eval", "--responses", str(r)]) == 2
    assert cli(["eval", "--suite", "loss", "--responses", str(r), "--output", str(tmp_path)]) == 2
    err = capsys.readouterr().err
    assert "--responses needs --output" in err and "--suite ifeval" in err


def test_responses_that_match_no_prompt_are_an_error_and_write_nothing(tmp_path, capsys):
    responses = tmp_path / "responses.jsonl"
    responses.write_text(json.dumps({"prompt": "a prompt the set does not hold", "response": "yes"}) + "\n")
    out = tmp_path / "out"
    assert cli(["eval", "--suite", "ifeval", "--responses", str(responses), "--output", str(out)]) == 2
    err = capsys.readouterr().err
    assert "no response answers a prompt of the set" in err and "Traceback" not in err
    assert not (out / "ifeval_summary.json").exists()
