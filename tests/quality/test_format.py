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


WEEK = "\n".join(f"{day}:\nWarm-up: 10 minutes of light cardio\nSquats: 3 sets of 8" for day in ("Mon", "Wed", "Fri"))


@pytest.mark.parametrize("record, codes", [
    # Issue 19: a plan repeats its lines per day, a song its chorus: not loops.
    (rec("plan", "Give me a beginner workout plan.", WEEK), ()),
    (rec("song", "Write a song.", "Sing it loud and sing it proud tonight.\nWe walk on.\n"
         "Sing it loud and sing it proud tonight.\nWe run on.\nSing it loud and sing it proud tonight.\n"
         "Sing it loud and sing it proud tonight."), ()),
    (rec("loop", "Say why.", "Because " + "it is what it is " * 6 + "and so on."), ("repetition",)),
    (rec("cut", "Describe Paris.", "Paris is the capital of France and it is known for the"), ("truncated",)),
    (rec("cut2", "Describe Paris.", "Paris is the capital of France. It is known for its museums, its cafes "
         "and the long walks along"), ("truncated",)),
    (rec("bullet", "List fruits.", "- apple\n- pear\n- plum\n- fig\n- green grapes\n-"), ("truncated",)),
    (rec("code", "Fetch the price.", "import requests\n\ndef price(url):\n    response = requests.get(url)\n"
         "    data ="), ("truncated",)),
    (rec("items", "Give tips.", "Try these:\n1. Sleep eight hours.\n2. Drink water.\n3. Walk daily.\n"
         "4. Spend time with friends who make you"), ("truncated",)),
    (rec("menu", "List dishes.", "- Ragu alla Bolognese\n- Risotto\n- Lasagne\n- Tiramisu"), ()),
    (rec("table", "Tabulate the scores.", "Here are the scores of the three teams this season:\n\n"
         "| team | wins |\n|---|---|\n| Ajax | 12 |"), ()),
    (rec("title", "Write a headline.", "Local Team Wins the Cup After Forty Years"), ()),
    (rec("poem", "Write a poem.", "The wind is cold tonight\nThe stars are far away\nI walk along the shore\n"
         "And wait for the day"), ()),
    (rec("ai", "Write a joke.", "I apologize, but I must decline this request."), ("refusal",)),
    (rec("policy", "Write a joke.", "That goes against my guidelines, so no."), ("refusal",)),
])
def test_loops_truncation_and_refusals(record, codes):
    assert check_record(record).codes == codes


@pytest.mark.parametrize("record, codes, reason", [
    (rec("recipe", "Write a recipe for the given ingredients that I have.", "olive oil",
         context="rice, onion, milk, chicken breast, olive oil, butter"), ("copied",),
     "response is a piece of the context, word for word, and the instruction asks for no such pick"),
    (rec("label", "Identify the pos tag of the word in the given sentence.", "Word: excited",
         context="Word: excited Sentence: She felt so excited that her application got approval."), ("copied",),
     "response is a piece of the context that opens with its field name 'Word'"),
    # Picking something out of the input is the task: a piece of it is the answer.
    (rec("pick", "Answer the following multiple choice question. Select A, B, C, or D.", "D",
         context="Which city is largest? A. Oslo B. Bern C. Riga D. Tokyo"), (), "format ok"),
    (rec("largest", "Find out the largest one from a set of numbers.", "1e6", context="{1001, 22, 500, 1e6}"), (),
     "format ok"),
])
def test_a_response_copied_out_of_its_context_is_flagged_unless_the_task_is_a_pick(record, codes, reason):
    s = check_record(record)
    assert (s.codes, s.reason) == (codes, reason)
    assert s.value == (0.5 if codes else 1.0)  # flags (format flag_below 1.0), never rejects (0.25)
