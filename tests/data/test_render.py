"""The token contract: input_ids, labels and segment_ids position by position, per template."""

from __future__ import annotations

import pytest

from instructune.data.record import Record, Turn
from instructune.data.render import IGNORE, render, render_prompt
from instructune.data.templates import CONTEXT, INSTRUCTION, RATIONALE, RESPONSE, TEMPLATE, get_template
from instructune.model.vocab import add_template_tokens

SYSTEM = "<|im_start|>system\nYou are a helpful assistant.<|im_end|>\n"


def enc(tok, text):
    return tok(text, add_special_tokens=False)["input_ids"]


def expected(tok, parts):
    """Expected arrays from (text, segment, n_trained) parts; n_trained -1 means all."""
    ids, labels, segs = [], [], []
    for text, seg, n in parts:
        t = enc(tok, text)
        n = len(t) if n == -1 else n
        ids += t
        labels += t[:n] + [IGNORE] * (len(t) - n)
        segs += [seg] * len(t)
    return ids, labels, segs


def check(out, exp):
    ids, labels, segs = exp
    assert len(out.input_ids) == len(ids)
    for pos, (a, b) in enumerate(zip(out.input_ids, ids)):
        assert a == b, f"input_ids differ at {pos}"
    for pos, (a, b) in enumerate(zip(out.labels, labels)):
        assert a == b, f"labels differ at {pos}"
    for pos, (a, b) in enumerate(zip(out.segment_ids, segs)):
        assert a == b, f"segment_ids differ at {pos}"


REC = Record(id="r1", instruction="Summarize the text.", context="Cats sleep a lot.", response="Cats nap.")
MULTI = Record(id="m1", instruction="And dogs?", response="Dogs run.",
               history=[Turn("user", "Hi there"), Turn("assistant", "Hello!")])
COT = Record(id="c1", instruction="What is 2 + 3?", rationale="2 plus 3 is 5.", response="5")


def test_chat_single_turn_with_context(tiny_tokenizer):
    tok = tiny_tokenizer
    out = render(REC, tok, get_template("chat"))
    check(out, expected(tok, [
        (SYSTEM + "<|im_start|>user\n", TEMPLATE, 0), ("Summarize the text.", INSTRUCTION, 0),
        ("\n\n", TEMPLATE, 0), ("Cats sleep a lot.", CONTEXT, 0),
        ("<|im_end|>\n<|im_start|>assistant\n", TEMPLATE, 0), ("Cats nap.", RESPONSE, -1),
        ("<|im_end|>\n", TEMPLATE, 1),  # the end-of-turn token is trained, the newline is not
    ]))
    # The rendered text is exactly what the model's own chat template produces.
    msgs = [{"role": "user", "content": "Summarize the text.\n\nCats sleep a lot."},
            {"role": "assistant", "content": "Cats nap."}]
    assert tok.decode(out.input_ids) == tok.apply_chat_template(msgs, tokenize=False)
    trained = [i for i, lab in zip(out.input_ids, out.labels) if lab != IGNORE]
    assert tok.decode(trained) == "Cats nap.<|im_end|>"


def test_chat_multi_turn_trains_every_assistant_turn(tiny_tokenizer):
    tok = tiny_tokenizer
    out = render(MULTI, tok, get_template("chat"))
    check(out, expected(tok, [
        (SYSTEM + "<|im_start|>user\n", TEMPLATE, 0), ("Hi there", INSTRUCTION, 0),
        ("<|im_end|>\n<|im_start|>assistant\n", TEMPLATE, 0), ("Hello!", RESPONSE, -1),
        ("<|im_end|>\n<|im_start|>user\n", TEMPLATE, 1), ("And dogs?", INSTRUCTION, 0),
        ("<|im_end|>\n<|im_start|>assistant\n", TEMPLATE, 0), ("Dogs run.", RESPONSE, -1),
        ("<|im_end|>\n", TEMPLATE, 1),
    ]))


def test_chat_system_prompt_and_generation_prompt(tiny_tokenizer):
    tok = tiny_tokenizer
    rec = Record(id="s", instruction="Hi", response="Yo", system="Be brief.")
    prompt = render_prompt(rec, tok, get_template("chat"))
    assert tok.decode(prompt) == "<|im_start|>system\nBe brief.<|im_end|>\n<|im_start|>user\nHi<|im_end|>\n<|im_start|>assistant\n"


def test_alpaca_single_and_multi_turn(tiny_tokenizer):
    tok = tiny_tokenizer
    t = get_template("alpaca")
    out = render(REC, tok, t)
    check(out, expected(tok, [
        (t.PREAMBLE_CTX + "### Instruction:\n", TEMPLATE, 0), ("Summarize the text.", INSTRUCTION, 0),
        ("\n\n### Input:\n", TEMPLATE, 0), ("Cats sleep a lot.", CONTEXT, 0),
        ("\n\n### Response:\n", TEMPLATE, 0), ("Cats nap.", RESPONSE, -1), ("<|im_end|>", TEMPLATE, 1),
    ]))
    out = render(MULTI, tok, t)
    check(out, expected(tok, [
        (t.PREAMBLE + "### Instruction:\n", TEMPLATE, 0), ("Hi there", INSTRUCTION, 0),
        ("\n\n### Response:\n", TEMPLATE, 0), ("Hello!", RESPONSE, -1), ("<|im_end|>", TEMPLATE, 1),
        ("\n\n### Instruction:\n", TEMPLATE, 0), ("And dogs?", INSTRUCTION, 0),
        ("\n\n### Response:\n", TEMPLATE, 0), ("Dogs run.", RESPONSE, -1), ("<|im_end|>", TEMPLATE, 1),
    ]))


@pytest.fixture()
def inst_tokenizer(tiny_model):
    from instructune.model.load import load_tokenizer

    tok = load_tokenizer(tiny_model)
    add_template_tokens(None, tok, ["[INST]", "[/INST]"])
    return tok


def test_inst_single_and_multi_turn(inst_tokenizer):
    tok = inst_tokenizer
    t = get_template("inst")
    inst, end = tok.convert_tokens_to_ids(["[INST]", "[/INST]"])
    out = render(REC, tok, t)
    check(out, expected(tok, [
        ("[INST]", TEMPLATE, 0), (" Summarize the text.", INSTRUCTION, 0), ("\n\n", TEMPLATE, 0),
        ("Cats sleep a lot.", CONTEXT, 0), (" [/INST]", TEMPLATE, 0), (" Cats nap.", RESPONSE, -1),
        ("<|im_end|>", TEMPLATE, 1),
    ]))
    assert out.input_ids[0] == inst and end in out.input_ids  # single special tokens, not split
    prompt = render_prompt(REC, tok, t)
    assert prompt[-1] == end  # the model writes " Cats" itself, as in training
    out = render(MULTI, tok, t)
    check(out, expected(tok, [
        ("[INST]", TEMPLATE, 0), (" Hi there", INSTRUCTION, 0), (" [/INST]", TEMPLATE, 0),
        (" Hello!", RESPONSE, -1), ("<|im_end|>", TEMPLATE, 1),
        ("[INST]", TEMPLATE, 0), (" And dogs?", INSTRUCTION, 0), (" [/INST]", TEMPLATE, 0),
        (" Dogs run.", RESPONSE, -1), ("<|im_end|>", TEMPLATE, 1),
    ]))


def test_rationale_segments_and_loss_switches(tiny_tokenizer):
    from instructune.data.templates import TemplateOptions

    tok = tiny_tokenizer
    t = get_template("alpaca")
    head = [(t.PREAMBLE + "### Instruction:\n", TEMPLATE, 0), ("What is 2 + 3?", INSTRUCTION, 0),
            ("\n\n### Response:\n", TEMPLATE, 0)]
    out = render(COT, tok, t)
    check(out, expected(tok, head + [("2 plus 3 is 5.", RATIONALE, -1), ("\nAnswer:", TEMPLATE, -1),
                                     (" 5", RESPONSE, -1), ("<|im_end|>", TEMPLATE, 1)]))
    # The answer keeps its leading space, so it tokenizes as whole text does (" 5", not " ", "5").
    assert out.input_ids[-3:-1] == enc(tok, "\nAnswer: 5")[-2:]
    out = render(COT, tok, t, opts=TemplateOptions(train_rationale=False))
    check(out, expected(tok, head + [("2 plus 3 is 5.", RATIONALE, 0), ("\nAnswer:", TEMPLATE, -1),
                                     (" 5", RESPONSE, -1), ("<|im_end|>", TEMPLATE, 1)]))
    prompt = render_prompt(Record(id="g", instruction="Hi", response=""), tok, get_template("chat"))
    assert tok.decode(prompt).endswith("<|im_start|>assistant\n")


def test_truncation_cuts_context_first(tiny_tokenizer):
    tok = tiny_tokenizer
    rec = Record(id="t", instruction="Summarize.", context="word " * 200, response="Short.")
    full = render(rec, tok, get_template("chat"))
    out = render(rec, tok, get_template("chat"), max_length=60)
    assert out.truncated and not out.dropped and len(out.input_ids) <= 60
    # The whole response and its end-of-turn token survive; only context was cut.
    assert out.n_trained == full.n_trained
    assert out.segment_ids.count(CONTEXT) < full.segment_ids.count(CONTEXT)
    assert out.segment_ids.count(INSTRUCTION) == full.segment_ids.count(INSTRUCTION)


def test_record_whose_response_is_truncated_away_is_dropped(tiny_tokenizer):
    tok = tiny_tokenizer
    rec = Record(id="t", instruction="word " * 200, response="Short.")
    out = render(rec, tok, get_template("chat"), max_length=50)
    assert out.truncated and out.dropped and out.n_trained == 0


def test_tokenize_records_counts_truncated_and_dropped(tiny_tokenizer):
    from instructune.data.tokenized import tokenize_records

    recs = [REC, Record(id="long", instruction="word " * 200, response="x"),
            Record(id="ctx", instruction="Sum.", context="word " * 200, response="y")]
    ds, stats = tokenize_records(recs, tiny_tokenizer, get_template("chat"), max_length=60)
    assert stats.records == 3 and stats.dropped == 1 and stats.truncated == 2 and stats.kept == 2
    assert len(ds) == 2 and stats.tokens == sum(ds["length"])
    assert stats.trained_tokens == sum(ds["n_trained"]) > 0


# --- multi-turn truncation keeps the final response (issue 11) ------------------------------

LONG_REPLY = " ".join(["Dogs run."] * 30)
HISTORY2 = [Turn("user", "Hi there"), Turn("assistant", "Hello! " * 20 + "How can I help?"),
            Turn("user", "Cats?"), Turn("assistant", "Cats sleep.")]


def chat_turns(turns, final_user, final_reply):
    """Expected (text, segment, n_trained) parts of a chat rendering: `turns` (user, reply) pairs,
    then the final exchange."""
    parts, head, n = [], SYSTEM + "<|im_start|>user\n", 0
    for user, reply in [*turns, (final_user, final_reply)]:
        parts += [(head, TEMPLATE, n), (user, INSTRUCTION, 0),
                  ("<|im_end|>\n<|im_start|>assistant\n", TEMPLATE, 0), (reply, RESPONSE, -1)]
        head, n = "<|im_end|>\n<|im_start|>user\n", 1  # a reply's end-of-turn token is trained
    return parts + [("<|im_end|>\n", TEMPLATE, 1)]


@pytest.mark.parametrize("keep", [0, 1])
def test_truncation_cuts_the_oldest_history_before_the_final_response(tiny_tokenizer, keep):
    """Too long with its history: the oldest exchanges go, the final response stays whole."""
    tok, t = tiny_tokenizer, get_template("chat")
    rec = Record(id="h", instruction="And dogs?", response=LONG_REPLY, history=HISTORY2)
    kept = Record(id="h", instruction="And dogs?", response=LONG_REPLY, history=HISTORY2[4 - 2 * keep:])
    fits = len(render(kept, tok, t).input_ids)
    assert fits < len(render(rec, tok, t).input_ids)
    out = render(rec, tok, t, max_length=fits)  # room for `keep` history exchanges, not more
    assert out.truncated and not out.dropped
    turns = [("Cats?", "Cats sleep.")][:keep]
    check(out, expected(tok, chat_turns(turns, "And dogs?", LONG_REPLY)))


def test_final_response_cut_at_its_end_only_once_no_history_is_left(tiny_tokenizer):
    tok, t = tiny_tokenizer, get_template("chat")
    rec = Record(id="h", instruction="And dogs?", response=LONG_REPLY, history=HISTORY2)
    alone = render(Record(id="h", instruction="And dogs?", response=LONG_REPLY), tok, t)
    out = render(rec, tok, t, max_length=len(alone.input_ids) - 5)
    assert out.truncated and not out.dropped
    exp = [x[:len(alone.input_ids) - 5] for x in (alone.input_ids, alone.labels, alone.segment_ids)]
    check(out, exp)


@pytest.mark.parametrize("name", ["chat", "alpaca"])
def test_record_whose_final_response_cannot_fit_is_dropped_though_history_would(tiny_tokenizer, name):
    """An earlier assistant turn that survives does not keep the record: it is dropped."""
    tok, t = tiny_tokenizer, get_template(name)
    rec = Record(id="d", instruction="word " * 200, response="Short.", history=HISTORY2[:2])
    out = render(rec, tok, t, max_length=80)
    assert out.truncated and out.dropped


# --- the families' own turn formats (llama3, gemma, phi3) ------------------------------------

def family_tokenizer(tiny_model, name):
    from instructune.model.load import load_tokenizer

    tok = load_tokenizer(tiny_model)
    assert add_template_tokens(None, tok, get_template(name).special_tokens)  # the tiny tokenizer lacks them
    return tok


def test_llama3_turns_token_by_token(tiny_model):
    tok = family_tokenizer(tiny_model, "llama3")
    rec = Record(id="r", instruction="Summarize the text.", context="Cats sleep a lot.", response="Cats nap.",
                 system="Be brief.")
    out = render(rec, tok, get_template("llama3"))
    check(out, expected(tok, [
        ("<|begin_of_text|><|start_header_id|>system<|end_header_id|>\n\nBe brief.<|eot_id|>"
         "<|start_header_id|>user<|end_header_id|>\n\n", TEMPLATE, 0), ("Summarize the text.", INSTRUCTION, 0),
        ("\n\n", TEMPLATE, 0), ("Cats sleep a lot.", CONTEXT, 0),
        ("<|eot_id|><|start_header_id|>assistant<|end_header_id|>\n\n", TEMPLATE, 0), ("Cats nap.", RESPONSE, -1),
        ("<|eot_id|>", TEMPLATE, 1),
    ]))
    for marker in get_template("llama3").special_tokens:  # each marker is one token
        assert tok.convert_tokens_to_ids(marker) in out.input_ids


@pytest.mark.parametrize("name, end", [("llama3", "<|eot_id|>"), ("gemma", "<end_of_turn>"), ("phi3", "<|end|>")])
@pytest.mark.parametrize("rec", [REC, MULTI, Record(id="s", instruction="Hi", response="Yo", system="Be brief.")])
def test_family_turns_match_their_chat_template_and_train_the_end_of_turn(tiny_model, name, end, rec):
    """The rendered ids are the text the template's own Jinja (what the export carries)
    renders; every response and its end-of-turn marker, and nothing else, is trained; the
    generation prompt ends with the assistant marker."""
    tok = family_tokenizer(tiny_model, name)
    template = get_template(name)
    out = render(rec, tok, template)
    msgs = ([{"role": "system", "content": rec.system}] if rec.system else []) + \
        [{"role": t.role, "content": t.content} for t in rec.history] + \
        [{"role": "user", "content": rec.instruction + ("\n\n" + rec.context if rec.context else "")},
         {"role": "assistant", "content": rec.response}]
    jinja = template.chat_template(tok)
    assert tok.decode(out.input_ids) == tok.apply_chat_template(msgs, chat_template=jinja, tokenize=False)
    trained = [i for i, lab in zip(out.input_ids, out.labels) if lab != IGNORE]
    answers = [t.content for t in rec.history if t.role == "assistant"] + [rec.response]
    assert tok.decode(trained) == "".join(a + end for a in answers)
    prompt = tok.decode(render_prompt(rec, tok, template))
    assert prompt == tok.apply_chat_template(msgs[:-1], chat_template=jinja, tokenize=False,
                                             add_generation_prompt=True)
    assert prompt.endswith(template.assistant_open)


def test_gemma_has_no_system_role_the_system_prompt_opens_the_first_user_turn(tiny_model):
    tok = family_tokenizer(tiny_model, "gemma")
    rec = Record(id="s", instruction="Hi", response="Yo", system="Be brief.",
                 history=[Turn("user", "One"), Turn("assistant", "Two")])
    text = tok.decode(render(rec, tok, get_template("gemma")).input_ids)
    assert text == ("<start_of_turn>user\nBe brief.\n\nOne<end_of_turn>\n<start_of_turn>model\nTwo<end_of_turn>\n"
                    "<start_of_turn>user\nHi<end_of_turn>\n<start_of_turn>model\nYo<end_of_turn>\n")
