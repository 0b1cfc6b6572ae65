"""`instructune run`: the loop as one recipe, end to end on the tiny model through the CLI: the
stage dirs and the report, the cache (a second run skips every stage; a changed stage reruns
with those after it), a killed train stage resumed with the same record counts, the review stop
and resume, synth and augment stages, and bad recipes answered in one line."""

from __future__ import annotations

import json
import shutil
import sys
from pathlib import Path

import pytest
import yaml

from instructune.cli import main as cli
from instructune.train.metrics_log import MetricsLog, read_metrics

sys.path.insert(0, str(Path(__file__).parents[1] / "synth"))

STAGES = ["ingest", "quality", "train", "eval", "report"]


def write_recipe(path: Path, model: str, stages: list[str] = STAGES, **sections) -> Path:
    """A tiny pipeline: the starter set, heuristic scorers only (no embedder), 2 train steps."""
    recipe = {
        "pipeline": {"stages": stages},
        "model": {"name": model},
        "data": {"train": ["starter:train"], "heldout": ["starter:heldout"], "max_length": 64},
        "quality": {"scorers": ["format", "contradiction", "complexity"], "reference": []},
        "train": {"max_steps": 2, "checkpoint_every": 1, "eval_every": 0, "lr": 0.005, "batch_size": 2},
        "eval": {"suites": ["loss", "generation"], "max_records": 2, "max_new_tokens": 2},
    }
    for name, values in sections.items():
        recipe.setdefault(name, {}).update(values)
    path.write_text(yaml.safe_dump(recipe))
    return path


def records(run: Path) -> dict[str, dict]:
    """Each stage's record (RUN/stages/<stage>.json)."""
    return {p.stem: json.loads(p.read_text()) for p in sorted((run / "stages").glob("*.json"))}


def ran_and_skipped(out: str) -> tuple[list[str], list[str]]:
    """Which stages a run's output says it skipped, and which it ran (every other stage)."""
    skipped = [s for s in STAGES if f"skipped {s}:" in out]
    return [s for s in STAGES if s not in skipped], skipped


@pytest.fixture(scope="module")
def first_run(tiny_model, tmp_path_factory):
    """One uninterrupted pipeline run: (recipe, run dir, its printed output)."""
    tmp = tmp_path_factory.mktemp("pipeline")
    recipe, run = write_recipe(tmp / "recipe.yaml", tiny_model), tmp / "run"
    import contextlib
    import io

    buf = io.StringIO()
    with contextlib.redirect_stdout(buf):
        assert cli(["run", "--recipe", str(recipe), "--output", str(run)]) == 0
    return recipe, run, buf.getvalue()


def copy_of(run: Path, tmp_path: Path) -> Path:
    """The first run's dir copied, so each test changes its own (stage keys name input files
    relative to the run dir, so a copy is as cached as the original)."""
    return Path(shutil.copytree(run, tmp_path / "run", symlinks=True))


def test_the_pipeline_writes_every_stage_and_the_lineage_report(first_run):
    _, run, out = first_run
    for name in ("data/train.jsonl", "data/heldout.jsonl", "quality/accepted.jsonl", "quality/report.json",
                 "train/export/config.json", "train/train_summary.json", "eval/eval.json", "report.html"):
        assert (run / name).exists(), name
    recs = records(run)
    assert list(recs) == sorted(STAGES) and all(r["state"] == "done" for r in recs.values())
    quality = json.loads((run / "quality" / "report.json").read_text())
    # records flow: ingest's out is quality's in, quality's accepted are what train reads
    assert recs["ingest"]["counts"]["out"] == recs["quality"]["counts"]["in"] == 180
    assert recs["quality"]["counts"]["out"] == quality["decisions"]["accept"] == recs["train"]["counts"]["in"]
    assert recs["quality"]["counts"]["reasons"] == {f"deferred: {c}": n for c, n in quality["reasons"]["defer"].items()} \
        | {f"flagged for review: {c}": n for c, n in quality["reasons"]["flag"].items()}
    page = (run / "report.html").read_text()
    assert "Lineage: records through the pipeline" in page and "deferred: balance:easy" in page
    assert "Evaluation: tuned" in page and "Loss curves" in page
    assert ran_and_skipped(out) == (STAGES, [])


def test_a_second_run_skips_every_stage(first_run, tmp_path, capsys):
    recipe, run, _ = first_run
    run = copy_of(run, tmp_path)
    summary = (run / "train" / "train_summary.json").read_text()
    assert cli(["run", "--recipe", str(recipe), "--output", str(run)]) == 0
    out = capsys.readouterr().out
    assert ran_and_skipped(out) == ([], STAGES)
    assert "settings and inputs unchanged" in out
    assert (run / "train" / "train_summary.json").read_text() == summary  # not retrained
    (run / "report.html").unlink()  # an output removed since: its stage reruns, though nothing changed
    assert cli(["run", "--recipe", str(recipe), "--output", str(run)]) == 0
    assert ran_and_skipped(capsys.readouterr().out) == (["report"], STAGES[:-1])
    assert (run / "report.html").exists()


@pytest.mark.parametrize("override, reruns", [
    ("eval.max_new_tokens=3", ["eval", "report"]),
    ("quality.balance.enabled=false", ["quality", "train", "eval", "report"]),
])
def test_a_changed_stage_reruns_with_the_stages_after_it(first_run, tmp_path, capsys, override, reruns):
    recipe, run, _ = first_run
    run = copy_of(run, tmp_path)
    before = records(run)
    assert cli(["run", "--recipe", str(recipe), "--output", str(run), override]) == 0
    ran, _ = ran_and_skipped(capsys.readouterr().out)
    assert ran == reruns
    after = records(run)
    assert [s for s in STAGES if after[s]["key"] != before[s]["key"]] == reruns
    if "quality" in reruns:  # nothing deferred now: every record quality kept reaches training
        deferred = before["quality"]["counts"]["reasons"]["deferred: balance:easy"]
        assert after["quality"]["counts"]["out"] == before["quality"]["counts"]["out"] + deferred
        assert after["train"]["counts"]["in"] == after["quality"]["counts"]["out"]


def test_a_killed_train_stage_resumes_to_the_same_counts(first_run, tiny_model, tmp_path, monkeypatch, capsys):
    _, first, _ = first_run
    recipe, run = write_recipe(tmp_path / "recipe.yaml", tiny_model), tmp_path / "run"
    original = MetricsLog.write

    def killed(self, row):  # killed while logging step 2, after step 1's checkpoint
        if row["step"] == 2:
            raise KeyboardInterrupt
        original(self, row)

    monkeypatch.setattr(MetricsLog, "write", killed)
    assert cli(["run", "--recipe", str(recipe), "--output", str(run)]) == 130
    assert f"continue with: instructune run --resume --recipe {recipe} --output {run}" in capsys.readouterr().err
    assert records(run)["train"]["state"] == "running" and "eval" not in records(run)
    monkeypatch.undo()
    # a plain rerun would start the killed stage over: refused, naming the two ways on
    assert cli(["run", "--recipe", str(recipe), "--output", str(run)]) == 2
    err = capsys.readouterr().err
    assert "stopped in its train stage" in err and "--resume" in err and "--overwrite" in err
    assert cli(["run", "--recipe", str(recipe), "--output", str(run), "--resume"]) == 0
    out = capsys.readouterr().out
    assert "continuing the killed training run" in out and ran_and_skipped(out) == (STAGES[2:], STAGES[:2])
    assert [r["step"] for r in read_metrics(run / "train" / "metrics.jsonl")] == [1, 2]
    resumed, whole = records(run), records(first)
    assert {s: resumed[s]["counts"] for s in ("ingest", "quality", "train")} == \
        {s: whole[s]["counts"] for s in ("ingest", "quality", "train")}
    assert resumed["train"]["key"] == whole["train"]["key"]  # same inputs, same settings


def test_the_review_stage_stops_and_resume_trains_on_the_decisions(tiny_model, tmp_path, capsys):
    from instructune.quality.review_store import ReviewStore

    stages = ["ingest", "quality", "review", "train", "eval", "report"]
    recipe, run = write_recipe(tmp_path / "recipe.yaml", tiny_model, stages), tmp_path / "run"
    assert cli(["run", "--recipe", str(recipe), "--output", str(run)]) == 3
    out = capsys.readouterr().out
    flagged = [json.loads(x) for x in (run / "quality" / "flagged.jsonl").read_text().splitlines()]
    assert flagged and f"{len(flagged)} of {len(flagged)} flagged records wait" in out
    assert f"instructune review {run / 'quality'}" in out and "instructune run --resume" in out
    assert records(run)["review"]["state"] == "waiting" and not (run / "train").exists()
    ReviewStore(run / "quality").decide({"id": flagged[0]["id"], "action": "approve"})  # what the page does
    assert cli(["run", "--recipe", str(recipe), "--output", str(run), "--resume"]) == 0
    recs = records(run)
    assert recs["review"]["counts"]["out"] == 1 and recs["review"]["state"] == "done"
    assert recs["train"]["counts"]["in"] == recs["quality"]["counts"]["out"] + 1
    pending = len(flagged) - 1
    assert recs["review"]["counts"]["reasons"] == ({"left pending at --resume": pending} if pending else {})
    # what --overwrite removes: every stage's outputs, but not the person's decisions
    from instructune import rundir

    rundir.clear(run, "run")
    assert sorted(p.name for p in run.rglob("*")) == ["quality", "review_decisions.jsonl", "reviewed_accepted.jsonl"]


def test_synth_and_augment_stages_grow_the_pool_before_quality(tiny_model, tmp_path, monkeypatch):
    from test_self_instruct import SEEDS, bank_generator, write_seeds

    from instructune.recipes import synth

    monkeypatch.setattr(synth, "build_generator", lambda cfg: bank_generator())  # a scripted generator model
    stages = ["ingest", "synth", "augment", "quality", "train", "eval", "report"]
    recipe = write_recipe(tmp_path / "recipe.yaml", tiny_model, stages, data={"train": [write_seeds(tmp_path)]},
                          self_instruct={"rounds": 1, "prompts_per_round": 2, "tasks_per_prompt": 4,
                                         "human_per_prompt": 2})
    run = tmp_path / "run"
    assert cli(["run", "--recipe", str(recipe), "--output", str(run)]) == 0
    recs = {s: r["counts"] for s, r in records(run).items()}
    made = (run / "synth" / "records.jsonl").read_text().splitlines()
    augmented = (run / "augment" / "augmented.jsonl").read_text().splitlines()
    seeds = sum(len(s["instances"]) for s in SEEDS)
    assert made and augmented and recs["ingest"]["out"] == seeds
    assert recs["synth"]["in"] == seeds and recs["synth"]["out"] == seeds + len(made)
    # augmented copies join the originals (keep_original), and quality scores them all
    assert recs["augment"]["in"] == seeds + len(made)
    assert recs["augment"]["out"] == recs["quality"]["in"] == seeds + len(made) + len(augmented)


@pytest.mark.parametrize("override, words", [
    ("pipeline.stages=[ingest,qualty,train,eval,report]",
     "pipeline.stages[1]: unknown stage 'qualty'; allowed, in this order: ingest, synth, augment, quality"),
    ("pipeline.stages=[ingest,train,quality,eval,report]", "pipeline.stages[2]: 'quality' comes after 'train'"),
    ("pipeline.stages=[ingest,quality,eval,report]", "pipeline.stages: missing 'train'"),
    ("pipeline.stages=[]", "pipeline.stages: the recipe lists no stages; list them in order, from: ingest,"),
    ("data.train=[]", "data.train: empty"),
    ("data.train=[no/such.jsonl]", "no/such.jsonl"),
])
def test_a_bad_recipe_is_one_line_naming_the_key(tiny_model, tmp_path, capsys, override, words):
    recipe = write_recipe(tmp_path / "recipe.yaml", tiny_model)
    assert cli(["run", "--recipe", str(recipe), "--output", str(tmp_path / "run"), override]) == 2
    err = capsys.readouterr().err
    assert words in err and "Traceback" not in err and len(err.strip().splitlines()) == 1
    assert not (tmp_path / "run").exists()
