"""Constraints a response can be rewritten to meet, honestly: each has a `draw` (the arguments
that fit this response, or None where the rewrite would not be honest or possible) and an
`apply` (the rewritten response, from the arguments).

    kwargs = draw_sections(response, record, rng)      # {"section_spliter": "Part", "num_sections": 3}
    response = apply_sections(response, kwargs, record)

A rewrite keeps the response's content: it changes case, punctuation of lists, layout (bullets,
sections, paragraphs, highlights), or adds framing that says nothing false (a title from the
instruction's own words, the request repeated, a neutral closing line or postscript, a JSON
wrapper). Structure rewrites split the response at sentence ends, so they need enough sentences.
Keys starting with "_" are options of the rewrite, not arguments of the checker.
"""

from __future__ import annotations

import json
import random
import re

from instructune.data.record import Record
from instructune.evaluate.ifeval.length_constraints import paragraph_first_word
from instructune.text import sentences

# Closing lines and postscripts that are true of any answer; our own wording.
END_PHRASES = ("Hope this helps.", "That covers it.", "Happy to expand on any part.",
               "Those are the essentials.", "Feel free to follow up.")
POSTSCRIPT_NOTES = ("Ask if you want more detail on any point.", "This is a summary rather than an exhaustive answer.",
                    "Let me know if a different format would suit you better.")
POSTSCRIPT_MARKERS = ("P.S.", "P.P.S")
SECTION_WORDS = ("Section", "SECTION", "Part", "PART")
JSON_KEYS = ("answer", "response", "reply")
# A list item line: "1. x", "2) x", "- x", "* x", "• x".
_ITEM = re.compile(r"^\s*(?:\d+[.)]|[-*•])\s+(.*\S)\s*$")
_ONE_LINE_SPAN = re.compile(r"^[^\n*]+$")


def _chunks(parts: list[str], n: int) -> list[list[str]]:
    """`parts` cut into `n` consecutive, non-empty, near-equal groups (len(parts) >= n)."""
    size, extra = divmod(len(parts), n)
    out, start = [], 0
    for i in range(n):
        end = start + size + (1 if i < extra else 0)
        out.append(parts[start:end])
        start = end
    return out


def _sentence_groups(response: str, n: int) -> list[str] | None:
    """The response's sentences in `n` groups, each joined by spaces; None with fewer sentences
    than `n` or a response that already holds markdown structure a regrouping would break."""
    if "*" in response or "#" in response:
        return None
    found = [s.strip() for s in sentences(response) if s.strip()]
    if len(found) < n:
        return None
    return [" ".join(g) for g in _chunks(found, n)]


def _count_in(rng: random.Random, response: str, low: int, high: int) -> int | None:
    """A group count in [low, high] that the response has sentences for, or None."""
    most = min(high, len(sentences(response)))
    return rng.randint(low, most) if most >= low else None


# --- case and punctuation -------------------------------------------------------------------

def draw_nothing(response: str, record: Record, rng: random.Random) -> dict | None:
    """Arguments of a rewrite that takes none: {} (any response can be rewritten)."""
    return {} if response.strip() else None


def apply_lowercase(response: str, kwargs: dict, record: Record) -> str:
    return response.lower()


def apply_uppercase(response: str, kwargs: dict, record: Record) -> str:
    return response.upper()


def draw_no_comma(response: str, record: Record, rng: random.Random) -> dict | None:
    """Not where the instruction itself asks for commas ("separated by commas")."""
    return {} if response.strip() and "comma" not in record.instruction.lower() else None


def apply_no_comma(response: str, kwargs: dict, record: Record) -> str:
    """Thousands separators go (1,000 → 1000); other commas become semicolons, which keep a
    list's items apart."""
    return re.sub(r"(?<=\d),(?=\d{3}\b)", "", response).replace(",", ";")


# --- layout ---------------------------------------------------------------------------------

def _bullet_items(response: str) -> list[str]:
    """What becomes the bullets: the items of a response that is a list (every non-empty line
    an item), else its sentences."""
    lines = [ln for ln in response.splitlines() if ln.strip()]
    items = [m.group(1) for ln in lines if (m := _ITEM.match(ln))]
    if items and len(items) == len(lines):
        return items
    return [s.strip() for s in sentences(response) if s.strip()]


def draw_bullets(response: str, record: Record, rng: random.Random) -> dict | None:
    """As many bullets as the response has list items, or (prose) sentences, 2 to 8."""
    n = len(_bullet_items(response))
    return {"num_bullets": n} if 2 <= n <= 8 and "*" not in response.replace("* ", "") else None


def apply_bullets(response: str, kwargs: dict, record: Record) -> str:
    return "\n".join(f"* {item}" for item in _bullet_items(response))


def draw_sections(response: str, record: Record, rng: random.Random) -> dict | None:
    n = _count_in(rng, response, 2, 4)
    if n is None or _sentence_groups(response, n) is None:
        return None
    return {"section_spliter": rng.choice(SECTION_WORDS), "num_sections": n}


def apply_sections(response: str, kwargs: dict, record: Record) -> str:
    groups = _sentence_groups(response, kwargs["num_sections"])
    return "\n\n".join(f"{kwargs['section_spliter']} {i}\n{g}" for i, g in enumerate(groups, 1))


def draw_paragraphs(response: str, record: Record, rng: random.Random) -> dict | None:
    n = _count_in(rng, response, 2, 4)
    if n is None or _sentence_groups(response, n) is None:
        return None
    return {"num_paragraphs": n}


def apply_paragraphs(response: str, kwargs: dict, record: Record) -> str:
    return "\n\n***\n\n".join(_sentence_groups(response, kwargs["num_paragraphs"]))


def draw_nth_first_word(response: str, record: Record, rng: random.Random) -> dict | None:
    """Paragraphs split at sentence ends; the paragraph and its first word are read off the
    split, so the constraint states what the rewritten response does."""
    n = _count_in(rng, response, 2, 4)
    groups = _sentence_groups(response, n) if n else None
    if not groups:
        return None
    nth = rng.randint(1, n)
    word = paragraph_first_word(groups[nth - 1])
    if not word.isalpha():
        return None
    return {"num_paragraphs": n, "nth_paragraph": nth, "first_word": word}


def apply_nth_first_word(response: str, kwargs: dict, record: Record) -> str:
    return "\n\n".join(_sentence_groups(response, kwargs["num_paragraphs"]))


def draw_highlights(response: str, record: Record, rng: random.Random) -> dict | None:
    spans = [s for s in sentences(response) if _ONE_LINE_SPAN.match(s.strip())]
    return {"num_highlights": rng.randint(1, min(3, len(spans)))} if spans else None


def apply_highlights(response: str, kwargs: dict, record: Record) -> str:
    """The first `num_highlights` one-line sentences wrapped in *...*."""
    out, left = response, kwargs["num_highlights"]
    for s in sentences(response):
        s = s.strip()
        if left and _ONE_LINE_SPAN.match(s) and s in out:
            out = out.replace(s, f"*{s}*", 1)
            left -= 1
    return out


# --- framing --------------------------------------------------------------------------------

def draw_title(response: str, record: Record, rng: random.Random) -> dict | None:
    return {} if title_of(record.instruction) else None


def title_of(instruction: str) -> str:
    """A title from the instruction's first words (at most six), in title case."""
    words = re.findall(r"[A-Za-z][A-Za-z'-]*", instruction)[:6]
    return " ".join(w if w.isupper() else w.capitalize() for w in words)


def apply_title(response: str, kwargs: dict, record: Record) -> str:
    return f"<<{title_of(record.instruction)}>>\n\n{response}"


def draw_postscript(response: str, record: Record, rng: random.Random) -> dict | None:
    if re.search(r"p\.\s?(p\.\s?)?s", response.lower()):
        return None  # the response already has one: a second would be odd
    return {"postscript_marker": rng.choice(POSTSCRIPT_MARKERS)}


def apply_postscript(response: str, kwargs: dict, record: Record) -> str:
    note = POSTSCRIPT_NOTES[sum(map(ord, record.id)) % len(POSTSCRIPT_NOTES)]
    return f"{response.rstrip()}\n\n{kwargs['postscript_marker']} {note}"


def draw_end_phrase(response: str, record: Record, rng: random.Random) -> dict | None:
    return {"end_phrase": rng.choice(END_PHRASES)}


def apply_end_phrase(response: str, kwargs: dict, record: Record) -> str:
    return f"{response.rstrip()}\n\n{kwargs['end_phrase']}"


def draw_repeat(response: str, record: Record, rng: random.Random) -> dict | None:
    """The request to repeat is the record's own instruction (one paragraph, not too long)."""
    ask = record.instruction.strip()
    return {"prompt_to_repeat": ask} if ask and "\n" not in ask and len(ask) <= 300 else None


def apply_repeat(response: str, kwargs: dict, record: Record) -> str:
    return f"{kwargs['prompt_to_repeat']}\n\n{response}"


def draw_yes_no(response: str, record: Record, rng: random.Random) -> dict | None:
    """Only an answer that opens with yes or no can be restated as "My answer is yes/no."."""
    return {} if _yes_no(response) else None


def _yes_no(response: str) -> str | None:
    m = re.match(r"\s*(yes|no)\b[.,!]?", response, flags=re.I)
    return m.group(1).lower() if m else None


def apply_yes_no(response: str, kwargs: dict, record: Record) -> str:
    rest = re.sub(r"^\s*(yes|no)\b[.,!]?\s*", "", response, flags=re.I)
    opening = f"My answer is {_yes_no(response)}."
    return f"{opening}\n\n{rest}" if rest else opening


def draw_json_key(response: str, record: Record, rng: random.Random) -> dict | None:
    """The checker takes no argument; "_key" (a rewrite option, never checked) names the field."""
    return {"_key": rng.choice(JSON_KEYS)}


def apply_json(response: str, kwargs: dict, record: Record) -> str:
    """The response as the one string value of a JSON object (no comma: one key)."""
    return json.dumps({kwargs.get("_key", "answer"): response}, ensure_ascii=False, indent=2)


def apply_quotation(response: str, kwargs: dict, record: Record) -> str:
    return f'"{response.strip()}"'
