"""Batched rendering (one tokenizer call per batch) gives exactly the per-record arrays."""

from __future__ import annotations

import pytest

from instructune.data.inputs import load_inputs
from instructune.data.record import Record, Turn
from instructune.data.render import render, render_batch
from instructune.data.templates import TEMPLATES, TemplateOptions, get_template
from instructune.data.tokenized import resolve_num_proc, tokenize_records
from instructune.model.load import load_tokenizer
from instructune.model.vocab import add_template_tokens

# Records the starter set lacks: multi-turn, a system prompt, an empty-context edge, a rationale.
EXTRA = [
    Record(id="m1", instruction="And dogs?", response="Dogs run.",
           history=[Turn("user", "Hi there"), Turn("assistant", "Hello!")]),
    Record(id="s1", instruction="Hi", response="Yo", system="Be brief."),
    Record(id="c1", instruction="What is 2 + 3?", rationale="2 plus 3 is 5.", response="5", context=""),
    Record(id="long", instruction="Sum.", context="word " * 200, response="y"),
    Record(id="gone", instruction="word " * 200, response="x"),
]


@pytest.fixture(scope="module")
def records():
    return load_inputs(["starter:train", "starter:heldout"]) + EXTRA


@pytest.fixture(scope="module")
def tokenizers(tiny_model):
    """A tokenizer per template, with the template's special tokens added."""
    out = {}
    for name, t in TEMPLATES.items():
        tok = load_tokenizer(tiny_model)
        add_template_tokens(None, tok, t.special_tokens)
        out[name] = tok
    return out


def as_tuple(r):
    return r.input_ids, r.labels, r.segment_ids, r.truncated, r.dropped


@pytest.mark.parametrize("name", ["chat", "inst", "alpaca"])
@pytest.mark.parametrize("max_length", [None, 128])
def test_render_batch_equals_render_per_record(records, tokenizers, name, max_length):
    tok, template = tokenizers[name], get_template(name)
    opts = TemplateOptions(train_rationale=False)
    batched = render_batch(records, tok, template, max_length, opts)
    assert len(batched) == len(records) == 215
    for rec, got in zip(records, batched):
        assert as_tuple(got) == as_tuple(render(rec, tok, template, max_length, opts)), rec.id
    if max_length:  # both truncation paths ran: cut context, and the record "gone" dropped
        assert sum(r.truncated for r in batched) > 2 and batched[-1].dropped


@pytest.mark.parametrize("name", ["chat", "inst", "alpaca"])
def test_tokenize_records_rows_equal_render(records, tokenizers, name):
    tok, template = tokenizers[name], get_template(name)
    ds, stats = tokenize_records(records, tok, template, max_length=128, num_proc=1)
    expected = [render(r, tok, template, 128) for r in records]
    kept = [e for e in expected if not e.dropped]
    assert stats.records == 215 and stats.kept == len(ds) == len(kept) and stats.dropped == 215 - len(kept) >= 1
    assert stats.truncated == sum(e.truncated for e in expected) > 2
    assert stats.tokens == sum(len(e.input_ids) for e in kept)
    assert ds["input_ids"] == [e.input_ids for e in kept]
    assert ds["labels"] == [e.labels for e in kept]
    assert ds["segment_ids"] == [e.segment_ids for e in kept]


def test_two_worker_processes_give_the_same_rows(records, tokenizers):
    tok, template = tokenizers["chat"], get_template("chat")
    one, _ = tokenize_records(records, tok, template, max_length=128, num_proc=1)
    # A batch of 1000 records is one worker's minimum; 2100 records make 3 batches.
    many = (records * 11)[:2100]
    two, s2 = tokenize_records(many, tok, template, max_length=128, num_proc=2)
    assert s2.records == 2100 and len(two) == s2.kept
    assert two["input_ids"][:len(one)] == one["input_ids"]
    assert two["labels"][-5:] == tokenize_records(many[-5:], tok, template, 128, num_proc=1)[0]["labels"]


def test_resolve_num_proc(monkeypatch):
    import instructune.data.tokenized as tokenized

    monkeypatch.setattr(tokenized, "available_cpus", lambda: 4)
    assert resolve_num_proc(None, 100) == 1          # too few records for a second process
    assert resolve_num_proc(None, 5000) == 2         # one per 2000 records
    assert resolve_num_proc(None, 1_000_000) == 4    # capped at the CPUs
    assert resolve_num_proc(3, 1_000_000) == 3       # asked for explicitly
    assert resolve_num_proc(8, 2500) == 3            # no more workers than batches of 1000
    assert resolve_num_proc(0, 10) == 1
