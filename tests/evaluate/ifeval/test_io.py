"""Reading IFEval's file formats, writing verdicts and summaries, and located errors."""

from __future__ import annotations

import json

import pytest

from instructune.data.errors import DataError
from instructune.evaluate.ifeval import (SUMMARY_FILE, VERDICTS_FILE, load_prompts, load_responses, run_suite,
                                         write_verdicts)

GOOD = {"key": 1000, "prompt": "Write a riddle without commas.", "instruction_id_list": ["punctuation:no_comma"],
        "kwargs": [{}]}


def write_lines(path, rows):
    path.write_text("".join((r if isinstance(r, str) else json.dumps(r)) + "\n" for r in rows), encoding="utf-8")
    return path


def test_google_and_hugging_face_shapes_load(tmp_path):
    hf = {"key": 7, "prompt": "Write 2 sections.", "instruction_id_list": ["detectable_format:multiple_sections"],
          # the Hugging Face copy lists every argument name, with nulls for the unused ones
          "kwargs": [{"section_spliter": "SECTION", "num_sections": 2, "num_words": None, "relation": None}]}
    prompts = load_prompts(write_lines(tmp_path / "p.jsonl", [GOOD, hf]))
    assert [p.key for p in prompts] == [1000, 7]
    assert prompts[1].kwargs == ({"section_spliter": "SECTION", "num_sections": 2},)


def test_responses_match_by_prompt_and_may_be_empty(tmp_path):
    path = write_lines(tmp_path / "r.jsonl", [{"prompt": "a", "response": "x", "model": "m"},
                                              {"prompt": "b", "response": ""}])
    assert load_responses(path) == {"a": "x", "b": ""}


@pytest.mark.parametrize("row, line, field, message", [
    ("{not json", 2, None, "invalid JSON"),
    ({**GOOD, "key": 2, "prompt": None}, 2, "prompt", "missing"),
    ({**GOOD, "key": 2, "instruction_id_list": []}, 2, "instruction_id_list", "empty list"),
    ({**GOOD, "key": 2, "instruction_id_list": ["punctuation:no_comma", "keywords:nope"], "kwargs": [{}, {}]},
     2, "instruction_id_list[1]", "unknown instruction id 'keywords:nope'; allowed: keywords:existence, "),
    ({**GOOD, "key": 2, "kwargs": [{}, {}]}, 2, "kwargs", "has 2 entries for 1 instruction ids"),
    ({**GOOD, "key": 2, "kwargs": {}}, 2, "kwargs", "expected a list"),
    ({**GOOD, "key": 2, "instruction_id_list": ["length_constraints:number_words"],
      "kwargs": [{"num_words": "many", "relation": "at least"}]}, 2, "kwargs[0].num_words", "expected a whole number"),
    ({**GOOD, "key": 2, "instruction_id_list": ["length_constraints:number_words"],
      "kwargs": [{"num_words": 5, "relation": "at most"}]}, 2, "kwargs[0].relation", "'less than', 'at least'"),
    ({**GOOD, "key": 2, "instruction_id_list": ["length_constraints:number_words"],
      "kwargs": [{"num_words": 5}]}, 2, "kwargs[0].relation", "missing"),
    ({**GOOD, "key": 2, "kwargs": [{"num_words": 5}]}, 2, "kwargs[0].num_words",
     "punctuation:no_comma takes no argument 'num_words' (it takes: none)"),
    ({**GOOD, "key": 2, "instruction_id_list": ["language:response_language"], "kwargs": [{"language": "xx"}]},
     2, "kwargs[0].language", "unknown language code 'xx'"),
    ({**GOOD, "key": 2, "instruction_id_list": ["length_constraints:nth_paragraph_first_word"],
      "kwargs": [{"num_paragraphs": 2, "nth_paragraph": 3, "first_word": "so"}]}, 2, "kwargs[0]",
     "nth_paragraph 3 is beyond num_paragraphs 2"),
    ({**GOOD, "key": 2, "instruction_id_list": ["keywords:letter_frequency"],
      "kwargs": [{"letter": "ab", "let_frequency": 2, "let_relation": "at least"}]}, 2, "kwargs[0].letter",
     "expected a single character"),
    ({**GOOD, "key": 1000, "prompt": "Another prompt."}, 2, "key", "duplicate key 1000 (first at 1)"),
    ({**GOOD, "key": True}, 2, "key", "expected an integer or a non-empty string"),
])
def test_bad_prompt_rows_name_file_line_and_field(tmp_path, row, line, field, message):
    path = write_lines(tmp_path / "prompts.jsonl", [GOOD, row])
    with pytest.raises(DataError) as err:
        load_prompts(path)
    assert (err.value.path, err.value.line, err.value.field) == (str(path), line, field)
    assert message in err.value.message


@pytest.mark.parametrize("row, field, message", [
    ({"prompt": "a", "response": "again"}, "prompt", "a second response to the same prompt (first at 1)"),
    ({"prompt": "b"}, "response", "missing"),
    ({"prompt": "b", "response": ["x"]}, "response", "expected a string, got list"),
    ({"response": "x"}, "prompt", "missing"),
    (["a", "x"], None, "expected a JSON object"),
])
def test_bad_response_rows(tmp_path, row, field, message):
    path = write_lines(tmp_path / "responses.jsonl", [{"prompt": "a", "response": "x"}, row])
    with pytest.raises(DataError) as err:
        load_responses(path)
    assert (err.value.line, err.value.field) == (2, field) and message in err.value.message


def test_missing_and_empty_files(tmp_path):
    with pytest.raises(DataError, match="no such file"):
        load_responses(tmp_path / "nope.jsonl")
    with pytest.raises(DataError, match="no prompts in the file"):
        load_prompts(write_lines(tmp_path / "empty.jsonl", []))


def test_verdict_file_has_ifeval_field_names(tmp_path):
    prompts_path = write_lines(tmp_path / "p.jsonl", [GOOD])
    responses_path = write_lines(tmp_path / "r.jsonl", [{"prompt": GOOD["prompt"], "response": "Sure,\nA riddle"}])
    verdicts, summary = run_suite(responses_path, prompts_path, output_dir=tmp_path / "out")
    rows = [json.loads(line) for line in (tmp_path / "out" / VERDICTS_FILE).read_text().splitlines()]
    assert rows == [{
        "key": 1000, "prompt": GOOD["prompt"], "response": "Sure,\nA riddle",
        "instruction_id_list": ["punctuation:no_comma"],
        "follow_all_instructions": False, "follow_instruction_list": [False],
        "follow_all_instructions_loose": True, "follow_instruction_list_loose": [True],
    }]
    assert list(rows[0]) == ["key", "prompt", "response", "instruction_id_list", "follow_all_instructions",
                             "follow_instruction_list", "follow_all_instructions_loose",
                             "follow_instruction_list_loose"]
    saved = json.loads((tmp_path / "out" / SUMMARY_FILE).read_text())
    assert saved == summary and saved["prompts_file"] == str(prompts_path)
    assert saved["prompt_level_loose"]["accuracy"] == 1.0


def test_write_verdicts_counts_lines(tmp_path):
    prompts = load_prompts(write_lines(tmp_path / "p.jsonl", [GOOD]))
    from instructune.evaluate.ifeval import check
    assert write_verdicts(tmp_path / "v.jsonl", [check(prompts[0], "ok")] * 3) == 3
