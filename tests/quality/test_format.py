"""The format scorer: response patterns and the instruction's constraints, with golden scores."""

from __future__ import annotations

import pytest
from quality_records import rec

from instructune.quality.scorers.format import check_record, score
from instructune.quality.score import ScoringSet


@pytest.mark.parametrize("record, value, codes, reason", [
    (rec("ok", "List 3 colors.", "1. red\n2. green\n3. blue"), 1.0, (),
     "format ok; 1 stated constraint(s) met"),
    (rec("plain", "What is the capital of Peru?", "Lima."), 1.0, (), "format ok"),
    (rec("empty", "Name a color.", "  \n "), 0.0, ("empty",), "format: empty response"),
    (rec("echo", "Name a color.", "name a color"), 0.1, ("echo",), "response repeats the instruction"),
    (rec("copy", "Fix the grammar.", "He go  home.", context="He go home."), 0.1, ("echo",),
     "response copies the context unchanged"),
    (rec("loop", "Write a poem.", "\n".join(["the wind is cold tonight"] * 3)), 0.2, ("repetition",),
     "degenerate repetition: the line 'the wind is cold tonight' appears 3 times"),
    (rec("tmpl", "Say hi.", "Hi there!</s>"), 0.3, ("template",), "leftover template token '</s>'"),
    (rec("evol", "Say hi.", "#Rewritten Prompt#: say hi"), 0.3, ("template",),
     "leftover template token '#Rewritten Prompt#'"),
    (rec("refuse", "Write a joke.", "I'm sorry, but I can't help with that."), 0.5, ("refusal",),
     "the response refuses"),
    (rec("fence", "Write code.", "```python\nprint(1)\n"), 0.5, ("code_fence",), "unbalanced ``` code fence"),
    (rec("words", "Describe the sea in 5 words.", "The sea is wide, deep and blue today."), 0.5, ("word_limit",),
     "asks for at most 5 words; response has 8 words"),
    (rec("two", "Give the answer as JSON in at most 3 words.", "the answer is no"), 0.25,
     ("word_limit", "json"),
     "asks for at most 3 words; response has 4 words; asks for valid JSON; response is not valid JSON "
     "(Expecting value)"),
])
def test_format_golden(record, value, codes, reason):
    s = check_record(record)
    assert (s.value, s.codes, s.reason) == (value, codes, reason)


def test_score_keeps_record_order():
    data = ScoringSet([rec("a", "Say hi.", "Hi"), rec("b", "Say hi.", "Hi<|im_end|>")])
    assert [s.value for s in score(data)] == [1.0, 0.3]
