"""When a generation ends, besides EOS / end-of-turn: a stop string in the generated text, or
a caller that asks to stop (a streaming client that left, Ctrl-C in chat).

`StopOnText` and `StopWhen` are the stopping criteria `generate_ids` hands to
`model.generate`; `cut_at_stop` cuts the decoded text before the first stop string (the
local engine and the HTTP backend both cut with it, so both return the same text).
"""

from __future__ import annotations

from collections.abc import Callable

import torch
from transformers import StoppingCriteria


class StopWhen(StoppingCriteria):
    """Ends every row once `done()` says so (a streaming client went away, Ctrl-C in chat)."""

    def __init__(self, done: Callable[[], bool]):
        self.done = done

    def __call__(self, input_ids: torch.Tensor, scores, **kwargs) -> torch.Tensor:
        return torch.full((input_ids.shape[0],), bool(self.done()), device=input_ids.device)


class StopOnText(StoppingCriteria):
    """Ends a row once its *generated* text contains a stop string.

    transformers' own `stop_strings` also match across the prompt boundary (prompt "Hello"
    + generated "lo" would hit "lolo"); OpenAI-style stops only look at what was generated.
    Each step decodes only the tail of each row that can hold a newly completed stop string.

    Args:
        tokenizer: decodes the ids.
        stops: stop strings (non-empty).
        prompt_len: T, the padded prompt length; ids after it are generated.
    """

    def __init__(self, tokenizer, stops: list[str], prompt_len: int):
        self.tokenizer, self.stops, self.prompt_len = tokenizer, stops, prompt_len
        # A token decodes to >= 1 character, or to a part of one (a UTF-8 character takes at most
        # 4 byte tokens); so the last 4 * len + 4 tokens hold any stop the newest token completed.
        self.window = 4 * max(len(s) for s in stops) + 4

    def __call__(self, input_ids: torch.Tensor, scores, **kwargs) -> torch.Tensor:
        """input_ids: (B, T + generated so far) → (B,) bool, True where a stop string appeared."""
        start = max(self.prompt_len, input_ids.shape[1] - self.window)
        tails = self.tokenizer.batch_decode(input_ids[:, start:], skip_special_tokens=True)
        return torch.tensor([any(s in t for s in self.stops) for t in tails], device=input_ids.device)


def cut_at_stop(text: str, stop: list[str]) -> tuple[str, bool]:
    """(text before the earliest stop string, whether one was found)."""
    hits = [i for i in (text.find(s) for s in stop if s) if i >= 0]
    return (text[:min(hits)], True) if hits else (text, False)
