"""Generation caps for the verifiable prompts: every shipped prompt gets at least what its
instructions need, and prompts are generated in batches of one cap."""

from __future__ import annotations

import json

import pytest

from instructune.config import EvalConfig, TemplateConfig
from instructune.evaluate.ifeval import load_prompts, make_prompt
from instructune.evaluate.ifeval.length_budget import (FLOOR, SLACK, STEP, TOKENS_PER_WORD, prompt_caps, short_of,
                                                       tokens_needed)

# The most tokens a word took with the default tokenizer on the texts measured (the starter set's
# short English answers; see length_budget's docstring): a cap below words × this cannot hold
# the words.
MEASURED_TOKENS_PER_WORD = 1.47


def words(n: int, relation: str = "at least"):
    return make_prompt(1, f"Write {relation} {n} words.", ["length_constraints:number_words"],
                       [{"num_words": n, "relation": relation}])


def test_no_shipped_prompt_needs_more_than_its_default_cap():
    prompts = load_prompts()
    caps = prompt_caps(prompts, EvalConfig().ifeval_max_new_tokens)
    assert short_of(prompts, caps) == []
    assert all(cap >= FLOOR and cap % STEP == 0 for cap in caps)
    assert max(caps) > FLOOR  # the set has prompts that need more than the old fixed 192


def test_a_word_count_gets_its_words_in_the_default_tokenizers_tokens():
    for p in load_prompts():
        for iid, kw in zip(p.instruction_id_list, p.kwargs):
            if iid == "length_constraints:number_words" and kw["relation"] == "at least":
                assert tokens_needed(p) >= kw["num_words"] * MEASURED_TOKENS_PER_WORD, p.key
    assert tokens_needed(words(300)) >= 300 * MEASURED_TOKENS_PER_WORD


def test_upper_bounds_ask_for_nothing_and_two_answers_double_the_length():
    assert tokens_needed(words(300, "less than")) == SLACK
    two = make_prompt(1, "x", ["length_constraints:number_words", "combination:two_responses"],
                      [{"num_words": 100, "relation": "at least"}, {}])
    assert tokens_needed(two) - SLACK == 2 * (tokens_needed(words(100)) - SLACK)
    french = make_prompt(1, "x", ["length_constraints:number_words", "language:response_language"],
                         [{"num_words": 100, "relation": "at least"}, {"language": "fr"}])
    assert tokens_needed(french) > tokens_needed(words(100))


def test_a_fixed_cap_is_given_as_is_and_its_shortfall_named():
    prompts = [words(20), words(400)]
    assert prompt_caps(prompts, 96) == [96, 96]
    assert short_of(prompts, [96, 96]) == [prompts[1]]
    assert prompt_caps(prompts) == [FLOOR, STEP * -(-tokens_needed(words(400)) // STEP)]


def test_eval_generates_each_cap_in_its_own_batches(tiny_model):
    from instructune.evaluate.harness import ModelEval

    said: list[str] = []
    ev = ModelEval(tiny_model, EvalConfig(batch_size=8), TemplateConfig(), 256, {}, said.append)
    calls: list[tuple[list[str], int]] = []
    real = ev.generate

    def spy(records, cap):
        calls.append(([r.instruction for r in records], cap))
        return [f"reply to {r.instruction}" for r in records]

    ev.generate = spy
    prompts = [words(20), words(400), words(5)]
    texts = ev.generate_by_cap([make_record(p) for p in prompts], prompt_caps(prompts))
    assert texts == [f"reply to {p.prompt}" for p in prompts]  # back in prompt order
    assert calls == [([prompts[0].prompt, prompts[2].prompt], FLOOR), ([prompts[1].prompt], prompt_caps(prompts)[1])]

    ev.generate, ev.eval.ifeval_max_new_tokens = real, 4
    ev.ifeval(prompts)
    assert ev.metrics["ifeval"]["new_tokens"] == {"fixed": 4, "caps": {4: 3}, "below_need": 3}
    assert any("3 of 3 verifiable prompts need more than eval.ifeval_max_new_tokens=4" in s for s in said)


def make_record(p):
    from instructune.data.record import Record

    return Record(id=f"ifeval-{p.key}", instruction=p.prompt, response="")


@pytest.mark.slow
def test_the_default_tokenizer_takes_no_more_tokens_a_word_than_budgeted():
    from instructune.augment.languages import written_in
    from instructune.data.starter import STARTER_DIR
    from instructune.evaluate.text_corpus import load_corpus
    from instructune.model.load import DEFAULT_MODEL, load_tokenizer
    from instructune.text import count_words

    tok = load_tokenizer(DEFAULT_MODEL)
    # The English budget, so the English answers (12 training answers are in other languages,
    # which the Latin and other-script budgets cover).
    texts = [r for f in sorted(STARTER_DIR.glob("*.jsonl"))
             for line in f.read_text(encoding="utf-8").splitlines()
             if not written_in(r := json.loads(line)["response"])]

    def per_word(texts: list[str]) -> float:
        return sum(len(tok(t, add_special_tokens=False)["input_ids"]) for t in texts) / sum(map(count_words, texts))

    short = [t for t in texts if count_words(t) < 100]  # the long answers' prose takes fewer (1.35 in all)
    assert MEASURED_TOKENS_PER_WORD - 0.01 <= per_word(short) <= TOKENS_PER_WORD
    assert per_word(texts) <= TOKENS_PER_WORD
    assert per_word(load_corpus(None)) <= TOKENS_PER_WORD  # general prose: ~1.18
