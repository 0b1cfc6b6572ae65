"""The renderer: record + template → `input_ids`, `labels`, `segment_ids` (the token contract).

    rendered = render(record, tokenizer, get_template("chat"), max_length=512)
    rendered.input_ids    # list[int], length T
    rendered.labels       # list[int], length T; -100 where no loss is taken
    rendered.segment_ids  # list[int], length T; 0 template, 1 instruction, 2 context, 3 response, 4 rationale

Labels are *unshifted*: `labels[t]` is the target for the model's prediction at position
`t - 1` (the HF convention); the loss shifts them.

Truncation never silently drops the whole response: an over-long record is cut in its
context first, then at its end; a record left with no trained token is returned with
`dropped=True` and counted by the caller.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from instructune.data.record import Record
from instructune.data.templates import CONTEXT, TEMPLATE, Piece, TemplateOptions

IGNORE = -100


@dataclass
class Rendered:
    """One tokenized record (see module docstring for the arrays).

    Attributes:
        truncated: the record was cut to fit `max_length`.
        dropped: no trained token survived; the record must not be trained on.
    """

    input_ids: list[int] = field(default_factory=list)
    labels: list[int] = field(default_factory=list)
    segment_ids: list[int] = field(default_factory=list)
    truncated: bool = False
    dropped: bool = False

    @property
    def n_trained(self) -> int:
        return sum(1 for x in self.labels if x != IGNORE)


# End-of-turn markers of common chat templates; they stop a turn like EOS does.
END_OF_TURN = ("<|im_end|>", "<|eot_id|>", "<|end|>", "<end_of_turn>", "</s>", "<|endoftext|>")


def stop_ids(tokenizer) -> set[int]:
    """Token ids that end an assistant turn: EOS plus the known end-of-turn tokens in the vocab."""
    ids = {tokenizer.eos_token_id} if tokenizer.eos_token_id is not None else set()
    vocab = tokenizer.get_vocab()
    return ids | {vocab[t] for t in END_OF_TURN if t in vocab}


def encode(tokenizer, text: str) -> list[int]:
    """Token ids of `text` with no BOS/EOS added (special tokens in the text are kept)."""
    return tokenizer(text, add_special_tokens=False)["input_ids"] if text else []


def attach_spaces(pieces: list[Piece], generation: bool = False) -> list[Piece]:
    """Move a template piece's trailing space onto the start of the content piece after it.

    BPE vocabularies fold a leading space into the next word ("Ġ42"); tokenizing "Answer: "
    and "42" apart would train the rare split "Ġ", "42" instead. In a generation prompt the
    trailing space of the last piece is dropped too, so the model writes " 42" as it learned.
    """
    out = [Piece(p.text, p.segment, p.trained, p.stop_trained) for p in pieces]
    for i, p in enumerate(out):
        if p.segment != TEMPLATE or not p.text.endswith(" ") or p.stop_trained:
            continue
        nxt = out[i + 1] if i + 1 < len(out) else None
        if nxt is not None and nxt.segment != TEMPLATE and nxt.text and not nxt.text[0].isspace():
            p.text, nxt.text = p.text[:-1], " " + nxt.text
        elif nxt is None and generation:
            p.text = p.text[:-1]
    return out


def tokenize_pieces(pieces: list[Piece], tokenizer) -> list[tuple[list[int], Piece, int]]:
    """Tokenize each piece; returns (ids, piece, n_trained_ids) triples.

    A `stop_trained` piece trains its ids up to and including the first end-of-turn id; if
    it holds none, an EOS id is appended and trained so the model always learns to stop.
    """
    stops = stop_ids(tokenizer)
    out = []
    for p in pieces:
        ids = encode(tokenizer, p.text)
        if p.stop_trained:
            cut = next((i + 1 for i, t in enumerate(ids) if t in stops), None)
            if cut is None:
                ids = [tokenizer.eos_token_id] + ids
                cut = 1
            out.append((ids, p, cut))
        else:
            out.append((ids, p, len(ids) if p.trained else 0))
    return out


def render(record: Record, tokenizer, template, max_length: int | None = None,
           opts: TemplateOptions | None = None) -> Rendered:
    """Render a record for training (see module docstring).

    Args:
        record: the record.
        tokenizer: a HF tokenizer (fast).
        template: a template object from `templates.TEMPLATES`.
        max_length: cap on the sequence length T; None for no cap.
        opts: template options.
    """
    opts = opts or TemplateOptions()
    toks = tokenize_pieces(attach_spaces(template.pieces(record, tokenizer, opts)), tokenizer)
    total = sum(len(ids) for ids, _, _ in toks)
    truncated = False
    if max_length is not None and total > max_length:
        truncated = True
        # Cut the context first (from its end), keeping the instruction and the response whole.
        excess = total - max_length
        for i, (ids, p, n) in enumerate(toks):
            if p.segment == CONTEXT and excess > 0:
                keep = max(0, len(ids) - excess)
                excess -= len(ids) - keep
                toks[i] = (ids[:keep], p, 0)
    out = Rendered(truncated=truncated)
    for ids, p, n_trained in toks:
        out.input_ids += ids
        out.labels += ids[:n_trained] + [IGNORE] * (len(ids) - n_trained)
        out.segment_ids += [p.segment] * len(ids)
    if max_length is not None and len(out.input_ids) > max_length:
        out.input_ids = out.input_ids[:max_length]
        out.labels = out.labels[:max_length]
        out.segment_ids = out.segment_ids[:max_length]
    # labels[0] is never a target (nothing predicts it); a record needs a trained token after it.
    out.dropped = not any(x != IGNORE for x in out.labels[1:])
    return out


def render_prompt(record: Record, tokenizer, template, opts: TemplateOptions | None = None) -> list[int]:
    """Token ids of the prompt for generating the record's final response."""
    opts = opts or TemplateOptions()
    pieces = attach_spaces(template.pieces(record, tokenizer, opts, generation=True), generation=True)
    return [i for ids, _, _ in tokenize_pieces(pieces, tokenizer) for i in ids]
