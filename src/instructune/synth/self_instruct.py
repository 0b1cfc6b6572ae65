"""Self-Instruct (Wang et al., 2023): grow an instruction set from a few seed tasks.

    seeds = load_seed_tasks(["starter:train"])         # or any ingested file, or seed_tasks.jsonl
    report = run(generator, seeds, cfg.self_instruct, "runs/self-instruct")

Each round: sample k tasks (human seeds mixed with generated ones) for each of a few prompts →
ask the generator for new tasks → parse them out of the replies → filter (length, start,
blocklist, ROUGE-L against every instruction in the pool) → decide which are classification →
generate an instance for each (input-first; output-first for classification, so inputs are
not all of the majority label) → append each record to `records.jsonl` the moment it is made.

The output dir holds `records.jsonl` (canonical records), `rejects.jsonl` (one row per rejected
candidate with its round, reason and detail), `rounds.jsonl` (one row per finished round) and
`report.json` (counts per reason, requests, records per minute). Running again on the same dir
resumes: the pool and counters are rebuilt from those files, the unfinished round is redone,
and candidates it already decided on (accepted or rejected) are skipped, so nothing is lost or
written twice.
"""

from __future__ import annotations

import random
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from instructune.config import SelfInstructConfig
from instructune.data.inputs import load_inputs
from instructune.data.record import Record
from instructune.generation.generator import Generator
from instructune.generation.params import GenParams
from instructune.progress import RunProgress
from instructune.synth import prompts
from instructune.synth._run import SynthRun, run_steps
from instructune.synth._runlog import TrackedGenerator
from instructune.synth.filters import InstructionFilter, Reject
from instructune.synth.parse import parse_instances, parse_instructions, parse_labelled_instances
from instructune.rundir import ROUNDS  # the steps log (records, rejects and report: see _run)

# Instructions that ask for one label out of a small set (used when classification="keywords").
_CLASSIFICATION = re.compile(
    r"\b(classif(?:y|ication)|categori[sz]e|category|sentiment|label|true or false|yes or no|"
    r"whether)\b", re.IGNORECASE)


@dataclass
class SeedTask:
    """A human-written task shown in prompts.

    Attributes:
        instruction: the task's instruction.
        is_classification: whether its output is one label from a small set.
    """

    instruction: str
    is_classification: bool = False


def load_seed_tasks(names: list[str], fmt: str | None = None) -> list[SeedTask]:
    """Seed tasks from input files ("starter:train", ingested records, Self-Instruct
    `seed_tasks.jsonl`, any supported format): one task per distinct instruction, in order.

    `is_classification` comes from the record's meta (Self-Instruct seeds carry it) or, when
    absent, from its task category being "classification".

    Raises:
        DataError: a bad row; FileNotFoundError: a missing file.
    """
    tasks: dict[str, SeedTask] = {}
    for r in load_inputs(names, fmt):
        if r.instruction not in tasks:
            flag = r.meta.get("is_classification", r.task == "classification")
            tasks[r.instruction] = SeedTask(r.instruction, bool(flag))
    return list(tasks.values())


def looks_like_classification(instruction: str) -> bool:
    """Whether the wording asks for a label ("classify", "sentiment", "true or false", ...)."""
    return _CLASSIFICATION.search(instruction) is not None


def sample_tasks(rng: random.Random, human: list[str], generated: list[str], k: int,
                 n_human: int) -> list[str]:
    """k tasks for one prompt: `n_human` seeds and k − n_human generated ones (more seeds while
    few tasks have been generated, more generated ones when seeds run short), in random order.

    Args:
        rng: the round's random generator.
        human: seed instructions.
        generated: instructions generated in earlier rounds.
        k: tasks to show.
        n_human: seeds among them when enough generated tasks exist.
    """
    n_gen = min(max(k - n_human, 0), len(generated))
    n_seed = min(k - n_gen, len(human))
    n_gen = min(k - n_seed, len(generated))  # too few seeds: fill up with generated tasks
    picked = rng.sample(human, n_seed) + rng.sample(generated, n_gen)
    rng.shuffle(picked)
    return picked


def looks_cut(text: str) -> bool:
    """Whether the last item of a reply was cut off by the token limit: it does not end like a
    sentence, or leaves a quote open."""
    return not text.endswith((".", "?", "!", ":", '"', "'", ")", "]")) or text.count('"') % 2 == 1


class _Run(SynthRun):
    """One Self-Instruct run over an output dir (its state is what the dir's files hold); its
    steps are rounds."""

    def __init__(self, gen: Generator, seeds: list[SeedTask], cfg: SelfInstructConfig, out: Path):
        super().__init__(gen, out, ROUNDS)
        self.cfg = cfg
        self.human = [s.instruction for s in seeds]
        self.filter = InstructionFilter(cfg.rouge_threshold, cfg.blocklist, cfg.min_words, cfg.max_words)
        # The pool: seeds, every accepted instruction, and those that passed the filter but got
        # no instance (they were in the pool when later candidates were checked).
        pooled = self.human + [r["instruction"] for r in self.records.rows]
        pooled += [r["instruction"] for r in self.rejects.rows if r["reason"] == "no_instance"]
        self.filter.pool.extend(dict.fromkeys(pooled))

    def _params(self, rnd: int, step: int, max_new_tokens: int, stop: list[str]) -> GenParams:
        c = self.cfg
        return GenParams(max_new_tokens=max_new_tokens, temperature=c.temperature, top_p=c.top_p,
                         stop=stop, seed=c.seed * 1_000_003 + rnd * 10 + step)

    def _reject(self, rnd: int, instruction: str, rej: Reject, stage: str, **extra: Any) -> None:
        self.rejects.append({"round": rnd, "stage": stage, "instruction": instruction,
                             "reason": rej.reason, "detail": rej.detail, **extra})
        self.reasons[rej.reason] += 1

    def candidates(self, rnd: int) -> list[tuple[str, bool]]:
        """Ask for new tasks with `prompts_per_round` sampled task lists.

        Returns:
            (candidate, cut) pairs; `cut` marks a reply's last item that looks truncated.
        """
        c = self.cfg
        rng = random.Random(f"{c.seed}:{rnd}")
        generated = list(dict.fromkeys(r["instruction"] for r in self.records.rows
                                       if r["source"]["round"] < rnd))
        shown = [sample_tasks(rng, self.human, generated, c.tasks_per_prompt, c.human_per_prompt)
                 for _ in range(c.prompts_per_round)]
        if c.prompt_style == "chat":
            replies = self.gen.chat([[{"role": "user", "content": prompts.instruction_prompt(t, c.new_per_prompt)}]
                                     for t in shown], self._params(rnd, 0, c.max_new_tokens, []))
        else:  # the reply continues the open item "9. ", so parse it with that prefix
            asks = [prompts.instruction_completion(t) for t in shown]
            replies = self.gen.complete([p for p, _ in asks], self._params(rnd, 0, c.max_new_tokens, ["\n\n"]))
            replies = [prefix + r for (_, prefix), r in zip(asks, replies)]
        out = []
        for reply in replies:
            items = parse_instructions(reply)
            out += [(cand, j == len(items) - 1 and looks_cut(cand)) for j, cand in enumerate(items)]
        return out

    def classify(self, rnd: int, instructions: list[str]) -> list[bool]:
        """Which instructions are classification tasks (by wording, or by asking the model)."""
        if self.cfg.classification == "keywords" or not instructions:
            return [looks_like_classification(i) for i in instructions]
        replies = self.gen.chat([[{"role": "user", "content": prompts.is_classification_prompt(i)}]
                                 for i in instructions], self._params(rnd, 1, 8, []))
        return [r.strip().lower().startswith("yes") for r in replies]

    def instances(self, rnd: int, instructions: list[str], flags: list[bool]) -> list[tuple[list[tuple[str, str]], str]]:
        """Instances per instruction (output-first for classification).

        Chat style asks once for a labelled reply. Completion style asks in two short steps
        (input, then output; or label, then input), `instances_per_task` samples each.

        Returns:
            per instruction: ([(input, output), ...] deduplicated, the raw generated text).
        """
        c, n = self.cfg, self.cfg.instances_per_task
        if not instructions:
            return []
        if c.prompt_style == "chat":
            replies = self.gen.chat(
                [[{"role": "user", "content": prompts.instance_prompt_output_first(i) if f else prompts.instance_prompt(i)}]
                 for i, f in zip(instructions, flags)], self._params(rnd, 2, c.max_new_tokens, []))
            return [(list(dict.fromkeys(parse_labelled_instances(r) if f else parse_instances(r)))[:n], r)
                    for f, r in zip(flags, replies)]
        flags_n = [f for f in flags for _ in range(n)]
        first = [prompts.instance_completion_output_first(i) if f else prompts.instance_completion(i)
                 for i, f in zip(instructions, flags) for _ in range(n)]
        stop = ["\nOutput:", "\nInput:", "\nTask:", "\n\n"]
        v1 = self.gen.complete(first, self._params(rnd, 2, c.max_new_tokens, stop))
        v2 = self.gen.complete([prompts.instance_completion_next(p, v, f) for p, v, f in zip(first, v1, flags_n)],
                               self._params(rnd, 3, c.max_new_tokens, stop))
        texts = [f"Class label: {a}\nInput: {b}" if f else f"Input: {a}\nOutput: {b}"
                 for a, b, f in zip(v1, v2, flags_n)]
        out = []
        for k, f in enumerate(flags):
            group = texts[k * n:(k + 1) * n]
            pairs = [p for t in group for p in (parse_labelled_instances(t) if f else parse_instances(t))]
            out.append((list(dict.fromkeys(pairs))[:n], "\n---\n".join(group)))
        return out

    def round(self, rnd: int, show: RunProgress) -> None:
        """Generate, filter and instantiate one round, appending results as they are decided."""
        # A redone round skips what it decided before the kill (kept on disk already).
        done = {r["instruction"] for r in self.records.rows if r["source"]["round"] == rnd}
        done |= {r["instruction"] for r in self.rejects.rows if r["round"] == rnd}
        accepted = []
        for cand, cut in self.candidates(rnd):
            if cand in done:
                continue
            done.add(cand)
            if rej := Reject("truncated", "cut off by the token limit") if cut else self.filter.check(cand):
                self._reject(rnd, cand, rej, "instruction")
            else:
                self.filter.pool.add(cand)
                accepted.append(cand)
            self.refresh(show)
        flags = self.classify(rnd, accepted)
        for inst, flag, (pairs, reply) in zip(accepted, flags, self.instances(rnd, accepted, flags)):
            if not pairs:
                self._reject(rnd, inst, Reject("no_instance", "no readable instance"), "instance",
                             reply=reply[:500])
            for inp, outp in pairs:
                self.records.append(self._record(rnd, inst, inp, outp, flag).to_dict())
                self.new_records += 1
            self.refresh(show)

    def _record(self, rnd: int, instruction: str, inp: str, outp: str, flag: bool) -> Record:
        return Record(
            id=f"si-{len(self.records):06d}", instruction=instruction, context=inp, response=outp,
            task="classification" if flag else None,
            source={"generator": self.gen.name, "method": "self_instruct", "round": rnd},
            meta={"is_classification": flag, "instance_order": "output_first" if flag else "input_first"})

    def finished(self) -> bool:
        """Whether `max_records` records exist (then no further round starts)."""
        return bool(self.cfg.max_records) and len(self.records) >= self.cfg.max_records

    def step(self, rnd: int, show: RunProgress) -> None:
        """Run round `rnd` and log it."""
        before = self.requests
        self.round(rnd, show)
        # Counted from the logs, so a round redone after a kill reports all its results.
        self.steps.append({"round": rnd,
                           "accepted": sum(x["source"]["round"] == rnd for x in self.records.rows),
                           "rejected": sum(r["round"] == rnd for r in self.rejects.rows),
                           "requests": self.requests - before})

    def report(self, seconds: float) -> dict[str, Any]:
        rows = self.records.rows
        return {
            "method": "self_instruct",
            "generator": self.gen.name,
            "rounds_done": len(self.steps),
            "records": len(rows),
            "instructions": len({r["instruction"] for r in rows}),
            "classification": sum(bool(r["meta"].get("is_classification")) for r in rows),
            "rejected": sum(self.reasons.values()),
            "reasons": dict(sorted(self.reasons.items())),
            "requests": self.requests,
            "this_session": self.session(seconds),
        }


def run(gen: Generator, seeds: list[SeedTask], cfg: SelfInstructConfig, out_dir: str | Path,
        progress: bool = True) -> dict[str, Any]:
    """Run (or resume) Self-Instruct into `out_dir` until `cfg.rounds` rounds are done or
    `cfg.max_records` records exist (checked between rounds).

    Args:
        gen: the generator LLM.
        seeds: human seed tasks (at least one).
        cfg: the `self_instruct` config section.
        out_dir: output dir (records.jsonl, rejects.jsonl, rounds.jsonl, report.json).
        progress: show a progress bar.
    Returns:
        the report (also written to out_dir/report.json).
    """
    if not seeds:
        raise ValueError("Self-Instruct needs at least one seed task")
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    return run_steps(_Run(TrackedGenerator(gen), seeds, cfg, out), "self-instruct", cfg.rounds, progress)
