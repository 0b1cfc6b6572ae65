"""Exact and near-duplicate removal over canonical records.

    kept, removed = dedup(records, method="minhash", threshold=0.8)
    removed[0].to_dict()  # {"id": ..., "duplicate_of": ..., "method": "minhash", "similarity": 0.86}

Records are visited in order and the first occurrence is kept, so the result depends only on
the records and the settings. Each record is checked in two steps:

1. exact: the SHA-256 of its normalised text (NFKC, case-folded, punctuation removed,
   whitespace collapsed) was seen before: method "exact", similarity 1.0;
2. near: it is similar to a kept record at or above `threshold`:
   - "minhash": estimated Jaccard similarity of character 5-gram sets (MinHash signatures with
     128 permutations, candidates found by LSH banding; `datasketch`). Near-linear, for large
     sets; LSH can miss a pair near the threshold, never reports one that is not above it.
   - "rouge": ROUGE-L F1 over `data.rouge` tokens (Unicode words; one token per character in
     Chinese, Japanese, Korean, Thai, ...), the same score evaluation and the Self-Instruct
     filter use. Exact: kept records sharing enough tokens to reach the threshold are scored
     with a bit-parallel LCS. For up to ~10k records (Self-Instruct filters new instructions
     at ROUGE-L 0.7 this way). A record with no tokens is only ever an exact duplicate.

The text compared is the chosen fields joined (default instruction, context, response), after
earlier turns of a conversation, so conversations that only end alike are not duplicates.
A removal names the kept record it duplicates: the most similar one (the earliest on a tie).
"""

from __future__ import annotations

import hashlib
import unicodedata
from dataclasses import asdict, dataclass

from instructune.data.record import Record
from instructune.data.rouge import RougeIndex, tokens

FIELDS = ("instruction", "context", "response")
DEFAULT_THRESHOLD = {"minhash": 0.8, "rouge": 0.7}
NUM_PERM = 128
NGRAM = 5
SEED = 1  # MinHash permutations; fixed so that runs agree


@dataclass
class Removal:
    """One removed record.

    Attributes:
        id: the removed record's id.
        duplicate_of: id of the kept record it duplicates.
        method: "exact", "minhash" or "rouge".
        similarity: 1.0 for exact; estimated Jaccard (minhash) or ROUGE-L F1 (rouge).
    """

    id: str
    duplicate_of: str
    method: str
    similarity: float

    def to_dict(self) -> dict:
        return asdict(self)


def normalise(text: str) -> str:
    """NFKC, case-folded, punctuation and symbols turned into spaces, whitespace collapsed."""
    text = unicodedata.normalize("NFKC", text).casefold()
    text = "".join(" " if unicodedata.category(c)[0] in "PS" else c for c in text)
    return " ".join(text.split())


def record_text(record: Record, fields: tuple[str, ...] = FIELDS) -> str:
    """The normalised text compared for `record`: earlier turns, then `fields`, one per line."""
    parts = [t.content for t in record.history] + [getattr(record, f) or "" for f in fields]
    return "\n".join(normalise(p) for p in parts)


def exact_key(text: str) -> str:
    """SHA-256 of a normalised text."""
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


class MinHashIndex:
    """Kept records' MinHash signatures in an LSH index.

    Args:
        threshold: Jaccard similarity at or above which a record is a near-duplicate.
        num_perm: permutations per signature.
        ngram: character n-gram size of the shingles.
    """

    def __init__(self, threshold: float, num_perm: int = NUM_PERM, ngram: int = NGRAM):
        from datasketch import MinHash, MinHashLSH

        self.threshold, self.ngram, self.num_perm = threshold, ngram, num_perm
        self._proto = MinHash(num_perm=num_perm, seed=SEED)  # its permutations are shared
        self._lsh = MinHashLSH(threshold=threshold, num_perm=num_perm)
        self._kept: list[tuple[str, object]] = []

    def sketch(self, text: str):
        """The MinHash of `text`'s character n-grams (the whole text when it is shorter)."""
        from datasketch import MinHash

        n = self.ngram
        shingles = {text[i:i + n] for i in range(max(1, len(text) - n + 1))}
        m = MinHash(num_perm=self.num_perm, seed=SEED, permutations=self._proto.permutations,
                    scheme=self._proto.scheme)
        m.update_batch([s.encode("utf-8") for s in sorted(shingles)])
        return m

    def find(self, m) -> tuple[int, float] | None:
        """(position of the most similar kept record, similarity) at or above the threshold."""
        best = None
        for k in sorted(self._lsh.query(m)):
            sim = float(m.jaccard(self._kept[k][1]))
            if sim >= self.threshold and (best is None or sim > best[1]):
                best = (k, sim)
        return best

    def add(self, rid: str, m) -> None:
        self._lsh.insert(len(self._kept), m)
        self._kept.append((rid, m))

    def kept_id(self, k: int) -> str:
        return self._kept[k][0]


class RougeDedupIndex:
    """Kept records' ROUGE tokens, compared by ROUGE-L F1 against each new record
    (`data.rouge.RougeIndex`: only kept records that share enough tokens are scored).

    Args:
        threshold: ROUGE-L F1 at or above which a record is a near-duplicate.
    """

    def __init__(self, threshold: float):
        self.threshold = threshold
        self._index = RougeIndex()
        self._ids: list[str] = []

    def sketch(self, text: str) -> list[str]:
        return tokens(text)

    def find(self, toks: list[str]) -> tuple[int, float] | None:
        """(position of the most similar kept record, ROUGE-L F1) at or above the threshold."""
        return self._index.best(toks, self.threshold)

    def add(self, rid: str, toks: list[str]) -> None:
        self._index.add(toks)
        self._ids.append(rid)

    def kept_id(self, k: int) -> str:
        return self._ids[k]


# An index has sketch(text), find(sketch) -> (kept position, similarity) | None,
# add(id, sketch) and kept_id(position).
INDEXES = {"minhash": MinHashIndex, "rouge": RougeDedupIndex}


def dedup(records: list[Record], method: str = "minhash", threshold: float | None = None,
          fields: tuple[str, ...] = FIELDS) -> tuple[list[Record], list[Removal]]:
    """Remove exact and near duplicates, keeping first occurrences (see module docstring).

    Args:
        records: records in order.
        method: "minhash" or "rouge".
        threshold: similarity in (0, 1] at or above which a record is a near-duplicate;
            None for `DEFAULT_THRESHOLD[method]`.
        fields: record fields compared (of instruction, context, response, rationale).
    Returns:
        (kept records in their order, one `Removal` per removed record in input order)
    Raises:
        ValueError: unknown method or field, or a threshold outside (0, 1].
    """
    if method not in INDEXES:
        raise ValueError(f"unknown dedup method {method!r}; allowed: {', '.join(INDEXES)}")
    bad = [f for f in fields if f not in ("instruction", "context", "response", "rationale")]
    if bad or not fields:
        raise ValueError(f"unknown fields {bad}; allowed: instruction, context, response, rationale")
    threshold = DEFAULT_THRESHOLD[method] if threshold is None else threshold
    if not 0 < threshold <= 1:
        raise ValueError(f"threshold must be in (0, 1], got {threshold}")
    index = INDEXES[method](threshold)
    seen: dict[str, str] = {}
    kept, removed = [], []
    for rec in records:
        text = record_text(rec, fields)
        key = exact_key(text)
        if key in seen:
            removed.append(Removal(rec.id, seen[key], "exact", 1.0))
            continue
        sketch = index.sketch(text)
        hit = index.find(sketch)
        if hit is not None:
            removed.append(Removal(rec.id, index.kept_id(hit[0]), method, round(hit[1], 4)))
            continue
        seen[key] = rec.id
        index.add(rec.id, sketch)
        kept.append(rec)
    return kept, removed
