"""Prompt-only reading for generation: rows without a response are prompts; training still
rejects them."""

from __future__ import annotations

import json

import pytest

from instructune.data.errors import DataError
from instructune.data.inputs import load_inputs
from instructune.data.prompts import load_prompts


def write(path, rows):
    path.write_text("".join(json.dumps(r) + "\n" for r in rows))
    return str(path)


def test_alpaca_rows_without_or_with_an_empty_output_are_prompts(tmp_path):
    f = write(tmp_path / "a.jsonl", [{"instruction": "Add.", "input": "2, 3", "output": ""},
                                     {"instruction": "Name a colour.", "input": ""},
                                     {"instruction": "Say hi.", "input": "", "output": "Hi!"}])
    recs = load_prompts([f])
    assert [(r.instruction, r.context) for r in recs] == [("Add.", "2, 3"), ("Name a colour.", ""), ("Say hi.", "")]
    with pytest.raises(DataError, match=r"a.jsonl:1: field 'output': empty"):
        load_inputs([f])  # training still refuses an empty output


def test_messages_ending_in_a_user_turn_keep_history_and_system(tmp_path):
    f = write(tmp_path / "m.jsonl", [{"messages": [
        {"role": "system", "content": "Be brief."}, {"role": "user", "content": "Hi"},
        {"role": "assistant", "content": "Hello."}, {"role": "user", "content": "And you?"}]}])
    (rec,) = load_prompts([f])
    assert rec.instruction == "And you?" and rec.system == "Be brief."
    assert [(t.role, t.content) for t in rec.history] == [("user", "Hi"), ("assistant", "Hello.")]
    with pytest.raises(DataError, match="must end with a user turn and then an assistant reply"):
        load_inputs([f])


def test_plain_prompt_rows(tmp_path):
    f = write(tmp_path / "p.jsonl", [{"prompt": "Write a haiku."}, {"prompt": "Count to 3.", "id": "x"}])
    recs = load_prompts([f])
    assert [r.instruction for r in recs] == ["Write a haiku.", "Count to 3."] and recs[1].id == "x"


def test_complete_training_files_are_read_as_they_are():
    recs = load_prompts(["starter:heldout"])
    assert len(recs) == 30 and recs[0].instruction == load_inputs(["starter:heldout"])[0].instruction


def test_a_row_that_is_no_prompt_names_file_line_and_what_is_needed(tmp_path):
    f = write(tmp_path / "bad.jsonl", [{"prompt": "ok"}, {"question": "?"}])
    with pytest.raises(DataError, match=r"bad.jsonl:2: not a prompt: needs a 'prompt' string, an 'instruction'"):
        load_prompts([f])
    f = write(tmp_path / "empty.jsonl", [{"prompt": "  "}])
    with pytest.raises(DataError, match=r"empty.jsonl:1: field 'prompt': empty"):
        load_prompts([f])
    f = write(tmp_path / "m.jsonl", [{"messages": [{"role": "user", "content": "Hi"}, {"role": "user", "content": ""}]}])
    with pytest.raises(DataError, match=r"m.jsonl:1: field 'messages\[1\].content': empty"):
        load_prompts([f])


def test_generate_answers_prompt_only_rows(tiny_model, tmp_path):
    from instructune.cli import main as cli

    f = write(tmp_path / "a.jsonl", [{"instruction": "Name a colour.", "input": "", "output": ""},
                                     {"prompt": "Say hi."}])
    out = tmp_path / "gen.jsonl"
    assert cli(["generate", "--model", tiny_model, "--input", f, "--output", str(out),
                "generate.max_new_tokens=2"]) == 0
    assert [json.loads(x)["instruction"] for x in out.read_text().splitlines()] == ["Name a colour.", "Say hi."]
