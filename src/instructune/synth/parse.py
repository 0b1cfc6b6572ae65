"""Reading generated text: instructions out of a list, instances out of labelled replies, and
evolved prompts out of their headers.

Models format lists in many ways ("1.", "2)", "Task 3:", "- ", "* "), repeat the headers they
were asked for ("#Rewritten Prompt#:"), and run on past the answer. These functions are
lenient about the form and strict about the content: what they return is plain text, stripped,
with the scaffolding removed; anything unreadable is left out rather than guessed.
"""

from __future__ import annotations

import re

# "1. x", "2) x", "3 - x", "Task 4: x", "Instruction 5. x", "- x", "* x", "• x"
_ITEM = re.compile(
    r"^\s*(?:(?:(?:task|instruction)\s*)?\d+\s*[.):\-]|(?:task|instruction)\s*\d*\s*:|[-*•])\s+(.*)$",
    re.IGNORECASE)
# Lines that end an item: an instance label or an example header.
_ITEM_STOP = re.compile(r"^\s*(?:input|output|answer|response|example\s*\d*)\s*[:.]", re.IGNORECASE)
_MARKDOWN = re.compile(r"\*\*|__|`")
_NEXT_NUMBER = re.compile(r"(?<=[.?!])\s+\d+[.)]?$")
_QUOTES = "\"'“”‘’"

_NO_INPUT = {"", "none", "n/a", "na", "<noinput>", "no input", "(none)", "null", "-", "empty"}
_LABEL = re.compile(r"\b(class\s+label|label|input|output)\s*:\s*", re.IGNORECASE)
# Where a labelled value ends besides the next label: the model starting a new task.
_VALUE_END = re.compile(r"^\s*(?:task\s*:|example\s*\d+\b)", re.IGNORECASE | re.MULTILINE)

_PROMPT_HEADER = re.compile(
    r"^\s*[#*_]*\s*(?:(?:here\s+is\s+)?the\s+)?(?:rewritten|created|new|evolved|given|harder)\s+(?:prompt|instruction|task)"
    r"\s*[#*_]*\s*(?::|is:)?\s*[#*_]*\s*", re.IGNORECASE | re.MULTILINE)


def clean(text: str) -> str:
    """`text` with markdown emphasis removed, whitespace collapsed and wrapping quotes stripped."""
    text = " ".join(_MARKDOWN.sub("", text).split())
    if len(text) >= 2 and text[0] in _QUOTES and text[-1] in _QUOTES:
        text = text[1:-1].strip()
    return text


def parse_instructions(reply: str) -> list[str]:
    """The instructions listed in a reply, in order.

    An item starts at a list marker ("1.", "2)", "Task 3:", "- ", ...) and runs over following
    non-blank lines until a blank line, the next marker, or an "Input:"/"Output:"/"Example"
    line. A reply with no marker at all is read as one instruction per line, leaving out
    lines that end with ":" (preambles such as "Here are some tasks:").

    Args:
        reply: the generated text.
    Returns:
        the cleaned instructions (possibly empty); duplicates are kept (the filters count them).
    """
    lines = reply.splitlines()
    if not any(_ITEM.match(line) for line in lines):
        return [c for line in lines if (c := clean(line)) and not c.endswith(":")]
    items: list[list[str]] = []
    open_item = False
    for line in lines:
        m = _ITEM.match(line)
        if m:
            items.append([m.group(1)])
            open_item = True
        elif not line.strip() or _ITEM_STOP.match(line):
            open_item = False
        elif open_item:
            items[-1].append(line)
    # "15. Name a planet. 16" – the next item's number on the same line, then the model stopped
    return [c for parts in items if (c := _NEXT_NUMBER.sub("", clean(" ".join(parts))))]


def _labelled(reply: str) -> list[tuple[str, str]]:
    """(label, value) pairs in reply order; labels lowercased ("class label" → "label")."""
    marks = list(_LABEL.finditer(reply))
    out = []
    for i, m in enumerate(marks):
        end = marks[i + 1].start() if i + 1 < len(marks) else len(reply)
        value = reply[m.end():end]
        if cut := _VALUE_END.search(value):
            value = value[:cut.start()]
        label = "label" if "label" in m.group(1).lower() else m.group(1).lower()
        out.append((label, value.strip()))
    return out


def _no_input(value: str) -> str:
    """`value`, or "" when it says there is no input ("None", "N/A", "<noinput>", ...)."""
    return "" if clean(value).lower().rstrip(".") in _NO_INPUT else value


def parse_instances(reply: str) -> list[tuple[str, str]]:
    """Input-first instances: (input, output) pairs from "Input: ... Output: ..." text.

    An "Output:" with no "Input:" before it is an instance with no input; an input of "None",
    "N/A" or "<noinput>" is no input. Pairs whose output is empty are left out.

    Returns:
        [(input, output), ...] in reply order ([] when none can be read).
    """
    out, pending = [], None
    for label, value in _labelled(reply):
        if label == "input":
            pending = _no_input(value)
        elif label == "output":
            if value:
                out.append((pending or "", value))
            pending = None
    return out


def parse_labelled_instances(reply: str) -> list[tuple[str, str]]:
    """Output-first (classification) instances: "Class label: L / Input: X" → (X, L).

    Returns:
        [(input, label), ...] in reply order; a label with no input after it is left out.
    """
    out, label = [], None
    for name, value in _labelled(reply):
        if name == "label":
            label = clean(value).rstrip(".") or None
        elif name == "input" and label is not None:
            if value and _no_input(value):
                out.append((value, label))
            label = None
    return out


def parse_evolved(reply: str, with_input: bool = False) -> tuple[str, str | None]:
    """An evolved prompt out of its reply.

    A leading header ("Harder task:", "New task:", "#Rewritten Prompt#:", "New prompt:", ...) is
    removed; when the model repeats headers, only the text under the first one is kept.

    Args:
        reply: the generated text.
        with_input: split an "Input:" part off (for "complicate_input").
    Returns:
        (instruction, input); input is None when `with_input` is False or no "Input:" was given.
        The instruction is "" when nothing usable is left.
    """
    headers = list(_PROMPT_HEADER.finditer(reply))
    text = reply
    if headers:
        end = headers[1].start() if len(headers) > 1 else len(reply)
        text = reply[headers[0].end():end]
    context = None
    if with_input:
        m = re.search(r"(?:^|\n)\s*input\s*:\s*", text, re.IGNORECASE)
        if m:
            text, context = text[:m.start()], _no_input(text[m.end():].strip())
    instruction = text.strip()
    if len(instruction) >= 2 and instruction[0] in _QUOTES and instruction[-1] in _QUOTES:
        instruction = instruction[1:-1].strip()
    return instruction, context
