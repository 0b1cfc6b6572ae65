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
    """What the response answers: the instruction, then the context when there is one."""
    return f"{r.instruction}\n\n{r.context}" if r.context else r.instruction


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
    """

    def __init__(self, records: list[Record], embedder=None, reference: list[Record] | None = None,
                 generator=None):
        self.records, self.embedder, self.generator = records, embedder, generator
        self.reference = reference or []

    def __len__(self) -> int:
        return len(self.records)

    def _encode(self, texts: list[str]) -> np.ndarray:
        if self.embedder is None:
            raise ValueError("this scorer needs a sentence embedder (ScoringSet(embedder=...))")
        return self.embedder.encode(texts)

    @functools.cached_property
    def prompt_vecs(self) -> np.ndarray:
        """(N, D) unit embeddings of `prompt_text` of each record."""
        return self._encode([prompt_text(r) for r in self.records])

    @functools.cached_property
    def response_vecs(self) -> np.ndarray:
        """(N, D) unit embeddings of `response_text` of each record."""
        return self._encode([response_text(r) for r in self.records])

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
