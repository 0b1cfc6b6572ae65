"""The LM scorers (ending, plausibility): exact values on hand-made readings, and the real default
model on hand-made records (marked slow)."""

from __future__ import annotations

import math
from dataclasses import replace

import numpy as np
import pytest

from instructune.config import Config
from instructune.data.record import Record
from instructune.quality.response_lm import WATCH, Reading
from instructune.quality.score import ScoringSet
from instructune.quality.scorers import ending, plausibility


class Tokenizer:
    """Word-level ids for hand-made readings: each known text is one token."""

    def __init__(self, texts):
        self.vocab = {t: i for i, t in enumerate(texts)}

    def __call__(self, text, add_special_tokens=False):
        return {"input_ids": [self.vocab[text]] if text in self.vocab else [0, 0]}

    def decode(self, ids):
        inv = {i: t for t, i in self.vocab.items()}
        return "".join(inv[i] for i in ids)


class FakeLM:
    """What the scorers read of a `ResponseLM`: its tokenizer, watched texts and their columns."""

    def __init__(self):
        self.tokenizer = Tokenizer([*WATCH, " is", " are", " never", " no", "The", " sky", " blue", " It",
                                    " has", " legs", "A", " spider"])
        self.watch_ids = {t: self.tokenizer.vocab[t] for t in WATCH}
        self.response_chars = 400

    def column(self, text):
        return list(self.watch_ids).index(text) if text in self.watch_ids else None


def reading(lm: FakeLM, words: list[str], token_lp: list[float], end_lp: float, watched: dict[tuple[int, str], float],
            skip: list[float] | None = None) -> Reading:
    """A reading of `words` with every watched text at log p −20 except those in `watched`
    ({(row, text): log p})."""
    w = np.full((len(words) + 1, len(lm.watch_ids)), -20.0)
    for (row, text), lp in watched.items():
        w[row, lm.column(text)] = lp
    return Reading(np.array(token_lp), end_lp, [lm.tokenizer.vocab[x] for x in words], w,
                   np.array(skip if skip is not None else [-20.0] * len(words)))


def scored(scorer, lm, reads, responses):
    """`scorer` on records with these responses, whose readings are `reads` (None: not read)."""
    data = ScoringSet([Record(id=str(i), instruction="x", response=r) for i, r in enumerate(responses)], lm=lm)
    data._readings.update({i: rd for i, rd in enumerate(reads) if rd is not None})  # what `read` would read
    return scorer.score(data)


def test_ending_adds_the_end_of_turn_and_the_closers_after_the_response():
    lm = FakeLM()
    cut = reading(lm, ["The", " sky", " is"], [-1, -1, -1], math.log(0.001), {(3, "."): math.log(0.002),
                                                                              (3, "\n"): math.log(0.003)})
    label = reading(lm, ["blue"] if "blue" in lm.tokenizer.vocab else [" blue"], [-2], math.log(0.3),
                    {(1, "\n"): math.log(0.1)})
    s = scored(ending, lm, [cut, label, None, None], ["The sky is", "blue", " ", "The sky is blue."])
    assert s[0].value == pytest.approx(0.006, abs=1e-6)  # 0.001 + 0.002 + 0.003
    assert s[1].value == pytest.approx(0.4, abs=1e-6)
    assert s[2].value == 1.0 and s[2].reason == "empty response: nothing to end"
    assert s[3].value == 1.0 and s[3].reason == "ends on closing punctuation"  # not read at all


def test_plausibility_compares_each_spot_with_its_minimal_variant():
    lm = FakeLM()
    # "A spider has 9 legs": at "9" the model gives "8" log p −0.5 and "9" −10.0: "8" wins by 9.5 nats,
    # 2.5 beyond the digit margin (7).
    nine = reading(lm, ["A", " spider", " has", "9", " legs"], [-1, -1, -1, -10.0, -1], -1,
                   {(3, "8"): -0.5, (3, "9"): -10.0})
    s = scored(plausibility, lm, [nine], ["A spider has 9 legs"])[0]
    assert s.value == pytest.approx(math.exp(-2.5), abs=1e-6)
    assert "(another digit) at ...'A spider has9' is +9.50 nats" in s.reason and "margin 7" in s.reason
    # A digit only 5.5 nats less likely than another is within the margin: a small model's doubt.
    doubt = reading(lm, ["A", " spider", " has", "9", " legs"], [-1, -1, -1, -6.0, -1], -1,
                    {(3, "8"): -0.5, (3, "9"): -6.0})
    assert scored(plausibility, lm, [doubt], ["A spider has 9 legs"])[0].value == 1.0
    # "The sky is never blue": deleting "never" (the next token " blue" at its place: −0.2) beats it
    # (−4.0) by 3.8 nats; negations have no margin.
    never = reading(lm, ["The", " sky", " is", " never", " blue"], [-1, -1, -1, -4.0, -3.0], -1, {},
                    skip=[-9, -9, -9, -0.2, -9])
    s = scored(plausibility, lm, [never], ["The sky is never blue"])[0]
    assert s.value == pytest.approx(math.exp(-3.8), abs=1e-6) and "negation removed" in s.reason
    # Nothing to vary: not read, 1.0.
    assert scored(plausibility, lm, [None], ["The sky"])[0].reason == "no number or negation to vary"


def test_lm_settings_are_validated_and_explained():
    from instructune.config import ConfigError, load_config
    from instructune.config.docs import explain

    with pytest.raises(ConfigError, match="quality.lm"):
        load_config(None, ["quality.lm=' '"])
    with pytest.raises(ConfigError, match="quality.lm_batch_size"):
        load_config(None, ["quality.lm_batch_size=0"])
    with pytest.raises(ConfigError, match="quality.flag_below.ending"):
        load_config(None, ["quality.flag_below.ending=1.5"])
    text = "\n".join(explain(Config()))
    for key in ("quality.lm:", "quality.lm_batch_size:", "quality.flag_below.ending:",
                "quality.flag_below.plausibility:"):
        assert key in text
    q = Config().quality
    assert {"ending", "plausibility"} <= set(q.scorers)
    assert q.reject_below.ending == q.reject_below.plausibility == 0.0  # they flag, never reject


def test_the_lm_scorers_reuse_the_judges_loaded_model():
    from instructune.recipes.quality import response_lm

    class Judge:
        name, model, tokenizer = "smollm2-135m-instruct", object(), type("T", (), {"chat_template": "x"})()

    class Model:
        def eval(self):
            return self

    judge = Judge()
    judge.model = Model()
    lm = response_lm(Config().quality, judge)
    assert lm.model is judge.model and lm.tokenizer is judge.tokenizer


@pytest.fixture(scope="module")
def default_lm():
    from instructune.model.hub import DEFAULT_MODEL
    from instructune.quality.response_lm import load_response_lm

    return load_response_lm(DEFAULT_MODEL)


@pytest.mark.slow
def test_a_cut_response_ends_lower_than_its_whole_version(default_lm):
    """The default model on hand-made records: the cut answer is flagged, the whole one and a
    bare label are not."""
    whole = Record(id="whole", instruction="Answer this question: how much are the Harry Potter movies worth?",
                   response="The Harry Potter brand is worth in excess of 15 billion dollars")
    cut = replace(whole, id="cut", response="The Harry Potter brand is worth in excess of")
    label = Record(id="label", instruction="Is this review positive or negative? The food was great.",
                   response="Positive")
    s = ending.score(ScoringSet([whole, cut, label], lm=default_lm))
    floor = Config().quality.flag_below.ending
    assert s[1].value < floor <= s[0].value and s[1].value < s[0].value
    assert s[2].value >= floor


@pytest.mark.slow
def test_a_changed_number_and_an_added_negation_are_caught(default_lm):
    right = Record(id="right", instruction="How many legs does a spider have?", response="A spider has 8 legs.")
    wrong = replace(right, id="wrong", response="A spider has 9 legs.")
    said = Record(id="said", instruction="Why did the chicken cross the road?", response="To get to the other side.")
    negated = replace(said, id="negated", response="To not get to the other side.")
    s = plausibility.score(ScoringSet([right, wrong, said, negated], lm=default_lm))
    floor = Config().quality.flag_below.plausibility
    assert s[0].value >= floor and s[2].value >= floor
    assert s[1].value < floor and "another digit" in s[1].reason
    assert s[3].value < floor and "negation removed" in s[3].reason
