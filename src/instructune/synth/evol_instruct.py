"""Evol-Instruct (Xu et al., WizardLM, 2023): make a pool of instructions harder and broader.

    report = run(generator, load_inputs(["starter:train"]), cfg.evol, "runs/evol")

Each generation takes evolutions from the pool (a queue of records waiting to evolve, the
last generation's children first): pick an operation (in-depth: add_constraints, deepen,
concretize, add_reasoning, complicate_input; or in_breadth), rewrite the parent's prompt with
the generator, answer the new prompt, and eliminate failures (copied prompt wording or an echo
of the request, refusal, no new information, duplicate, length,
response too short or nonsensical). A success is appended to `records.jsonl` at once with its
lineage (`meta`: parent_id, root_id, operation, generation) and joins the pool; its parent
leaves. A failure is appended to `rejects.jsonl` and its parent goes back to the pool for a
later try (dropped after `max_attempts`).

Topic tracking: instructions are embedded and clustered (`synth/topics.py`); in-breadth
evolution draws its parent from the least represented cluster, so new topics fill the gaps.
The report shows the cluster distribution before and after.

Files: records.jsonl, rejects.jsonl, generations.jsonl (one row per finished generation, with
the pool after it), report.json. Running again on the same dir resumes from the last finished
generation; evolutions of the unfinished one already on disk are not redone.
"""

from __future__ import annotations

import random
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from instructune.config import EvolConfig
from instructune.data.errors import DataError
from instructune.data.record import Record
from instructune.embed import EmbedFn, Embedder
from instructune.progress import RunProgress
from instructune.synth import prompts
from instructune.synth._run import SynthRun, run_steps
from instructune.synth._runlog import TrackedGenerator
from instructune.synth.filters import (Reject, copied_prompt_check, echoed_request_check, length_check,
                                       no_new_info_check, refusal_check, response_check)
from instructune.generation.generator import Generator
from instructune.generation.params import GenParams
from instructune.synth.parse import parse_evolved
from instructune.synth.topics import TopicTracker
from instructune.rundir import EVOL_GENERATIONS as GENERATIONS  # the steps log (records, rejects and report: see _run)


@dataclass
class Job:
    """One evolution: a parent, the operation applied, and its failed attempts so far."""

    parent: str
    operation: str
    attempts: int


def _norm(text: str) -> str:
    return " ".join(text.lower().split())


def _prompt_text(r: dict) -> str:
    """Instruction and context as one text (what 'new information' is measured on)."""
    return f"{r['instruction']} {r['context']}".strip()


def _fields(r: dict) -> str:
    """Instruction and context on lines of their own (word runs are not to cross them)."""
    return f"{r['instruction']}\n{r['context']}"


def _child_context(op: str, parent: dict, parsed: str | None) -> str:
    """The child's input: new for in-breadth (none), the rewritten one for complicate_input
    (the parent's when the reply gave none), the parent's otherwise."""
    if op == prompts.IN_BREADTH:
        return ""
    if op == "complicate_input" and parsed is not None:
        return parsed
    return parent["context"]


def evolve_request(op: str, parent: dict) -> str:
    """The user message that evolves `parent` (a record dict) with operation `op`."""
    if op == prompts.IN_BREADTH:
        return prompts.breadth_prompt(parent["instruction"])
    return prompts.evolve_prompt(op, parent["instruction"], parent["context"])


def check_evolved(parent: dict, child: dict, cfg: EvolConfig, known: set[str], request: str = "") -> Reject | None:
    """Why an evolved prompt (before its response) is eliminated, or None; `request` is the
    message that asked for it (its words echoed back are `copied_prompt`)."""
    if not child["instruction"]:
        return Reject("unparsed", "no prompt in the reply")
    text = _prompt_text(child)
    return (copied_prompt_check(text) or echoed_request_check(_fields(child), request, _fields(parent))
            or refusal_check(text)
            or length_check(child["instruction"], cfg.min_words, cfg.max_words)
            or no_new_info_check(_prompt_text(parent), text, cfg.max_parent_rouge, cfg.min_new_words)
            or (Reject("duplicate", "already in the pool") if _norm(text) in known else None))


class _Run(SynthRun):
    """One Evol-Instruct run over an output dir (its state is what the dir's files hold); its
    steps are generations."""

    def __init__(self, gen: Generator, inputs: list[Record], cfg: EvolConfig, out: Path,
                 embed: EmbedFn | None):
        self.cfg = cfg
        self.known: dict[str, dict] = {}
        for r in inputs:  # checked before the logs are read: a bad input changes nothing
            if r.id in self.known:
                raise DataError("evol input", f"duplicate record id {r.id!r}; ids must be unique")
            self.known[r.id] = r.to_dict()
        self.input_ids = list(self.known)
        super().__init__(gen, out, GENERATIONS)
        for r in self.records.rows:
            self.known[r["id"]] = r
        self.texts = {_norm(_prompt_text(r)) for r in self.known.values()}
        self.topics = None
        if embed is not None and cfg.clusters > 0:
            self.topics = TopicTracker(embed, self.input_ids, [self.known[i]["instruction"] for i in self.input_ids],
                                       cfg.clusters, cfg.seed)
            self.topics.add([r["id"] for r in self.records.rows], [r["instruction"] for r in self.records.rows])

    def queue(self) -> list[tuple[str, int]]:
        """The pool at the start of the next generation: (record id, failed attempts)."""
        if self.steps.rows:
            return [(i, a) for i, a in self.steps.rows[-1]["queue"]]
        return [(i, 0) for i in self.input_ids]

    def plan(self, g: int, queue: list[tuple[str, int]]) -> list[Job]:
        """This generation's evolutions: an operation per job; in-depth jobs take the pool in
        order, in-breadth jobs take a parent from the rarest cluster that has one waiting."""
        cfg = self.cfg
        rng = random.Random(f"{cfg.seed}:{g}")
        n = min(cfg.per_generation or len(queue), len(queue))
        attempts = dict(queue)
        free = [i for i, _ in queue]
        counts = planned = None
        if self.topics is not None:
            earlier = self.input_ids + [r["id"] for r in self.records.rows if r["source"]["round"] < g]
            counts, planned = self.topics.counts(earlier), np.zeros(self.topics.k, dtype=np.int64)
        jobs = []
        for _ in range(n):
            op = rng.choice(cfg.operations)
            parent = free[0]
            if op == prompts.IN_BREADTH and self.topics is not None:
                waiting = {self.topics.cluster[i] for i in free}
                load = np.where([c in waiting for c in range(self.topics.k)], counts + planned, np.iinfo(np.int64).max)
                target = self.topics.rarest(load)
                parent = rng.choice([i for i in free if self.topics.cluster[i] == target])
                planned[target] += 1
            free.remove(parent)
            jobs.append(Job(parent, op, attempts[parent]))
        return jobs

    def _params(self, g: int, batch: int, stage: int, max_new_tokens: int) -> GenParams:
        cfg = self.cfg
        return GenParams(max_new_tokens=max_new_tokens, temperature=cfg.temperature, top_p=cfg.top_p,
                         seed=cfg.seed * 1_000_003 + g * 10_000 + batch * 2 + stage)

    def _chat(self, texts: list[str], params: GenParams) -> list[str]:
        return self.gen.chat([[{"role": "user", "content": t}] for t in texts], params) if texts else []

    def evolve_batch(self, g: int, b: int, jobs: list[Job]) -> dict[str, bool]:
        """Evolve, answer and check one batch; append each result. Returns parent → success."""
        parents = [self.known[j.parent] for j in jobs]
        requests = [evolve_request(j.operation, p) for j, p in zip(jobs, parents)]
        replies = self._chat(requests, self._params(g, b, 0, self.cfg.evolve_max_new_tokens))
        children, verdicts = [], []
        for j, p, request, reply in zip(jobs, parents, requests, replies):
            instruction, context = parse_evolved(reply, with_input=j.operation == "complicate_input")
            child = {"instruction": instruction, "context": _child_context(j.operation, p, context)}
            children.append(child)
            verdicts.append(check_evolved(p, child, self.cfg, self.texts, request))
        todo = [i for i, v in enumerate(verdicts) if v is None]
        answers = self._chat([prompts.response_prompt(children[i]["instruction"], children[i]["context"])
                              for i in todo], self._params(g, b, 1, self.cfg.response_max_new_tokens))
        for i, answer in zip(todo, answers):
            children[i]["response"] = answer.strip()
            verdicts[i] = (refusal_check(answer)
                           or response_check(answer, self.cfg.min_response_words))
        outcome = {}
        for j, p, child, verdict in zip(jobs, parents, children, verdicts):
            if verdict is None and _norm(_prompt_text(child)) in self.texts:  # twice in one batch
                verdict = Reject("duplicate", "already in the pool")
            if verdict is None:
                self._accept(g, j, p, child)
            else:
                self.rejects.append({"round": g, "parent_id": j.parent, "operation": j.operation,
                                     "reason": verdict.reason, "detail": verdict.detail,
                                     "instruction": child["instruction"], "context": child["context"],
                                     "response": child.get("response", "")})
                self.reasons[verdict.reason] += 1
            outcome[j.parent] = verdict is None
        return outcome

    def _accept(self, g: int, job: Job, parent: dict, child: dict) -> None:
        meta = parent.get("meta") or {}
        rec = Record(
            id=f"evol-{len(self.records):06d}", instruction=child["instruction"], context=child["context"],
            response=child["response"], task=parent.get("task") if job.operation != prompts.IN_BREADTH else None,
            source={"generator": self.gen.name, "method": "evol_instruct", "round": g},
            meta={"parent_id": parent["id"], "root_id": meta.get("root_id", parent["id"]),
                  "operation": job.operation, "generation": int(meta.get("generation", 0)) + 1})
        if self.topics is not None:
            rec.meta["cluster"] = self.topics.add([rec.id], [rec.instruction])[0]
        d = rec.to_dict()
        self.records.append(d)
        self.known[rec.id] = d
        self.texts.add(_norm(_prompt_text(d)))
        self.new_records += 1

    def generation(self, g: int, show: RunProgress) -> dict[str, Any]:
        """Run generation `g`; append its row (with the pool after it) and return it."""
        queue = self.queue()
        jobs = self.plan(g, queue)
        # Evolutions of this generation already on disk (a resumed run) are not redone.
        outcome = {r["parent_id"]: False for r in self.rejects.rows if r["round"] == g}
        outcome.update({r["meta"]["parent_id"]: True for r in self.records.rows if r["source"]["round"] == g})
        before = self.requests
        todo = [j for j in jobs if j.parent not in outcome]
        size = max(1, self.cfg.batch_size)
        for b in range(0, len(todo), size):
            outcome.update(self.evolve_batch(g, b // size, todo[b:b + size]))
            self.refresh(show)
        used = {j.parent for j in jobs}
        retry = [(j.parent, j.attempts + 1) for j in jobs if not outcome[j.parent]]
        children = [(r["id"], 0) for r in self.records.rows if r["source"]["round"] == g]
        # Children first, so each generation evolves the last one's results (lineage deepens as
        # in WizardLM even when per_generation caps the work); then retries, then the untouched.
        nxt = (children + [q for q in retry if q[1] < self.cfg.max_attempts]
               + [q for q in queue if q[0] not in used])
        # Counted from the logs, so a generation redone after a kill reports all its results.
        row = {"generation": g, "accepted": len(children),
               "rejected": sum(r["round"] == g for r in self.rejects.rows), "requests": self.requests - before,
               "retried": sum(q[1] < self.cfg.max_attempts for q in retry),
               "dropped": sum(q[1] >= self.cfg.max_attempts for q in retry), "queue": [list(q) for q in nxt]}
        self.steps.append(row)
        return row

    def finished(self) -> bool:
        """Whether the pool is empty (every evolution failed too often, or nothing was given)."""
        return not self.queue()

    def step(self, g: int, show: RunProgress) -> None:
        """Run generation `g` (it logs itself)."""
        self.generation(g, show)

    def report(self, seconds: float) -> dict[str, Any]:
        rows = self.records.rows
        ops = Counter(r["meta"]["operation"] for r in rows)
        failed = Counter(r["operation"] for r in self.rejects.rows)
        out = {
            "method": "evol_instruct",
            "generator": self.gen.name,
            "generations_done": len(self.steps),
            "inputs": len(self.input_ids),
            "records": len(rows),
            "rejected": sum(self.reasons.values()),
            "reasons": dict(sorted(self.reasons.items())),
            "operations": {op: {"accepted": ops[op], "rejected": failed[op]} for op in self.cfg.operations},
            "depth": dict(sorted(Counter(r["meta"]["generation"] for r in rows).items())),
            "pool": len(self.queue()),
            "requests": self.requests,
            "this_session": self.session(seconds),
        }
        if self.topics is not None:
            out["clusters"] = {"before": self.topics.distribution(self.input_ids),
                               "after": self.topics.distribution()}
        return out


def run(gen: Generator, inputs: list[Record], cfg: EvolConfig, out_dir: str | Path,
        embed: EmbedFn | None = None, progress: bool = True) -> dict[str, Any]:
    """Run (or resume) Evol-Instruct into `out_dir` for `cfg.generations` generations.

    Args:
        gen: the generator LLM.
        inputs: the starting pool (unique ids).
        cfg: the `evol` config section.
        out_dir: output dir (records.jsonl, rejects.jsonl, generations.jsonl, report.json).
        embed: sentence embedder for topic tracking; None loads `cfg.embedder` (when
            `cfg.clusters` > 0).
        progress: show a progress bar.
    Returns:
        the report (also written to out_dir/report.json).
    """
    if not inputs:
        raise ValueError("Evol-Instruct needs at least one input record")
    if embed is None and cfg.clusters > 0:
        embed = Embedder(cfg.embedder)
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    return run_steps(_Run(TrackedGenerator(gen), inputs, cfg, out, embed), "evol", cfg.generations, progress)
