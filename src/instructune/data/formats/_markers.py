"""End-of-text markers that prompt/completion data (GPT-3 style fine-tuning files, P3/T0 as
packed by Self-Instruct) put at the end of a target. They are the *model's* stop token, not
part of the answer: the renderer appends the tokenizer's own EOS, so readers strip them."""

from __future__ import annotations

END_MARKERS = ("<|endoftext|>", "</s>", "<|im_end|>", "<|eot_id|>")


def strip_end_marker(text: str) -> str:
    """`text` without one trailing end-of-text marker (and whitespace after it)."""
    stripped = text.rstrip()
    for marker in END_MARKERS:
        if stripped.endswith(marker):
            return stripped[: -len(marker)]
    return text
