"""Every figure the README publishes traces to a committed file.

- every `bench/results/...` path and `docs/*.svg` the README cites exists;
- every table `bench/readme_tables.py` prints (the ablation tables and the quickstart table) is in
  the README cell for cell, under a caption that names the files it comes from and the command;
- figures still waiting for their file (the CPU step times) say so in their caption.

Fast: reads JSON and the README, loads no model.
"""

from __future__ import annotations

import importlib.util
import re
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
README = ROOT / "README.md"
CITED = re.compile(r"bench/results/[A-Za-z0-9_.*/\-]*|docs/[A-Za-z0-9_./\-]+\.svg")


def _formatter():
    spec = importlib.util.spec_from_file_location("readme_tables", ROOT / "bench" / "readme_tables.py")
    mod = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = mod  # its dataclasses look their module up
    spec.loader.exec_module(mod)
    return mod


tables = _formatter()


def cited_paths(text: str) -> list[str]:
    """The bench/results paths (globs included) and docs/*.svg files a text names."""
    return sorted({m.group(0).rstrip(".,") for m in CITED.finditer(text)})


def missing(text: str, root: Path = ROOT) -> list[str]:
    """Cited paths with nothing behind them (a glob must match at least one file)."""
    out = []
    for path in cited_paths(text):
        found = list(root.glob(path)) if "*" in path else [root / path] if (root / path).exists() else []
        if not found:
            out.append(path)
    return out


def block_after(lines: list[str], marker: str) -> tuple[list[str], list[str]]:
    """(the paragraph before the marker line, the marker and the table lines after it)."""
    hits = [i for i, line in enumerate(lines) if line.strip() == marker]
    assert len(hits) == 1, f"README holds {marker!r} {len(hits)} times (want once)"
    i = hits[0]
    j = i + 1
    while j < len(lines) and lines[j].startswith("|"):
        j += 1
    k = i - 1
    while k >= 0 and lines[k].strip() == "":  # the blank line between caption and table
        k -= 1
    start = k
    while start > 0 and lines[start - 1].strip() != "":
        start -= 1
    return lines[start:k + 1], lines[i:j]


def test_the_readme_cites_results():
    cited = cited_paths(README.read_text(encoding="utf-8"))
    assert any(p.startswith("bench/results/ablations/") for p in cited)
    assert any(p.startswith("docs/") for p in cited)


def test_every_cited_file_exists():
    gaps = missing(README.read_text(encoding="utf-8"))
    # The one path allowed to be missing: the file the pending CPU figures wait for, while the
    # formatter still shows them as pending (and the caption says so: see the table test).
    waiting = f"bench/results/{tables.CPU_FILE}"
    if tables.throughput(tables.RESULTS)[2]:
        gaps = [g for g in gaps if g != waiting]
    assert gaps == []


def test_a_missing_file_is_reported(tmp_path):
    (tmp_path / "bench" / "results").mkdir(parents=True)
    (tmp_path / "bench" / "results" / "a_run1.json").write_text("{}")
    text = ("figures in `bench/results/a_run1.json`, `bench/results/a_run*.json` and "
            "bench/results/gone.json; plot docs/gone.svg.")
    assert missing(text, tmp_path) == ["bench/results/gone.json", "docs/gone.svg"]


def test_every_ablation_summary_is_cited():
    text = README.read_text(encoding="utf-8")
    for path in sorted((ROOT / "bench" / "results" / "ablations").glob("*.json")):
        assert f"bench/results/ablations/{path.name}" in text, f"{path.name} is committed but not cited"


@pytest.mark.parametrize("name", tables.TABLE_NAMES)
def test_a_readme_table_is_what_the_formatter_prints(name):
    lines = README.read_text(encoding="utf-8").splitlines()
    want, sources, pending = tables.table(name)
    caption, got = block_after(lines, want[0])
    assert got[:2] == want[:2], f"{name}: the header differs"
    assert len(got) == len(want), f"{name}: README has {len(got) - 3} rows, the JSON gives {len(want) - 3}"
    for g, w in zip(got, want):
        assert g == w, f"{name}: README row\n  {g}\nthe JSON gives\n  {w}"
    text = " ".join(caption)
    assert f"python bench/readme_tables.py --table {name}" in text, f"{name}: the caption names no command"
    for source in sources:
        assert f"bench/results/{source}" in text, f"{name}: the caption does not name {source}"
    if pending:
        assert tables.PENDING_NOTE in text, f"{name}: figures without a file, and the caption does not say so"


@pytest.mark.parametrize("name", list(tables.TABLES))
def test_a_table_caption_names_the_kind_of_interval_its_cells_hold(name):
    lines = README.read_text(encoding="utf-8").splitlines()
    caption, _ = block_after(lines, f"<!-- readme_tables: {name} -->")
    text = " ".join(caption)
    for kind in tables.interval_methods(tables.TABLES[name]):
        assert tables.METHOD_WORDS[kind] in text, f"{name}: {kind} intervals, and the caption does not say so"


def test_a_file_without_a_method_holds_t_intervals_over_seeds():
    # the committed ablation files predate per-item scores: read as they were written
    assert tables.method({"diff": 0.1, "lo": 0.0, "hi": 0.2}) == tables.SEED_T
    assert tables.method({"method": "bootstrap over seeds x items"}) == "bootstrap over seeds x items"


@pytest.mark.parametrize("name", list(tables.TEXTS))
def test_a_prose_figure_is_what_its_file_gives(name):
    text = README.read_text(encoding="utf-8")
    flat = " ".join(text.split())  # the README wraps its prose
    want = tables.text(name)
    assert want in flat, f"{name}: the README does not hold {want!r} (from {tables.TEXTS[name][0]})"
    i = flat.index(want)
    near = flat[max(0, i - 300):i + len(want) + 300]
    assert f"bench/results/{tables.TEXTS[name][0]}" in near, f"{name}: the file is not named next to the figure"


def test_a_one_seed_ablation_without_ifeval_gets_its_own_cells(tmp_path):
    """An arm from an ablation of fewer seeds and no IF suite: "(1 seed)" differences, "–" for
    the suite it did not run; its baseline must agree with the main file on the shared seed."""
    import json

    def metric(values):
        return {"mean": sum(values.values()) / len(values), "lo": 0.0, "hi": 0.0, "values": values}

    def summary(seeds, arm_metrics, diffs):
        base = {LOSS: metric({s: 1.0 + int(s) for s in seeds}), tables.PPL: metric({s: -0.05 for s in seeds}),
                tables.ADDED: metric({s: 10.0 for s in seeds})}
        return {"baseline": "lora", "arms_overrides": {"lora": [], "new": []},
                "arms": {"lora": {"metrics": {**base, **arm_metrics}}, "new": {"metrics": {}, "vs_baseline": diffs}}}

    LOSS = tables.LOSS
    one = {"diff": -0.5, "lo": -0.5, "hi": -0.5, "n": 1, "significant": False}
    (tmp_path / "ablations").mkdir()
    full_if = {tables.IF_PROMPT: metric({"0": 0.1, "1": 0.2}), tables.IF_INSTR: metric({"0": 0.3, "1": 0.4})}
    two = {"diff": 0.1, "lo": -0.1, "hi": 0.3, "n": 2, "significant": False}
    (tmp_path / "ablations" / "a.json").write_text(json.dumps(summary(
        ["0", "1"], full_if, {m: two for m in (LOSS, tables.IF_PROMPT, tables.IF_INSTR, tables.PPL, tables.ADDED)})))
    diffs = {LOSS: one, tables.PPL: one, tables.ADDED: one}
    (tmp_path / "ablations" / "b.json").write_text(json.dumps(summary(["0"], {}, diffs)))
    table = tables.Table("t", ("arm", "loss", "p", "i", "ppl", "added", "cpu", "gpu"), "base",
                         (tables.Row("+ old", "a.json", "new", settings=False),
                          tables.Row("+ new", "b.json", "new", settings=False)), "full")
    lines, _ = tables.build(table, tmp_path)
    assert lines[-1].startswith("| + new | −0.5000 (1 seed) | – | – | −50.0 pt (1 seed) |")
    raw = json.loads((tmp_path / "ablations" / "b.json").read_text())
    raw["arms"]["lora"]["metrics"][LOSS]["values"]["0"] = 9.0  # another baseline cell at seed 0
    (tmp_path / "ablations" / "b.json").write_text(json.dumps(raw))
    with pytest.raises(SystemExit, match="different baseline cells"):
        tables.build(table, tmp_path)
