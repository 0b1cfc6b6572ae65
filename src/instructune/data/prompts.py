"""Reading prompts for generation: rows that need no response.

`instructune generate --input FILE` answers each row of FILE. A row of a training format is
read by that format's reader as usual; a row that the reader rejects (or a file that matches
no training format) is read as a prompt when it has one of these shapes:

    {"prompt": "..."}                                       a plain prompt
    {"instruction": "...", "input" or "context": "..."}     Alpaca / Dolly / records, with no
                                                            or an empty output / response
    {"messages": [..., {"role": "user", ...}]}              OpenAI messages ending in a user
                                                            turn (earlier turns → history)

Training never reads through here: its readers still reject an empty output or a
conversation without a final reply.
"""

from __future__ import annotations

from collections.abc import Iterator

from instructune.config import ReaderConfig
from instructune.data.errors import DataError
from instructune.data.formats import explain, get_format, iter_records
from instructune.data.formats._fields import Row
from instructune.data.rows import iter_raw_rows
from instructune.data.record import ROLES, Record, Turn
from instructune.data.starter import resolve_input

NAME = "prompt"
SHAPES = ("a 'prompt' string, an 'instruction' (with optional 'input' or 'context'), "
          "or a 'messages' list ending in a user turn")


def _messages_record(row: Row) -> Record:
    """A prompt from OpenAI messages: a leading system turn, history, the last user turn."""
    turns, where = [], []
    for i, m in enumerate(row.items("messages")):
        if not isinstance(m, dict):
            raise row.error(f"expected an object, got {type(m).__name__}", f"messages[{i}]")
        role = row.text("role", where=m, label=f"messages[{i}].role")
        if role not in ROLES:
            raise row.error(f"unknown role {role!r}; allowed: {', '.join(ROLES)}", f"messages[{i}].role")
        turns.append(Turn(role, row.text("content", where=m, label=f"messages[{i}].content")))
        where.append(f"messages[{i}].content")
    system = None
    if turns and turns[0].role == "system":
        system, turns, where = turns[0].content, turns[1:], where[1:]
    if turns and turns[-1].role == "assistant":  # a finished conversation: answer its last user turn anew
        turns, where = turns[:-1], where[:-1]
    if not turns or turns[-1].role != "user":
        raise row.error("a prompt conversation must end with a user turn", "messages")
    if not turns[-1].content.strip():
        raise row.error("empty", where[-1])
    return Record(id=row.record_id(NAME), instruction=turns[-1].content, response="", system=system,
                  history=turns[:-1], source=row.source(NAME))


def prompt_record(row: Row) -> Record:
    """The prompt a row holds (see the module docstring for the shapes).

    Raises:
        DataError: a row of none of the shapes, or an empty prompt (file, line, field).
    """
    obj = row.obj
    if "messages" in obj:
        return _messages_record(row)
    if "instruction" in obj:
        instruction = row.text("instruction", nonempty=True)
        context = row.text("input", required=False) or row.text("context", required=False)
    elif "prompt" in obj:
        instruction, context = row.text("prompt", nonempty=True), ""
    else:
        raise row.error(f"not a prompt: needs {SHAPES}")
    system = row.text("system", required=False) or None
    return Record(id=row.record_id(NAME), instruction=instruction, context=context, response="", system=system,
                  source=row.source(NAME))


def iter_prompts(name: str, fmt: str | None = None, reader: ReaderConfig | None = None) -> Iterator[Record]:
    """The prompts of one input (a file, or "starter:SPLIT"), in order.

    Args:
        name: the input.
        fmt: force a training format; None detects it from the first row (none matching is
            fine here: every row is then read as a prompt).
        reader: reader options for formats that read whole files (OpenAssistant, TSV).
    Raises:
        DataError: the first row that is neither a record of the format nor a prompt.
    """
    path = resolve_input(name)
    chosen = fmt or explain(path).chosen
    mod = get_format(chosen) if chosen else None
    if mod is not None and mod.iter_file is not None:  # whole-file formats always hold full records
        yield from iter_records(path, chosen, reader)
        return
    for raw in iter_raw_rows(path):
        if raw.error:
            raise raw.error
        row = Row(path, raw.loc, raw.value)
        if mod is not None:
            try:
                yield from mod.read_row(row, reader or ReaderConfig())
                continue
            except DataError as full:
                if not ({"messages", "instruction", "prompt"} & set(row.obj)):
                    raise full  # the format's own complaint says more than "not a prompt"
        yield prompt_record(row)


def load_prompts(names: list[str], fmt: str | None = None, reader: ReaderConfig | None = None) -> list[Record]:
    """All prompts of the named inputs, in order (see `iter_prompts`)."""
    return [r for name in names for r in iter_prompts(name, fmt, reader)]
