"""The augmenter: every kept record passes its own constraints, draws are per record and
seeded, held-out types are never drawn, and the generate path keeps the first answer that
passes."""

from __future__ import annotations

import dataclasses
from collections import Counter

from instructune.augment.augmenter import Augmenter
from instructune.augment.conflicts import conflict
from instructune.augment.languages import GENERATED
from instructune.augment.verify import failures
from instructune.config import ConstraintAugmentConfig
from instructune.data.inputs import load_inputs
from instructune.generation.generator import GenStats

from augment_samples import SAMPLES


def starter_copies(n: int):
    """The shipped starter set, each record `n` times under new ids (so each draws anew)."""
    base = load_inputs(["starter:train", "starter:heldout"])
    return [dataclasses.replace(r, id=f"{r.id}/{k}") for k in range(n) for r in base]


def constraints(record):
    return [(c["id"], c["kwargs"]) for c in record.meta["augment"]["constraints"]]


def test_thousands_of_augmented_records_each_pass_their_own_constraints_strictly():
    records = starter_copies(12)
    outcomes = Augmenter(ConstraintAugmentConfig()).augment_all(records)
    kept = [o.record for o in outcomes if o.record]
    assert len(records) >= 2000 and len(kept) >= 0.7 * len(records)
    for r in kept:  # re-checked from what the record says about itself
        assert not failures(r.instruction, r.response, constraints(r)), r.id
        ids = [c for c, _ in constraints(r)]
        assert 1 <= len(ids) <= 3 and not any(conflict(a, b) for a in ids for b in ids if a != b)
    drawn = Counter(c for r in kept for c, _ in constraints(r))
    assert len(drawn) >= 18, drawn  # most rewrite types occur
    assert {o.dropped for o in outcomes} <= {None, "no_fit", "has_rationale"} | {
        o.dropped for o in outcomes if o.dropped and o.dropped.startswith("verify:")}


def test_each_record_draws_on_its_own_seeded_rng():
    settings = ConstraintAugmentConfig(seed=3)
    whole = {o.source: o.record for o in Augmenter(settings).augment_all(SAMPLES)}
    alone = Augmenter(settings).augment_all(SAMPLES[2:3])[0].record
    assert alone == whole[SAMPLES[2].id]  # the other records do not change its draw
    other = {o.source: o.record for o in Augmenter(dataclasses.replace(settings, seed=4)).augment_all(SAMPLES)}
    assert other != whole


def test_held_out_types_are_never_drawn_and_provenance_is_kept():
    held = ["keywords:existence", "punctuation:no_comma", "startend:quotation"]
    outcomes = Augmenter(ConstraintAugmentConfig(held_out=held)).augment_all(starter_copies(2))
    kept = [o.record for o in outcomes if o.record]
    assert kept and not any(c in held for r in kept for c, _ in constraints(r))
    r = kept[0]
    assert r.id.endswith("+constraints") and r.meta["augment"]["source"] == r.id.removesuffix("+constraints")
    assert all(c["how"] in ("transform", "as_is") for c in r.meta["augment"]["constraints"])


class Scripted:
    """A Generator test double: answers each attempt from a script (one reply per conversation)."""

    name = "scripted"

    def __init__(self, answer):
        self.stats, self.answer, self.seen = GenStats(), answer, []

    def chat(self, conversations, params):
        self.seen.append(conversations)
        return [self.answer(c[-1]["content"], len(self.seen)) for c in conversations]

    def complete(self, prompts, params):
        raise NotImplementedError


def test_the_generate_path_keeps_the_first_answer_that_passes_and_counts_calls():
    settings = ConstraintAugmentConfig(generate=1.0, types=["combination:two_responses"], max_attempts=3)
    # Attempt 1 fails the check (one answer); attempt 2 passes.
    gen = Scripted(lambda ask, attempt: "Only one answer." if attempt == 1 else "First idea.\n******\nSecond idea.")
    outcomes = Augmenter(settings).augment_all(SAMPLES[:2], generator=gen)
    assert [o.calls for o in outcomes] == [2, 2] and len(gen.seen) == 2  # one batched request per attempt
    r = outcomes[0].record
    assert r.response == "First idea.\n******\nSecond idea." and r.meta["augment"]["attempts"] == 2
    assert "******" in r.instruction and not failures(r.instruction, r.response, constraints(r))


def test_a_record_no_answer_satisfies_is_dropped_with_the_reason():
    settings = ConstraintAugmentConfig(generate=1.0, types=["combination:two_responses"], max_attempts=2)
    outcomes = Augmenter(settings).augment_all(SAMPLES[:1], generator=Scripted(lambda ask, attempt: ""))
    assert outcomes[0].record is None and outcomes[0].calls == 2
    assert outcomes[0].dropped == "generation_failed:combination:two_responses"


def test_without_a_generator_every_record_takes_the_rewrite_path():
    settings = ConstraintAugmentConfig(generate=1.0)
    outcomes = Augmenter(settings).augment_all(SAMPLES)
    assert all(o.calls == 0 for o in outcomes) and any(o.record for o in outcomes)


def test_copies_draw_anew_and_keep_their_own_ids():
    settings = ConstraintAugmentConfig(copies=3)
    outcomes = Augmenter(settings).augment_all(SAMPLES)
    assert len(outcomes) == 3 * len(SAMPLES)
    assert [o.source for o in outcomes] == [r.id for r in SAMPLES] * 3
    first = outcomes[0].record
    assert first.id == "prose+constraints" and outcomes[len(SAMPLES)].record.id == "prose+constraints2"
    assert first == Augmenter(ConstraintAugmentConfig()).augment_all(SAMPLES)[0].record  # copy 1 as before
    kept = [o.record for o in outcomes if o.record]
    assert len({r.id for r in kept}) == len(kept)
    assert len({r.instruction for r in kept if r.meta["augment"]["source"] == "prose"}) > 1  # new draws


def test_a_response_already_in_another_language_takes_the_language_constraint_as_it_is():
    settings = ConstraintAugmentConfig(types=["language:response_language"])
    outcomes = {o.source: o for o in Augmenter(settings).augment_all(SAMPLES)}
    french = outcomes["french"].record
    assert french.response == SAMPLES[-1].response  # kept word for word
    assert french.meta["augment"]["constraints"] == [
        {"id": "language:response_language", "kwargs": {"language": "fr"}, "how": "as_is"}]
    assert "French" in french.instruction and not failures(french.instruction, french.response, constraints(french))
    assert {o.dropped for s, o in outcomes.items() if s != "french"} == {"no_fit"}  # English answers


# Two sentences in each language the generator may be asked for.
REPLIES = {
    "French": "Voici une réponse écrite en français du début à la fin. Elle répond à la question posée.",
    "German": "Hier ist eine Antwort, die ganz auf Deutsch geschrieben ist. Sie beantwortet die gestellte Frage.",
    "Spanish": "Esta es una respuesta escrita en español de principio a fin. Responde a la pregunta que se hizo.",
    "Italian": "Questa è una risposta scritta in italiano dall'inizio alla fine. Risponde alla domanda posta.",
    "Portuguese": "Esta é uma resposta escrita em português do começo ao fim. Ela responde à pergunta feita.",
}


def test_the_generator_is_still_asked_for_another_language_than_the_responses():
    """English responses: the language is drawn for the generator, which answers in it."""
    settings = ConstraintAugmentConfig(generate=1.0, types=["language:response_language"], max_attempts=1)
    gen = Scripted(lambda ask, attempt: next(text for name, text in REPLIES.items() if name in ask))
    outcomes = Augmenter(settings).augment_all(SAMPLES[:5], generator=gen)
    assert len(gen.seen) == 1 and all(o.record for o in outcomes)
    for o in outcomes:
        (c,) = o.record.meta["augment"]["constraints"]
        assert c["how"] == "generate" and o.record.response == REPLIES[GENERATED[c["kwargs"]["language"]]]


def test_every_copy_of_a_record_in_another_language_says_which_language():
    outcomes = Augmenter(ConstraintAugmentConfig(copies=4)).augment_all(SAMPLES)
    french = [o.record for o in outcomes if o.source == "french"]
    assert len(french) == 4 and all(
        {"id": "language:response_language", "kwargs": {"language": "fr"}, "how": "as_is"}
        in r.meta["augment"]["constraints"] for r in french)
    english = [o.record for o in outcomes if o.source != "french" and o.record]
    assert english and not any(c[0] == "language:response_language" for r in english for c in constraints(r))


def test_an_instruction_that_names_a_language_is_never_asked_for_another():
    """"Explain in German ..." + "reply only in Italian" contradict each other: the language type
    does not fit such a record, so it is not sent to the generator; with no other type to draw
    it is dropped as no_fit, and a record that names no language is still asked."""
    settings = ConstraintAugmentConfig(generate=1.0, types=["language:response_language"], max_attempts=1)
    german = dataclasses.replace(SAMPLES[0], id="german", instruction="Explain in German how a rainbow forms.")
    english = dataclasses.replace(SAMPLES[0], id="english", instruction="Translate this note into English.")
    gen = Scripted(lambda ask, attempt: next(text for name, text in REPLIES.items() if name in ask))
    outcomes = Augmenter(settings).augment_all([german, english, SAMPLES[1]], generator=gen)
    assert [o.dropped for o in outcomes] == ["no_fit", "no_fit", None] and [o.calls for o in outcomes] == [0, 0, 1]
    assert len(gen.seen[0]) == 1  # only the record that names no language was asked
