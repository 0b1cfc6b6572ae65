"""The one ROUGE-L: Unicode tokens, scores equal to rouge-score on English, the index."""

from __future__ import annotations

import random

import pytest
from rouge_score import rouge_scorer

from instructune.data.rouge import RougeIndex, rouge_l, rouge_l_score, rouge_l_tokens, tokens
from instructune.evaluate.metrics import rouge_l as metrics_rouge_l

SCORER = rouge_scorer.RougeScorer(["rougeL"], use_stemmer=False)
ENGLISH = [  # (prediction, reference)
    ("The cat is on the mat.", "the cat sat on the mat"),
    ("Paris is the capital of France; it's on the Seine.", "The capital of France is Paris."),
    ("Use snake_case for variable names, e.g. max_len = 512!", "Variable names use snake case: max len 512."),
    ("A 3-step plan: (1) boil water, (2) add pasta, (3) wait 10 min.", "Boil the water, add the pasta and wait ten minutes."),
    ("", "anything at all"),
    ("!!! ???", "no tokens on the left"),
    ("Same words", "same words!"),
]


def test_english_scores_equal_rouge_score():
    for pred, ref in ENGLISH:
        want = SCORER.score(ref, pred)["rougeL"]
        got = rouge_l_score(tokens(pred), tokens(ref))
        assert got == pytest.approx((want.precision, want.recall, want.fmeasure), abs=1e-12)
        assert metrics_rouge_l(pred, ref) == pytest.approx(want.fmeasure, abs=1e-12)


def test_english_tokens_equal_rouge_score_tokens():
    tok = SCORER._tokenizer
    for pred, ref in ENGLISH:
        assert tokens(pred) == tok.tokenize(pred) and tokens(ref) == tok.tokenize(ref)


def test_chinese_is_scored_per_character():
    # 这是一个测试 (6 characters) vs 这是另一个测试 (7): LCS 这是一个测试 = 6,
    # P = 6/6, R = 6/7, F1 = 2PR / (P + R) = 12/13. rouge-score gives 0.0 (no [a-z0-9]).
    assert tokens("这是一个测试") == ["这", "是", "一", "个", "测", "试"]
    assert rouge_l("这是一个测试", "这是另一个测试") == pytest.approx(12 / 13)
    assert metrics_rouge_l("这是一个测试", "这是另一个测试") == pytest.approx(12 / 13)


def test_accented_words_are_one_token():
    assert tokens("Größe") == ["grösse"]  # case-folded: ß -> ss; rouge-score makes "gr", "e"
    assert tokens("Café NAÏVE façade") == ["café", "naïve", "façade"]
    assert tokens("cafe\u0301") == ["café"]  # decomposed é is composed (NFKC)


@pytest.mark.parametrize("text, want", [
    # Japanese: kanji, hiragana, katakana (with the long-vowel mark) one per character.
    ("東京に行きます。コーヒー", ["東", "京", "に", "行", "き", "ま", "す", "コ", "ー", "ヒ", "ー"]),
    # Korean: one token per Hangul syllable.
    ("안녕하세요 세계", ["안", "녕", "하", "세", "요", "세", "계"]),
    # Arabic: words with their harakat (combining marks) kept.
    ("مرحبا بالعالم، كَتَبَ", ["مرحبا", "بالعالم", "كَتَبَ"]),
    # Cyrillic: case-folded words.
    ("Привет, мир! Ёлка", ["привет", "мир", "ёлка"]),
    # Devanagari: vowel signs and virama are combining marks, inside the word.
    ("हिन्दी भाषा, नमस्ते।", ["हिन्दी", "भाषा", "नमस्ते"]),
    # Thai: no spaces between words; per character, a vowel/tone mark stays with its consonant.
    ("ภาษาไทยนั้น", ["ภ", "า", "ษ", "า", "ไ", "ท", "ย", "นั้", "น"]),
])
def test_scripts(text, want):
    assert tokens(text) == want


def test_other_scripts_score_by_their_words():
    # Two of three Cyrillic words in order: P = R = 2/3.
    assert rouge_l("кошка сидит дома", "кошка спит дома") == pytest.approx(2 / 3)
    # Devanagari: "मैं घर जा रहा हूँ" vs "मैं बाज़ार जा रहा हूँ": LCS 4 of 5 and 5 words.
    assert rouge_l("मैं घर जा रहा हूँ", "मैं बाज़ार जा रहा हूँ") == pytest.approx(4 / 5)
    # Japanese: こんにちは世界 (7) vs こんにちは (5): LCS 5, P = 5/7, R = 1 -> 10/12.
    assert rouge_l("こんにちは世界", "こんにちは") == pytest.approx(2 * (5 / 7) / (5 / 7 + 1))


def test_index_equals_brute_force():
    rng = random.Random(0)
    words = "a b c d e f 这 是 한 국 кот".split()
    members = [rng.choices(words, k=rng.randint(1, 12)) for _ in range(150)]
    index = RougeIndex()
    for m in members:
        index.add(m)
    found = 0
    for _ in range(150):
        q = rng.choices(words, k=rng.randint(1, 12))
        scores = [rouge_l_tokens(q, m) for m in members]
        for threshold, strict in ((0.6, False), (0.6, True), (0.9, False)):
            ok = [s for s in scores if (s > threshold if strict else s >= threshold)]
            hit = index.best(q, threshold, strict)
            if not ok:
                assert hit is None
                continue
            found += 1
            assert hit[1] == pytest.approx(max(ok)) and hit[0] == scores.index(hit[1])  # earliest best
    assert found > 50  # not vacuous


def test_index_strict_threshold_and_ties():
    index = RougeIndex()
    index.add(["x", "y", "z", "w"])
    index.add(["a", "b", "c", "d"])
    index.add(["a", "b", "c", "d"])
    assert index.best(["a", "b", "x", "y"], 0.5) == (0, 0.5)  # earliest of three at 0.5
    assert index.best(["a", "b", "x", "y"], 0.5, strict=True) is None
    assert index.best(["a", "b", "c", "y"], 0.5) == (1, 0.75)
    assert index.best([], 0.1) is None and len(index) == 3
    # A tie found late: member 1 has the higher bound (overlap 4) and is scored first, but
    # member 0 (overlap 2) scores the same 0.5 and is earlier, so it wins.
    late = RougeIndex()
    late.add(["a", "b", "p", "q"])
    late.add(["y", "x", "a", "b"])
    assert late.best(["a", "b", "x", "y"], 0.5) == (0, 0.5)
