"""Token-by-token text for streamed replies: a sink for `model.generate`'s streamer hook, and
`TextDeltas`, which turns the growing list of token ids into pieces of text that are final.

A piece is passed on only once no later token can change it: the text is decoded whole each
step (exact, and cheap next to a forward pass at these lengths), then whatever may still change
is held back: a trailing incomplete UTF-8 character (U+FFFD), a tail that may grow into a stop
string, and, for chat replies (stripped), leading and trailing whitespace. So the pieces join
to exactly the text a non-streamed request returns.
"""

from __future__ import annotations

from collections.abc import Callable

from instructune.data.render import stop_ids


class TokenSink:
    """A `transformers` streamer (`put` / `end`) that hands each generated token id to `on_token`.

    `generate` first puts the prompt, then one tensor of new ids per step (batch size 1).
    """

    def __init__(self, on_token: Callable[[int], None]):
        self.on_token, self.prompt_seen = on_token, False

    def put(self, value) -> None:
        if not self.prompt_seen:
            self.prompt_seen = True
            return
        for token_id in value.reshape(-1).tolist():
            self.on_token(token_id)

    def end(self) -> None:
        pass


def stop_prefix_len(text: str, stops: list[str]) -> int:
    """Length of the longest tail of `text` that is a proper prefix of one of `stops`."""
    best = 0
    for s in stops:
        for k in range(min(len(s) - 1, len(text)), best, -1):
            if text.endswith(s[:k]):
                best = k
                break
    return best


class TextDeltas:
    """New final text per generated token (see the module docstring).

    Args:
        tokenizer: decodes the ids (special tokens skipped, as for the whole reply).
        stops: stop strings; the text ends before the first one.
        strip: leave out leading and trailing whitespace (chat replies).
    """

    def __init__(self, tokenizer, stops: list[str], strip: bool = False):
        self.tokenizer, self.stops, self.strip = tokenizer, [s for s in stops if s], strip
        self.end_ids = stop_ids(tokenizer)
        self.ids: list[int] = []
        self.sent = ""  # the text passed on so far
        self.ended = False

    def push(self, token_id: int) -> str:
        """Take one generated token; returns the text that became final ("" if none)."""
        if self.ended:
            return ""
        if token_id in self.end_ids:  # EOS / end-of-turn: the reply is complete (generate_ids cuts it too)
            self.ended = True
            return ""
        self.ids.append(token_id)
        return self._release(self._settled(self.tokenizer.decode(self.ids, skip_special_tokens=True)))

    def finish(self, final: str) -> str:
        """The rest of `final` (the whole reply's text) not yet passed on."""
        # `final` always extends what was sent (see `_settled`); the guard only keeps a broken
        # tokenizer from duplicating text.
        rest = final[len(self.sent):] if final.startswith(self.sent) else ""
        self.sent = final
        return rest

    def _settled(self, text: str) -> str:
        """The part of `text` (all text so far) that no later token can change."""
        hits = [i for i in (text.find(s) for s in self.stops) if i >= 0]
        if hits:  # a stop string: the text before it is the whole reply
            self.ended = True
            text = text[:min(hits)]
        else:
            text = text.rstrip("\ufffd")  # the first bytes of a character whose rest is to come
            text = text[:len(text) - stop_prefix_len(text, self.stops)]
            if self.strip:
                text = text.rstrip()  # may be the end of the reply, which a chat reply drops
        return text.strip() if self.strip else text

    def _release(self, settled: str) -> str:
        if len(settled) <= len(self.sent) or not settled.startswith(self.sent):
            return ""
        piece, self.sent = settled[len(self.sent):], settled
        return piece
