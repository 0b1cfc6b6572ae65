"""`instructune ingest`: located validation errors, `--on-error fail|skip`, reject files,
atomic outputs, `--explain`, reader options from flags and from the config."""

from __future__ import annotations

import json

import pytest

from instructune.cli import main as cli
from instructune.config import ConfigError, ReaderConfig, load_config
from instructune.data.errors import DataError
from instructune.data.inputs import load_inputs
from instructune.recipes.ingest import rejects_path

GOOD = [
    {"id": "g1", "instruction": "Name a colour.", "input": "", "output": "Blue."},
    {"id": "g2", "instruction": "Add the numbers.", "input": "2 and 3", "output": "5"},
    {"id": "g3", "instruction": "Translate to German.", "input": "cat", "output": "Katze"},
    {"id": "g4", "instruction": "Give an antonym.", "input": "tall", "output": "short"},
]
LONG = "x" * 200
# (line text, field, reason) of each kind of bad row
BAD = {
    "bad json": (b'{"id": "b1", "instruction": "a", "output": ', None, "invalid JSON"),
    "missing": (b'{"id": "b2", "instruction": "a"}', "output", "missing"),
    "wrong type": (b'{"id": "b3", "instruction": ["a"], "output": "b"}', "instruction", "expected a string"),
    "empty response": (b'{"id": "b4", "instruction": "a", "output": "  "}', "output", "empty"),
    "invalid utf-8": (b'{"id": "b5", "instruction": "caf\xe9", "output": "b"}', "instruction", "invalid UTF-8"),
    "too long": (json.dumps({"id": "b6", "instruction": "a", "output": LONG}).encode(), "output", "record too long"),
    "duplicate id": (json.dumps({"id": "g1", "instruction": "again", "output": "b"}).encode(), "id", "duplicate id"),
}
MAX_CHARS = ["--max-chars", "100"]


def line(row: dict) -> bytes:
    return json.dumps(row).encode()


def mixed_lines() -> list[bytes | None]:
    """Good rows with every kind of bad row between them (None marks where a bad row goes)."""
    return [line(GOOD[0]), *[b for b, _, _ in BAD.values()][:4], line(GOOD[1]),
            *[b for b, _, _ in BAD.values()][4:], line(GOOD[2]), line(GOOD[3])]


@pytest.mark.parametrize("kind", list(BAD))
def test_fail_names_file_line_and_field_and_writes_nothing(tmp_path, capsys, kind):
    bad, field, reason = BAD[kind]
    path = tmp_path / "data.jsonl"
    path.write_bytes(b"\n".join([line(GOOD[0]), line(GOOD[1]), bad]) + b"\n")
    out = tmp_path / "records.jsonl"
    out.write_text("previous\n")
    assert cli(["ingest", str(path), "--output", str(out), *MAX_CHARS]) == 2
    err = capsys.readouterr().err
    where = f"{path}:3:" + (f" field '{field}':" if field else "")
    assert f"error: {where} {reason}" in err
    assert out.read_text() == "previous\n"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["data.jsonl", "records.jsonl"]  # no temp files


def test_json_array_errors_name_the_index(tmp_path, capsys):
    path = tmp_path / "data.json"
    path.write_text(json.dumps(GOOD[:2] + [{"instruction": "a", "output": 3}]))
    assert cli(["ingest", str(path), "--output", str(tmp_path / "r.jsonl")]) == 2
    assert f"{path}[2]: field 'output': expected a string, got int" in capsys.readouterr().err


def test_duplicate_ids_across_files(tmp_path, capsys):
    a, b = tmp_path / "a.jsonl", tmp_path / "b.jsonl"
    a.write_bytes(line(GOOD[0]) + b"\n")
    b.write_bytes(line(GOOD[1]) + b"\n" + line({**GOOD[2], "id": "g1"}) + b"\n")
    assert cli(["ingest", str(a), str(b), "--output", str(tmp_path / "r.jsonl")]) == 2
    assert f"{b}:2: field 'id': duplicate id: 'g1'" in capsys.readouterr().err


def test_skip_writes_rejects_counts_and_the_clean_records(tmp_path, capsys):
    path = tmp_path / "data.jsonl"
    lines = mixed_lines()
    bad_lines = [b for b, _, _ in BAD.values()]
    # The clean run: the same file with the bad rows blanked out (same path, same line numbers).
    path.write_bytes(b"\n".join(b"" if x in bad_lines else x for x in lines) + b"\n")
    clean = tmp_path / "clean.jsonl"
    assert cli(["ingest", str(path), "--output", str(clean), *MAX_CHARS]) == 0
    capsys.readouterr()

    path.write_bytes(b"\n".join(lines) + b"\n")
    out = tmp_path / "records.jsonl"
    assert cli(["ingest", str(path), "--output", str(out), "--on-error", "skip", *MAX_CHARS]) == 0
    assert out.read_bytes() == clean.read_bytes() and len(clean.read_text().splitlines()) == 4

    printed = capsys.readouterr().out
    assert "accepted 4 records, rejected 7 rows {'invalid JSON': 1, 'missing': 1, 'expected a string': 1, " \
           "'empty': 1, 'invalid UTF-8': 1, 'record too long': 1, 'duplicate id': 1}" in printed
    rejects = [json.loads(x) for x in (tmp_path / "records.rejects.jsonl").read_text().splitlines()]
    assert [(r["file"], r["line"], r["field"], r["reason"]) for r in rejects] == [
        (str(path), 2, None, "invalid JSON"), (str(path), 3, "output", "missing"),
        (str(path), 4, "instruction", "expected a string"), (str(path), 5, "output", "empty"),
        (str(path), 7, "instruction", "invalid UTF-8"), (str(path), 8, "output", "record too long"),
        (str(path), 9, "id", "duplicate id")]
    assert [r["raw"] for r in rejects] == [b.decode("utf-8", errors="replace") for b in bad_lines]
    assert rejects[5]["message"] == ("record too long: 201 characters, over the limit of 100 "
                                     "(data.reader.max_chars / --max-chars); longest field: output")


def test_skip_rejects_path_option_and_default_name(tmp_path):
    assert rejects_path("out/records.jsonl").as_posix() == "out/records.rejects.jsonl"
    assert rejects_path("records.json").as_posix() == "records.json.rejects.jsonl"
    path = tmp_path / "data.jsonl"
    path.write_bytes(line(GOOD[0]) + b"\n" + BAD["missing"][0] + b"\n")
    rej = tmp_path / "bad" / "rows.jsonl"
    assert cli(["ingest", str(path), "--output", str(tmp_path / "r.jsonl"), "--on-error", "skip",
                "--rejects", str(rej)]) == 0
    assert [json.loads(x)["line"] for x in rej.read_text().splitlines()] == [2]


def test_a_failing_run_leaves_earlier_outputs_untouched(tmp_path, capsys):
    out, rej = tmp_path / "records.jsonl", tmp_path / "records.rejects.jsonl"
    out.write_text("previous records\n")
    rej.write_text("previous rejects\n")
    broken = tmp_path / "broken.json"  # a JSON array whose syntax breaks: stops even with skip
    broken.write_text(json.dumps(GOOD[:2])[:-1] + " {")
    assert cli(["ingest", str(broken), "--output", str(out), "--on-error", "skip"]) == 2
    assert f"{broken}[2]: invalid JSON" in capsys.readouterr().err
    assert (out.read_text(), rej.read_text()) == ("previous records\n", "previous rejects\n")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["broken.json", "records.jsonl", "records.rejects.jsonl"]


def test_explain_prints_choice_and_tried_formats_without_converting(tmp_path, capsys):
    path = tmp_path / "sg.jsonl"
    path.write_text(json.dumps({"conversations": [{"from": "human", "value": "hi"},
                                                  {"from": "gpt", "value": "hello"}]}) + "\n")
    assert cli(["ingest", "--explain", str(path)]) == 0
    assert capsys.readouterr().out.splitlines() == [
        f"{path}: sharegpt (has a 'conversations' list)",
        "  fields seen: ['conversations']",
        "  not oasst_tree: needs 'message_tree_id' and a 'prompt' message tree",
        "  not oasst_messages: needs 'message_id', 'role' and 'text' (one message a row)",
        "  not dolly: needs 'instruction' and 'response' with 'category' or 'context', and no "
        "canonical-record key (task, rationale, system, history, source, meta)",
        "  not records: needs 'id', 'instruction' and 'response' (and no 'output')",
        "  not alpaca: needs 'instruction' and 'output' (and no 'response')",
        "  not openai: needs a 'messages' list",
    ]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["sg.jsonl"]


def _oasst_file(tmp_path):
    def msg(mid, role, text, replies=(), rank=None, deleted=False):
        return {"message_id": mid, "role": role, "text": text, "lang": "en", "rank": rank,
                "deleted": deleted, "review_result": True, "replies": list(replies)}

    tree = msg("p", "prompter", "Hi?", [msg("a", "assistant", "Hello.", rank=0),
                                        msg("b", "assistant", "Hey.", rank=1, deleted=True)])
    path = tmp_path / "oasst.jsonl"
    path.write_text(json.dumps({"message_tree_id": "t", "prompt": tree}) + "\n")
    return path


def test_reader_flags_reach_the_reader(tmp_path, capsys):
    path, out = _oasst_file(tmp_path), tmp_path / "r.jsonl"
    assert cli(["ingest", str(path), "--output", str(out)]) == 0
    assert "left out by reader filters: {'deleted': 1}" in capsys.readouterr().out
    assert [json.loads(x)["id"] for x in out.read_text().splitlines()] == ["a"]
    assert cli(["ingest", str(path), "--output", str(out), "--oasst-paths", "all", "--keep-deleted"]) == 0
    assert [json.loads(x)["id"] for x in out.read_text().splitlines()] == ["a", "b"]
    kept = out.read_text()
    # a run that keeps nothing is an error that says why, and leaves the earlier output as it was
    assert cli(["ingest", str(path), "--output", str(out), "--languages", "de,fr"]) == 2
    err = capsys.readouterr().err
    assert "no record kept" in err and "'language': 1" in err and out.read_text() == kept


@pytest.mark.parametrize("given", ["en,de", "[en, de]", "[en,de]", "['en', \"de\"]", " en , de "])
def test_a_list_flag_takes_the_comma_form_and_the_list_form_its_help_shows(tmp_path, capsys, given):
    path, out = _oasst_file(tmp_path), tmp_path / "r.jsonl"
    assert cli(["ingest", str(path), "--output", str(out), "--languages", given]) == 0
    assert [json.loads(x)["id"] for x in out.read_text().splitlines()] == ["a"]


def test_reader_config_from_overrides_reaches_load_inputs(tmp_path):
    cfg = load_config(None, ["data.reader.oasst_paths=all", "data.reader.keep_deleted=true",
                             "data.reader.languages=[en]", "data.reader.max_chars=0"])
    assert cfg.data.reader == ReaderConfig(oasst_paths="all", languages=["en"], keep_deleted=True, max_chars=0)
    path = str(_oasst_file(tmp_path))
    assert [r.id for r in load_inputs([path], None, cfg.data.reader)] == ["a", "b"]
    assert [r.id for r in load_inputs([path])] == ["a"]
    with pytest.raises(ConfigError, match=r"data.reader.oasst_paths: got 'some'; expected one of best, all"):
        load_config(None, ["data.reader.oasst_paths=some"])


# --- ids derived from file positions are unique per file (issue 11) -----------------------

def _alpaca_files(tmp_path):
    """Two Alpaca files without ids of their own, in different folders with the same name."""
    a, b = tmp_path / "x" / "data.jsonl", tmp_path / "y" / "data.jsonl"
    for path, rows in ((a, GOOD[:2]), (b, GOOD[2:])):
        path.parent.mkdir()
        path.write_bytes(b"\n".join(line({k: v for k, v in r.items() if k != "id"}) for r in rows) + b"\n")
    return a, b


def test_two_alpaca_files_get_distinct_ids(tmp_path):
    a, b = _alpaca_files(tmp_path)
    ids = [r.id for r in load_inputs([str(a), str(b)])]
    assert len(ids) == 4 and len(set(ids)) == 4, ids
    # Stable: the same file read again gives the same ids.
    assert [r.id for r in load_inputs([str(a)])] == ids[:2]


def test_ingest_output_can_be_ingested_again(tmp_path, capsys):
    a, b = _alpaca_files(tmp_path)
    mix, again = tmp_path / "mix.jsonl", tmp_path / "again.jsonl"
    assert cli(["ingest", str(a), str(b), "--output", str(mix)]) == 0
    assert cli(["ingest", str(mix), "--output", str(again)]) == 0, capsys.readouterr().err
    assert again.read_text() == mix.read_text()
    # ...and mixed with one of its own sources: the ids differ, so both load.
    assert len(load_inputs([str(mix), str(a)])) == 6


@pytest.mark.parametrize("names", [["starter:train", "starter:train"], ["A", "A"], ["A", "./A"]])
def test_the_same_file_given_twice_is_an_error_saying_so(tmp_path, monkeypatch, capsys, names):
    a, _ = _alpaca_files(tmp_path)
    monkeypatch.chdir(a.parent)
    names = [n.replace("A", a.name) for n in names]
    with pytest.raises(DataError, match="given twice"):
        load_inputs(names)
    assert cli(["ingest", *names, "--output", str(tmp_path / "r.jsonl")]) == 2
    assert "given twice" in capsys.readouterr().err


def _kto_like(tmp_path):
    """Preference rows in the shape of LLaMA-Factory's KTO demo: messages plus a boolean label."""
    def row(q, a, label):
        return {"messages": [{"role": "user", "content": q}, {"role": "assistant", "content": a}], "label": label}
    path = tmp_path / "kto.json"
    path.write_text(json.dumps([row("Name a colour.", "Blue.", True), row("Name a fruit.", "A chair.", False),
                                row("Name a month.", "May.", True)]))
    return path


def test_rows_marked_as_negative_examples_are_refused_and_counted(tmp_path, capsys):
    path, out = _kto_like(tmp_path), tmp_path / "r.jsonl"
    assert cli(["ingest", str(path), "--output", str(out)]) == 2
    err = capsys.readouterr().err
    assert f"{path}[1]: field 'label': negative example (label: false)" in err and not out.exists()
    assert cli(["ingest", str(path), "--output", str(out), "--on-error", "skip"]) == 0
    printed = capsys.readouterr().out
    assert [json.loads(x)["response"] for x in out.read_text().splitlines()] == ["Blue.", "May."]
    assert "'negative example': 1" in printed


def test_fields_a_format_does_not_read_are_reported_with_their_row_counts(tmp_path, capsys):
    path, out = tmp_path / "a.jsonl", tmp_path / "r.jsonl"
    rows = [{"instruction": "Add 2 and 2.", "output": "4", "difficulty": "easy", "label": True},
            {"instruction": "Add 3 and 3.", "output": "6", "difficulty": "easy", "id": "x"}]
    path.write_text("".join(json.dumps(r) + "\n" for r in rows))
    assert cli(["ingest", str(path), "--output", str(out)]) == 0
    assert "fields not read (rows that have them; not in the records): {'difficulty': 2, 'label': 1}" \
        in capsys.readouterr().out
