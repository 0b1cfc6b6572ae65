"""The run dir's layout (`rundir.py`): what `train --overwrite` removes is derived from it, so
a replaced run leaves nothing behind that a later command would read as its own."""

from __future__ import annotations

from instructune.cli import main as cli
from instructune.generation.load import load_for_inference


def test_overwriting_an_addon_run_with_a_plain_one_leaves_no_addons(tiny_model, tmp_path):
    """The old `RUN_OUTPUTS` missed `addons/`: eval, generate, chat and serve then attached the
    replaced run's add-on weights to the new plain model, silently."""
    run = tmp_path / "run"
    common = [f"model.name={tiny_model}", f"output_dir={run}", "train.max_steps=1", "data.max_length=128",
              "train.eval_every=0"]
    assert cli(["train", *common, "addons.segment_embedding.enabled=true"]) == 0
    assert (run / "addons").is_dir()
    (run / "ifeval_verdicts.jsonl").write_text("{}\n")  # what an eval of the old run left
    (run / "ifeval_verdicts_base.jsonl").write_text("{}\n")
    (run / "report.html").write_text("<html></html>")
    (run / "notes.txt").write_text("mine")  # not a run's file: kept
    assert cli(["train", *common, "--overwrite"]) == 0
    model, _ = load_for_inference(str(run))
    assert list(model.addons) == []
    assert not (run / "addons").exists()
    assert not any((run / n).exists() for n in ("ifeval_verdicts.jsonl", "ifeval_verdicts_base.jsonl", "report.html"))
    assert (run / "notes.txt").read_text() == "mine"


def test_each_verb_clears_only_its_own_outputs_and_those_made_from_them(tmp_path):
    """`clear(root, verb)`: eval --overwrite never removes the trained model; train --overwrite
    removes eval's results and the report (made from the replaced model), not a synth run's
    or a quality run's files, nor a person's review decisions."""
    from instructune import rundir

    for name in ("config.yaml", "metrics.jsonl", "export/config.json", "eval.json", "ifeval_verdicts_base.jsonl",
                 "report.html", "records.jsonl", "accepted.jsonl", "review_decisions.jsonl", "notes.txt"):
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / name).write_text("x")
    assert rundir.held(tmp_path, "eval") == ["eval.json", "ifeval_verdicts_base.jsonl"]
    assert rundir.clear(tmp_path, "eval") == ["eval.json", "ifeval_verdicts_base.jsonl", "report.html"]
    assert (tmp_path / "export" / "config.json").exists() and (tmp_path / "metrics.jsonl").exists()
    assert rundir.clear(tmp_path, "train") == ["config.yaml", "metrics.jsonl", "export"]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["accepted.jsonl", "notes.txt", "records.jsonl",
                                                          "review_decisions.jsonl"]
    assert rundir.clear(tmp_path, "quality") == ["accepted.jsonl"]
    assert rundir.held(tmp_path, "quickstart") == [] and rundir.held(tmp_path, "synth") == ["records.jsonl"]
