"""Reference comparison: how close is a record to the nearest known-good record?

Score: the largest cosine similarity, clipped to [0, 1], between the record's embedding (the
normalised sum of its prompt and response embeddings) and those of the reference records (default: the starter set). A
reference record with exactly the same text is skipped, so scoring the reference set itself
measures its distance to the *other* references rather than a trivial 1.0. A low score means
"unlike anything known to be good" (a new topic or an odd style), not "wrong"; by default it
flags for review and never rejects. With no reference records every record scores 1.0.
"""

from __future__ import annotations

import numpy as np

from instructune.quality.score import Score, ScoringSet, record_text

CHUNK = 1024  # records compared at once: (CHUNK, R) similarities in memory


def score(data: ScoringSet) -> list[Score]:
    """Reference similarity of every record, in [0, 1]."""
    if not data.reference:
        return [Score(1.0, "no reference records") for _ in data.records]
    ref_vecs, ref_ids = data.reference_vecs, [r.id for r in data.reference]
    ref_texts = {}
    for j, r in enumerate(data.reference):
        ref_texts.setdefault(record_text(r), []).append(j)
    out: list[Score] = []
    for start in range(0, len(data), CHUNK):
        sims = data.record_vecs[start:start + CHUNK] @ ref_vecs.T  # (chunk, R)
        for k, row in enumerate(sims):
            rec = data.records[start + k]
            row[ref_texts.get(record_text(rec), [])] = -np.inf  # skip identical references
            j = int(np.argmax(row))
            if not np.isfinite(row[j]):
                out.append(Score(1.0, "only identical reference records"))
                continue
            best = float(row[j])
            out.append(Score(round(max(best, 0.0), 6), f"nearest reference {ref_ids[j]} (cosine {best:.2f})"))
    return out
