"""`instructune ablate`: arms × seeds on the tiny model, resumable, summarised with intervals."""

from __future__ import annotations

import json

import pytest
from tiny import FAST_EVAL

from instructune.cli import main as cli


def ablate(tiny_model, out, *extra, r8="lora.r=8", steps=2):
    return cli(["ablate", f"model.name={tiny_model}", f"train.max_steps={steps}", "train.batch_size=4",
                "eval.suites=[loss,forgetting]", "eval.max_records=3", *FAST_EVAL, "--seeds", "2",
                "--output", str(out), "--arm", "r4", "lora.r=4", "--arm", "r8", r8, *extra])


def test_two_arms_two_seeds_then_a_rerun_skips_finished_cells(tiny_model, tmp_path, capsys):
    out = tmp_path / "abl"
    assert ablate(tiny_model, out) == 0
    summary = json.loads((out / "ablation.json").read_text())
    assert summary["baseline"] == "r4" and list(summary["arms"]) == ["r4", "r8"]
    r8 = summary["arms"]["r8"]
    assert r8["seeds"] == [0, 1] and r8["metrics"]["heldout.response_loss"]["n"] == 2
    # rank 8 adapters have twice the trainable parameters of rank 4, at every seed
    assert r8["metrics"]["params.trainable"]["mean"] == 2 * summary["arms"]["r4"]["metrics"]["params.trainable"]["mean"]
    d = r8["vs_baseline"]["params.trainable"]  # the same at every seed: exact; a zero-width interval tests nothing
    assert d["lo"] == d["hi"] == d["diff"] > 0 and d["significant"] is False and d["method"] == "t over seeds"
    # evaluated figures are resampled over seeds and items (eval_items.json of every cell and the base)
    assert (out / "base" / "eval_items.json").exists()
    assert all((c / "eval_items.json").exists() for c in out.glob("cells/*/seed-*"))
    for metric, n_items in (("heldout.response_loss", 3), ("forgetting.relative_change", 1)):  # records, documents
        d = r8["vs_baseline"][metric]
        assert d["method"] == "bootstrap over seeds x items" and d["n"] == 2 and d["n_items"] == n_items
        means = [summary["arms"][a]["metrics"][metric]["mean"] for a in ("r8", "r4")]
        assert d["diff"] == pytest.approx(means[0] - means[1])
        assert d["lo"] < d["hi"] and "holm" in d and d["mde"] > 0 and 0 < d["p"] <= 1
    assert summary["holm"]["family"] == ["r8: forgetting.relative_change", "r8: heldout.response_loss"]
    assert "forgetting.relative_change" in r8["metrics"] and "time.step_s" in r8["metrics"]
    page = (out / "report.html").read_text()
    assert "What each arm bought" in page and "r8 − r4" in page and "Holm p" in page
    # seeds differ, arms differ: four distinct cells with their own adapters
    cells = sorted(out.glob("cells/*/seed-*/cell.json"))
    assert len(cells) == 4
    # finished cells keep their model, not their checkpoints (a cell is never resumed)
    assert all((c.parent / "adapter").is_dir() and not (c.parent / "checkpoints").exists() for c in cells)
    capsys.readouterr()

    # a cell made before eval kept per-item scores: its figures fall back to the t interval over seeds
    (cells[0].parent / "eval_items.json").rename(cells[0].parent / "eval_items.json.bak")
    assert ablate(tiny_model, out, "--summary-only") == 0
    old = json.loads((out / "ablation.json").read_text())["arms"]["r8"]["vs_baseline"]["heldout.response_loss"]
    assert old["method"] == "t over seeds" and "seed_t" not in old
    (cells[0].parent / "eval_items.json.bak").rename(cells[0].parent / "eval_items.json")
    capsys.readouterr()

    (cells[0]).unlink()  # a killed cell: no marker → redone; the others are skipped
    # --summary-only trains nothing: the unfinished cell is left out of the summary
    assert ablate(tiny_model, out, "--summary-only") == 0
    assert "not finished, left out" in capsys.readouterr().out and not (cells[0]).exists()
    partial = json.loads((out / "ablation.json").read_text())
    assert sorted(len(a["seeds"]) for a in partial["arms"].values()) == [1, 2]
    assert ablate(tiny_model, out) == 2  # the dir holds an ablation: --resume or --overwrite
    assert "--resume" in capsys.readouterr().err
    assert ablate(tiny_model, out, "--resume") == 0
    printed = capsys.readouterr().out
    assert printed.count("done earlier, skipped") == 3 and (cells[0]).exists()
    assert json.loads((out / "ablation.json").read_text())["arms"]["r8"]["seeds"] == [0, 1]


def test_a_rerun_with_changed_settings_never_reports_the_old_metrics(tiny_model, tmp_path, capsys):
    out = tmp_path / "abl"
    assert ablate(tiny_model, out) == 0
    before = json.loads((out / "ablation.json").read_text())
    marker = json.loads((out / "cells/r8/seed-0/cell.json").read_text())
    assert marker["config"]["lora.r"] == 8 and "output_dir" not in marker["config"]
    capsys.readouterr()
    # an arm's settings changed: refused before anything trains, naming the arm and the key
    assert ablate(tiny_model, out, "--resume", r8="lora.r=16") == 2
    err = capsys.readouterr().err
    assert "r8 seed 0: lora.r (saved 8, now 16)" in err and "--overwrite" in err
    assert json.loads((out / "ablation.json").read_text()) == before  # nothing rewritten
    # a shared override changed: every cell and the base evaluation are stale
    assert ablate(tiny_model, out, "--resume", steps=3) == 2
    err = capsys.readouterr().err
    assert "train.max_steps (saved 2, now 3)" in err and "r4 seed 0" in err
    # --summary-only leaves the stale cells out rather than reporting them under the new settings
    assert ablate(tiny_model, out, "--summary-only", r8="lora.r=16") == 0
    assert capsys.readouterr().out.count("made with other settings, left out") == 2
    assert list(json.loads((out / "ablation.json").read_text())["arms"]) == ["r4"]
    # what a cell never reads is not its key: the grid's shape, the sections only other commands
    # read (quality, growth, serving) and the settings of a switched-off add-on, also in markers
    # that still record them or lack a setting added since
    assert "ablation.seeds" not in marker["config"] and not any(k.startswith("quality.") for k in marker["config"])
    assert marker["config"]["addons.two_stream.enabled"] is False and "addons.two_stream.gate" not in marker["config"]
    old_marker = {**marker, "config": {**marker["config"], "ablation.seeds": 7, "quality.lm": "another-lm",
                                       "addons.two_stream.gate": "an-earlier-form"}}
    (out / "cells/r8/seed-0/cell.json").write_text(json.dumps(old_marker))
    assert ablate(tiny_model, out, "--summary-only", "ablation.first_seed=0", "quality.lm_batch_size=3",
                  "serve.port=9") == 0
    assert capsys.readouterr().out.count("done earlier, skipped") == 4
    # switched on, the add-on's settings are keyed again
    assert ablate(tiny_model, out, "--resume", "addons.two_stream.enabled=true", "addons.two_stream.gate=static") == 2
    err = capsys.readouterr().err
    assert "addons.two_stream.enabled (saved False, now True)" in err and "addons.two_stream.gate" in err
    # --overwrite starts over: r8's metrics now come from rank 16
    assert ablate(tiny_model, out, "--overwrite", r8="lora.r=16") == 0
    after = json.loads((out / "ablation.json").read_text())
    assert after["arms"]["r8"]["metrics"]["params.trainable"]["mean"] == \
        4 * after["arms"]["r4"]["metrics"]["params.trainable"]["mean"]


def test_an_arm_with_a_bad_override_fails_before_anything_trains(tiny_model, tmp_path, capsys):
    out = tmp_path / "bad"
    assert cli(["ablate", f"model.name={tiny_model}", "--output", str(out), "--arm", "a", "lora.r=4",
                "--arm", "b", "lora.r=0"]) == 2
    assert "lora.r: got 0" in capsys.readouterr().err and not (out / "cells").exists()


def test_a_marker_from_before_an_add_on_setting_existed_reads_as_the_earlier_form():
    """A cell made before `segment_embedding.scope` existed ran the vectors on every token: it
    matches `scope=all` and is stale against today's default, as its saved run reloads."""
    from instructune.config import load_config
    from instructune.recipes.ablate import cell_key, changed_keys

    def key(*extra):
        return cell_key(load_config(None, ["addons.segment_embedding.enabled=true", *extra]))

    old = {"config": {k: v for k, v in key().items() if k != "addons.segment_embedding.scope"}}
    assert changed_keys(old, key("addons.segment_embedding.scope=all")) == []
    assert changed_keys(old, key()) == ["addons.segment_embedding.scope (saved 'all', now 'instructed')"]
