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


def _responses(tmp_path, n: int):
    rows = [{"prompt": p.prompt, "response": "a plain answer"} for p in ifeval.load_prompts()[:n]]
    path = tmp_path / f"responses{n}.jsonl"
    path.write_text("".join(json.dumps(r) + "\n" for r in rows))
    return path


def test_a_dir_holding_eval_outputs_needs_overwrite_which_keeps_the_model(tmp_path, capsys):
    """The run-dir rules (rundir.py) for eval: a second eval into a dir replaced its results with
    no word; --overwrite replaces only eval's outputs (and the report made from them), never the
    trained model or the training files eval writes beside."""
    run = tmp_path / "run"
    (run / "export").mkdir(parents=True)
    (run / "export" / "config.json").write_text("{}")
    (run / "metrics.jsonl").write_text('{"step": 1}\n')
    (run / "eval.json").write_text("{}")  # an earlier full eval of this run
    (run / "report.html").write_text("<html></html>")
    args = ["eval", "--suite", "ifeval", "--output", str(run)]
    assert cli([*args, "--responses", str(_responses(tmp_path, 3))]) == 2
    err = capsys.readouterr().err
    assert f"{run} already holds eval outputs (eval.json)" in err and "--overwrite" in err
    assert err.count("\n") == 1 and not (run / "ifeval_verdicts.jsonl").exists()
    assert cli([*args, "--responses", str(_responses(tmp_path, 3)), "--overwrite"]) == 0
    assert not (run / "eval.json").exists() and not (run / "report.html").exists()  # stale: removed
    assert (run / "export" / "config.json").exists() and (run / "metrics.jsonl").exists()
    assert json.loads((run / "ifeval_summary.json").read_text())["scored"] == 3
    # a rerun that fails (no response matches) keeps what the last one wrote
    bad = tmp_path / "bad.jsonl"
    bad.write_text(json.dumps({"prompt": "not in the set", "response": "yes"}) + "\n")
    assert cli([*args, "--responses", str(bad), "--overwrite"]) == 2
    assert json.loads((run / "ifeval_summary.json").read_text())["scored"] == 3


def test_eval_refuses_a_dir_with_results_before_loading_a_model(tmp_path):
    import pytest

    from instructune.config import ConfigError, load_config
    from instructune.recipes import evaluate

    run = tmp_path / "run"
    run.mkdir()
    (run / "eval_generations.jsonl").write_text("{}\n")
    with pytest.raises(ConfigError, match="already holds eval outputs"):
        evaluate.main(load_config(None, ["model.name=/nonexistent/never-loaded"]), tuned=str(run))
