"""`synth/diversity.py` and `instructune diversity`: the verb-object parse (real spaCy and a
hand-built tree), rarefaction, nearest-seed ROUGE-L, embedding spread, and the verb end to end."""

from __future__ import annotations

import json
from types import SimpleNamespace

import numpy as np
import pytest

from instructune.cli import main as cli
from instructune.synth.diversity import (compare_kinds, diversity_report, load_parser, nearest_rouge, rarefied_kinds,
                                         spread, verb_object)


@pytest.fixture(scope="module")
def parse():
    return load_parser()


def test_verb_and_object_of_real_instructions(parse):
    texts = ["Write a short poem about the ocean.", "What is the capital of France?", "Explain how rainbows form.",
             "Given a list of numbers, sort them in ascending order.", "Please list three fruits. Then describe each one.",
             "Translate the sentence into French."]
    assert parse(texts) == [("write", "poem"), None, ("explain", None), ("sort", None), ("list", "fruit"),
                            ("translate", "sentence")]


def tok(text, pos, dep="", children=()):
    return SimpleNamespace(lemma_=text, pos_=pos, dep_=dep, children=list(children))


@pytest.mark.parametrize("near_first", [False, True])
def test_the_verb_taken_is_the_one_fewest_arcs_from_the_root(near_first):
    # root (AUX) → a noun → a deep VERB, and a VERB "near" one arc from the root: breadth first
    # meets "near" whichever child comes first, where a depth-first walk (in child order, or
    # popping a stack) meets "deep" in one of the two orders.
    near = tok("near", "VERB", children=[tok("pronoun", "PRON", "dobj"), tok("Box", "NOUN", "dobj")])
    thing = tok("thing", "NOUN", "nsubj", [tok("deep", "VERB", "relcl")])
    root = tok("is", "AUX", "ROOT", [near, thing] if near_first else [thing, near])
    doc = SimpleNamespace(sents=[SimpleNamespace(root=root)])
    assert verb_object(doc) == ("near", "box")  # the first *noun* object, lowercased


def test_rarefaction_is_exact():
    labels = ["a", "a", "b", "c"]
    # m=2 of 4: a is missed in C(2,2)=1 of C(4,2)=6 subsets, b and c each in C(3,2)=3.
    assert rarefied_kinds(labels, 2) == pytest.approx(5 / 6 + 0.5 + 0.5)
    assert rarefied_kinds(labels, 4) == pytest.approx(3.0)
    assert rarefied_kinds(labels, 1) == pytest.approx(1.0)
    with pytest.raises(ValueError):
        rarefied_kinds(labels, 5)


def test_compare_kinds_counts_both_sets_at_the_smaller_size():
    grown = [("write", "poem"), ("write", "poem"), ("write", None), None]
    seeds = [("write", "poem"), ("list", "fruit"), ("sort", None), ("give", "tip")]
    out = compare_kinds(grown, seeds)
    assert out["verbs"]["at"] == 3 and out["verbs"]["grown"] == pytest.approx(1.0)
    assert out["verbs"]["seeds"] == pytest.approx(4 * (1 - 1 / 4))  # 4 singletons, 3 drawn
    assert out["pairs"]["at"] == 2 and out["pairs"]["grown"] == pytest.approx(1.0)
    assert out["pairs"]["seeds"] == pytest.approx(2.0)


def test_nearest_rouge_against_a_pool_and_against_itself():
    pool = ["the cat sat on the mat", "the cat ran", "zzz"]
    assert nearest_rouge(["the cat sat on the mat"], pool).tolist() == [1.0]
    own = nearest_rouge(pool, pool, skip_same_index=True)
    # "the cat" in common: P = 2/6, R = 2/3, F1 = 4/9 both ways; "zzz" shares nothing.
    assert own.tolist() == pytest.approx([4 / 9, 4 / 9, 0.0])


def test_spread_of_orthogonal_and_identical_rows():
    assert spread(np.eye(3, dtype=np.float32))["mean"] == pytest.approx(1.0)
    same = spread(np.ones((4, 2), dtype=np.float32) / np.sqrt(2))
    assert same["mean"] == pytest.approx(0.0, abs=1e-6) and same["lo"] == pytest.approx(0.0, abs=1e-6)
    with pytest.raises(ValueError):
        spread(np.eye(1))


def _spread_by_pairs(vectors: np.ndarray, seed: int, n_boot: int) -> list[float]:
    """The definition, pair by pair over the (N, N) distances: mean, then the interval."""
    dist = 1.0 - vectors.astype(np.float64) @ vectors.T.astype(np.float64)

    def between(idx: np.ndarray) -> float:
        other = idx[:, None] != idx[None, :]
        return float(dist[np.ix_(idx, idx)][other].mean())

    rng = np.random.default_rng(seed)
    boots = [between(rng.integers(0, len(vectors), len(vectors))) for _ in range(n_boot)]
    return [between(np.arange(len(vectors))), *np.percentile(boots, [2.5, 97.5])]


def test_spread_equals_the_pairwise_definition_resample_by_resample():
    # The count form must match the mean over pairs of different rows, including a resample
    # that draws a row twice (those two copies are not a pair) and rows not quite unit length.
    rng = np.random.default_rng(3)
    v = rng.normal(size=(9, 5))
    v = v / np.linalg.norm(v, axis=1, keepdims=True) * rng.uniform(0.98, 1.02, (9, 1))
    got = spread(v, seed=4, n_boot=50)
    assert [got["mean"], got["lo"], got["hi"]] == pytest.approx(_spread_by_pairs(v, 4, 50), abs=1e-12)


def test_report_with_fake_parse_and_embed():
    grown, seeds = ["write a poem", "write a story", "list fruits"], ["write a poem", "sort numbers"]
    fake_parse = lambda texts: [(t.split()[0], t.split()[-1]) for t in texts]  # noqa: E731 ("write", "poem")
    fake_embed = lambda texts: np.eye(4, dtype=np.float32)[[hash(t.split()[0]) % 4 for t in texts]]  # noqa: E731
    r = diversity_report(grown, seeds, fake_parse, fake_embed)
    assert r["n"] == {"grown": 3, "seeds": 2}
    assert r["overlap"]["grown_to_nearest_seed"]["histogram"]["0.9-1.0"] == 1
    assert r["verbs"]["grown"]["top"][0] == {"verb": "write", "count": 2, "objects": [("poem", 1), ("story", 1)]}
    assert r["verbs"]["grown"]["top_verb_share"] == pytest.approx(2 / 3)
    lo, hi = r["verbs"]["grown"]["top_verb_share_ci"]
    assert lo < 2 / 3 < hi
    assert r["embedding"]["nearest_seed_cosine"]["n"] == 3
    assert "verbs" not in diversity_report(grown, seeds) and "embedding" not in diversity_report(grown, seeds)
    with pytest.raises(ValueError):
        diversity_report(grown[:1], seeds)


def write(path, instructions):
    path.write_text("".join(json.dumps({"instruction": t, "input": "", "output": "ok"}) + "\n" for t in instructions))
    return str(path)


def test_cli_end_to_end(tmp_path, capsys):
    grown = write(tmp_path / "grown.jsonl", ["Write a limerick about a cat.", "Write a haiku about rain.",
                                             "Write a poem about snow.", "Summarize the passage in one line."])
    seeds = write(tmp_path / "seeds.jsonl", ["Write a poem about the sea.", "Sort the numbers.",
                                             "Give three tips for sleeping well.", "Translate the sentence into German."])
    assert cli(["diversity", grown, "--seeds", seeds, "--output", str(tmp_path / "out")]) == 0
    said = capsys.readouterr().out
    assert "4 grown instructions against 4 seeds" in said and "grown top verbs: write 3" in said
    assert "most common verb: grown 'write' 75% [" in said
    report = json.loads((tmp_path / "out" / "diversity.json").read_text())
    assert report["verbs"]["same_size"]["verbs"] == {"at": 4, "grown": 2.0, "seeds": 4.0}
    assert set(report["embedding"]) == {"spread", "nearest_seed_cosine"}
    assert cli(["diversity", grown, "--seeds", seeds, "--no-parse", "--no-embed"]) == 0
    assert "verb" not in capsys.readouterr().out


def test_cli_bad_inputs_are_one_line_errors(tmp_path, capsys):
    grown = write(tmp_path / "grown.jsonl", ["Write a poem.", "List fruits."])
    assert cli(["diversity", grown, "--seeds", str(tmp_path / "seds.jsonl"), "--no-embed"]) == 2
    assert "--seeds" in capsys.readouterr().err
    one = write(tmp_path / "one.jsonl", ["Write a poem."])
    assert cli(["diversity", grown, "--seeds", one, "--no-embed", "--no-parse"]) == 2
    err = capsys.readouterr().err
    assert "one.jsonl" in err and "at least 2" in err and "Traceback" not in err
