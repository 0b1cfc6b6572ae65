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
