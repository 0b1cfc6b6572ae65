"""Per-source entries of data.train / data.heldout: column mapping, caps, weighted mixtures
(deterministic under the seed, capped inputs streamed), prepare and train on a mixture end to
end, and the config that types and checks them."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections import Counter

import pytest

from instructune.cli import main as cli
from instructune.config import ConfigError, SourceConfig, load_config
from instructune.data.errors import DataError
from instructune.data.inputs import load_inputs, load_mixture
from instructune.data.mixture import format_mixture, largest_remainder
from instructune.data.splits import load_prepared


def _jsonl(path, rows):
    path.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    return str(path)


@pytest.fixture
def files(tmp_path):
    quiz = _jsonl(tmp_path / "quiz.jsonl", [{"q": f"Question {i}?", "a": i, "passage": f"p{i}", "kind": "qa"}
                                            for i in range(10)])
    small = _jsonl(tmp_path / "small.jsonl", [{"instruction": f"Do {i}.", "output": f"done {i}"} for i in range(4)])
    return quiz, small


def test_column_mapping_reads_any_schema(files):
    quiz, _ = files
    src = SourceConfig(quiz, columns={"instruction": "q", "response": "a", "context": "passage", "task": "kind"})
    recs = load_inputs([src])
    assert [(r.instruction, r.response, r.context, r.task) for r in recs[:2]] == [
        ("Question 0?", "0", "p0", "qa"), ("Question 1?", "1", "p1", "qa")]
    assert recs[0].source["format"] == "columns"


def test_a_mapped_column_that_is_missing_names_file_line_and_column(tmp_path):
    path = _jsonl(tmp_path / "x.jsonl", [{"q": "a?", "a": "b"}, {"q": "c?"}])
    with pytest.raises(DataError) as e:
        load_inputs([SourceConfig(path, columns={"instruction": "q", "response": "a"})])
    assert (e.value.path, e.value.line, e.value.field) == (path, 2, "a")
    assert e.value.message == "missing (mapped to response)"


def test_caps_draw_the_same_records_for_the_same_seed(files):
    quiz, small = files
    entries = [SourceConfig(quiz, columns={"instruction": "q", "response": "a"}, max_records=3), small]
    recs, plans = load_mixture(entries, seed=7)
    assert [p.taken for p in plans] == [3, 4]
    again = load_inputs(entries, seed=7)
    assert [r.id for r in recs] == [r.id for r in again]
    others = {tuple(r.id for r in load_inputs(entries, seed=s)[:3]) for s in range(8)}
    assert len(others) > 1  # the seed decides which three


def test_weights_are_shares_of_the_mixture(files):
    quiz, small = files
    entries = [SourceConfig(quiz, columns={"instruction": "q", "response": "a"}, weight=1),
               SourceConfig(small, weight=3)]
    recs, plans = load_mixture(entries)
    assert len(recs) == 14 and [p.planned for p in plans] == [4, 10]  # 14 × 1/4, 14 × 3/4
    assert sum(r.instruction.startswith("Do ") for r in recs) == 10  # 4 records, repeated
    table = "\n".join(format_mixture(plans))
    assert "25.0%" in table and "75.0%" in table


def test_a_cap_holds_under_weights_and_the_realised_share_says_so(files):
    quiz, small = files
    entries = [SourceConfig(quiz, columns={"instruction": "q", "response": "a"}, weight=3, max_records=6),
               SourceConfig(small, weight=1)]
    recs, plans = load_mixture(entries)  # total 10: 7.5 asked of quiz, capped at 6
    assert [(p.planned, p.taken) for p in plans] == [(6, 6), (2, 2)]
    assert [p.planned_share for p in plans] == [0.75, 0.25]
    assert "75.0%       6  75.0%" in "\n".join(format_mixture(plans))


def test_largest_remainder_adds_up():
    assert largest_remainder(10, [1, 1, 1]) == [4, 3, 3]
    assert sum(largest_remainder(1001, [0.3, 2, 5.5])) == 1001


def test_the_mixture_is_the_same_in_other_processes(files):
    quiz, small = files
    code = ("import sys; from instructune.config import SourceConfig; from instructune.data.inputs import load_inputs;"
            f"e=[SourceConfig({quiz!r}, columns={{'instruction': 'q', 'response': 'a'}}, weight=2, max_records=5),"
            f" SourceConfig({small!r}, weight=1)];"
            "print(','.join(r.id for r in load_inputs(e, seed=3)))")
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)}
    runs = {subprocess.run([sys.executable, "-c", code], env={**env, "PYTHONHASHSEED": str(h)},
                           capture_output=True, text=True, check=True).stdout for h in (1, 2)}
    assert len(runs) == 1


def test_config_types_entries_and_keeps_plain_strings():
    cfg = load_config(None, ["data.train=[a.jsonl, {path: b.parquet, columns: {instruction: question, "
                             "response: answer}, max_records: 100}]"])
    assert cfg.data.train[0] == "a.jsonl"
    assert cfg.data.train[1] == SourceConfig("b.parquet", columns={"instruction": "question", "response": "answer"},
                                             max_records=100)


@pytest.mark.parametrize("entry, words", [
    ("{path: b.csv, colums: {}}", "unknown key 'data.train[0].colums' (nearest: columns); allowed: path, format, "
                                  "columns, weight, max_records"),
    ("{path: b.csv, columns: {prompt: q, response: a}}", "data.train[0].columns.prompt: not a record field; "
                                                         "allowed: id, instruction"),
    ("{path: b.csv, columns: {instruction: q}}", "data.train[0].columns: map response too"),
    ("{path: b.csv, weight: 0}", "data.train[0].weight: got 0"),
    ("{path: b.csv, max_records: -1}", "data.train[0].max_records: got -1"),
])
def test_bad_entries_name_the_key_and_what_is_allowed(entry, words):
    with pytest.raises(ConfigError) as e:
        load_config(None, [f"data.train=[{entry}]"])
    assert words in str(e.value)


def test_weights_on_some_entries_only_are_refused():
    with pytest.raises(ConfigError, match=r"data.train\[1\].weight: missing"):
        load_config(None, ["data.train=[{path: a.jsonl, weight: 1}, b.jsonl]"])


def test_streamed_draws_are_the_in_memory_draws(files):
    """load_mixture keeps only the chosen records of a capped / weighted input; the records are
    the ones `mix` draws from all of them in memory (same seed, same order)."""
    from instructune.data.mixture import draw, source_rng

    def mix(sources, plans, seed):  # the draw's definition, over whole inputs held in memory
        return [r for i, (records, p) in enumerate(zip(sources, plans))
                for r in (records if p.planned == len(records) else draw(records, p.planned, source_rng(seed, i, p.path)))]

    quiz, small = files
    cols = {"instruction": "q", "response": "a"}
    for entries in ([SourceConfig(quiz, columns=cols, max_records=3), small],
                    [SourceConfig(quiz, columns=cols, weight=1), SourceConfig(small, weight=3)],
                    [SourceConfig(quiz, columns=cols, weight=3, max_records=6), SourceConfig(small, weight=1)]):
        streamed, plans = load_mixture(entries, seed=5)
        whole = [load_inputs([SourceConfig(e.path, columns=e.columns) if isinstance(e, SourceConfig) else e])
                 for e in entries]  # every record of each input, in memory
        assert [r.id for r in streamed] == [r.id for r in mix(whole, plans, seed=5)]


def test_a_capped_input_is_not_held_whole(tmp_path):
    import tracemalloc

    big = _jsonl(tmp_path / "big.jsonl", [{"instruction": f"Say {i}. " + "x" * 400, "output": "y" * 400}
                                          for i in range(5_000)])
    tracemalloc.start()
    recs, _ = load_mixture([SourceConfig(big, max_records=10)])
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    assert len(recs) == 10
    assert peak < 5_000 * 800 / 10  # a tenth of the file's text: never all 5,000 records


def _tasks(rows, task, keys=("instruction", "output", "category")):
    """`rows` records of one task, under the given (instruction, response, task) keys."""
    return [dict(zip(keys, (f"{task} question {i}?", f"{task} answer {i}.", task))) for i in range(rows)]


def test_prepare_and_train_hold_the_planned_mixture(tiny_model, tmp_path, capsys):
    """prepare with per-source entries: the prepared split holds each source's planned count
    (told apart by their task); a second prepare hits the cache and still prints the table;
    train's summary and model card carry the per-source counts."""
    a = _jsonl(tmp_path / "alpha.jsonl", _tasks(12, "alpha"))
    b = _jsonl(tmp_path / "beta.jsonl", _tasks(5, "beta", ("instruction", "response", "category")))
    c = _jsonl(tmp_path / "gamma.jsonl", _tasks(30, "gamma", ("q", "a", "kind")))
    train = (f"data.train=[{{path: {a}, weight: 1}}, {{path: {b}, weight: 2, format: dolly}}, "
             f"{{path: {c}, weight: 1, max_records: 4, columns: {{instruction: q, response: a, task: kind}}}}]")
    args = ["prepare", f"model.name={tiny_model}", "data.heldout=[]", "data.max_length=64", train, "data.mix_seed=3"]
    # sizes 12 + 5 + 4 (capped) = 21; weights 1:2:1 share it 5, 11 (5 records, repeated), 5 (capped: 4)
    assert cli([*args, "--output", str(tmp_path / "prep")]) == 0
    first = capsys.readouterr().out
    assert "train: mixture (records per input" in first and "train: tokenized 20 records" in first
    held = Counter(load_prepared(tmp_path / "prep" / "train")["task"])
    assert held == {"alpha": 5, "beta": 11, "gamma": 4}
    stats = json.loads((tmp_path / "prep" / "stats.json").read_text())["train"]["mixture"]
    assert [(p["planned"], p["taken"]) for p in stats] == [(5, 5), (11, 11), (4, 4)]
    assert cli([*args, "--output", str(tmp_path / "again")]) == 0
    again = capsys.readouterr().out
    assert "train: reused cached tokenization of 20 records" in again
    table = [line for line in first.splitlines() if line.startswith("  ")]
    assert table and table == [line for line in again.splitlines() if line.startswith("  ")]

    run = tmp_path / "run"
    assert cli(["train", f"model.name={tiny_model}", f"output_dir={run}", "train.max_steps=1", "train.eval_every=0",
                "data.heldout=[]", "data.max_length=64", train, "data.mix_seed=3"]) == 0
    summary = json.loads((run / "train_summary.json").read_text())["data"]
    assert [p["taken"] for p in summary["mixture"]] == [5, 11, 4] and summary["train_records"] == 20
    card = (run / "export" / "README.md").read_text()
    assert f"| train | `{c}` (cap 4, weight 1) | 4 of 30 read; share 25.0% planned, 20.0% realised |" in card
    assert f"| train | `{b}` (weight 2) | 11 of 5 read; share 50.0% planned, 55.0% realised |" in card


def test_a_cache_hit_from_copies_elsewhere_names_this_runs_files(tiny_model, tmp_path):
    """Two runs mixing byte-identical files at other paths share one cache entry; the second
    run's mixture names its own files, not the first run's (whose dir may be gone)."""
    from instructune.data.splits import tokenize_split
    from instructune.data.templates import TemplateOptions, get_template
    from instructune.model.load import load_tokenizer

    tok = load_tokenizer(tiny_model)
    runs = []
    for name in ("first", "second"):
        (tmp_path / name).mkdir()
        a = _jsonl(tmp_path / name / "a.jsonl", _tasks(6, "alpha"))
        b = _jsonl(tmp_path / name / "b.jsonl", _tasks(3, "beta"))
        _, stats = tokenize_split([a, b], tok, get_template("chat"), TemplateOptions(), max_length=64)
        runs.append((stats.mixture, [a, b]))
    (first, first_paths), (second, second_paths) = runs
    assert [p["path"] for p in first] == first_paths
    assert [p["path"] for p in second] == second_paths
    assert [p["taken"] for p in first] == [p["taken"] for p in second] == [6, 3]
