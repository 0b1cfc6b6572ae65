"""Domain: is a record about finance, law or health, where a wrong answer can cost money, rights
or health, so a human should read it before it is trained on?

Two kinds of evidence, from the domains shipped in `quality/domains.yaml` (a description, a few
example prompts and keywords per domain, and "other": ordinary prompts, near misses included):

- embedding margin: the record's prompt embedding (instruction + context, the vectors the
  coherence and alignment scorers share) is compared with each group's description and
  examples; a group's similarity is the mean of its TOP_K best cosines, and a domain's margin
  is its similarity minus the best of the other groups' ("other" and the other domains): how
  much closer the prompt is to this domain than to anything else. A prompt about a river bank
  sits closer to "other" than to finance even though both say "bank"; a tenant's deposit
  question is near finance too, but nearer to law.
- keyword hits: distinct keywords of the domain found in the whole record (prompt and
  response), capped at KEYWORD_CAP. They catch short prompts whose embedding is vague
  ("What is a Roth IRA?") and give the reason a human can check.

Calibration (Platt scaling): each domain's probability is

    p_d = sigmoid(bias + w_margin · margin_d + w_keywords · min(hits_d, KEYWORD_CAP))

with one set of weights for all domains, fitted by logistic regression on the shipped examples
(each example's margins computed with itself left out of the anchors, so the fit sees the
margins an unseen prompt gets) and stored in domains.yaml (`bench/domain_scorer.py --fit`
refits them). The record's domain is the most probable one if its p_d ≥ `min_confidence`,
else "none". The default, MIN_CONFIDENCE = 0.25, is the cost rule for a calibrated p: tag
when p ≥ 1 / (1 + k) if a missed high-stakes record costs k needless reviews; k = 3 here, since a
human glance is cheap next to training on wrong medical, legal or money advice.

Score: the confidence in the label, in [0, 1]: p_d for a domain, 1 − max p_d for "none". It is
not a quality (like complexity it decides nothing through thresholds); `decide` reads the label
from `Score.extra["domain"]` and sends the domains in its `review_domains` to review. Codes:
(domain,) for a domain, () for none. Extra: {"domain", "confidence", "p": {domain: p_d},
"keywords": {domain: [matched words]}}.
"""

from __future__ import annotations

import functools
import re
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import yaml

from instructune.quality.score import Score, ScoringSet, prompt_text, response_text

DOMAINS_FILE = Path(__file__).resolve().parents[1] / "domains.yaml"
OTHER = "other"  # the group of ordinary prompts in domains.yaml
NONE = "none"  # the label of a record in no high-stakes domain
TOP_K = 2  # anchors averaged per domain: one lucky match should not decide
KEYWORD_CAP = 3
MIN_CONFIDENCE = 0.25  # see the module docstring: a miss costs about 3 needless reviews


@dataclass(frozen=True)
class Domain:
    """One group of domains.yaml.

    Attributes:
        name: "finance", "law", "health" or "other".
        anchors: the description, then the examples (texts to embed).
        keywords: the keywords as written in the file.
        pattern: one case-insensitive regex matching any keyword on word boundaries.
    """

    name: str
    anchors: tuple[str, ...]
    keywords: tuple[str, ...]
    pattern: re.Pattern | None


@dataclass(frozen=True)
class Calibration:
    """Logistic weights: p = sigmoid(bias + margin · margin_d + keywords · hits_d)."""

    bias: float
    margin: float
    keywords: float


def keyword_pattern(keywords: list[str]) -> re.Pattern | None:
    """A regex matching any of `keywords` (a trailing "*" matches any word ending); None if empty.

    Lookarounds instead of \\b so that keywords ending in punctuation ("401(k)") still match.
    """
    if not keywords:
        return None
    alts = []
    for k in sorted(keywords, key=len, reverse=True):  # longest first: "tax return" before "tax"
        stem = r"\s+".join(re.escape(part) for part in k.rstrip("*").split())
        alts.append(stem + (r"\w*" if k.endswith("*") else ""))
    return re.compile(r"(?<!\w)(?:" + "|".join(alts) + r")(?!\w)", re.I)


def keyword_hits(text: str, pattern: re.Pattern | None) -> list[str]:
    """The distinct keywords (lower-cased, as found) of `pattern` in `text`, in order."""
    if pattern is None:
        return []
    return list(dict.fromkeys(" ".join(m.group(0).lower().split()) for m in pattern.finditer(text)))


@functools.lru_cache(maxsize=4)
def load_domains(path: str | Path = DOMAINS_FILE) -> tuple[tuple[Domain, ...], Calibration]:
    """The domain groups (high-stakes ones first, "other" last) and the calibration of `path`.

    Raises:
        ValueError: the file lacks the "other" group or the calibration block.
    """
    raw = yaml.safe_load(Path(path).read_text(encoding="utf-8"))
    groups = []
    for name, d in raw["domains"].items():
        kws = [str(k) for k in d.get("keywords") or []]
        groups.append(Domain(name, (d["description"], *d.get("examples", [])), tuple(kws), keyword_pattern(kws)))
    groups.sort(key=lambda g: g.name == OTHER)  # stable: file order, "other" moved last
    if not groups or groups[-1].name != OTHER or "calibration" not in raw:
        raise ValueError(f"{path}: needs a domains.{OTHER} group and a calibration block")
    return tuple(groups), Calibration(**{k: float(v) for k, v in raw["calibration"].items()})


def domain_names(path: str | Path = DOMAINS_FILE) -> list[str]:
    """The high-stakes domains a record can be tagged with (every group but "other")."""
    return [g.name for g in load_domains(path)[0][:-1]]


def group_similarity(sims: np.ndarray, group_of: np.ndarray, n_groups: int) -> np.ndarray:
    """(N, G) mean of the TOP_K largest cosines per group, from (N, A) cosines to the anchors.

    Args:
        sims: cosine of each record with each anchor; -inf entries (an anchor left out) are skipped.
        group_of: (A,) group index of each anchor.
        n_groups: G.
    """
    out = np.zeros((sims.shape[0], n_groups), dtype=np.float64)
    for g in range(n_groups):
        top = -np.sort(-sims[:, group_of == g], axis=1)[:, :TOP_K]  # (N, k), largest first
        finite = np.isfinite(top)
        out[:, g] = np.where(finite, top, 0.0).sum(axis=1) / np.maximum(finite.sum(axis=1), 1)
    return out


def margins(group_sims: np.ndarray) -> np.ndarray:
    """(N, G-1): each high-stakes domain's similarity minus the largest of the other groups'
    (the other domains and "other", the last column)."""
    n_domains = group_sims.shape[1] - 1
    return np.stack([group_sims[:, d] - np.delete(group_sims, d, axis=1).max(axis=1) for d in range(n_domains)],
                    axis=1).reshape(group_sims.shape[0], n_domains)


def probabilities(margin: np.ndarray, hits: np.ndarray, cal: Calibration) -> np.ndarray:
    """Calibrated p_d (same shape as `margin`); `hits` are the uncapped keyword counts."""
    z = cal.bias + cal.margin * margin + cal.keywords * np.minimum(hits, KEYWORD_CAP)
    return 1.0 / (1.0 + np.exp(-z))


def anchor_vectors(embedder, groups: tuple[Domain, ...]) -> tuple[np.ndarray, np.ndarray]:
    """((A, D) unit embeddings of every anchor, (A,) group index of each)."""
    texts = [t for g in groups for t in g.anchors]
    group_of = np.array([i for i, g in enumerate(groups) for _ in g.anchors])
    return embedder.encode(texts), group_of


def _reason(label: str, conf: float, margin: float, words: list[str]) -> str:
    kw = f"keywords: {', '.join(words)}" if words else "no keywords"
    if label == NONE:
        return f"no high-stakes domain (confidence {conf:.2f}; nearest margin {margin:+.2f}, {kw})"
    return f"domain {label} (confidence {conf:.2f}): embedding margin {margin:+.2f}, {kw}"


def score(data: ScoringSet, min_confidence: float = MIN_CONFIDENCE) -> list[Score]:
    """The domain of every record with the confidence in it, in [0, 1] (see the module docstring).

    Args:
        data: the records; needs an embedder.
        min_confidence: the least p_d that tags a record with domain d, in (0, 1); lower it to
            send more records to review (recall up, precision down). A tagged record's
            confidence can thus be below 0.5: it is the probability, not a vote.
    Raises:
        ValueError: `min_confidence` outside (0, 1).
    """
    if not 0.0 < min_confidence < 1.0:
        raise ValueError(f"domain min_confidence: got {min_confidence}; expected a value in (0, 1)")
    if not len(data):
        return []
    prompts = data.prompt_vecs  # first: without an embedder this raises the set's clear error
    groups, cal = load_domains()
    anchors, group_of = anchor_vectors(data.embedder, groups)
    margin = margins(group_similarity(prompts @ anchors.T, group_of, len(groups)))  # (N, G-1)
    found = [[keyword_hits(f"{prompt_text(r)}\n{response_text(r)}", g.pattern) for g in groups[:-1]]
             for r in data.records]
    hits = np.array([[len(w) for w in row] for row in found], dtype=np.float64).reshape(margin.shape)
    p = probabilities(margin, hits, cal)
    out = []
    for i in range(len(data)):
        best = int(np.argmax(p[i]))
        tagged = p[i, best] >= min_confidence
        label = groups[best].name if tagged else NONE
        conf = float(p[i, best]) if tagged else 1.0 - float(p[i, best])
        out.append(Score(round(conf, 6), _reason(label, conf, float(margin[i, best]), found[i][best]),
                         (label,) if tagged else (),
                         {"domain": label, "confidence": round(conf, 6),
                          "p": {g.name: round(float(v), 6) for g, v in zip(groups, p[i])},
                          "keywords": {g.name: w for g, w in zip(groups, found[i]) if w}}))
    return out
