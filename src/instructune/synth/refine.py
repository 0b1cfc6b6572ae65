"""Self-Refine (Madaan et al., 2023): the generator critiques its responses and revises them.

    records, stats = refine_records(records, generator, rounds=2, score_fn=quality_scores)

For up to `rounds` rounds, on every record still being refined:

1. critique: the generator lists what is wrong with the current response against its
   instruction (`refine_prompts.critique_prompt`); a critique that says "NO ISSUES" stops that
   record ("no_issues");
2. revise: the generator rewrites the response to fix the critique (`revise_prompt`); an empty
   revision stops the record ("empty_revision"), and so does one with the same words as the
   response it was to improve ("unchanged": small models often copy it back) or one that pastes
   in part of the critique ("copied_feedback": the scorers would reward the pasted words that
   restate the instruction);
3. score: `score_fn` scores the revision; it is kept when it beats the best score so far by more
   than `min_gain` (default 0.01: set-relative scores move by a few thousandths when other records
   change, and a stray trailing line can gain that much), else the record stops ("no_gain") and
   keeps its best response. Records still improving after the last round stop with "rounds".

Requests are batched per round across records: one `generator.chat` call for all critiques of a
round and one for all revisions. The extra cost is counted in `RefineStats`: each round costs one
critique per record still refining plus one revision per critique that found a problem.

Unlike the paper, a round sees only the current response and its latest critique (not every
earlier round): small models lose track of long prompts.

Each returned record keeps the history in `meta["refine"]` (the review page shows it):

    {"draft": str, "draft_score": float, "score": float (of the kept response),
     "stopped": "no_issues" | "empty_revision" | "unchanged" | "copied_feedback" | "no_gain" | "rounds",
     "requests": int,
     "rounds": [{"round": 1, "critique": str, "revision": str | None, "score": float | None,
                 "kept": bool}, ...]}
"""

from __future__ import annotations

import dataclasses
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from instructune.data.record import Record
from instructune.generation.generator import Generator
from instructune.generation.params import GenParams
from instructune.synth.refine_prompts import (copies_feedback, critique_prompt, parse_revision, revise_prompt,
                                              says_nothing_to_fix)

MAX_ROUNDS = 10  # the paper's gains level off after 2-3 rounds; each round costs up to 2 requests a record
STOPS = ("no_issues", "empty_revision", "unchanged", "copied_feedback", "no_gain", "rounds")
DEFAULT_MIN_GAIN = 0.01

ScoreFn = Callable[[list[Record]], list[float]]


@dataclass
class RefineStats:
    """What a refine pass did and cost.

    Attributes:
        records: records given.
        rounds_run: rounds in which at least one record was critiqued.
        critique_requests: critiques asked for.
        revision_requests: revisions asked for.
        improved: records whose kept response is a revision.
        stopped: stop reason → records (see `STOPS`).
        mean_score_before: mean `score_fn` value of the drafts.
        mean_score_after: mean value of the kept responses.
        seconds: wall time of the pass.
    """

    records: int = 0
    rounds_run: int = 0
    critique_requests: int = 0
    revision_requests: int = 0
    improved: int = 0
    stopped: dict[str, int] = field(default_factory=dict)
    mean_score_before: float = 0.0
    mean_score_after: float = 0.0
    seconds: float = 0.0

    @property
    def requests(self) -> int:
        """Every request made: the extra cost of refining."""
        return self.critique_requests + self.revision_requests

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready dict (for a run report), `requests` included."""
        return {**dataclasses.asdict(self), "requests": self.requests}


def check_options(rounds: int, max_new_tokens: int, temperature: float, min_gain: float, seed: int = 0) -> None:
    """Raise ValueError naming the option (as `refine.*` config keys) when one is out of range."""
    def is_int(x: Any) -> bool:
        return isinstance(x, int) and not isinstance(x, bool)

    if not is_int(rounds) or not 0 <= rounds <= MAX_ROUNDS:
        raise ValueError(f"refine.rounds: got {rounds!r}; expected an integer in [0, {MAX_ROUNDS}] (0 = off)")
    if not is_int(max_new_tokens) or max_new_tokens < 1:
        raise ValueError(f"refine.max_new_tokens: got {max_new_tokens!r}; expected an integer >= 1")
    if isinstance(temperature, bool) or not isinstance(temperature, (int, float)) or not 0.0 <= temperature <= 2.0:
        raise ValueError(f"refine.temperature: got {temperature!r}; expected a value in [0, 2]")
    if isinstance(min_gain, bool) or not isinstance(min_gain, (int, float)) or not 0.0 <= min_gain <= 1.0:
        raise ValueError(f"refine.min_gain: got {min_gain!r}; expected a value in [0, 1]")
    if not is_int(seed) or seed < 0:
        raise ValueError(f"refine.seed: got {seed!r}; expected an integer >= 0")


def _scores(score_fn: ScoreFn, records: list[Record]) -> list[float]:
    values = [float(v) for v in score_fn(records)]
    if len(values) != len(records):
        raise ValueError(f"score_fn returned {len(values)} scores for {len(records)} records")
    return values


def _chat(generator: Generator, texts: list[str], params: GenParams) -> list[str]:
    """One batched call (skipped when there is nothing to ask)."""
    return generator.chat([[{"role": "user", "content": t}] for t in texts], params) if texts else []


def _unusable(revision: str, critique: str, response: str) -> str | None:
    """Why a revision is not worth scoring (a stop reason), or None."""
    if not revision:
        return "empty_revision"
    if revision.split() == response.split():
        return "unchanged"
    if copies_feedback(revision, critique, response):
        return "copied_feedback"
    return None


class _Pass:
    """The state of one `refine_records` call: the best response and history of every record."""

    def __init__(self, records: list[Record], score_fn: ScoreFn, min_gain: float):
        self.score_fn, self.min_gain = score_fn, min_gain
        self.best = list(records)
        self.draft_scores = _scores(score_fn, self.best)
        self.best_score = list(self.draft_scores)
        self.history: list[list[dict[str, Any]]] = [[] for _ in records]
        self.requests = [0] * len(records)
        self.stopped: dict[int, str] = {}

    def critique(self, active: list[int], critiques: list[str], r: int) -> list[tuple[int, str]]:
        """Record the critiques; stop the records with nothing to fix. Returns (index, critique)
        of the records to revise."""
        out = []
        for i, c in zip(active, critiques):
            self.requests[i] += 1
            if says_nothing_to_fix(c):
                self.history[i].append({"round": r, "critique": c, "revision": None, "score": None, "kept": False})
                self.stopped[i] = "no_issues"
            else:
                out.append((i, c))
        return out

    def revise(self, todo: list[tuple[int, str]], replies: list[str], r: int) -> None:
        """Score the revisions (in place of the current responses) and keep those that gain."""
        revised: dict[int, str] = {}
        for (i, c), reply in zip(todo, replies):
            self.requests[i] += 1
            text = parse_revision(reply)
            if stop := _unusable(text, c, self.best[i].response):
                self.history[i].append({"round": r, "critique": c, "revision": text, "score": None, "kept": False})
                self.stopped[i] = stop
            else:
                revised[i] = text
        if not revised:
            return
        # The whole set is scored, revisions in place, so set-relative scorers compare like with like.
        candidates = [dataclasses.replace(rec, response=revised[i]) if i in revised else rec
                      for i, rec in enumerate(self.best)]
        values = _scores(self.score_fn, candidates)
        for i, c in todo:
            if i not in revised:
                continue
            kept = values[i] > self.best_score[i] + self.min_gain
            self.history[i].append({"round": r, "critique": c, "revision": revised[i],
                                    "score": round(values[i], 6), "kept": kept})
            if kept:
                self.best[i], self.best_score[i] = candidates[i], values[i]
            else:
                self.stopped[i] = "no_gain"

    def result(self, originals: list[Record]) -> list[Record]:
        """The kept records, each with its `meta["refine"]`."""
        out = []
        for i, (orig, rec) in enumerate(zip(originals, self.best)):
            block = {"draft": orig.response, "draft_score": round(self.draft_scores[i], 6),
                     "score": round(self.best_score[i], 6), "stopped": self.stopped.get(i, "rounds"),
                     "requests": self.requests[i], "rounds": self.history[i]}
            out.append(dataclasses.replace(rec, meta={**rec.meta, "refine": block}))
        return out


def refine_records(records: list[Record], generator: Generator, rounds: int, score_fn: ScoreFn, *,
                   max_new_tokens: int = 256, temperature: float = 0.0, min_gain: float = DEFAULT_MIN_GAIN,
                   seed: int = 0) -> tuple[list[Record], RefineStats]:
    """Self-Refine `records` (see the module docstring); the inputs are not modified.

    Args:
        records: records with a response to refine (instruction, context, response are used).
        generator: any `Generator`; it both critiques and revises.
        rounds: at most this many critique/revise rounds, in [0, MAX_ROUNDS]; 0 returns the
            records unchanged (still scored, with an empty history).
        score_fn: records → one score per record, higher better (e.g. `quality_value` of the
            quality scorers). It is called with the whole set each time: the drafts first, then
            after each round the current best records with that round's revisions in place (only
            the revised records' values are read), so scorers that compare a record with the
            others (alignment) see a set of the same size.
        max_new_tokens: tokens per critique and per revision, >= 1.
        temperature: sampling temperature of both requests, in [0, 2]; 0 = greedy.
        min_gain: a revision is kept only if it beats the best score so far by more than this,
            in [0, 1] (see the module docstring for the default).
        seed: sampling seed, >= 0 (round r uses seed + r).
    Returns:
        (records with the best response each and `meta["refine"]`, `RefineStats`).
    Raises:
        ValueError: an option out of range, or `score_fn` returned the wrong number of scores.
    """
    check_options(rounds, max_new_tokens, temperature, min_gain, seed)
    t0 = time.perf_counter()
    state = _Pass(list(records), score_fn, min_gain)
    stats = RefineStats(records=len(records))
    for r in range(1, rounds + 1):
        active = [i for i in range(len(records)) if i not in state.stopped]
        if not active:
            break
        params = GenParams(max_new_tokens=max_new_tokens, temperature=temperature, seed=seed + r)
        critiques = _chat(generator, [critique_prompt(state.best[i].instruction, state.best[i].context,
                                                      state.best[i].response) for i in active], params)
        todo = state.critique(active, critiques, r)
        replies = _chat(generator, [revise_prompt(state.best[i].instruction, state.best[i].context,
                                                  state.best[i].response, c) for i, c in todo], params)
        state.revise(todo, replies, r)
        stats.rounds_run += 1
        stats.critique_requests += len(active)
        stats.revision_requests += len(todo)
    out = state.result(records)
    stats.improved = sum(any(h["kept"] for h in state.history[i]) for i in range(len(records)))
    stats.stopped = dict(Counter(b.meta["refine"]["stopped"] for b in out))
    n = max(len(records), 1)
    stats.mean_score_before = round(sum(state.draft_scores) / n, 6)
    stats.mean_score_after = round(sum(state.best_score) / n, 6)
    stats.seconds = round(time.perf_counter() - t0, 3)
    return out, stats
