"""What every scorer takes and returns: a `ScoringSet` in, one `Score` per record out.

    data = ScoringSet(records, embedder=load_embedder(), reference=starter_records)
    scores = SCORERS["coherence"](data)      # list[Score], in record order

The set computes each embedding matrix once, on first use, so scorers that share one (the
prompt embeddings serve coherence and alignment) do not pay twice.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from instructune.data.record import Record


@dataclass
class Score:
    """One scorer's verdict on one record.

    Attributes:
        value: the score; its range is documented by each scorer (all in [0, 1], higher is better,
            except complexity where higher is more complex).
        reason: a human-readable explanation ("cosine 0.42 between prompt and response").
        codes: short tags of what was found ("word_limit", "json"), counted in the report.
        extra: anything else worth keeping (e.g. {"bin": "easy"} for complexity).
    """

    value: float
    reason: str
    codes: tuple[str, ...] = ()
    extra: dict[str, Any] = field(default_factory=dict)


def prompt_text(r: Record) -> str:
    """What the response answers: the instruction, then the context when there is one. In a
    conversation the previous user turn comes first: a follow-up ("Can you do it the other way
    around?") means little without the request it follows."""
    text = f"{r.instruction}\n\n{r.context}" if r.context else r.instruction
    before = next((t.content for t in reversed(r.history) if t.role == "user"), "")
    return f"{before}\n\n{text}" if before else text


def _flat(text: str) -> str:
    return " ".join(text.split()).strip(" .!?;:,").lower()


def copied_from_context(r: Record) -> bool:
    """Whether the response is a piece of the record's own context, word for word (case and
    spacing aside), and shorter than it: "23" out of "23, 12, 17, 23, 23". Such a response is
    as close to the context as text can be, so its closeness proves nothing about the task."""
    resp, ctx = _flat(r.response), _flat(r.context)
    return bool(resp) and len(resp) < len(ctx) and resp in ctx


def response_text(r: Record) -> str:
    """What the model is trained to say: the rationale (if any) then the response."""
    return f"{r.rationale}\n{r.response}" if r.rationale else r.response


def record_text(r: Record) -> str:
    """The whole example as one text (for comparing records with records)."""
    return f"{prompt_text(r)}\n\n{response_text(r)}"


class ScoringSet:
    """The records under scoring and what the scorers share.

    Args:
        records: the records, in order; scores come back in the same order.
        embedder: an object with `encode(list[str]) -> (N, D) unit-length array`
            (`instructune.embed.Embedder`); needed by the embedding scorers only.
        reference: known-good records for the reference scorer ([] when there are none).
        generator: a `generation.generator.Generator` for the optional LLM judge, or None.
        judge_cache: a `quality.judge.JudgeCache` for the judge's replies, or None (no cache).
        lm: a `quality.response_lm.ResponseLM` for the LM scorers (ending, plausibility), or None.
    """

    def __init__(self, records: list[Record], embedder=None, reference: list[Record] | None = None,
                 generator=None, judge_cache=None, lm=None):
        self.records, self.embedder, self.generator = records, embedder, generator
        self.judge_cache, self.lm = judge_cache, lm
        self._readings: dict[int, object] = {}  # row → Reading, filled by `read`
        self.reference = reference or []

    def __len__(self) -> int:
        return len(self.records)

    def _encode(self, texts: list[str]) -> np.ndarray:
        if self.embedder is None:
            raise ValueError("this scorer needs a sentence embedder (ScoringSet(embedder=...))")
        return self.embedder.encode(texts)

    def read(self, rows: list[int]) -> dict[int, object]:
        """{row: its `quality.response_lm.Reading`} for the records `rows` (`prompt_text` as the
        user turn, `response_text` as the answer). Each record is read once per set, whichever
        LM scorer asks first; each scorer asks only for the records it has a question about.

        Raises:
            ValueError: the set has no LM.
        """
        if self.lm is None:
            raise ValueError("this scorer needs a language model (ScoringSet(lm=...))")
        todo = [i for i in dict.fromkeys(rows) if i not in self._readings]
        if todo:
            pairs = [(prompt_text(self.records[i]), response_text(self.records[i])) for i in todo]
            self._readings.update(zip(todo, self.lm.read(pairs)))
        return {i: self._readings[i] for i in rows}

    @functools.cached_property
    def prompt_vecs(self) -> np.ndarray:
        """(N, D) unit embeddings of `prompt_text` of each record."""
        return self._encode([prompt_text(r) for r in self.records])

    @functools.cached_property
    def response_vecs(self) -> np.ndarray:
        """(N, D) unit embeddings of `response_text` of each record."""
        return self._encode([response_text(r) for r in self.records])

    @functools.cached_property
    def copied(self) -> np.ndarray:
        """(N,) bool: `copied_from_context` of each record."""
        return np.array([copied_from_context(r) for r in self.records], dtype=bool)

    @functools.cached_property
    def instruction_vecs(self) -> np.ndarray:
        """(N, D) unit embeddings of the instruction alone, for the records whose response is
        `copied` from their context (zero rows elsewhere: nothing else needs them)."""
        rows = np.flatnonzero(self.copied)
        out = np.zeros_like(self.prompt_vecs)
        if len(rows):
            out[rows] = self._encode([self.records[i].instruction for i in rows])
        return out

    @functools.cached_property
    def context_vecs(self) -> np.ndarray:
        """(N, D) unit embeddings of each record's context; zero rows where it has none."""
        has = [i for i, r in enumerate(self.records) if r.context.strip()]
        out = np.zeros_like(self.prompt_vecs)
        if has:
            out[has] = self._encode([self.records[i].context for i in has])
        return out

    @functools.cached_property
    def record_vecs(self) -> np.ndarray:
        """(N, D) unit vectors for whole records: the normalised sum of the prompt and response
        embeddings (reuses both instead of embedding the concatenated text once more)."""
        v = self.prompt_vecs + self.response_vecs
        return v / np.maximum(np.linalg.norm(v, axis=1, keepdims=True), 1e-12)

    @functools.cached_property
    def reference_vecs(self) -> np.ndarray:
        """(R, D) `record_vecs` of the reference records."""
        return ScoringSet(self.reference, embedder=self.embedder).record_vecs
