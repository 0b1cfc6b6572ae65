"""Self-Instruct with a scripted generator: seeds in the Self-Instruct shape, prompts that mix
seeds and generated tasks, output-first classification, every rejection reason counted, and
resume after a kill with nothing lost or written twice."""

from __future__ import annotations

import hashlib
import json
import random
import re
import sys
from collections import Counter
from pathlib import Path

import pytest

from instructune.config import SelfInstructConfig
from instructune.synth.self_instruct import load_seed_tasks, run, sample_tasks

sys.path.insert(0, str(Path(__file__).parent))
from scripted_generator import Killed, ScriptedGenerator  # noqa: E402

SEEDS = [  # the Self-Instruct seed_tasks.jsonl shape
    {"id": "seed_task_0", "name": "ocean_poem", "instruction": "Write a short poem about the ocean.",
     "instances": [{"input": "", "output": "Waves roll in, waves roll out."}], "is_classification": False},
    {"id": "seed_task_1", "name": "review_sentiment", "instruction": "Is the review positive or negative?",
     "instances": [{"input": "Loved it.", "output": "positive"}, {"input": "Awful.", "output": "negative"}],
     "is_classification": True},
    {"id": "seed_task_2", "name": "capital", "instruction": "What is the capital of the given country?",
     "instances": [{"input": "France", "output": "Paris"}], "is_classification": False},
    {"id": "seed_task_3", "name": "sum", "instruction": "Add the two numbers.",
     "instances": [{"input": "2, 3", "output": "5"}], "is_classification": False},
    {"id": "seed_task_4", "name": "plural", "instruction": "Give the plural of the noun.",
     "instances": [{"input": "mouse", "output": "mice"}], "is_classification": False},
    {"id": "seed_task_5", "name": "antonym", "instruction": "Name an antonym of the adjective.",
     "instances": [{"input": "hot", "output": "cold"}], "is_classification": False},
]
SEED_TEXTS = [s["instruction"] for s in SEEDS]

BANK = [  # diverse new tasks the scripted model proposes (no two above ROUGE-L 0.7)
    "Name three countries in South America.", "Explain how a rainbow forms.",
    "Suggest a name for a bakery.", "Convert 5 kilometres to miles.",
    "List four instruments of an orchestra.", "Describe the taste of a lemon.",
    "Rewrite the sentence in the passive voice.", "Classify the animal as mammal or reptile.",
    "Give a synonym for the word quick.", "Recommend a book for a long flight.",
    "Summarize the benefits of regular exercise.", "Invent a slogan for a bicycle shop.",
]


def write_seeds(tmp_path: Path) -> str:
    path = tmp_path / "seed_tasks.jsonl"
    path.write_text("".join(json.dumps(s) + "\n" for s in SEEDS))
    return str(path)


def tasks_reply(prompt: str) -> str:
    """Three bank tasks chosen by the prompt's hash (so rounds differ and repeats happen)."""
    h = int(hashlib.md5(prompt.encode()).hexdigest(), 16)
    picks = [BANK[(h >> (8 * i)) % len(BANK)] for i in range(3)]
    return "\n".join(f"{n}. {t}" if n else t for n, t in zip((None, 10, 11), picks))


def instance_reply(prompt: str) -> str:
    """Both completion steps: input (or label) first, then output (or input)."""
    block = prompt.rsplit("\n\nTask: ", 1)[-1]
    task = block.split("\n")[0]
    if block.endswith("Class label:"):
        return " yes"
    if "Class label:" in block:
        return f" an example for '{task}'"
    if block.endswith("Output:"):
        return f" an answer to '{task}'"
    return " None"


def bank_generator(kill_at_call: int | None = None) -> ScriptedGenerator:
    return ScriptedGenerator([("Things people ask an assistant to do, one per line:", tasks_reply), ("Task: ", instance_reply)],
                             kill_at_call)


def small_cfg(seeds: str, **kw) -> SelfInstructConfig:
    base = dict(seeds=[seeds], rounds=3, prompts_per_round=2, tasks_per_prompt=4, human_per_prompt=2)
    return SelfInstructConfig(**{**base, **kw})


def read(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text().splitlines()]


def test_seed_tasks_from_self_instruct_shape(tmp_path):
    tasks = load_seed_tasks([write_seeds(tmp_path)])
    assert [t.instruction for t in tasks] == SEED_TEXTS  # two instances of seed_task_1 → one task
    assert [t.is_classification for t in tasks] == [False, True, False, False, False, False]
    starter = load_seed_tasks(["starter:train"])
    assert len(starter) > 100 and any(t.is_classification for t in starter)


def test_sample_tasks_mixes_seeds_and_generated():
    human, generated = [f"h{i}" for i in range(10)], [f"g{i}" for i in range(5)]
    picked = sample_tasks(random.Random(0), human, generated, k=8, n_human=6)
    assert len(picked) == 8 and len(set(picked)) == 8
    assert sum(p.startswith("h") for p in picked) == 6 and sum(p.startswith("g") for p in picked) == 2
    # before anything is generated, every slot is a seed
    assert all(p.startswith("h") for p in sample_tasks(random.Random(0), human, [], k=8, n_human=6))
    # fewer seeds than slots: take what there is
    assert sorted(sample_tasks(random.Random(0), ["h0"], ["g0", "g1"], k=4, n_human=3)) == ["g0", "g1", "h0"]


def test_round_prompts_show_generated_tasks_from_earlier_rounds(tmp_path):
    gen = bank_generator()
    run(gen, load_seed_tasks([write_seeds(tmp_path)]), small_cfg(write_seeds(tmp_path)), tmp_path / "out", progress=False)
    task_prompts = [p for p in gen.prompts if p.startswith("Things people ask an assistant to do, one per line:")]
    assert len(task_prompts) == 6  # 3 rounds × 2 prompts
    records = read(tmp_path / "out" / "records.jsonl")
    for i, prompt in enumerate(task_prompts):
        shown = re.findall(r"^\d+\. (.*)$", prompt, re.MULTILINE)
        rnd = i // 2 + 1
        earlier = {r["instruction"] for r in records if r["source"]["round"] < rnd}
        n_seed = sum(s in SEED_TEXTS for s in shown)
        n_gen = sum(s in earlier for s in shown)
        assert len(shown) == 4 and n_seed + n_gen == 4
        assert (n_seed, n_gen) == ((4, 0) if rnd == 1 else (2, 2))


def test_reasons_classification_output_first_and_record_shape(tmp_path):
    reply = ("Name three countries in South America.\n"
             "10. Classify the sentiment of the sentence as positive or negative.\n"
             "11. Hi there.\n"
             "12. Draw a map of your town.\n"
             "13. Write a short poem about the ocean waves.\n"
             "14. #Summarize the tweet in five words.\n"
             "15. Describe in detail every single step you take when you cook a big family dinner.\n"
             "16. Explain how a rainbow forms in the sky.\n"
             "17. Write a story about a dragon who")  # cut off by the token limit
    steps = {  # instruction → (first step, second step)
        "Name three countries in South America.": (" None", " Brazil, Peru and Chile."),
        "Classify the sentiment of the sentence as positive or negative.": (" positive", " I really enjoyed this film."),
        "Explain how a rainbow forms in the sky.": (" ", ""),  # no output: no instance
    }

    def instance(prompt):
        task, *filled = prompt.rsplit("\n\nTask: ", 1)[-1].split("\n")
        return steps[task][0 if len(filled) == 1 else 1]

    gen = ScriptedGenerator([("Things people ask an assistant to do, one per line:", reply), ("Task: ", instance)])
    cfg = small_cfg(write_seeds(tmp_path), rounds=1, prompts_per_round=1, min_words=3, max_words=12)
    report = run(gen, load_seed_tasks(cfg.seeds), cfg, tmp_path / "out", progress=False)

    assert report["reasons"] == {"bad_start": 1, "blocklist": 1, "no_instance": 1, "rouge": 1,
                                 "too_long": 1, "too_short": 1, "truncated": 1}
    assert (report["records"], report["rejected"], report["requests"]) == (2, 7, 7)  # 1 + 3 × 2 steps
    # the classification task was generated output-first (label, then input)
    label_prompts = [p for p in gen.prompts if p.endswith("Class label:")]
    assert len(label_prompts) == 1 and "Classify the sentiment" in label_prompts[0]
    assert any(p.endswith("Classify the sentiment of the sentence as positive or negative.\n"
                          "Class label: positive\nInput:") for p in gen.prompts)
    records = read(tmp_path / "out" / "records.jsonl")
    assert records[0] == {
        "id": "si-000000", "instruction": "Name three countries in South America.", "context": "",
        "response": "Brazil, Peru and Chile.", "rationale": "", "task": None, "system": None, "history": [],
        "source": {"generator": "scripted", "method": "self_instruct", "round": 1},
        "meta": {"is_classification": False, "instance_order": "input_first"}}
    assert records[1]["id"] == "si-000001"
    assert (records[1]["context"], records[1]["response"], records[1]["task"]) == (
        "I really enjoyed this film.", "positive", "classification")
    assert records[1]["meta"] == {"is_classification": True, "instance_order": "output_first"}
    rejects = read(tmp_path / "out" / "rejects.jsonl")
    rouge = next(r for r in rejects if r["reason"] == "rouge")
    assert rouge["instruction"] == "Write a short poem about the ocean waves."
    assert rouge["detail"] == "0.933 vs 'Write a short poem about the ocean.'"
    assert {r["reason"]: r["stage"] for r in rejects}["no_instance"] == "instance"
    assert read(tmp_path / "out" / "rounds.jsonl") == [{"round": 1, "accepted": 2, "rejected": 7, "requests": 7}]
    assert json.loads((tmp_path / "out" / "report.json").read_text())["reasons"] == report["reasons"]


def test_chat_style_asks_for_a_numbered_list(tmp_path):
    gen = ScriptedGenerator([("Here is a list of tasks:", "1. Name three countries in South America.\n"
                                                          "2. Suggest a name for a bakery."),
                             ("Use these two labelled lines", "Input: None\nOutput: An answer.")])
    cfg = small_cfg(write_seeds(tmp_path), rounds=1, prompts_per_round=1, prompt_style="chat", new_per_prompt=2)
    report = run(gen, load_seed_tasks(cfg.seeds), cfg, tmp_path / "out", progress=False)
    assert report["records"] == 2 and report["rejected"] == 0
    assert "Continue the numbered list from 5 to 6" in gen.prompts[0]


def _tear(path: Path) -> None:
    """What a kill in the middle of a write leaves: a partial last line."""
    with open(path, "a") as f:
        f.write('{"id": "si-0000')


@pytest.mark.parametrize("kill_at_call", [2, 3, 4, 5, 7, 9])  # 3 calls a round: tasks, 2 instance steps
def test_resume_after_kill_loses_and_duplicates_nothing(tmp_path, kill_at_call):
    seeds = write_seeds(tmp_path)
    cfg = small_cfg(seeds)
    full = run(bank_generator(), load_seed_tasks([seeds]), cfg, tmp_path / "full", progress=False)
    assert full["records"] >= 6 and full["reasons"].get("rouge", 0) >= 1  # the case is not trivial

    out = tmp_path / "killed"
    with pytest.raises(Killed):
        run(bank_generator(kill_at_call), load_seed_tasks([seeds]), cfg, out, progress=False)
    before = (out / "records.jsonl").read_text() if (out / "records.jsonl").exists() else ""
    _tear(out / "records.jsonl")
    resumed = run(bank_generator(), load_seed_tasks([seeds]), cfg, out, progress=False)

    assert (out / "records.jsonl").read_text().startswith(before)  # nothing written before is lost
    assert (out / "records.jsonl").read_text() == (tmp_path / "full" / "records.jsonl").read_text()
    records = read(out / "records.jsonl")
    assert len({r["id"] for r in records}) == len(records) == full["records"]
    assert resumed["reasons"] == full["reasons"]
    assert Counter(r["instruction"] for r in read(out / "rejects.jsonl")) == \
        Counter(r["instruction"] for r in read(tmp_path / "full" / "rejects.jsonl"))
    assert [(r["round"], r["accepted"], r["rejected"]) for r in read(out / "rounds.jsonl")] == \
        [(r["round"], r["accepted"], r["rejected"]) for r in read(tmp_path / "full" / "rounds.jsonl")]


def test_resume_mid_instance_stage_redoes_only_the_missing_records(tmp_path):
    """A kill after some of a round's records were appended: the round is redone and only the
    records not yet on disk are added."""
    seeds = write_seeds(tmp_path)
    cfg = small_cfg(seeds, rounds=1)
    out = tmp_path / "out"
    run(bank_generator(), load_seed_tasks([seeds]), cfg, out, progress=False)
    full = (out / "records.jsonl").read_text()
    lines = full.splitlines(keepends=True)
    assert len(lines) >= 3
    (out / "records.jsonl").write_text("".join(lines[:1]))  # the kill came after the first record
    (out / "rounds.jsonl").write_text("")  # ... so round 1 never finished
    gen = bank_generator()
    run(gen, load_seed_tasks([seeds]), cfg, out, progress=False)
    assert (out / "records.jsonl").read_text() == full
    assert sum(not p.startswith("Things people ask") for p in gen.prompts) == 2 * (len(lines) - 1)  # two steps each


def test_a_finished_run_does_nothing_more(tmp_path):
    seeds = write_seeds(tmp_path)
    cfg = small_cfg(seeds, rounds=1)
    first = run(bank_generator(), load_seed_tasks([seeds]), cfg, tmp_path / "out", progress=False)
    gen = bank_generator()
    again = run(gen, load_seed_tasks([seeds]), cfg, tmp_path / "out", progress=False)
    assert gen.calls == 0 and again["records"] == first["records"] and again["requests"] == first["requests"]


def test_max_records_stops_between_rounds(tmp_path):
    seeds = write_seeds(tmp_path)
    gen = bank_generator()
    report = run(gen, load_seed_tasks([seeds]), small_cfg(seeds, rounds=5, max_records=1), tmp_path / "o",
                 progress=False)
    assert report["rounds_done"] == 1 and report["records"] >= 1
