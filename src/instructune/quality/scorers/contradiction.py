"""Contradiction: does the response contradict itself or the context it was given?

No NLI model ships offline with instructune, so this is a set of heuristics. What they catch:
- **numbers against the context**: the response gives a number for a unit the context also
  counts, and the context never says that number ("3,000 kilometres" where the context says
  "2,300 kilometres"; number words count: "four kilometres" = "4 kilometres");
- **negation flips**: two sentences (response vs context, or two sentences of the response)
  share most of their content words (Jaccard ≥ 0.6, ≥ 3 shared) but one is negated and the
  other is not ("The museum is open on Mondays." / "The museum is not open on Mondays.");
- **antonym swaps**: two such sentences that differ by an antonym pair (rose / fell, true /
  false, higher / lower, ...; ≥ 2 other content words shared, Jaccard ≥ 0.5).
- **worked solutions** (records with a rationale): the final answer is a number the rationale
  never reaches ("... = 72." then "74"), or an equation of the rationale is wrong
  ("48 / 2 = 26").
A number the response computes from the context's (the sum of them all, or the sum,
difference, product or quotient of two: a triangle's perimeter from its sides) is not a
conflict.
What they miss: paraphrased contradictions, wrong facts that the context does not state,
and anything needing world knowledge. False alarms come from answers that compute new
numbers from the context's in more steps, and from sentences that compare
two different things with an antonym pair; this is why the default only flags for review.
Instructions that ask for a contradiction (negate, opposite, antonym, counter-argument) skip
the comparison with the context.

Score: 0.5 ** (number of findings), in (0, 1]; 1.0 when nothing is found.
"""

from __future__ import annotations

import itertools
import re

from instructune.quality._text import (NEGATIONS, NUMBER_WORDS, STOPWORDS, content_words, norm_words, numbers,
                                       sentences)
from instructune.quality.score import Score, ScoringSet

_PAIRS = """true false|increase decrease|increases decreases|increased decreased|rise fall|rises falls
rose fell|rising falling|higher lower|larger smaller|bigger smaller|largest smallest|longest shortest
longer shorter|open closed|opened closed|win lose|won lost|wins loses|positive negative
correct incorrect|possible impossible|legal illegal|safe dangerous|hot cold|warm cold|early late
earlier later|first last|minimum maximum|accept reject|accepted rejected|allowed forbidden
allowed prohibited|present absent|alive dead|north south|east west|buy sell|bought sold|gain loss
profit loss|success failure|succeeded failed|strong weak|rich poor|fast slow|faster slower
cheap expensive|cheaper expensive|easy difficult|agree disagree|like dislike|include exclude
included excluded|above below|inside outside|majority minority|internal external|wet dry
full empty|young old|up down|day night|more fewer|more less|most least|always never|all none"""
ANTONYMS: dict[str, set[str]] = {}
for a, b in (p.split() for p in re.split(r"[|\n]", _PAIRS)):
    ANTONYMS.setdefault(a, set()).add(b)
    ANTONYMS.setdefault(b, set()).add(a)
_ASKS_FOR_CONTRADICTION = re.compile(r"\b(?:negat\w*|opposite|antonyms?|contradict\w*|counter[- ]?argument|"
                                     r"rebut\w*|disagree|false statement)", re.I)
MAX_SENTENCES = 60
MAX_NUMBERS = 30  # context numbers combined pairwise for `derived`  # sentences per text compared pairwise (keeps the cost bounded)


def _negated(words: list[str]) -> bool:
    return sum(w in NEGATIONS or w.endswith("n't") for w in words) % 2 == 1


def _clash(a: str, b: str) -> str | None:
    """"negation" / "antonym" when sentences `a` and `b` say opposite things, else None."""
    ca, cb = content_words(a), content_words(b)
    shared = ca & cb
    if len(shared) >= 3 and len(shared) / len(ca | cb) >= 0.6 and _negated(norm_words(a)) != _negated(norm_words(b)):
        return "negation"
    wa, wb = set(norm_words(a)), set(norm_words(b))
    swaps = [(x, y) for x in wa - wb for y in ANTONYMS.get(x, ()) if y in wb - wa]
    if swaps:
        rest_a, rest_b = ca - {x for x, _ in swaps}, cb - {y for _, y in swaps}
        common = rest_a & rest_b
        if len(common) >= 2 and len(common) / max(len(rest_a | rest_b), 1) >= 0.5:
            return "antonym"
    return None


def _quantities(text: str) -> list[tuple[float, str, str]]:
    """(value, unit key, unit as written) for each number followed by a unit word:
    "2,300 kilometres" → (2300, "kilometre", "kilometres")."""
    text = re.sub(r"(\d)\s*%", r"\1 percent", text)
    toks = re.findall(r"\d[\d,]*(?:\.\d+)?|[A-Za-z]+", text)
    out = []
    for tok, nxt in zip(toks, toks[1:]):
        low = tok.lower()
        if tok[0].isdigit():
            value = float(tok.replace(",", ""))
        elif low in NUMBER_WORDS and low not in ("a", "an", "single"):
            value = float(NUMBER_WORDS[low])
        else:
            continue
        unit = nxt.lower()
        if unit.isalpha() and unit not in STOPWORDS and unit not in NUMBER_WORDS:
            out.append((value, unit[:-1] if unit.endswith("s") and len(unit) > 3 else unit, nxt))
    return out


def _fmt(v: float) -> str:
    return f"{v:g}" if v != int(v) else f"{int(v):,}"


def derived(values: list[float]) -> set[float]:
    """Numbers an answer may compute from `values`: their sum, and the sum, difference, product
    and quotient of any two (rounded to 6 places so 0.1 + 0.2 meets 0.3)."""
    out = {round(sum(values), 6)}
    for a, b in itertools.permutations(values[:MAX_NUMBERS], 2):
        out |= {round(a + b, 6), round(a - b, 6), round(a * b, 6)}
        if b:
            out.add(round(a / b, 6))
    return out


def number_conflicts(response: str, context: str) -> list[str]:
    """Messages for numbers in `response` that conflict with the same unit in `context`."""
    in_context: dict[str, dict[float, str]] = {}
    for v, key, word in _quantities(context):
        in_context.setdefault(key, {})[v] = word
    every = {v for vs in in_context.values() for v in vs}
    every |= derived([v for v, _, _ in numbers(context)])
    out = []
    for v, key, word in _quantities(response):
        if key in in_context and round(v, 6) not in every:
            said = ", ".join(f"{_fmt(x)} {w}" for x, w in sorted(in_context[key].items()))
            out.append(f"response says {_fmt(v)} {word}, the context says {said}")
    return list(dict.fromkeys(out))


_EQUATION = re.compile(r"(?<![\w.])(\d+(?:\.\d+)?)\s*([-+*/x×÷])\s*(\d+(?:\.\d+)?)\s*=\s*(\d+(?:\.\d+)?)(?![\w.]\d)")
_OPS = {"+": lambda a, b: a + b, "-": lambda a, b: a - b, "*": lambda a, b: a * b, "x": lambda a, b: a * b,
        "×": lambda a, b: a * b, "/": lambda a, b: a / b if b else None, "÷": lambda a, b: a / b if b else None}


def wrong_equations(text: str) -> list[str]:
    """Equations "a op b = c" of `text` (one operator, digits only, not part of a longer chain)
    whose result is wrong."""
    out, text = [], text.replace(",", "")
    for m in _EQUATION.finditer(text):
        if re.search(r"[-+*/x×÷(^%$]\s*$", text[:m.start()]):
            continue  # the middle of a longer chain ("5 + 3 + 4 = 12"): its terms are not "a op b"
        a, op, b, c = float(m.group(1)), m.group(2), float(m.group(3)), float(m.group(4))
        got = _OPS[op](a, b)
        if got is not None and abs(got - c) > 0.01 * max(1.0, abs(got)):  # 1%: rounded divisions pass
            out.append(f"the rationale says {m.group(0)!r}, but it is {got:g}")
    return out


def answer_conflicts(response: str, rationale: str) -> list[str]:
    """The final answer's number when the worked solution never reaches it."""
    said = [v for v, _, _ in numbers(response)]
    if not said or not rationale.strip():
        return []
    worked = {round(v, 6) for v, _, _ in numbers(rationale)}
    if not worked or round(said[-1], 6) in worked:
        return []
    return [f"the answer says {_fmt(said[-1])}, a number the rationale never reaches"]


def findings(response: str, context: str, instruction: str = "", rationale: str = "") -> list[tuple[str, str]]:
    """(code, message) for each contradiction found (see the module docstring)."""
    found: list[tuple[str, str]] = [("rationale_answer", m) for m in answer_conflicts(response, rationale)]
    found += [("arithmetic", m) for m in wrong_equations(f"{rationale}\n{response}")]
    rs = sentences(response)[:MAX_SENTENCES]
    for a, b in itertools.combinations(rs, 2):
        if kind := _clash(a, b):
            found.append((f"self_{kind}", f"the response contradicts itself ({kind}): {a[:60]!r} vs {b[:60]!r}"))
    if context.strip() and not _ASKS_FOR_CONTRADICTION.search(instruction):
        found += [("context_number", m) for m in number_conflicts(response, context)]
        cs = sentences(context)[:MAX_SENTENCES]
        for a, b in itertools.product(rs, cs):
            if kind := _clash(a, b):
                found.append((f"context_{kind}", f"the response contradicts the context ({kind}): "
                                                 f"{a[:60]!r} vs {b[:60]!r}"))
    return found


def score(data: ScoringSet) -> list[Score]:
    """Contradiction scores of every record, in (0, 1] (1 = nothing found)."""
    out = []
    for r in data.records:
        found = findings(r.response, r.context, r.instruction, r.rationale)
        if not found:
            out.append(Score(1.0, "no contradiction found"))
        else:
            out.append(Score(round(0.5 ** len(found), 6), "; ".join(m for _, m in found),
                             tuple(dict.fromkeys(c for c, _ in found))))
    return out
