"""An LLM judge through the `Generator` protocol: a rubric score from 1 to 5 with a reason.

The judge sees the instruction, the input and the response and a rubric written for
instructune (`RUBRIC`), and answers two lines, "Score: N" and "Reason: ...", greedily. Its
reply is read leniently (`parse_judgement`): the first "score N" (N in 1-5), else a lone
digit 1-5 at the start, else a yes (5) or no (1); a reply with none of these has no score
and counts as 0.5, no opinion. The value is (score - 1) / 4, in [0, 1].

Replies are cached on disk (`JudgeCache`, under $INSTRUCTUNE_CACHE/judge/), keyed by the model
name, the rubric and the record's text, so re-running a benchmark or a quality pass asks only
for what is new. `judge_records` returns what it cost: calls, cache hits, prompt and completion
tokens (as the backend counts them) and seconds.

Small models make weak judges (bench/quality_damage.py measures the default one); the judge is
off by default (`quality.judge`), and when on it is averaged into the alignment score.

    verdicts, cost = judge_records(build_generator(cfg.synth), records, cache=JudgeCache.default())
"""

from __future__ import annotations

import hashlib
import json
import re
import time
from dataclasses import asdict, dataclass
from pathlib import Path

from instructune.atomic import atomic_path
from instructune.cache import cache_dir
from instructune.data.record import Record
from instructune.generation.params import GenParams

RUBRIC = """You are checking an instruction-following dataset. Grade the response from 1 to 5:
5: it does what the instruction asks, completely and correctly, in the language of the instruction.
4: it does the task with a small slip.
3: partly done: incomplete, or half right.
2: mostly wrong: it answers something else, or the answer is wrong.
1: not an answer: a refusal, a different task, a copy of the input, cut off, repeated text or gibberish."""
PROMPT = "{rubric}\n\nInstruction:\n{instruction}\n\n{context}Response:\n{response}\n\n" \
         "Reply with two lines:\nScore: <1-5>\nReason: <one short sentence>"
MAX_CHARS = 2000  # of each field shown to the judge: a long record must not crowd out the rubric
_SCORE = re.compile(r"\bscore\b\W{0,3}([1-5])\b", re.I)
_LEAD = re.compile(r"^\W*([1-5])\b")
_YES_NO = re.compile(r"\b(yes|no)\b", re.I)
_REASON = re.compile(r"\breason\b\W{0,3}(.+)", re.I | re.S)


@dataclass
class Judgement:
    """The judge's reading of one record.

    Attributes:
        score: 1-5, or None when the reply held no score.
        reason: the judge's reason (or the start of an unreadable reply).
        cached: the reply came from the cache.
    """

    score: int | None
    reason: str
    cached: bool = False

    @property
    def parsed(self) -> bool:
        return self.score is not None

    @property
    def value(self) -> float:
        """(score - 1) / 4 in [0, 1]; 0.5 without a score."""
        return 0.5 if self.score is None else (self.score - 1) / 4


@dataclass
class JudgeCost:
    """What a judging pass cost: generator calls, records answered from the cache, tokens, time."""

    calls: int = 0
    cached: int = 0
    prompt_tokens: int = 0
    completion_tokens: int = 0
    seconds: float = 0.0

    def to_dict(self) -> dict:
        return {k: round(v, 2) if isinstance(v, float) else v for k, v in asdict(self).items()}


def _clip(text: str) -> str:
    return text if len(text) <= MAX_CHARS else text[:MAX_CHARS] + " [...]"


def judge_prompt(r: Record, rubric: str = RUBRIC) -> str:
    """The user message the judge gets for record `r` (the rationale, if any, before the response)."""
    context = f"Input:\n{_clip(r.context)}\n\n" if r.context else ""
    response = f"{r.rationale}\n{r.response}" if r.rationale else r.response
    return PROMPT.format(rubric=rubric, instruction=_clip(r.instruction), context=context, response=_clip(response))


def parse_judgement(reply: str) -> Judgement:
    """The score and reason in a judge's reply (see the module docstring for the order tried)."""
    m = _SCORE.search(reply) or _LEAD.search(reply)
    score = int(m.group(1)) if m else None
    if score is None and (yn := _YES_NO.search(reply)):
        score = 5 if yn.group(1).lower() == "yes" else 1
    why = _REASON.search(reply)
    reason = " ".join((why.group(1) if why else reply).split())[:200]
    if score is None:
        return Judgement(None, f"no score in {reply.strip()[:40]!r}")
    return Judgement(score, reason)


def parse_verdict(reply: str) -> tuple[float, str]:
    """(value in [0, 1], "N/5: reason") of a reply, for the alignment score's reason."""
    j = parse_judgement(reply)
    return j.value, (f"{j.score}/5: {j.reason}" if j.parsed else j.reason)


class JudgeCache:
    """Judge replies on disk, one small JSON file per (model, rubric, prompt) key.

    Args:
        root: the folder; `JudgeCache.default()` is $INSTRUCTUNE_CACHE/judge.
    """

    def __init__(self, root: str | Path):
        self.root = Path(root)

    @classmethod
    def default(cls) -> JudgeCache:
        return cls(cache_dir() / "judge")

    @staticmethod
    def key(model: str, rubric: str, prompt: str) -> str:
        return hashlib.sha256(json.dumps([model, rubric, prompt]).encode("utf-8")).hexdigest()

    def _path(self, key: str) -> Path:
        return self.root / key[:2] / f"{key}.json"

    def get(self, key: str) -> str | None:
        """The cached reply, or None."""
        try:
            return json.loads(self._path(key).read_text(encoding="utf-8"))["reply"]
        except (OSError, ValueError, KeyError):
            return None  # absent or half-written: ask again

    def put(self, key: str, reply: str) -> None:
        path = self._path(key)
        path.parent.mkdir(parents=True, exist_ok=True)
        with atomic_path(path) as tmp:
            tmp.write_text(json.dumps({"reply": reply}), encoding="utf-8")


def judge_records(generator, records: list[Record], batch_size: int = 16, cache: JudgeCache | None = None,
                  rubric: str = RUBRIC, max_new_tokens: int = 48) -> tuple[list[Judgement], JudgeCost]:
    """The judge's reading of each record, in order, and what it cost.

    Args:
        generator: any `generation.generator.Generator` (local model or an HTTP endpoint).
        records: the records to judge.
        batch_size: conversations per `generator.chat` call.
        cache: where replies are kept between runs; None asks the model every time.
        rubric: the grading instructions (part of the cache key).
        max_new_tokens: the longest reply.
    """
    params = GenParams(max_new_tokens=max_new_tokens, temperature=0.0)
    model = getattr(generator, "name", "generator")
    prompts = [judge_prompt(r, rubric) for r in records]
    keys = [JudgeCache.key(model, rubric, p) for p in prompts]
    replies: list[str | None] = [cache.get(k) if cache else None for k in keys]
    cost = JudgeCost(cached=sum(r is not None for r in replies))
    todo = [i for i, r in enumerate(replies) if r is None]
    stats = getattr(generator, "stats", None)
    before = (getattr(stats, "prompt_tokens", 0), getattr(stats, "completion_tokens", 0))
    start = time.perf_counter()
    for s in range(0, len(todo), batch_size):
        chunk = todo[s:s + batch_size]
        out = generator.chat([[{"role": "user", "content": prompts[i]}] for i in chunk], params)
        cost.calls += len(chunk)
        for i, reply in zip(chunk, out):
            replies[i] = reply
            if cache:
                cache.put(keys[i], reply)
    cost.seconds = time.perf_counter() - start
    if stats is not None:
        cost.prompt_tokens = getattr(stats, "prompt_tokens", 0) - before[0]
        cost.completion_tokens = getattr(stats, "completion_tokens", 0) - before[1]
    verdicts = []
    for i, reply in enumerate(replies):
        j = parse_judgement(reply or "")
        j.cached = i not in todo
        verdicts.append(j)
    return verdicts, cost
