"""The running batch: greedy replies equal a full forward's argmax, rows joining mid-batch get
the reply they get alone, rows leave at their end token, length or stop string."""

from __future__ import annotations

import torch

from instructune.generation.params import GenParams
from instructune.generation.running_batch import PREFILL_SLACK, Row, RunningBatch, joinable, prefill_groups

GREEDY = GenParams(max_new_tokens=12, temperature=0)


def run(model, tok, prompts, params, groups, steps_between=3, max_new=None):
    """{prompt index: ids}: each group of prompt indices joins after `steps_between` steps."""
    batch, done = RunningBatch(model, tok, params), []
    for group in groups:
        done += batch.add([Row(prompts[i], max_new or params.max_new_tokens, seed=i, tag=i) for i in group])
        for _ in range(steps_between):
            done += batch.step()
    while batch:
        done += batch.step()
    return {r.tag: r.ids for r in done}, {r.tag: r.finish for r in done}


def full_forward_greedy(model, prompt, n):
    """Greedy continuation recomputing the whole sequence every token (no cache, no padding)."""
    ids = list(prompt)
    for _ in range(n):
        with torch.no_grad():
            ids.append(int(model(torch.tensor([ids])).logits[0, -1].argmax()))
    return ids[len(prompt):]


def test_a_plain_llama_is_joinable_and_an_addon_model_is_not(varied, tiny_model):
    from instructune.generation.load import load_for_inference
    from instructune.model.forward import InstructForward

    assert joinable(varied[0]) and joinable(InstructForward(varied[0]))
    run_model, _ = load_for_inference(tiny_model)
    assert joinable(run_model)


def test_greedy_rows_equal_a_full_forward(varied, prompts):
    model, tok = varied
    got, _ = run(model, tok, prompts, GREEDY, [range(len(prompts))], steps_between=0)
    assert all(got[i] == full_forward_greedy(model, p, 12) for i, p in enumerate(prompts))


def test_rows_joining_mid_batch_get_their_lone_reply(varied, prompts):
    model, tok = varied
    alone = {i: run(model, tok, prompts, GREEDY, [[i]])[0][i] for i in range(len(prompts))}
    joined, finish = run(model, tok, prompts, GREEDY, [[0, 1], [2], [3, 4, 5]])
    assert joined == alone and set(finish.values()) == {"length"}
    assert len({tuple(v) for v in alone.values()}) == len(prompts)  # the replies differ: rows cannot swap unseen


def test_a_row_joining_a_long_running_one_finishes_first(varied, prompts):
    model, tok = varied
    batch = RunningBatch(model, tok, GREEDY)
    batch.add([Row(prompts[4], 40, tag="long")])
    for _ in range(5):
        batch.step()
    batch.add([Row(prompts[2], 3, tag="short")])
    ended = []
    while not ended:
        ended = batch.step()
    assert [r.tag for r in ended] == ["short"] and len(ended[0].ids) == 3 and len(batch) == 1


def test_seeded_sampling_is_the_same_alone_or_joined(varied, prompts):
    model, tok = varied
    hot = GenParams(max_new_tokens=12, temperature=1.0, top_p=0.9, top_k=50)
    alone = {i: run(model, tok, prompts, hot, [[i]])[0][i] for i in range(len(prompts))}
    assert run(model, tok, prompts, hot, [[0, 1], [2], [3, 4, 5]])[0] == alone


def test_a_row_ends_at_its_end_token_without_keeping_it(varied, prompts):
    model, tok = varied
    first = run(model, tok, prompts, GREEDY, [[0]])[0][0]
    tok_end = first[3]  # pretend the 4th greedy token ends the turn
    batch = RunningBatch(model, tok, GREEDY)
    batch.ends = {tok_end}
    done = batch.add([Row(prompts[0], 12)])
    while batch:
        done += batch.step()
    assert done[0].ids == first[:first.index(tok_end)] and done[0].finish == "stop"


def test_a_stop_string_ends_the_row_with_its_tokens_kept(varied, prompts):
    model, tok = varied
    first = run(model, tok, prompts, GREEDY, [[1]])[0][1]
    stop = tok.decode(first[4:6], skip_special_tokens=True)
    got, finish = run(model, tok, prompts, GenParams(max_new_tokens=12, temperature=0, stop=[stop]), [[1]])
    text = tok.decode(got[1], skip_special_tokens=True)
    assert finish[1] == "stop" and stop in text and stop not in tok.decode(got[1][:-1], skip_special_tokens=True)
    assert got[1] == first[:len(got[1])]


def test_cancelled_rows_leave_and_the_rest_go_on(varied, prompts):
    model, tok = varied
    alone = run(model, tok, prompts, GREEDY, [[3]])[0][3]
    batch = RunningBatch(model, tok, GREEDY)
    batch.add([Row(p, 12, tag=i) for i, p in enumerate(prompts[:4])])
    batch.step()
    gone = batch.cancel(lambda r: r.tag != 3)
    assert {r.finish for r in gone} == {"cancelled"} and len(batch) == 1
    done = []
    while batch:
        done += batch.step()
    assert done[0].ids == alone


def test_prefill_groups_keep_every_row_once_and_bound_the_padding():
    lengths = [38, 104, 40, 41, 60, 38, 101, 67, 2, 3]
    groups = prefill_groups(lengths)
    assert sorted(i for g in groups for i in g) == list(range(len(lengths)))
    for g in groups:
        assert len(g) * max(lengths[i] for i in g) <= PREFILL_SLACK * sum(lengths[i] for i in g)
    # Shortest first; like lengths share a forward, unlike ones do not.
    assert [[lengths[i] for i in g] for g in groups] == [[2], [3], [38, 38, 40, 41], [60, 67], [101, 104]]
    assert prefill_groups([5, 5, 50], slack=100.0) == [[0, 1, 2]]  # no bound: one padded forward


def test_prompts_of_unlike_lengths_are_prefilled_apart_and_get_their_lone_replies(varied, prompts):
    model, tok = varied
    batch, widths = RunningBatch(model, tok, GREEDY), []
    hook = model.register_forward_pre_hook(lambda m, a, kw: widths.append(tuple(kw["input_ids"].shape)),
                                           with_kwargs=True)
    try:
        done = batch.add([Row(p, GREEDY.max_new_tokens, tag=i) for i, p in enumerate(prompts)])
    finally:
        hook.remove()
    lengths = [len(p) for p in prompts]
    assert widths == [(len(g), max(lengths[i] for i in g)) for g in prefill_groups(lengths)]
    assert len(widths) > 1 and sum(b * t for b, t in widths) < len(prompts) * max(lengths)
    while batch:
        done += batch.step()
    assert {r.tag: r.ids for r in done} == {i: run(model, tok, prompts, GREEDY, [[i]])[0][i]
                                            for i in range(len(prompts))}
