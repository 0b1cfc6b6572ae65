"""The renderer: record + template → `input_ids`, `labels`, `segment_ids` (the token contract).

    rendered = render(record, tokenizer, get_template("chat"), max_length=512)
    rendered.input_ids    # list[int], length T
    rendered.labels       # list[int], length T; -100 where no loss is taken
    rendered.segment_ids  # list[int], length T; 0 template, 1 instruction, 2 context, 3 response, 4 rationale
    render_batch(records, tokenizer, template, max_length=512)  # the same, one tokenizer call

Labels are *unshifted*: `labels[t]` is the target for the model's prediction at position
`t - 1` (the HF convention); the loss shifts them.

Truncation never silently drops the final response: an over-long record is cut in its
context first; then a conversation loses its oldest earlier exchanges, as few as let the final
response fit whole; only then is it cut at its end. A record whose final response keeps no
trained token is returned with `dropped=True` and counted by the caller, even when an earlier
assistant turn survived (training on that turn alone is not what the record asks for).
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field

from instructune.data.record import Record, Turn
from instructune.data.templates import CONTEXT, INSTRUCTION, TEMPLATE, Piece, TemplateOptions

IGNORE = -100


@dataclass
class Rendered:
    """One tokenized record (see module docstring for the arrays).

    Attributes:
        truncated: the record was cut to fit `max_length`.
        dropped: no trained token of the final response survived; the record must not be
            trained on.
        final_cut: some trained token of the final response (its end-of-turn token included)
            was cut off.
    """

    input_ids: list[int] = field(default_factory=list)
    labels: list[int] = field(default_factory=list)
    segment_ids: list[int] = field(default_factory=list)
    truncated: bool = False
    dropped: bool = False
    final_cut: bool = False

    @property
    def n_trained(self) -> int:
        return sum(1 for x in self.labels if x != IGNORE)


# End-of-turn markers of common chat templates; they stop a turn like EOS does.
END_OF_TURN = ("<|im_end|>", "<|eot_id|>", "<|end|>", "<end_of_turn>", "</s>", "<|endoftext|>")


def stop_ids(tokenizer) -> set[int]:
    """Token ids that end an assistant turn: EOS plus the known end-of-turn tokens in the vocab."""
    ids = {tokenizer.eos_token_id} if tokenizer.eos_token_id is not None else set()
    # Look up the few markers directly: get_vocab() builds a 49k-entry dict on every call.
    found = tokenizer.convert_tokens_to_ids(list(END_OF_TURN))
    # A missing token maps to unk (or None); keep only ids whose token really is the marker.
    return ids | {i for t, i in zip(END_OF_TURN, found) if i is not None and tokenizer.convert_ids_to_tokens(i) == t}


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
    return mark_trained(pieces, [encode(tokenizer, p.text) for p in pieces], stop_ids(tokenizer),
                        tokenizer.eos_token_id)


def mark_trained(pieces: list[Piece], encoded: list[list[int]], stops: set[int], eos_id: int
                 ) -> list[tuple[list[int], Piece, int]]:
    """(ids, piece, n_trained_ids) triples from pieces and their token ids (see `tokenize_pieces`).

    Args:
        pieces: the template's pieces, after `attach_spaces`.
        encoded: token ids of each piece's text, in order.
        stops: end-of-turn ids (`stop_ids`).
        eos_id: the tokenizer's EOS id.
    """
    out = []
    for p, ids in zip(pieces, encoded):
        if p.stop_trained:
            cut = next((i + 1 for i, t in enumerate(ids) if t in stops), None)
            if cut is None:
                ids = [eos_id] + ids
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

    def one(rec: Record) -> Rendered:
        return assemble(tokenize_pieces(attach_spaces(template.pieces(rec, tokenizer, opts)), tokenizer),
                        max_length)

    out = one(record)
    return cut_history(record, one) if out.final_cut and record.history else out


def render_batch(records: list[Record], tokenizer, template, max_length: int | None = None,
                 opts: TemplateOptions | None = None) -> list[Rendered]:
    """`render` for many records with one tokenizer call for all their pieces.

    The output equals `[render(r, ...) for r in records]` exactly: a fast tokenizer encodes
    each text of a batch on its own, so only the per-call overhead (and the end-of-turn id
    lookup, done once here instead of once per record) goes away.
    """
    opts = opts or TemplateOptions()
    stops, eos_id = stop_ids(tokenizer), tokenizer.eos_token_id
    all_pieces = [attach_spaces(template.pieces(r, tokenizer, opts)) for r in records]
    texts = [p.text for pieces in all_pieces for p in pieces if p.text]
    encoded = iter(tokenizer(texts, add_special_tokens=False)["input_ids"] if texts else [])
    out = []
    for rec, pieces in zip(records, all_pieces):
        ids = [next(encoded) if p.text else [] for p in pieces]
        done = assemble(mark_trained(pieces, ids, stops, eos_id), max_length)
        if done.final_cut and rec.history:  # rare: re-rendered with less history, one by one
            done = render(rec, tokenizer, template, max_length, opts)
        out.append(done)
    return out


def history_exchanges(history: list[Turn]) -> list[list[Turn]]:
    """`history` split into exchanges, oldest first: each ends with an assistant turn (the
    last may have none)."""
    groups: list[list[Turn]] = [[]]
    for turn in history:
        groups[-1].append(turn)
        if turn.role == "assistant":
            groups.append([])
    return [g for g in groups if g]


def cut_history(record: Record, render_one) -> Rendered:
    """`record` rendered without its oldest history exchanges: as few dropped as let the final
    response fit whole, or all of them when it fits whole in none (then it is cut at its end).

    Args:
        record: a record with history whose final response does not fit whole.
        render_one: `Record -> Rendered` (its own truncation to `max_length` included).
    """
    groups = history_exchanges(record.history)
    tried: dict[int, Rendered] = {}

    def without(k: int) -> Rendered:  # the record without its k oldest exchanges
        if k not in tried:
            rest = [t for g in groups[k:] for t in g]
            tried[k] = render_one(dataclasses.replace(record, history=rest))
        return tried[k]

    # Dropping more history only shortens what precedes the final turn, so "fits whole" is
    # monotone in k: binary search for the smallest k.
    lo, hi, best = 1, len(groups), len(groups)
    while lo <= hi:
        mid = (lo + hi) // 2
        if without(mid).final_cut:
            lo = mid + 1
        else:
            best, hi = mid, mid - 1
    out = without(best)
    out.truncated = True
    return out


def final_turn_start(toks: list[tuple[list[int], Piece, int]]) -> int:
    """Index of the first piece of the final assistant turn: the one after the last piece of
    user content (instruction or context); 0 when there is none."""
    last = max((i for i, (_, p, _) in enumerate(toks) if p.segment in (INSTRUCTION, CONTEXT)), default=-1)
    return last + 1


def assemble(toks: list[tuple[list[int], Piece, int]], max_length: int | None) -> Rendered:
    """Concatenate tokenized pieces into the arrays, truncating to `max_length` (context first)."""
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
    first = final_turn_start(toks)
    final_at = 0  # token position where the final assistant turn starts
    for k, (ids, p, n_trained) in enumerate(toks):
        if k == first:
            final_at = len(out.input_ids)
        out.input_ids += ids
        out.labels += ids[:n_trained] + [IGNORE] * (len(ids) - n_trained)
        out.segment_ids += [p.segment] * len(ids)
    if first == len(toks):
        final_at = len(out.input_ids)
    # labels[0] is never a target (nothing predicts it): count the final turn's targets after it.
    final_at = max(final_at, 1)
    final_trained = sum(1 for x in out.labels[final_at:] if x != IGNORE)
    if max_length is not None and len(out.input_ids) > max_length:
        out.input_ids = out.input_ids[:max_length]
        out.labels = out.labels[:max_length]
        out.segment_ids = out.segment_ids[:max_length]
    kept = sum(1 for x in out.labels[final_at:] if x != IGNORE)
    out.final_cut = kept < final_trained
    # A record is trained for its final response: earlier turns that survive do not keep it.
    out.dropped = kept == 0
    return out


def render_prompt(record: Record, tokenizer, template, opts: TemplateOptions | None = None) -> list[int]:
    """Token ids of the prompt for generating the record's final response."""
    return render_prompt_segments(record, tokenizer, template, opts)[0]


def render_prompt_segments(record: Record, tokenizer, template, opts: TemplateOptions | None = None
                           ) -> tuple[list[int], list[int]]:
    """(token ids, segment id per token) of the prompt for generating the record's final
    response: the segments the instruction-aware add-ons read at generation."""
    opts = opts or TemplateOptions()
    pieces = attach_spaces(template.pieces(record, tokenizer, opts, generation=True), generation=True)
    toks = tokenize_pieces(pieces, tokenizer)
    return [i for ids, _, _ in toks for i in ids], [p.segment for ids, p, _ in toks for _ in ids]
