"""`instructune stats` end to end on a 10-record fixture, with a whitespace tokenizer so that
every token count can be checked by hand (tokens = words)."""

from __future__ import annotations

import json

import pytest

from instructune.cli import main as cli
from instructune.data.stats import EDGES, bin_labels, histogram

POEM = ("Rain taps softly on the roof tonight, a patient drummer keeping time while the city sleeps; "
        "streets shine like rivers of glass, gutters sing low songs, and every window holds a small warm light "
        "against the grey, until morning comes.")  # 40 words
ALPACA = [  # instruction / input / output words: 4/0/1, 4/3/1, 7/11/8, 3/1/1
    {"instruction": "Name a primary color.", "input": "", "output": "Red."},
    {"instruction": "Add the two numbers.", "input": "2 and 3", "output": "5"},
    {"instruction": "Summarize the text below in one sentence.",
     "input": "Cats sleep for most of the day and hunt at night.", "output": "Cats sleep by day and hunt by night."},
    {"instruction": "Give an antonym.", "input": "hot", "output": "cold"},
]
RECORDS = [  # instruction / context / response words: 5/0/1, 5/0/1, 4/0/13, 1/0/3, 4/11/1, 21/0/40
    {"id": "m1", "task": "math", "instruction": "What is 12 times 3?", "rationale": "12 times 3 is 36.",
     "response": "36"},
    {"id": "m2", "task": "math", "instruction": "What is 7 plus 8?", "rationale": "7 plus 8 is 15.",
     "response": "15"},
    {"id": "c1", "task": "chat", "instruction": "Tell me a joke.",
     "history": [{"role": "user", "content": "Hi there"}, {"role": "assistant", "content": "Hello! How can I help?"}],
     "response": "Why did the chicken cross the road? To get to the other side."},
    {"id": "c2", "task": "chat", "instruction": "Thanks.",
     "history": [{"role": "user", "content": "Tell me a joke."}, {"role": "assistant", "content": "Knock knock."}],
     "response": "You are welcome."},
    {"id": "q1", "task": "closed_qa", "instruction": "Who wrote the letter?",
     "context": "The letter was written by Ada in 1843 to her friend.", "response": "Ada."},
    {"id": "w1", "task": "creative_writing", "response": POEM,
     "instruction": "Write a short poem about rain at night in the city, "
                    "with a calm mood and a hopeful last line please."},
]


@pytest.fixture()
def word_tokenizer(tmp_path):
    """A tokenizer whose tokens are whitespace-separated words (every word is [UNK])."""
    from tokenizers import Tokenizer, models, pre_tokenizers
    from transformers import PreTrainedTokenizerFast

    tok = Tokenizer(models.WordLevel({"[UNK]": 0}, unk_token="[UNK]"))
    tok.pre_tokenizer = pre_tokenizers.WhitespaceSplit()
    PreTrainedTokenizerFast(tokenizer_object=tok, unk_token="[UNK]").save_pretrained(tmp_path / "words")
    return str(tmp_path / "words")


def write(path, rows):
    path.write_text("".join(json.dumps(r) + "\n" for r in rows))
    return str(path)


def test_histogram_bins():
    assert bin_labels()[:3] == ["0-7", "8-15", "16-31"] and bin_labels()[-1] == "2048+"
    assert len(bin_labels()) == len(EDGES)
    assert histogram([0, 7, 8, 15, 16, 2047, 2048, 10**6]) == [2, 2, 1, 0, 0, 0, 0, 0, 1, 2]


def test_stats_end_to_end(tmp_path, word_tokenizer, capsys):
    a = write(tmp_path / "alpaca.jsonl", ALPACA)
    r = write(tmp_path / "records.jsonl", RECORDS)
    out = tmp_path / "stats"
    assert cli(["stats", a, r, "--output", str(out), "--tokenizer", word_tokenizer]) == 0
    printed = capsys.readouterr().out

    st = json.loads((out / "stats.json").read_text())
    assert st["records"] == 10
    assert st["tasks"] == {"(none)": 4, "chat": 2, "closed_qa": 1, "creative_writing": 1, "math": 2}
    assert st["sources"] == {f"{a} (alpaca)": 4, f"{r} (records)": 6}
    assert st["with_context"] == {"count": 4, "share": 0.4}
    assert st["with_rationale"] == {"count": 2, "share": 0.2}
    assert st["multi_turn"] == {"count": 2, "share": 0.2}
    zeros = [0] * 6
    assert st["lengths"]["instruction"] == {"count": 10, "min": 1, "mean": 5.8, "median": 4.0, "max": 21,
                                            "histogram": [9, 0, 1, 0] + zeros}
    assert st["lengths"]["context"] == {"count": 4, "min": 1, "mean": 6.5, "median": 7.0, "max": 11,
                                        "histogram": [2, 2, 0, 0] + zeros}
    assert st["lengths"]["response"] == {"count": 10, "min": 1, "mean": 7.0, "median": 1.0, "max": 40,
                                         "histogram": [7, 2, 0, 1] + zeros}

    # The terminal text shows the same numbers, up to the last bin any field fills (32-63).
    lines = printed.splitlines()
    assert "records: 10" in lines and "with rationale: 2 (20.0%)" in lines and "multi turn: 2 (20.0%)" in lines
    assert "  chat: 2" in lines and f"  {a} (alpaca): 4" in lines
    resp = lines.index("response: 10 records, min 1, mean 7.0, median 1, max 40")
    assert lines[resp + 1:resp + 5] == [
        "    0-7 | " + "█" * 40 + " 7",
        "   8-15 | " + "█" * 11 + " 2",
        "  16-31 |  0",
        "  32-63 | " + "█" * 6 + " 1",
    ]
    assert "64-127" not in printed

    png = (out / "lengths.png").read_bytes()
    assert png[:8] == b"\x89PNG\r\n\x1a\n" and len(png) > 10_000
    assert sorted(p.name for p in out.iterdir()) == ["lengths.png", "stats.json"]  # no temp files left


def test_stats_without_output_only_prints(tmp_path, word_tokenizer, capsys):
    a = write(tmp_path / "alpaca.jsonl", ALPACA)
    assert cli(["stats", a, "--tokenizer", word_tokenizer]) == 0
    assert "records: 4" in capsys.readouterr().out
    assert sorted(p.name for p in tmp_path.iterdir()) == ["alpaca.jsonl", "words"]


def test_stats_bad_row_exits_2(tmp_path, word_tokenizer, capsys):
    bad = tmp_path / "bad.jsonl"
    bad.write_text(json.dumps(ALPACA[0]) + "\n" + '{"instruction": 3, "output": "x"}\n')
    assert cli(["stats", str(bad), "--tokenizer", word_tokenizer]) == 2
    assert f"{bad}:2" in capsys.readouterr().err
