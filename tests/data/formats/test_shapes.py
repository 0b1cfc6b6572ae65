"""The shapes users bring: question/answer, prompt/response, input/output, list-of-parts
content, tool turns and a ShareGPT dataset's own role tags."""

from __future__ import annotations

import pytest

from instructune.config import ReaderConfig
from instructune.data.errors import DataError
from instructune.data.formats import detect, iter_outcomes, load_records, reason_of
from instructune.data.record import Turn


def test_question_answer_splits_a_gsm8k_answer(write):
    path = write("qa.jsonl", [
        {"question": "Natalia sold 48 clips, then half as many. How many?",
         "answer": "She sold 48 / 2 = 24 more.\nSo 48 + 24 = 72.\n#### 72"},
        {"question": "Capital of France?", "answer": "Paris", "context": "Europe"}])
    assert detect(path)[0] == "question_answer"
    a, b = load_records(path)
    assert (a.response, a.rationale) == ("72", "She sold 48 / 2 = 24 more.\nSo 48 + 24 = 72.")
    assert (b.instruction, b.context, b.response, b.rationale) == ("Capital of France?", "Europe", "Paris", "")


def test_prompt_response_and_input_output(write):
    pr = write("pr.jsonl", [{"prompt": "Say hi.", "response": "Hi!", "system": "Be terse."}])
    io = write("io.jsonl", [{"input": "Translate 'chat' to English.", "output": "cat", "task": "translation"}])
    assert detect(pr)[0] == "prompt_response" and detect(io)[0] == "input_output"
    [r] = load_records(pr)
    assert (r.instruction, r.response, r.system) == ("Say hi.", "Hi!", "Be terse.")
    [r] = load_records(io)
    assert (r.instruction, r.response, r.task) == ("Translate 'chat' to English.", "cat", "translation")


def test_prompt_completion_is_read_as_p3(write):
    assert detect(write("pc.jsonl", [{"prompt": "2+2=", "completion": "4"}]))[0] == "p3"


def test_input_output_with_an_instruction_stays_alpaca(write):
    assert detect(write("a.jsonl", [{"instruction": "Add.", "input": "2 2", "output": "4"}]))[0] == "alpaca"


def test_list_of_parts_content_is_joined(write):
    path = write("v1.jsonl", [{"messages": [
        {"role": "user", "content": [{"type": "text", "value": "Who are"}, {"type": "text", "text": "you?"}],
         "loss_weight": 0.0},
        {"role": "assistant", "content": [{"type": "text", "value": "A helper."}], "loss_weight": 1.0}]}])
    [r] = load_records(path)
    assert (r.instruction, r.response) == ("Who are\nyou?", "A helper.")


def test_a_non_text_part_names_row_turn_and_field_and_is_counted_when_skipped(write):
    path = write("img.jsonl", [
        {"messages": [{"role": "user", "content": "hi"}, {"role": "assistant", "content": "hello"}]},
        {"messages": [{"role": "user", "content": [{"type": "text", "text": "What is this?"},
                                                   {"type": "image_url", "image_url": {"url": "x.png"}}]},
                      {"role": "assistant", "content": "A cat."}]}])
    with pytest.raises(DataError) as e:
        load_records(path)
    assert (e.value.path, e.value.line, e.value.field) == (path, 2, "messages[0].content[1].type")
    assert "non-text part (type 'image_url')" in e.value.message
    outs = list(iter_outcomes(path))
    assert [bool(o.error) for o in outs] == [False, True] and reason_of(outs[1].error) == "non-text part"


def test_an_untrained_assistant_turn_is_refused(write):
    path = write("lw.jsonl", [{"messages": [{"role": "user", "content": "hi"},
                                            {"role": "assistant", "content": "x", "loss_weight": 0}]}])
    with pytest.raises(DataError, match="loss_weight 0") as e:
        load_records(path)
    assert e.value.field == "messages[1].loss_weight"


def test_sharegpt_tool_turns_are_rendered_as_text(write):
    path = write("tools.json", [{
        "conversations": [
            {"from": "human", "value": "Find a rice recipe."},
            {"from": "function_call", "value": '{"name": "search", "arguments": {"q": "rice"}}'},
            {"from": "observation", "value": '{"recipes": ["fried rice"]}'},
            {"from": "gpt", "value": "Try fried rice."}],
        "tools": '[{"name": "search"}]'}], array=True)
    [r] = load_records(path)
    assert r.history == [Turn("user", "Find a rice recipe."),
                         Turn("assistant", 'Tool call: {"name": "search", "arguments": {"q": "rice"}}')]
    assert (r.instruction, r.response) == ('Tool result: {"recipes": ["fried rice"]}', "Try fried rice.")
    assert r.system == 'Tools you can call (JSON schemas):\n[{"name": "search"}]'


def test_openai_tool_calls_and_tool_role(write):
    path = write("oa.jsonl", [{"messages": [
        {"role": "system", "content": "Be brief."},
        {"role": "user", "content": "Weather in Oslo?"},
        {"role": "assistant", "content": None, "tool_calls": [
            {"id": "c1", "type": "function",
             "function": {"name": "weather", "arguments": '{"city": "Oslo"}'}}]},
        {"role": "tool", "tool_call_id": "c1", "content": "-3C"},
        {"role": "assistant", "content": "It is -3C."}],
        "tools": [{"type": "function", "function": {"name": "weather"}}]}])
    [r] = load_records(path)
    assert r.history == [Turn("user", "Weather in Oslo?"),
                         Turn("assistant", 'Tool call: {"name": "weather", "arguments": {"city": "Oslo"}}')]
    assert (r.instruction, r.response) == ("Tool result: -3C", "It is -3C.")
    assert r.system.startswith("Be brief.\n\nTools you can call (JSON schemas):\n")


def test_sharegpt_custom_role_tags(write):
    path = write("med.jsonl", [{"conversations": [{"from": "patient", "value": "My head hurts."},
                                                  {"from": "doctor", "value": "Rest and drink water."}]}])
    with pytest.raises(DataError, match="unknown speaker 'patient'"):
        load_records(path)
    opts = ReaderConfig(role_tags={"patient": "user", "doctor": "assistant"})
    [r] = load_records(path, options=opts)
    assert (r.instruction, r.response) == ("My head hurts.", "Rest and drink water.")


def test_role_tags_must_name_a_known_role():
    with pytest.raises(ValueError, match="role_tags.doctor: got 'medic'; allowed: user, assistant"):
        ReaderConfig(role_tags={"doctor": "medic"})
