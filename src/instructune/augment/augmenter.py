"""`Augmenter`: records in, constraint-augmented and verified records out.

    aug = Augmenter(settings)                                # ConstraintAugmentConfig
    outcomes = aug.augment_all(records, generator=None)      # one Outcome per record, in order
    kept = [o.record for o in outcomes if o.record]

Per record (its own RNG, seeded by the seed and the record id, so a record's draw does not
depend on the others): draw how many constraints (min..max) and which types (compatible with
each other, `conflicts.py`); then
- rewrite path: the "transform" types rewrite the response in stage order, each drawn on the
  response as it is at that point (a type that does not fit it, or whose own check fails on
  the rewrite, is left out), then the "as_is"
  types are drawn from the final response;
- generate path (a `generate` share of the records, when a generator is given): the "generate"
  types (and the "as_is" ones a generator can also be asked for), answered by the generator,
  `max_attempts` tries, batched over records.
Every kept record passes all its constraints under the strict checker; a record that cannot is
dropped with the reason.
"""

from __future__ import annotations

import random
from collections.abc import Callable
from dataclasses import dataclass, field, replace

from instructune.augment.conflicts import compatible
from instructune.augment.phrasings import phrase
from instructune.augment.types import TYPES
from instructune.augment.verify import checker_kwargs, failures
from instructune.config import ConstraintAugmentConfig
from instructune.data.record import Record
from instructune.generation.generator import Generator
from instructune.generation.params import GenParams

# Sampling for generated answers: varied enough that a retry is a new attempt.
GENERATE_PARAMS = GenParams(max_new_tokens=256, temperature=0.7, top_p=0.95)


@dataclass
class Outcome:
    """What became of one record.

    Attributes:
        source: the original record's id.
        record: the augmented record (verified), or None when dropped.
        dropped: why it was dropped ("no_instruction", "has_rationale", "no_fit",
            "verify:<type>", "generation_failed:<type>"), or None.
        drawn: the constraint types drawn for it (kept or not), for per-type drop shares.
        calls: generator calls spent on it.
    """

    source: str
    record: Record | None = None
    dropped: str | None = None
    drawn: list[str] = field(default_factory=list)
    calls: int = 0


def with_constraints(record: Record, response: str, applied: list[tuple[str, dict]], how: dict[str, str],
                     rng: random.Random, attempts: int = 0) -> Record:
    """The augmented record: the instruction with one phrasing per constraint appended, the
    compliant response, and provenance in `meta["augment"]`."""
    asks = " ".join(phrase(t, kw, rng) for t, kw in applied)
    meta = {**record.meta, "augment": {
        "source": record.id,
        "constraints": [{"id": t, "kwargs": checker_kwargs(kw), "how": how[t]} for t, kw in applied],
        **({"attempts": attempts} if attempts else {})}}
    return replace(record, id=f"{record.id}+constraints", instruction=f"{record.instruction.rstrip()} {asks}",
                   response=response, meta=meta)


class Augmenter:
    """Draws constraints for records and makes their responses comply (see the module docstring).

    Args:
        settings: the `data.augment.constraints` section.
    """

    def __init__(self, settings: ConstraintAugmentConfig):
        self.settings = settings
        drawable = settings.drawable()
        self.rewrite_types = [t for t in drawable if TYPES[t].how != "generate"]
        self.generate_types = [t for t in drawable if TYPES[t].generates]

    def rng(self, record: Record, copy: int = 0) -> random.Random:
        """The draw of one copy of one record: seeded by the seed, the record id and the copy."""
        return random.Random(f"{self.settings.seed}:{record.id}" + (f":{copy}" if copy else ""))

    def choose(self, pool: list[str], rng: random.Random, first: list[str] | None = None) -> list[str]:
        """Up to k (min..max) mutually compatible types: `first` (those of `pool`), then from
        `pool` in random order."""
        k = rng.randint(self.settings.min_constraints, self.settings.max_constraints)
        chosen: list[str] = [t for t in first or [] if t in pool][:k]
        for t in rng.sample(pool, len(pool)):
            if len(chosen) == k:
                break
            if compatible(t, chosen):
                chosen.append(t)
        return chosen

    def wants_generation(self, record: Record, rng: random.Random) -> bool:
        return bool(self.generate_types) and rng.random() < self.settings.generate

    def rewrite(self, record: Record, rng: random.Random, drawn: list[str] | None = None) -> Outcome:
        """The rewrite path for one record; `drawn` fixes the types instead of drawing them
        (tests compose chosen pairs this way)."""
        out = Outcome(record.id)
        if not record.instruction.strip() or not record.response.strip():
            out.dropped = "no_instruction"
            return out
        if record.rationale:  # the trained target is rationale + response: the rewrite sees only one
            out.dropped = "has_rationale"
            return out
        always = [t for t in self.rewrite_types if TYPES[t].always_if and TYPES[t].always_if(record.response)]
        out.drawn = list(drawn) if drawn is not None else self.choose(self.rewrite_types, rng, first=always)
        response, applied = record.response, []
        for t in sorted((t for t in out.drawn if TYPES[t].how == "transform"), key=lambda t: TYPES[t].stage):
            if (kw := TYPES[t].draw(response, record, rng)) is None:
                continue
            rewritten = TYPES[t].apply(response, kw, record)
            # A rewrite its own checker rejects (a case change on text langdetect does not call
            # English) is left out rather than costing the record.
            if not failures(record.instruction, rewritten, [(t, kw)]):
                response = rewritten
                applied.append((t, kw))
        for t in (t for t in out.drawn if TYPES[t].how == "as_is"):
            if (kw := TYPES[t].draw(response, record, rng)) is not None:
                applied.append((t, kw))
        if not applied:
            out.dropped = "no_fit"
            return out
        augmented = with_constraints(record, response, applied, {t: TYPES[t].how for t, _ in applied}, rng)
        if failed := failures(augmented.instruction, response, applied):
            out.dropped = f"verify:{failed[0]}"
            return out
        out.record = augmented
        return out

    def generate(self, pending: list[tuple[Record, random.Random]], generator: Generator,
                 params: GenParams = GENERATE_PARAMS) -> list[Outcome]:
        """The generate path for several records, one batched request per attempt."""
        outs, asks = [], []
        for record, rng in pending:
            drawn = self.choose(self.generate_types, rng)
            outs.append(Outcome(record.id, drawn=drawn))
            drawn_kw = [(t, TYPES[t].draw_for_generation(record.response, record, rng)) for t in drawn]
            applied = [(t, kw) for t, kw in drawn_kw if kw is not None]  # None: the type does not fit it
            if not applied:
                outs[-1].dropped = "no_fit"
                asks.append(None)
                continue
            asks.append(with_constraints(record, "", applied, {t: "generate" for t, _ in applied}, rng))
        todo = [i for i, ask in enumerate(asks) if ask is not None]
        for attempt in range(1, self.settings.max_attempts + 1):
            if not todo:
                break
            replies = generator.chat([conversation(asks[i]) for i in todo],
                                     replace(params, seed=self.settings.seed + attempt))
            still = []
            for i, reply in zip(todo, replies):
                outs[i].calls += 1
                constraints = [(c["id"], c["kwargs"]) for c in asks[i].meta["augment"]["constraints"]]
                if reply.strip() and not failures(asks[i].instruction, reply, constraints):
                    kept = replace(asks[i], response=reply.strip())
                    kept.meta["augment"]["attempts"] = attempt
                    outs[i].record = kept
                else:
                    still.append(i)
            todo = still
        for i in todo:
            outs[i].dropped = f"generation_failed:{asks[i].meta['augment']['constraints'][0]['id']}"
        return outs

    def augment_all(self, records: list[Record], generator: Generator | None = None,
                    on_record: Callable[[Outcome], None] | None = None) -> list[Outcome]:
        """One `Outcome` per record and copy (`settings.copies`), in input order: every
        record's first copy, then every record's second, ...

        Args:
            records: the records to augment (each gives at most `copies` augmented records, each
                with its own draw: ids `ID+constraints`, `ID+constraints2`, ...).
            generator: answers the generate path; None sends every record down the rewrite path.
            on_record: called with each outcome as it is decided (progress).
        """
        units = [(r, k) for k in range(self.settings.copies) for r in records]
        outcomes: list[Outcome | None] = [None] * len(units)
        pending, where = [], []
        for i, (r, k) in enumerate(units):
            rng = self.rng(r, k)
            if generator is not None and r.instruction.strip() and self.wants_generation(r, rng):
                pending.append((r, rng))
                where.append(i)
                continue
            outcomes[i] = numbered(self.rewrite(r, rng), k)
            if on_record:
                on_record(outcomes[i])
        if pending:
            for i, o in zip(where, self.generate(pending, generator)):
                outcomes[i] = numbered(o, units[i][1])
                if on_record:
                    on_record(o)
        return outcomes


def numbered(outcome: Outcome, copy: int) -> Outcome:
    """Copy `copy` (0-based) of a record keeps its own id: ID+constraints, ID+constraints2, ..."""
    if copy and outcome.record:
        outcome.record = replace(outcome.record, id=f"{outcome.source}+constraints{copy + 1}")
    return outcome


def conversation(record: Record) -> list[dict[str, str]]:
    """The chat a generator answers for `record`: its system prompt, history, then the
    instruction (and context, after a blank line)."""
    msgs = [{"role": "system", "content": record.system}] if record.system else []
    msgs += [{"role": t.role, "content": t.content} for t in record.history]
    user = f"{record.instruction}\n\n{record.context}" if record.context else record.instruction
    return msgs + [{"role": "user", "content": user}]
