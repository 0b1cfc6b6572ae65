"""Complexity balancing moves the lowest-quality surplus of over-represented bins to flagged."""

from __future__ import annotations

from instructune.quality.balance import balance, bin_counts

#          0       1       2       3       4       5         6         7       8       9
BINS = ["easy", "easy", "easy", "easy", "easy", "easy", "medium", "medium", "easy", "hard"]
QUALITY = [0.9, 0.5, 0.7, 0.6, 0.8, 0.4, 0.9, 0.3, 0.95, 0.5]


def test_easy_surplus_moves_lowest_quality_first():
    accepted = list(range(10))  # 7 easy, 2 medium, 1 hard
    moved = balance(BINS, QUALITY, accepted, {"easy": 0.5})
    # easy may hold at most 0.5 * 3 / 0.5 = 3 of the others' 3 → 4 move: qualities 0.4, 0.5, 0.6, 0.7
    assert sorted(moved) == [1, 2, 3, 5]
    assert moved[5] == ("balance: bin 'easy' held 70% of the accepted records, over its max share 50%; "
                        "deferred its lowest-quality records (deferred.jsonl)")
    kept = [i for i in accepted if i not in moved]
    assert bin_counts(BINS, kept, ["easy", "medium", "hard"]) == {"easy": 3, "medium": 2, "hard": 1}


def test_max_move_caps_the_moves():
    moved = balance(BINS, QUALITY, list(range(10)), {"easy": 0.5}, max_move=0.2)
    assert sorted(moved) == [1, 5]  # floor(0.2 * 10) = 2


def test_bins_are_revisited():
    # medium (3 of 8) is within its cap until easy is cut from 4 to 2; then it is over (3 of 6)
    # and a second pass cuts it too.
    bins = ["easy"] * 4 + ["medium"] * 3 + ["hard"]
    quality = [0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8]
    moved = balance(bins, quality, list(range(8)), {"medium": 0.4, "easy": 0.4}, max_move=1.0)
    kept = [i for i in range(8) if i not in moved]
    assert bin_counts(bins, kept, ["easy", "medium", "hard"]) == {"easy": 2, "medium": 2, "hard": 1}
    assert kept == [2, 3, 5, 6, 7]
    assert moved[4].startswith("balance: bin 'medium' held 50% of the accepted records")


def test_nothing_moves_within_caps():
    assert balance(BINS, QUALITY, list(range(10)), {"easy": 1.0, "medium": 0.5}) == {}
    assert balance(BINS, QUALITY, [6, 9], {"easy": 0.5}) == {}


def test_ties_move_the_later_record():
    moved = balance(["easy", "easy", "hard"], [0.5, 0.5, 0.5], [0, 1, 2], {"easy": 0.5})
    assert list(moved) == [1]
