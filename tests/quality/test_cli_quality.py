"""`instructune quality` end to end: the decision files with reasons, and the report."""

from __future__ import annotations

import json

import pytest
from quality_records import FIXTURES

from instructune.cli import main
from instructune.data.inputs import load_inputs

RECORDS = str(FIXTURES / "records.jsonl")


def read(path):
    return [json.loads(line) for line in open(path, encoding="utf-8")]


def quiet_lm(tiny_model: str) -> list[str]:
    """The LM scorers on the tiny model, scoring without deciding: an untrained model's hunches
    would flag at random (the real default model is tested in test_lm_scorers.py, marked slow)."""
    return [f"quality.lm={tiny_model}", "quality.flag_below.ending=0", "quality.flag_below.plausibility=0"]


def test_quality_end_to_end(tmp_path, embedder, capsys, tiny_model):
    out = tmp_path / "q"
    assert main(["quality", RECORDS, "--output", str(out), *quiet_lm(tiny_model)]) == 0
    files = {name: {r["id"]: r["meta"]["quality"] for r in read(out / f"{name}.jsonl")}
             for name in ("accepted", "flagged", "deferred", "rejected")}
    assert sorted(files["accepted"]) == ["q-code", "q-summary"]
    assert sorted(files["rejected"]) == ["q-loop"]
    flagged = {rid: q["codes"] for rid, q in files["flagged"].items()}
    assert flagged == {  # only what a scorer doubts goes to review
        "q-offtopic": ["coherence:low", "alignment:low"],
        "q-words": ["format:word_limit"],
        "q-json": ["format:json"],
        "q-contra": ["contradiction:context_number"],
        "q-template": ["format:template"],
    }
    deferred = {rid: (q["decision"], q["codes"]) for rid, q in files["deferred"].items()}
    assert deferred == {  # accepted, then set aside: the easy bin held 3 of 4
        "q-math": ("defer", ["balance:easy"]),
        "q-list": ("defer", ["balance:easy"]),
    }
    assert files["deferred"]["q-math"]["failed"][0].startswith("balance: bin 'easy' held 75% of the accepted")
    loop = files["rejected"]["q-loop"]
    assert loop["decision"] == "reject" and loop["scores"]["format"] == 0.2
    assert loop["failed"] == ["format 0.20 < reject 0.25: degenerate repetition: the phrase "
                              "'the sea is blue and wide' repeats 5 times"]
    assert files["flagged"]["q-contra"]["failed"] == [
        "contradiction 0.50 < flag 1.00: response says 540 metres, the context says 450 metres"]
    assert files["flagged"]["q-words"]["reasons"]["format"] == "asks for at most 9 words; response has 21 words"
    assert files["deferred"]["q-math"]["balanced"] is True
    assert set(files["accepted"]["q-code"]["scores"]) == {
        "coherence", "alignment", "format", "reference", "contradiction", "complexity", "domain", "ending",
        "plausibility"}
    assert files["accepted"]["q-summary"]["complexity_bin"] == "medium"
    assert files["flagged"]["q-offtopic"]["scores"]["alignment"] == pytest.approx(0.267, abs=0.01)
    assert files["flagged"]["q-offtopic"]["scores"]["coherence"] == pytest.approx(0.076, abs=0.01)

    report = json.loads((out / "report.json").read_text())
    assert report["records"] == 10
    assert report["decisions"] == {"accept": 2, "flag": 5, "defer": 2, "reject": 1}
    assert report["reasons"]["reject"] == {"format:repetition": 1}
    assert report["reasons"]["defer"] == {"balance:easy": 2}
    assert "balance:easy" not in report["reasons"]["flag"] and report["reasons"]["flag"]["format:json"] == 1
    assert report["complexity_bins"] == {"all": {"easy": 9, "medium": 1, "hard": 0},
                                         "accepted_before_balance": {"easy": 3, "medium": 1, "hard": 0},
                                         "accepted_after_balance": {"easy": 1, "medium": 1, "hard": 0}}
    assert report["balance_moved"] == 2
    printed = capsys.readouterr().out
    assert ("10 records → accepted 2, flagged 5 for review, deferred 2 by balancing (deferred.jsonl), "
            "rejected 1") in printed
    # The outputs are canonical records again: they can be read back and scored once more.
    assert [r.id for r in load_inputs([str(out / "flagged.jsonl")])][:2] == ["q-offtopic", "q-words"]
    assert [r.id for r in load_inputs([str(out / "deferred.jsonl")])] == ["q-math", "q-list"]


def test_quality_overrides_pick_scorers_and_thresholds(tmp_path):
    out = tmp_path / "q"
    code = main(["quality", RECORDS, "--output", str(out), "quality.scorers=[format,contradiction]",
                 "quality.flag_below.format=0.4", "quality.balance.enabled=false"])
    assert code == 0
    ids = {name: [r["id"] for r in read(out / f"{name}.jsonl")]
           for name in ("accepted", "flagged", "deferred", "rejected")}
    assert ids == {"accepted": ["q-math", "q-summary", "q-offtopic", "q-words", "q-json", "q-list", "q-code"],
                   "flagged": ["q-contra", "q-template"], "deferred": [], "rejected": ["q-loop"]}
    report = json.loads((out / "report.json").read_text())
    assert report["embedder"] is None and report["balance_moved"] == 0
    assert report["complexity_bins"]["all"] == {"all": 10}


def test_quality_errors_exit_2(tmp_path, capsys):
    assert main(["quality", RECORDS, "--output", str(tmp_path / "a"), "quality.scorers=[bogus]"]) == 2
    assert "quality.scorers[0]: got 'bogus'" in capsys.readouterr().err
    assert main(["quality", RECORDS, "--output", str(tmp_path / "b"), "quality.balance.edges=[0.5]"]) == 2
    assert "quality.balance.edges: need 2 increasing values" in capsys.readouterr().err
    bad = tmp_path / "bad.jsonl"
    bad.write_text('{"id": "x", "instruction": "Hi", "response": "Hello"}\n{"id": "y", "instruction": ""}\n')
    assert main(["quality", str(bad), "--output", str(tmp_path / "c")]) == 2
    assert f"{bad}:2" in capsys.readouterr().err
    assert not (tmp_path / "c").exists()


def test_a_missing_lm_is_a_one_line_error_and_only_when_an_lm_scorer_runs(tmp_path, capsys):
    missing = str(tmp_path / "no" / "such-model")
    assert main(["quality", RECORDS, "--output", str(tmp_path / "a"), f"quality.lm={missing}"]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and "quality.lm" in err and not (tmp_path / "a").exists()
    # without ending and plausibility no LM is loaded, so a bad name is never looked at
    assert main(["quality", RECORDS, "--output", str(tmp_path / "b"), f"quality.lm={missing}",
                 "quality.scorers=[format,contradiction,complexity]"]) == 0


def test_quality_with_llm_judge_on_tiny_model(tmp_path, tiny_model):
    """quality.judge=true builds the synth generator (here the tiny local model) and asks it."""
    out = tmp_path / "q"
    assert main(["quality", RECORDS, "--output", str(out), "quality.scorers=[alignment]", "quality.judge=true",
                 f"synth.model={tiny_model}", "synth.backend=local"]) == 0
    rows = {r["id"]: r["meta"]["quality"] for name in ("accepted", "flagged", "rejected")
            for r in read(out / f"{name}.jsonl")}
    assert len(rows) == 10
    # The untrained tiny model answers "" (greedy, seeded): no score, no opinion, 0.5, averaged in. The
    # off-topic record scores 0.27 alone (see the end-to-end test), (0.27 + 0.5) / 2 with the judge.
    assert all(q["reasons"]["alignment"].endswith("; judge: no score in ''") for q in rows.values())
    assert rows["q-offtopic"]["scores"]["alignment"] == pytest.approx((0.267 + 0.5) / 2, abs=0.01)
    assert json.loads((out / "report.json").read_text())["judge"] is True


def test_high_stakes_domains_go_to_review_and_a_ceiling_rejects(tmp_path, embedder, capsys, tiny_model):
    """One health and one finance question that every other scorer accepts go to review;
    `quality.reject_above.complexity` rejects records above the ceiling."""
    path = tmp_path / "stakes.jsonl"
    rows = [{"instruction": "What dose of ibuprofen is safe for an adult with kidney disease?", "input": "",
             "output": "Ask your doctor: with kidney disease NSAIDs such as ibuprofen can harm the kidneys."},
            {"instruction": "Should I pay off my credit card or invest in index funds first?", "input": "",
             "output": "Pay off the high-interest credit card balance first, then invest."}]
    path.write_text("".join(json.dumps(r) + "\n" for r in rows))
    out = tmp_path / "q"
    assert main(["quality", str(path), "--output", str(out), "quality.balance.enabled=false",
                 "quality.reference=[]", *quiet_lm(tiny_model)]) == 0
    flagged = {r["instruction"][:4]: r["meta"]["quality"] for r in read(out / "flagged.jsonl")}
    assert flagged["What"]["domain"] == "health" and "domain:health" in flagged["What"]["codes"]
    assert "domain:finance" in flagged["Shou"]["codes"]
    out2 = tmp_path / "q2"
    # both are above the ceiling: a run that rejects every record is an error naming the reason
    assert main(["quality", str(path), "--output", str(out2), "quality.scorers=[format,complexity]",
                 "quality.reject_above.complexity=0.01", "quality.balance.enabled=false"]) == 2
    assert "all 2 rejected (complexity:above_0.01: 2)" in capsys.readouterr().err


def test_refine_first_keeps_the_history_and_counts_requests(tmp_path, embedder, monkeypatch):
    import sys
    from pathlib import Path

    sys.path.insert(0, str(Path(__file__).parents[1] / "synth"))
    from scripted_generator import ScriptedGenerator

    from instructune.config import load_config
    from instructune.recipes import quality
    from instructune.synth import backends
    from instructune.synth.refine_prompts import NO_ISSUES

    gen = ScriptedGenerator([("Review the response.", NO_ISSUES)])
    monkeypatch.setattr(backends, "build_generator", lambda cfg: gen)
    cfg = load_config(None, ["quality.scorers=[format]", "quality.balance.enabled=false"])
    report = quality.main(cfg, [RECORDS], tmp_path / "q", refine_first=True)
    n = len(load_inputs([RECORDS]))
    assert report["refine"]["requests"] == n  # one critique each, all "nothing to fix": no revision
    kept = read(tmp_path / "q" / "accepted.jsonl")
    assert kept and all(r["meta"]["refine"]["stopped"] == "no_issues" for r in kept)


FAST = ["quality.scorers=[format,contradiction]", "quality.balance.enabled=false"]


def test_a_rerun_on_a_quality_dir_is_refused_and_overwrite_keeps_the_review(tmp_path, capsys):
    """The run-dir rules (rundir.py): a second run into DIR replaced the files a reviewer may be
    working through, with no word; now it needs --overwrite, which keeps the review log."""
    out = tmp_path / "q"
    assert main(["quality", RECORDS, "--output", str(out), *FAST]) == 0
    before = (out / "accepted.jsonl").read_text()
    (out / "review_decisions.jsonl").write_text('{"id": "q-contra", "action": "approve", "seq": 1}\n')
    capsys.readouterr()
    assert main(["quality", RECORDS, "--output", str(out), "quality.scorers=[format]"]) == 2
    err = capsys.readouterr().err
    assert f"--output {out} already holds quality outputs" in err and "--overwrite" in err and err.count("\n") == 1
    assert (out / "accepted.jsonl").read_text() == before
    assert main(["quality", RECORDS, "--output", str(out), "quality.scorers=[format]", "--overwrite"]) == 0
    assert (out / "accepted.jsonl").read_text() != before
    assert (out / "review_decisions.jsonl").exists()  # a person's decisions are never removed


def test_a_run_that_keeps_nothing_is_an_error_that_writes_nothing(tmp_path, capsys):
    only_rejected = tmp_path / "loop.jsonl"
    only_rejected.write_text("".join(line + "\n" for line in open(RECORDS, encoding="utf-8").read().splitlines()
                                     if '"q-loop"' in line))
    out = tmp_path / "q"
    assert main(["quality", str(only_rejected), "--output", str(out), *FAST]) == 2
    err = capsys.readouterr().err
    assert "no record accepted or flagged: all 1 rejected (" in err and "Traceback" not in err
    assert not out.exists()
    empty = tmp_path / "empty.jsonl"
    empty.write_text("")
    assert main(["quality", str(empty), "--output", str(out), *FAST, "data.format=records"]) == 2
    assert "no record to score" in capsys.readouterr().err and not out.exists()
