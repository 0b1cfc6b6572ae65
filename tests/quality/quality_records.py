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


def write_flagged(out_dir: Path) -> Path:
    """A quality output dir holding FLAGGED as flagged.jsonl."""
    import json

    out_dir.mkdir(parents=True, exist_ok=True)
    with open(out_dir / "flagged.jsonl", "w", encoding="utf-8") as f:
        for row in FLAGGED:
            f.write(json.dumps(row) + "\n")
    return out_dir
