"""`instructune report` and the ablation page: self-contained HTML, checked as text and in a
real headless Chromium (tests/browser.py)."""

from __future__ import annotations

import json
import re

import pytest
from browser import chrome, require_browser
from tiny import FAST_EVAL

from instructune import rundir
from instructune.cli import main as cli


@pytest.fixture(scope="module")
def run_dir(tiny_model, tmp_path_factory):
    """A trained and evaluated tiny run: metrics.jsonl, eval.json, generations, verdicts."""
    run = tmp_path_factory.mktemp("report") / "run"
    assert cli(["train", f"model.name={tiny_model}", f"output_dir={run}", "train.max_steps=3",
                "train.eval_every=1", "eval.sets.extra=[starter:heldout]", "eval.max_records=3"]) == 0
    assert cli(["eval", "--tuned", str(run), "eval.max_records=3", "eval.max_new_tokens=4", *FAST_EVAL]) == 0
    return run


def test_eval_uses_the_runs_saved_config_and_writes_into_the_run(run_dir):
    ev = json.loads((run_dir / "eval.json").read_text())
    assert set(ev["tuned"]["sets"]) == {"heldout", "extra"}  # eval.sets came from the run's config.yaml
    assert ev["meta"]["sets"] == {"heldout": 3, "extra": 3}
    assert {"sets.heldout.response_loss", "ifeval.prompt_level_loose", "forgetting.relative_change"} <= set(ev["comparison"])
    assert (run_dir / "ifeval_verdicts.jsonl").exists() and (run_dir / "ifeval_verdicts_base.jsonl").exists()
    # The forgetting budget (256 tokens) scores the corpus's leading documents only: eval.json
    # says how many were scored, not how many the corpus holds.
    scored = ev["meta"]["forgetting_documents"]
    assert scored == ev["tuned"]["forgetting"]["documents"] == ev["base"]["forgetting"]["documents"]
    assert 0 < scored < ev["meta"]["forgetting_corpus_documents"]
    metrics = [json.loads(x) for x in (run_dir / "metrics.jsonl").read_text().splitlines()]
    assert all("eval_loss" in m and "eval_loss/extra" in m for m in metrics)
    # Every entry train and eval wrote is in the run dir layout, so `train --overwrite` removes it.
    assert sorted(p.name for p in run_dir.iterdir()) == sorted(p.name for p in rundir.entries(run_dir))


def test_report_is_one_file_that_fetches_nothing(run_dir, tmp_path):
    out = tmp_path / "r.html"
    assert cli(["report", str(run_dir), str(run_dir), "--output", str(out)]) == 0
    page = out.read_text()
    assert page.count("<svg") >= 3 and "<table" in page
    assert not re.search(r'(src|href)\s*=\s*"(https?:)?//', page)  # no network fetch of any kind
    assert "Runs compared" in page and "Verifiable instructions per type" in page


def test_report_renders_in_chromium(run_dir, tmp_path):
    require_browser()
    from selenium.webdriver.common.by import By

    out = tmp_path / "report.html"
    assert cli(["report", str(run_dir), "--output", str(out)]) == 0
    driver = chrome(tmp_path / "profile")
    try:
        driver.get(out.as_uri())
        tables = driver.find_elements(By.TAG_NAME, "table")
        svgs = driver.find_elements(By.TAG_NAME, "svg")
        assert len(tables) >= 3 and len(svgs) >= 3
        assert all(s.size["width"] > 100 and s.size["height"] > 100 for s in svgs)
        body = driver.find_element(By.TAG_NAME, "body").text
        assert "heldout: response_loss" in body and "IFEval prompt level strict" in body
        driver.save_screenshot(str(tmp_path / "report.png"))
    finally:
        driver.quit()


def test_report_refuses_a_dir_that_holds_no_run(tmp_path, capsys):
    """A typo'd or empty run dir was an empty page with exit 0; now a config error naming it."""
    empty = tmp_path / "not_a_run"
    empty.mkdir()
    assert cli(["report", str(empty)]) == 2
    err = capsys.readouterr().err
    assert "holds no run" in err and str(empty) in err and "Traceback" not in err
    assert not (empty / "report.html").exists()
