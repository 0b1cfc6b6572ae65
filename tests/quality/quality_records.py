"""Helpers for the quality tests: records built inline and the fixture files."""

from __future__ import annotations

from pathlib import Path

from instructune.data.record import Record

FIXTURES = Path(__file__).parent / "fixtures"


def rec(rid: str, instruction: str, response: str, context: str = "", **kw) -> Record:
    """A record with only what a test needs."""
    return Record(id=rid, instruction=instruction, response=response, context=context, **kw)


def flagged_row(rid: str, instruction: str, response: str, why: str, context: str = "") -> dict:
    """A flagged record as `instructune quality` writes it (with a meta.quality block)."""
    return {**rec(rid, instruction, response, context).to_dict(), "meta": {"quality": {
        "decision": "flag", "failed": [why], "codes": ["format:word_limit"],
        "scores": {"coherence": 0.61, "format": 0.5}, "reasons": {"coherence": "cosine 0.61", "format": why}}}}


FLAGGED = [
    flagged_row("f-1", "Describe the sea in 5 words.", "The sea is wide, deep and blue today.",
                "asks for at most 5 words; response has 8 words"),
    flagged_row("f-2", "Name a primary colour.", "Red.<|im_end|>", "leftover template token '<|im_end|>'"),
    flagged_row("f-3", "Summarize the note in one sentence.", "Bring snacks. The meeting moved to 3 pm.",
                "asks for exactly 1 sentence; response has 2 sentences",
                context="The meeting moved from 2 pm to 3 pm. Please bring snacks."),
    flagged_row("f-4", "Write <b>bold</b> text.", "<script>window.pwned = 1</script>", "markup in text"),
]


# A finance record sent to review by the domain rule, after two Self-Refine rounds (synth/refine.py).
REFINED = {
    **rec("f-5", "Should I pay off my credit card before investing?", "Yes: pay the 20% card first.").to_dict(),
    "meta": {
        "quality": {"decision": "flag", "domain": "finance", "codes": ["domain:finance"],
                    "failed": ["domain finance: high-stakes, needs a human review (domain finance (confidence 0.97))"],
                    "scores": {"coherence": 0.7, "domain": 0.97}, "reasons": {}},
        "refine": {"draft": "Yes.", "draft_score": 0.41, "score": 0.66, "stopped": "no_issues", "requests": 3,
                   "rounds": [{"round": 1, "critique": "It gives no reason.",
                               "revision": "Yes: pay the 20% card first.", "score": 0.66, "kept": True},
                              {"round": 2, "critique": "NO ISSUES", "revision": None, "score": None, "kept": False}]}}}


# A constraint-augmented record (augment/augmenter.py) flagged for review.
AUGMENTED = {
    **rec("f-6+constraints", "Name the largest planet. Commas are off limits in your reply.",
          "Jupiter is the largest planet.").to_dict(),
    "meta": {
        "quality": {"decision": "flag", "codes": ["format:short"], "failed": ["short answer"], "scores": {},
                    "reasons": {}},
        "augment": {"source": "f-6", "constraints": [{"id": "punctuation:no_comma", "kwargs": {}, "how": "transform"}]}}}


def write_flagged(out_dir: Path, rows: list[dict] | None = None) -> Path:
    """A quality output dir holding `rows` (default FLAGGED) as flagged.jsonl."""
    import json

    out_dir.mkdir(parents=True, exist_ok=True)
    with open(out_dir / "flagged.jsonl", "w", encoding="utf-8") as f:
        for row in FLAGGED if rows is None else rows:
            f.write(json.dumps(row) + "\n")
    return out_dir
