"""Damaged copies of clean records: the cases quality control must catch, made on purpose.

Each transform takes a clean record and returns a damaged copy (or None when the damage does
not apply to it: no context to copy from, a response too short to cut). Every choice is drawn
from a `random.Random` seeded by (seed, damage, record id), so the same inputs give the same
damaged set on every machine and in any order.

    kinds = {r.id: task_kind(r) for r in clean}
    bad = make_damage(clean, "truncated", seed=0)            # [(clean_id, damaged record)]
    all_bad = damage_all(clean, seed=0, foreign=texts)        # {damage: [(clean_id, record)]}

The damages (`DAMAGES`):
- shuffled: the response (and rationale) of another record of the same task kind;
- off_task: the response of a record of another task kind;
- truncated: the response cut mid-sentence, between 30% and 70% of its words;
- context_copy: a sentence or item copied from the record's own context;
- repetition: a sentence or phrase of the response looped 6 to 12 times;
- wrong_language: a text from `foreign` (non-English) in place of the response;
- refusal: one of `REFUSALS`, sentences written for this module;
- contradiction: a number of the response changed, or a negation added or removed.

A damaged record keeps the clean one's instruction and context, gets the id
"<clean id>~<damage>", and says what was done in `meta["damage"]`.
"""

from __future__ import annotations

import dataclasses
import random
import re
from collections.abc import Callable, Sequence

from instructune.data.record import Record
from instructune.text import lines, sentences, words

DAMAGES = ("shuffled", "off_task", "truncated", "context_copy", "repetition", "wrong_language", "refusal",
           "contradiction")
KINDS = ("lists", "creative", "arithmetic", "other")

# Written for this benchmark; varied on purpose (apology first or not, "AI" or not, policy or
# ability), so that a detector has to generalise past one phrasing.
REFUSALS = (
    "I'm sorry, but I can't help with that request.",
    "As an AI language model, I don't have the ability to do that.",
    "Unfortunately, I am unable to complete this task.",
    "I cannot provide an answer to this question.",
    "I apologize, but I must decline this request.",
    "That's not something I'm able to assist with.",
    "Sorry, I can't do that.",
    "I'm afraid I can't answer that.",
    "I won't be able to help with this one, sorry.",
    "This request goes against my guidelines, so I will not respond to it.",
    "I'd rather not answer that question.",
    "I am not able to fulfil this request.",
)
# Short texts written for this module in five languages, used when no real non-English text
# is at hand (the benchmark also uses real Chinese and Arabic text from the shared data).
FOREIGN = (
    "Lo siento, no tengo tiempo para leer todo el documento hoy, pero mañana te envío mis comentarios.",
    "La ciudad tiene muchos parques y los domingos las familias van a pasear por el río.",
    "Je pense que nous devons partir tôt demain matin pour éviter les embouteillages sur la route.",
    "Le chat dort sur le canapé depuis le début de l'après-midi et ne veut pas bouger.",
    "Wir haben gestern einen langen Spaziergang durch den Wald gemacht und viele Vögel gesehen.",
    "Die Besprechung wurde auf Donnerstag verschoben, weil der Chef krank ist.",
    "Il treno per Milano parte alle otto, quindi dobbiamo essere in stazione un po' prima.",
    "O jantar estava delicioso e todos os convidados ficaram até tarde conversando na varanda.",
)

_BULLET = re.compile(r"^\s*(?:[-*•]|\d{1,2}[.)]|[a-zA-Z][.)])\s+")
_LIST_ASK = re.compile(r"^[^.?!\n]{0,80}\b(?:list|enumerate|brainstorm|name (?:a few|some|\w+ (?:\w+ )?(?:things|ways|examples))|"
                       r"give (?:me )?(?:a few|some|\d+|two|three|four|five|ten)|(?:two|three|four|five|ten|\d+) "
                       r"(?:\w+ )?(?:ideas|examples|ways|tips|reasons|things|steps|items|words|names))\b", re.I)
_CREATIVE_ASK = re.compile(r"^[^.?!\n]{0,80}\b(?:write|compose|create|come up with|make up|generate|give me|"
                           r"tell me|suggest|invent|draft|craft|imagine)\b[^.?!\n]{0,60}\b(?:tweet|story|poem|haiku|"
                           r"limerick|headline|slogan|tagline|joke|title|song|lyrics|motto|riddle|toast|greeting|"
                           r"caption|pun|rap|verse|name)s?\b", re.I)
_NUMBER = re.compile(r"(?<![\w.])\d+(?:\.\d+)?(?![\w])")
_AUX = re.compile(r"\b(is|are|was|were|can|will|does|do|did|should|could|would|has|have|had)\b")
_NEGATED = re.compile(r"\b(?:is|are|was|were|can|will|does|do|did|should|could|would|has|have|had)"
                      r"(?: not|n't)\b|\bcannot\b|\bwon't\b|\bcan't\b", re.I)
_UNNEGATE = {"won't": "will", "can't": "can", "cannot": "can"}

def task_kind(r: Record) -> str:
    """"arithmetic", "lists", "creative" or "other": the benchmark's clean categories.

    Arithmetic: a rationale with an equation or a numeric answer to a question with numbers.
    Lists: three or more bulleted / numbered lines, or an instruction whose first sentence asks
    for several items. Creative: a short answer (≤ 120 words) to an instruction whose first
    sentence asks (write, tell me, come up with, ...) for a tweet, story, poem,
    headline, ... (the first sentence only: P3 prompts
    carry a whole review or article in the instruction, and its words are not the ask).
    """
    resp = r.response.strip()
    if (r.rationale and ("=" in r.rationale or _NUMBER.search(resp))) and _NUMBER.fullmatch(resp.replace(",", "")):
        return "arithmetic"
    if sum(bool(_BULLET.match(ln)) for ln in lines(resp)) >= 3 or _LIST_ASK.search(r.instruction):
        return "lists"
    if _CREATIVE_ASK.search(r.instruction) and len(words(resp)) <= 120:
        return "creative"
    return "other"


def _rng(seed: int, damage: str, rid: str) -> random.Random:
    # A string seed is hashed with SHA-512 by `random`: stable across runs and machines.
    return random.Random(f"{seed}:{damage}:{rid}")


def _with(r: Record, damage: str, detail: str, response: str, rationale: str | None = None) -> Record:
    meta = {**r.meta, "damage": {"kind": damage, "detail": detail, "clean_id": r.id}}
    return dataclasses.replace(r, id=f"{r.id}~{damage}", response=response,
                               rationale=r.rationale if rationale is None else rationale, meta=meta)


def _donor(r: Record, pool: Sequence[Record], rng: random.Random, same_kind: bool, kinds: dict) -> Record | None:
    """A record of `pool` with a different response, of the same task kind as `r` or another one."""
    mine = kinds.get(r.id) or task_kind(r)
    cands = [p for p in pool if p.id != r.id and p.response.strip() != r.response.strip()
             and p.instruction != r.instruction and ((kinds.get(p.id) or task_kind(p)) == mine) == same_kind]
    cands.sort(key=lambda p: p.id)  # the pool's order must not change the draw
    return rng.choice(cands) if cands else None


def shuffled(r: Record, pool: Sequence[Record], rng: random.Random, kinds: dict) -> Record | None:
    """The response and rationale of another record of the same task kind."""
    d = _donor(r, pool, rng, True, kinds)
    return d and _with(r, "shuffled", f"response of {d.id}", d.response, d.rationale)


def off_task(r: Record, pool: Sequence[Record], rng: random.Random, kinds: dict) -> Record | None:
    """The response and rationale of a record of another task kind."""
    d = _donor(r, pool, rng, False, kinds)
    return d and _with(r, "off_task", f"response of {d.id}", d.response, d.rationale)


def truncated(r: Record, pool: Sequence[Record], rng: random.Random, kinds: dict) -> Record | None:
    """The response cut mid-sentence (not right after a sentence end); needs ≥ 12 words."""
    toks = r.response.split(" ")
    if len(words(r.response)) < 12:
        return None
    lo, hi = int(len(toks) * 0.3), int(len(toks) * 0.7)
    cuts = [i for i in range(max(lo, 2), max(hi, 3)) if not re.search(r"[.!?:;]\W*$", toks[i - 1])]
    if not cuts:
        return None
    i = rng.choice(cuts)
    return _with(r, "truncated", f"cut after {i} of {len(toks)} tokens", " ".join(toks[:i]).rstrip(" ,"))


def _spans(context: str) -> list[str]:
    """Sentences of a context, or its items when it is a list ("23, 12, 17" or one per line)."""
    parts = [s.strip() for s in sentences(context) if s.strip()]
    if len(parts) < 2:
        parts = [p.strip() for p in re.split(r"[,;\n]", context) if p.strip()]
    return parts


def context_copy(r: Record, pool: Sequence[Record], rng: random.Random, kinds: dict) -> Record | None:
    """A sentence (or list item) of the record's own context, other than its response."""
    if not r.context.strip():
        return None
    cands = [s for s in _spans(r.context) if s != r.response.strip() and s not in r.response]
    if not cands:
        return None
    s = rng.choice(cands)
    return _with(r, "context_copy", f"copied {s[:40]!r} from the context", s, "")


def repetition(r: Record, pool: Sequence[Record], rng: random.Random, kinds: dict) -> Record | None:
    """A sentence or a 3-6 word phrase of the response looped 6-12 times after the first part."""
    sents = [s for s in sentences(r.response) if s.strip()]
    n = rng.randint(6, 12)
    if len(sents) >= 2 and rng.random() < 0.5:
        s = rng.choice(sents)
        head = r.response[:r.response.find(s)].rstrip()
        looped = " ".join([s.strip()] * n)
        return _with(r, "repetition", f"sentence looped {n} times", f"{head} {looped}".strip())
    toks = r.response.split()
    if not toks:
        return None
    k = min(len(toks), rng.randint(3, 6))
    start = rng.randrange(0, len(toks) - k + 1)
    phrase = " ".join(toks[start:start + k])
    looped = " ".join([phrase] * n)
    return _with(r, "repetition", f"phrase of {k} words looped {n} times",
                 " ".join(toks[:start + k]) + " " + looped)


def wrong_language(r: Record, pool: Sequence[Record], rng: random.Random, kinds: dict,
                   foreign: Sequence[str] = FOREIGN) -> Record | None:
    """A non-English text from `foreign` in place of the response (not for translation tasks)."""
    if re.search(r"\btranslat|\b(?:in|into|to) (?:french|spanish|german|chinese|arabic|italian)\b",
                 r.instruction, re.I):
        return None
    t = rng.choice(list(foreign))
    return _with(r, "wrong_language", f"foreign text {t[:30]!r}", t, "")


def refusal(r: Record, pool: Sequence[Record], rng: random.Random, kinds: dict) -> Record | None:
    """One of `REFUSALS` in place of the response."""
    t = rng.choice(REFUSALS)
    return _with(r, "refusal", t, t, "")


def _edit_number(text: str, rng: random.Random) -> tuple[str, str] | None:
    """`text` with one of its numbers (the last, for a bare answer) changed, and what changed."""
    found = list(_NUMBER.finditer(text))
    if not found:
        return None
    m = found[-1] if len(found) == 1 else rng.choice(found)
    old = m.group(0)
    value = float(old)
    new = value + rng.choice([1, 2, 3, 5, 10]) * rng.choice([-1, 1]) if value >= 12 else value + rng.randint(1, 4)
    new_s = f"{new:g}" if "." in old else str(int(new))
    return text[:m.start()] + new_s + text[m.end():], f"{old} → {new_s}"


def _flip_negation(text: str, rng: random.Random) -> tuple[str, str] | None:
    """`text` with a negation removed (when it has one) or added after an auxiliary verb."""
    if m := _NEGATED.search(text):
        old = m.group(0)
        new = _UNNEGATE.get(old.lower(), re.sub(r"(?: not|n't)$", "", old))
        return text[:m.start()] + new + text[m.end():], f"{old!r} → {new!r}"
    found = list(_AUX.finditer(text))
    if not found:
        return None
    m = rng.choice(found)
    return text[:m.end()] + " not" + text[m.end():], f"{m.group(0)!r} → '{m.group(0)} not'"


def contradiction(r: Record, pool: Sequence[Record], rng: random.Random, kinds: dict) -> Record | None:
    """A number of the response changed (the final answer of a worked solution), else a negation
    flipped; None when the response has neither."""
    edit = _edit_number(r.response, rng) or _flip_negation(r.response, rng)
    if edit is None:
        return None
    text, what = edit
    return _with(r, "contradiction", what, text)


TRANSFORMS: dict[str, Callable[..., Record | None]] = {
    "shuffled": shuffled, "off_task": off_task, "truncated": truncated, "context_copy": context_copy,
    "repetition": repetition, "wrong_language": wrong_language, "refusal": refusal,
    "contradiction": contradiction,
}


def make_damage(records: Sequence[Record], damage: str, seed: int = 0, kinds: dict[str, str] | None = None,
                foreign: Sequence[str] = FOREIGN) -> list[tuple[str, Record]]:
    """(clean id, damaged record) for each record `damage` applies to, in input order.

    Args:
        records: the clean records (also the pool that shuffled / off_task draw responses from).
        damage: one of `DAMAGES`.
        seed: with the damage name and the record id, seeds every choice.
        kinds: record id → task kind; computed with `task_kind` when missing.
        foreign: non-English texts for wrong_language.
    Raises:
        ValueError: an unknown damage.
    """
    if damage not in TRANSFORMS:
        raise ValueError(f"unknown damage {damage!r}; expected one of {', '.join(DAMAGES)}")
    kinds = kinds if kinds is not None else {r.id: task_kind(r) for r in records}
    fn = TRANSFORMS[damage]
    extra = {"foreign": foreign} if damage == "wrong_language" else {}
    out = []
    for r in records:
        d = fn(r, records, _rng(seed, damage, r.id), kinds, **extra)
        if d is not None:
            out.append((r.id, d))
    return out


def damage_all(records: Sequence[Record], seed: int = 0, foreign: Sequence[str] = FOREIGN,
               damages: Sequence[str] = DAMAGES) -> dict[str, list[tuple[str, Record]]]:
    """`make_damage` for each of `damages`: {damage: [(clean id, damaged record)]}."""
    kinds = {r.id: task_kind(r) for r in records}
    return {d: make_damage(records, d, seed, kinds, foreign) for d in damages}
