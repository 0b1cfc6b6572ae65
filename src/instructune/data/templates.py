"""Prompt templates: how a record is laid out as text pieces, each with its segment.

A template turns a record into a list of `Piece`s: text (or token ids) with a segment id and
a flag saying whether the loss is taken on it. The renderer (`render.py`) tokenizes the
pieces; nothing else depends on a template's text. Templates:

- `chat`   the model's own chat template (its Jinja `chat_template`), split by sentinels so
           that every message's content keeps its segment;
- `inst`   `[INST] instruction\\n\\ncontext [/INST] response</s>` with `[INST]`/`[/INST]`
           added to the vocabulary as special tokens;
- `alpaca` the Alpaca prompt ("### Instruction: / ### Input: / ### Response:");
- `llama3`, `gemma`, `phi3`: those families' own turn formats (`TurnTemplate`), for a base
  model of the family whose tokenizer carries no chat template; their marker tokens are added
  to the vocabulary when missing. Mistral's format is `inst`.

The end-of-turn token after every response is trained, so the model learns to stop.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass

from instructune.config import TemplateConfig
from instructune.data.record import Record

# Segment ids of the token contract (docs/architecture.md §3).
TEMPLATE, INSTRUCTION, CONTEXT, RESPONSE, RATIONALE = 0, 1, 2, 3, 4
SEGMENT_NAMES = {TEMPLATE: "template", INSTRUCTION: "instruction", CONTEXT: "context",
                 RESPONSE: "response", RATIONALE: "rationale"}


@dataclass
class Piece:
    """A run of text with one segment id.

    Attributes:
        text: text to tokenize (special tokens in it are recognised).
        segment: segment id (TEMPLATE, INSTRUCTION, ...).
        trained: whether labels are kept (loss taken) on its tokens.
        stop_trained: for template text right after a response, train its tokens up to and
            including the first end-of-turn token, and no further.
    """

    text: str
    segment: int
    trained: bool = False
    stop_trained: bool = False


@dataclass
class TemplateOptions:
    """Rendering options shared by all templates.

    Attributes:
        context_separator: text between instruction and context inside the user turn.
        rationale_separator: text between rationale and final answer in a CoT response.
        train_rationale: take the loss on rationale tokens.
        train_answer: take the loss on the final answer (response) tokens.
    """

    context_separator: str = "\n\n"
    rationale_separator: str = "\nAnswer: "
    train_rationale: bool = True
    train_answer: bool = True


def template_options(t: TemplateConfig) -> TemplateOptions:
    """The renderer's options from the `template` section."""
    return TemplateOptions(t.context_separator, t.rationale_separator, t.train_rationale, t.train_answer)


def user_pieces(record: Record, opts: TemplateOptions) -> list[Piece]:
    """The final user turn: instruction, then context when present."""
    out = [Piece(record.instruction, INSTRUCTION)]
    if record.context:
        out += [Piece(opts.context_separator, TEMPLATE), Piece(record.context, CONTEXT)]
    return out


def response_pieces(record: Record, opts: TemplateOptions) -> list[Piece]:
    """The final response: `rationale + separator + answer` for CoT records, else the answer."""
    if not record.rationale:
        return [Piece(record.response, RESPONSE, trained=opts.train_answer)]
    return [Piece(record.rationale, RATIONALE, trained=opts.train_rationale),
            Piece(opts.rationale_separator, TEMPLATE, trained=opts.train_answer),
            Piece(record.response, RESPONSE, trained=opts.train_answer)]


def exchanges(record: Record, opts: TemplateOptions) -> list[tuple[list[Piece], list[Piece] | None]]:
    """(user pieces, assistant pieces) pairs, oldest first. History user turns are
    instruction, history assistant turns are trained responses. System turns are skipped
    here (templates read `record.system`)."""
    pairs: list[tuple[list[Piece], list[Piece] | None]] = []
    pending: list[Piece] | None = None
    for turn in record.history:
        if turn.role == "user":
            if pending is not None:  # two user turns in a row: merge them
                pending.append(Piece("\n\n" + turn.content, INSTRUCTION))
            else:
                pending = [Piece(turn.content, INSTRUCTION)]
        elif turn.role == "assistant":
            pairs.append((pending or [], [Piece(turn.content, RESPONSE, trained=True)]))
            pending = None
    if pending is not None:
        pairs.append((pending, None))
    pairs.append((user_pieces(record, opts), response_pieces(record, opts)))
    return pairs


class ChatTemplate:
    """The tokenizer's own Jinja chat template, with per-message segments.

    Each message's content is replaced by a sentinel, the conversation is rendered with
    `apply_chat_template`, and the text is split on the sentinels: the text between them is
    template (segment 0), the sentinels are swapped back for the content pieces.
    """

    name = "chat"
    special_tokens: list[str] = []
    _SENTINEL = re.compile("\ue000(\\d+)\ue001")

    def pieces(self, record: Record, tokenizer, opts: TemplateOptions, generation: bool = False) -> list[Piece]:
        """Pieces for training, or with `generation` the prompt up to the assistant header."""
        if not getattr(tokenizer, "chat_template", None):
            raise ValueError("the tokenizer has no chat_template; use template.name=alpaca or inst")
        contents: list[list[Piece]] = []
        messages: list[dict[str, str]] = []

        def add(role: str, pieces: list[Piece]) -> None:
            messages.append({"role": role, "content": f"\ue000{len(contents)}\ue001"})
            contents.append(pieces)

        if record.system:
            add("system", [Piece(record.system, TEMPLATE)])
        pairs = exchanges(record, opts)
        for i, (user, assistant) in enumerate(pairs):
            add("user", user)
            if assistant is not None and not (generation and i == len(pairs) - 1):
                add("assistant", assistant)
        text = tokenizer.apply_chat_template(messages, tokenize=False, add_generation_prompt=generation)
        out: list[Piece] = []
        pos, after_assistant = 0, False
        for m in self._SENTINEL.finditer(text):
            if m.start() > pos:
                out.append(Piece(text[pos:m.start()], TEMPLATE, stop_trained=after_assistant))
            k = int(m.group(1))
            out += contents[k]
            after_assistant = messages[k]["role"] == "assistant"
            pos = m.end()
        tail = text[pos:]
        if tail or after_assistant:
            out.append(Piece(tail, TEMPLATE, stop_trained=after_assistant))
        return out


class AlpacaTemplate:
    """The Alpaca prompt. The record's system prompt, when set, replaces the preamble.

    The preambles and headers are Stanford Alpaca's (tatsu-lab/stanford_alpaca, Apache-2.0),
    quoted word for word on purpose: a model tuned on Alpaca-format data expects exactly this
    text, so a paraphrase would be a different template (NOTICE, "Formats reproduced").
    """

    name = "alpaca"
    special_tokens: list[str] = []
    PREAMBLE = ("Below is an instruction that describes a task. "
                "Write a response that appropriately completes the request.\n\n")
    PREAMBLE_CTX = ("Below is an instruction that describes a task, paired with an input that "
                    "provides further context. Write a response that appropriately completes "
                    "the request.\n\n")

    def pieces(self, record: Record, tokenizer, opts: TemplateOptions, generation: bool = False) -> list[Piece]:
        preamble = record.system + "\n\n" if record.system else (
            self.PREAMBLE_CTX if record.context else self.PREAMBLE)
        out = [Piece(bos_text(tokenizer) + preamble, TEMPLATE)]
        pairs = exchanges(record, opts)
        for i, (user, assistant) in enumerate(pairs):
            last = i == len(pairs) - 1
            sep = "" if i == 0 else "\n\n"
            if last and record.context:
                # Alpaca puts the context under its own "### Input:" header.
                out += [Piece(sep + "### Instruction:\n", TEMPLATE), user[0],
                        Piece("\n\n### Input:\n", TEMPLATE), user[-1]]
            else:
                out += [Piece(sep + "### Instruction:\n", TEMPLATE), *user]
            out.append(Piece("\n\n### Response:\n", TEMPLATE))
            if generation and last:
                break
            if assistant is not None:
                out += [*assistant, Piece(tokenizer.eos_token, TEMPLATE, stop_trained=True)]
        return out


class InstTemplate:
    """`[INST] user [/INST] assistant</s>` turns, with `[INST]`/`[/INST]` as new special tokens."""

    name = "inst"
    special_tokens = ["[INST]", "[/INST]"]

    def pieces(self, record: Record, tokenizer, opts: TemplateOptions, generation: bool = False) -> list[Piece]:
        out = [Piece(bos_text(tokenizer), TEMPLATE)] if bos_text(tokenizer) else []
        if record.system:
            out.append(Piece(f"{record.system}\n\n", TEMPLATE))
        pairs = exchanges(record, opts)
        for i, (user, assistant) in enumerate(pairs):
            out += [Piece("[INST] ", TEMPLATE), *user, Piece(" [/INST] ", TEMPLATE)]
            if generation and i == len(pairs) - 1:
                break
            if assistant is not None:
                out += [*assistant, Piece(tokenizer.eos_token, TEMPLATE, stop_trained=True)]
        return out


@dataclass(frozen=True)
class TurnTemplate:
    """A family's turn format: markers around each role's text, the end-of-turn marker trained
    after every response (up to and including its first end-of-turn token).

    Attributes:
        name: the template's name (`template.name`).
        special_tokens: marker tokens added to the vocabulary when the tokenizer lacks them.
        user_open, user_close: around a user turn (instruction, then context).
        assistant_open: before a response; also the generation prompt's end.
        end: after a response (its first end-of-turn token is trained).
        system_open, system_close: around a system turn; None: the family has no system role,
            and the system prompt opens the first user turn, followed by a blank line.
        bos: text the conversation starts with; None: the tokenizer's BOS when it adds one.
    """

    name: str
    special_tokens: list[str]
    user_open: str
    user_close: str
    assistant_open: str
    end: str
    system_open: str | None = None
    system_close: str = ""
    bos: str | None = None

    def start(self, tokenizer) -> str:
        return bos_text(tokenizer) if self.bos is None else self.bos

    def pieces(self, record: Record, tokenizer, opts: TemplateOptions, generation: bool = False) -> list[Piece]:
        """Pieces for training, or with `generation` the prompt up to the assistant marker."""
        out = [Piece(self.start(tokenizer), TEMPLATE)] if self.start(tokenizer) else []
        if record.system and self.system_open is not None:
            out.append(Piece(self.system_open + record.system + self.system_close, TEMPLATE))
        pairs = exchanges(record, opts)
        for i, (user, assistant) in enumerate(pairs):
            out.append(Piece(self.user_open, TEMPLATE))
            if i == 0 and record.system and self.system_open is None:
                out.append(Piece(record.system + "\n\n", TEMPLATE))
            out += [*user, Piece(self.user_close + self.assistant_open, TEMPLATE)]
            if generation and i == len(pairs) - 1:
                break
            if assistant is not None:
                out += [*assistant, Piece(self.end, TEMPLATE, stop_trained=True)]
        return out

    def chat_template(self, tokenizer) -> str:
        """The Jinja chat template that renders a conversation as `pieces` does (the export
        carries it, so plain transformers prompts the model as it was trained)."""
        q = json.dumps
        system = ("{% set ns.system = m['content'] + '\\n\\n' %}" if self.system_open is None
                  else "{{ " + q(self.system_open) + " + m['content'] + " + q(self.system_close) + " }}")
        return ("{% set ns = namespace(system='') %}{{ " + q(self.start(tokenizer)) + " }}"
                "{% for m in messages %}{% if m['role'] == 'system' %}" + system +
                "{% elif m['role'] == 'user' %}{{ " + q(self.user_open) + " + ns.system + m['content'] + "
                + q(self.user_close) + " }}{% set ns.system = '' %}"
                "{% else %}{{ " + q(self.assistant_open) + " + m['content'] + " + q(self.end) + " }}{% endif %}"
                "{% endfor %}{% if add_generation_prompt %}{{ " + q(self.assistant_open) + " }}{% endif %}")


LLAMA3 = TurnTemplate(
    "llama3", ["<|begin_of_text|>", "<|start_header_id|>", "<|end_header_id|>", "<|eot_id|>"],
    user_open="<|start_header_id|>user<|end_header_id|>\n\n", user_close="<|eot_id|>",
    assistant_open="<|start_header_id|>assistant<|end_header_id|>\n\n", end="<|eot_id|>",
    system_open="<|start_header_id|>system<|end_header_id|>\n\n", system_close="<|eot_id|>",
    bos="<|begin_of_text|>")
GEMMA = TurnTemplate(
    "gemma", ["<start_of_turn>", "<end_of_turn>"],
    user_open="<start_of_turn>user\n", user_close="<end_of_turn>\n", assistant_open="<start_of_turn>model\n",
    end="<end_of_turn>\n")
PHI3 = TurnTemplate(
    "phi3", ["<|system|>", "<|user|>", "<|assistant|>", "<|end|>"],
    user_open="<|user|>\n", user_close="<|end|>\n", assistant_open="<|assistant|>\n", end="<|end|>\n",
    system_open="<|system|>\n", system_close="<|end|>\n")


def bos_text(tokenizer) -> str:
    """The BOS token's text if the tokenizer adds one by default, else ''."""
    if tokenizer.bos_token_id is None:
        return ""
    ids = tokenizer("a", add_special_tokens=True)["input_ids"]
    return tokenizer.bos_token if ids and ids[0] == tokenizer.bos_token_id else ""


TEMPLATES = {t.name: t for t in (ChatTemplate(), InstTemplate(), AlpacaTemplate(), LLAMA3, GEMMA, PHI3)}


def get_template(name: str):
    """The template called `name`; ValueError listing the allowed names otherwise."""
    if name not in TEMPLATES:
        raise ValueError(f"unknown template {name!r}; allowed: {', '.join(TEMPLATES)}")
    return TEMPLATES[name]
