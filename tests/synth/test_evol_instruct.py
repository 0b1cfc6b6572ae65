"""Evol-Instruct with a scripted generator and a fake embedder: lineage, elimination reasons,
failed evolutions back in the pool, in-breadth steered to the rare topic, resume after a kill."""

from __future__ import annotations

import hashlib
import json
import re
import sys
from pathlib import Path

import numpy as np
import pytest

from instructune.config import EvolConfig
from instructune.data.record import Record
from instructune.synth.evol_instruct import run

sys.path.insert(0, str(Path(__file__).parent))
from scripted_generator import Killed, ScriptedGenerator  # noqa: E402

TOPICS = {"sea": ("sea", "ocean", "wave", "fish"), "space": ("planet", "star", "moon", "orbit"),
          "code": ("python", "function", "code", "list")}

POOL = [  # four sea, four space, one code record: code is the rare topic
    Record("sea-1", "Write a poem about the sea.", "Waves on waves."),
    Record("sea-2", "Why is the ocean salty?", "Rivers carry minerals."),
    Record("sea-3", "Describe a wave breaking on rocks.", "White foam bursts."),
    Record("sea-4", "Name three fish of the deep sea.", "Anglerfish, gulper eel, viperfish.", task="open_qa"),
    Record("space-1", "Which planet is largest?", "Jupiter."),
    Record("space-2", "Why does the moon change shape?", "We see different lit parts."),
    Record("space-3", "What is a star made of?", "Mostly hydrogen and helium."),
    Record("space-4", "How long is the orbit of Mars?", "About 687 days."),
    Record("code-1", "Write a Python function that sums a list.", "def total(xs): return sum(xs)",
           context="Use no imports."),
]


def fake_embed(texts: list[str]) -> np.ndarray:
    """One axis per topic, by keyword; unit rows."""
    x = np.array([[sum(w in t.lower() for w in words) for words in TOPICS.values()] for t in texts], np.float32)
    x += 1e-3
    return x / np.linalg.norm(x, axis=1, keepdims=True)


def given(prompt: str) -> str:
    return re.search(r"Original task: (.*?)(?:\nIts input: .*)?\n\n", prompt, re.DOTALL).group(1)


def deeper(text: str) -> str:
    """`text` plus two words it cannot hold yet (from its hash), so every generation adds some."""
    h = hashlib.md5(text.encode()).hexdigest()
    return f"{text.rstrip('.?')}, covering w{h[:4]} and w{h[4:8]}."


def deepen(prompt: str) -> str:
    return f"Harder task: {deeper(given(prompt))}"


def breadth(prompt: str) -> str:
    return f"New task: Rare twist on: {given(prompt)}"


ANSWER = "Here is a complete and careful answer with several words."


def generator(evolve=deepen, answer=ANSWER, kill_at_call=None) -> ScriptedGenerator:
    return ScriptedGenerator([("Make this task harder", evolve), ("Invent a different task", breadth),
                              ("", answer)], kill_at_call)


def cfg(**kw) -> EvolConfig:
    base = dict(generations=2, per_generation=0, batch_size=4, operations=["deepen"], clusters=3)
    return EvolConfig(**{**base, **kw})


def read(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text().splitlines()]


def test_lineage_over_two_generations(tmp_path):
    report = run(generator(), POOL[:2], cfg(clusters=0), tmp_path, progress=False)
    recs = read(tmp_path / "records.jsonl")
    assert [r["id"] for r in recs] == ["evol-000000", "evol-000001", "evol-000002", "evol-000003"]
    assert recs[0]["instruction"] == "Write a poem about the sea, covering wb639 and wf195."
    assert recs[2]["instruction"] == deeper(recs[0]["instruction"])
    assert recs[0]["response"] == ANSWER
    assert [r["meta"] for r in recs] == [
        {"parent_id": "sea-1", "root_id": "sea-1", "operation": "deepen", "generation": 1},
        {"parent_id": "sea-2", "root_id": "sea-2", "operation": "deepen", "generation": 1},
        {"parent_id": "evol-000000", "root_id": "sea-1", "operation": "deepen", "generation": 2},
        {"parent_id": "evol-000001", "root_id": "sea-2", "operation": "deepen", "generation": 2}]
    assert [r["source"] for r in recs] == [
        {"generator": "scripted", "method": "evol_instruct", "round": g} for g in (1, 1, 2, 2)]
    assert report["depth"] == {1: 2, 2: 2} and report["records"] == 4 and report["requests"] == 8
    assert report["operations"] == {"deepen": {"accepted": 4, "rejected": 0}}
    gens = read(tmp_path / "generations.jsonl")
    assert [g["queue"] for g in gens] == [[["evol-000000", 0], ["evol-000001", 0]],
                                          [["evol-000002", 0], ["evol-000003", 0]]]


def test_task_and_context_carry_over_and_complicate_input_rewrites_the_input(tmp_path):
    def complicate(prompt):
        return "Harder task: Write a Python function that sums a nested list.\nInput: Use no imports; lists nest."
    run(generator(evolve=complicate), [POOL[8]], cfg(clusters=0, generations=1, operations=["complicate_input"]),
        tmp_path / "c", progress=False)
    run(generator(), [POOL[3], POOL[8]], cfg(clusters=0, generations=1), tmp_path / "d", progress=False)
    (c,), (sea, code) = read(tmp_path / "c" / "records.jsonl"), read(tmp_path / "d" / "records.jsonl")
    assert (c["instruction"], c["context"]) == ("Write a Python function that sums a nested list.",
                                                "Use no imports; lists nest.")
    assert sea["task"] == "open_qa" and code["context"] == "Use no imports."


@pytest.mark.parametrize("evolve, answer, reason", [
    ("Rewritten prompt: Rewrite the #Given Prompt# about the sea.", ANSWER, "copied_prompt"),
    ("Harder task: Make the original task about the sea longer.", ANSWER, "copied_prompt"),
    # the request's own words echoed back (a run of 4 words of it that the parent lacks)
    ("Harder task: Write a poem about the sea, and it may grow by 20 words at most.", ANSWER, "copied_prompt"),
    ("I'm sorry, but I cannot rewrite this.", ANSWER, "refusal"),
    ("Rewritten prompt: Write a poem about the sea.", ANSWER, "no_new_info"),
    ("Rewritten prompt: Write a poem about the sea today.", ANSWER, "no_new_info"),  # 1 new word
    ("Rewritten prompt: Why does the moon change shape?", ANSWER, "duplicate"),  # sea-1 → a known prompt
    ("Rewritten prompt:", ANSWER, "unparsed"),
    ("Rewritten prompt: Poem!", ANSWER, "too_short"),
    (deepen, "Yes.", "response_too_short"),
    (deepen, "the of and it is", "response_nonsense"),
    (deepen, "As an AI, I cannot write poems.", "refusal"),
])
def test_each_elimination_reason(tmp_path, evolve, answer, reason):
    report = run(generator(evolve, answer), [POOL[0], POOL[5]], cfg(clusters=0, generations=1, per_generation=1),
                 tmp_path, progress=False)
    assert report["records"] == 0 and report["reasons"] == {reason: 1}
    (rej,) = read(tmp_path / "rejects.jsonl")
    assert (rej["round"], rej["parent_id"], rej["operation"], rej["reason"]) == (1, "sea-1", "deepen", reason)


def test_failed_evolution_goes_back_to_the_pool(tmp_path):
    tries = {"n": 0}

    def flaky(prompt):  # sea-1 is refused on its first try only
        if "poem about the sea" in prompt and tries["n"] == 0:
            tries["n"] += 1
            return "I'm sorry, I can't."
        return deepen(prompt)

    run(generator(flaky), POOL[:2], cfg(clusters=0, per_generation=2), tmp_path, progress=False)
    gens = read(tmp_path / "generations.jsonl")
    assert gens[0]["queue"] == [["evol-000000", 0], ["sea-1", 1]]  # back in the pool, one failed try
    assert (gens[0]["accepted"], gens[0]["rejected"], gens[0]["retried"]) == (1, 1, 1)
    recs = read(tmp_path / "records.jsonl")
    late = next(r for r in recs if r["meta"]["parent_id"] == "sea-1")
    assert late["source"]["round"] == 2 and late["meta"]["generation"] == 1


def test_parent_dropped_after_max_attempts(tmp_path):
    report = run(generator("I'm sorry."), [POOL[0]], cfg(clusters=0, generations=3, max_attempts=2), tmp_path,
                 progress=False)
    gens = read(tmp_path / "generations.jsonl")
    assert [(g["retried"], g["dropped"], g["queue"]) for g in gens] == [(1, 0, [["sea-1", 1]]), (0, 1, [])]
    assert report["generations_done"] == 2 and report["reasons"] == {"refusal": 2}  # stopped: empty pool


def test_in_breadth_is_steered_to_the_rare_cluster(tmp_path):
    gen = generator()
    report = run(gen, POOL, cfg(generations=1, per_generation=1, operations=["in_breadth"]), tmp_path,
                 embed=fake_embed, progress=False)
    (prompt,) = [p for p in gen.prompts if p.startswith("Invent a different task")]
    assert "Original task: Write a Python function that sums a list." in prompt  # the only code record
    (rec,) = read(tmp_path / "records.jsonl")
    assert rec["meta"]["parent_id"] == "code-1" and rec["meta"]["operation"] == "in_breadth"
    assert rec["context"] == "" and rec["task"] is None
    before = {d["example"]: d["count"] for d in report["clusters"]["before"]}
    after = {d["example"]: d["count"] for d in report["clusters"]["after"]}
    code = "Write a Python function that sums a list."
    assert before[code] == 1 and after[code] == 2 and sum(before.values()) == 9 and sum(after.values()) == 10
    assert rec["meta"]["cluster"] == next(d["cluster"] for d in report["clusters"]["after"] if d["example"] == code)


def test_in_breadth_spreads_over_rare_clusters_within_a_generation(tmp_path):
    pool = POOL[:4] + POOL[4:6] + POOL[8:]  # sea 4, space 2, code 1
    gen = generator()
    run(gen, pool, cfg(generations=1, per_generation=3, operations=["in_breadth"]), tmp_path, embed=fake_embed,
        progress=False)
    shown = [given(p) for p in gen.prompts if p.startswith("Invent a different task")]
    # code (1 record) first; code then has no record left waiting, so space (2) twice, never sea (4)
    assert shown[0] == "Write a Python function that sums a list."
    assert all(any(w in s.lower() for w in TOPICS["space"]) for s in shown[1:])


def _tear(path: Path) -> None:
    with open(path, "a") as f:
        f.write('{"id": "evol-0')


@pytest.mark.parametrize("kill_at_call", [2, 3, 4, 5, 7])
def test_resume_after_kill_loses_and_duplicates_nothing(tmp_path, kill_at_call):
    ops = ["deepen", "add_constraints", "in_breadth"]
    conf = cfg(generations=2, per_generation=4, batch_size=2, operations=ops)

    def evolve(prompt):  # a refusal now and then, so the pool gets retries
        return "I'm sorry." if "salty" in prompt else deepen(prompt)

    full = run(generator(evolve), POOL, conf, tmp_path / "full", embed=fake_embed, progress=False)
    assert full["records"] >= 5 and full["rejected"] >= 1
    out = tmp_path / "killed"
    with pytest.raises(Killed):
        run(generator(evolve, kill_at_call=kill_at_call), POOL, conf, out, embed=fake_embed, progress=False)
    before = (out / "records.jsonl").read_text() if (out / "records.jsonl").exists() else ""
    _tear(out / "records.jsonl")
    resumed = run(generator(evolve), POOL, conf, out, embed=fake_embed, progress=False)
    text = (out / "records.jsonl").read_text()
    assert text.startswith(before) and text == (tmp_path / "full" / "records.jsonl").read_text()
    assert resumed["reasons"] == full["reasons"]
    strip = lambda rows: [{k: v for k, v in g.items() if k != "requests"} for g in rows]  # noqa: E731
    assert strip(read(out / "generations.jsonl")) == strip(read(tmp_path / "full" / "generations.jsonl"))
