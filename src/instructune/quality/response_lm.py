"""A causal LM that reads records teacher-forced: how likely is each response token, and how
likely is the end of the turn right after the response? The LM scorers (`scorers/ending.py`,
`scorers/plausibility.py`) share one per process.

    lm = load_response_lm("smollm2-135m-instruct")
    reads = lm.read([("Name a colour.", "Blue")])      # one `Reading` per (prompt, response)
    reads[0].token_logprobs, reads[0].end_logprob
    reads[0].watched[:, lm.column("\n")]             # p(a new line) in place of each token

A record is read once for every LM scorer (`ScoringSet.read`): the alternatives they
compare with what was written (`WATCH`: what may close a sentence, the digits, " not") are
kept at every position of the one pass.

Each pair is rendered with the model's chat template as a user turn (the prompt) and an
assistant turn (the response), tokenized piece by piece (template prefix, response, the
template's end-of-turn marker), so the response tokens are the same whatever the template
puts around them. Pairs are read in batches sorted by length (left padding, positions counted
from each row's first real token; the scores of a row do not depend on its batch-mates beyond
float noise).

Long texts are clipped to keep the forward passes cheap (on a CPU they cost in proportion to
the tokens read): the prompt to its first and last PROMPT_CHARS / 2 characters, the response
to its last RESPONSE_CHARS (the end is what the end-of-turn probability reads).
"""

from __future__ import annotations

import functools
from dataclasses import dataclass

import numpy as np

PROMPT_CHARS = 300
RESPONSE_CHARS = 400
CLOSERS = (".", "!", "?", "\n", "\n\n")  # what may follow a finished sentence or line
DIGITS = tuple("0123456789")
WATCH = (*CLOSERS, *DIGITS, " not")


@dataclass
class Reading:
    """What the model says about one (prompt, response) pair.

    Attributes:
        token_logprobs: (T,) float, log p(response token t | prompt, tokens < t), natural log.
        end_logprob: log p(end of turn | prompt, whole response).
        token_ids: the response's T token ids.
        watched: (T + 1, K) float, log p of each of the K watched texts (`ResponseLM.column`)
            in place of response token t (row t < T), and in place of the end of turn (row T):
            what the model would have said instead.
        skip_logprobs: (T,) float, log p(the token after t | tokens < t): the first token of the
            response with token t deleted (for t = T - 1, that token is the end of turn).
    """

    token_logprobs: np.ndarray
    end_logprob: float
    token_ids: list[int]
    watched: np.ndarray
    skip_logprobs: np.ndarray

    @property
    def logprob(self) -> float:
        """log p(response | prompt): the sum of `token_logprobs`."""
        return float(self.token_logprobs.sum())


def clip_prompt(text: str, limit: int = PROMPT_CHARS) -> str:
    """`text`, or its first and last `limit // 2` characters joined by " [...] "."""
    return text if len(text) <= limit else f"{text[:limit // 2]} [...] {text[-(limit // 2):]}"


def clip_response(text: str, limit: int = RESPONSE_CHARS) -> str:
    """`text`, or its last `limit` characters (the end is what matters for the end of turn)."""
    return text if len(text) <= limit else text[-limit:]


class ResponseLM:
    """Teacher-forced reading of responses under a chat model.

    Args:
        model: a HF causal LM (put in eval mode here).
        tokenizer: its tokenizer, with a chat template.
        name: the model's name, for reasons and reports.
        batch_size: pairs per forward pass.
        prompt_chars, response_chars: clip limits (`clip_prompt`, `clip_response`): on a CPU
            the forward passes cost in proportion to the tokens read.
    """

    def __init__(self, model, tokenizer, name: str = "lm", batch_size: int = 8, prompt_chars: int = PROMPT_CHARS,
                 response_chars: int = RESPONSE_CHARS):
        if not getattr(tokenizer, "chat_template", None):
            raise ValueError(f"model {name!r} has no chat template: the LM scorers read a response as an "
                             f"assistant turn")
        self.model, self.tokenizer, self.name, self.batch_size = model.eval(), tokenizer, name, batch_size
        self.prompt_chars, self.response_chars = prompt_chars, response_chars

    @functools.cached_property
    def _frame(self) -> tuple[str, str, str]:
        """(text before the prompt, text between prompt and response, text after the response) of
        the chat template, found by rendering one conversation with marker strings."""
        p, r = "\x00PROMPT\x00", "\x00RESPONSE\x00"
        text = self.tokenizer.apply_chat_template(
            [{"role": "user", "content": p}, {"role": "assistant", "content": r}], tokenize=False)
        before, rest = text.split(p)
        middle, after = rest.split(r)
        return before, middle, after

    @functools.cached_property
    def watch_ids(self) -> dict[str, int]:
        """{text: token id} for the texts of `WATCH` that are one token in this tokenizer, in
        the order of `Reading.watched`'s columns (texts it splits are not watched)."""
        ids = {t: self._ids(t) for t in WATCH}
        return {t: i[0] for t, i in ids.items() if len(i) == 1}

    def column(self, text: str) -> int | None:
        """The `Reading.watched` column of `text`, or None when it is not watched."""
        return next((k for k, t in enumerate(self.watch_ids) if t == text), None)

    @functools.cached_property
    def end_id(self) -> int:
        """The end-of-turn token: the first token the template puts after a response."""
        ids = self._ids(self._frame[2])
        if not ids:
            raise ValueError(f"model {self.name!r}: its chat template puts nothing after a response")
        return ids[0]

    def _ids(self, text: str) -> list[int]:
        return self.tokenizer(text, add_special_tokens=False)["input_ids"]

    def encode(self, prompt: str, response: str) -> tuple[list[int], int, int]:
        """(ids, first response position, end-of-turn position) of one pair: ids run from the
        template's start to the end-of-turn token included; the response is ids[start:end]."""
        before, middle, _ = self._frame
        head = self._ids(before + clip_prompt(prompt, self.prompt_chars) + middle)
        body = self._ids(clip_response(response.strip(), self.response_chars))
        return head + body + [self.end_id], len(head), len(head) + len(body)

    def _batch(self, rows: list[tuple[list[int], int, int]]) -> list[Reading]:
        """Readings of one batch. Rows are left-padded so that every response ends at the same
        place, and only the last positions (the longest response + its end) get logits: the
        vocabulary projection of the prompt positions is never computed."""
        import torch  # here, not at the top: the scorers' constants are read without torch

        device = next(self.model.parameters()).device
        width = max(len(ids) for ids, _, _ in rows)
        keep = max(end - start for _, start, end in rows) + 1  # response tokens + the end of turn
        pad = self.tokenizer.pad_token_id if self.tokenizer.pad_token_id is not None else self.end_id
        ids = torch.full((len(rows), width), pad, dtype=torch.long)
        mask = torch.zeros((len(rows), width), dtype=torch.long)
        for i, (row, _, _) in enumerate(rows):
            ids[i, width - len(row):] = torch.tensor(row)
            mask[i, width - len(row):] = 1
        positions = (mask.cumsum(-1) - 1).clamp(min=0)  # each row counts from its first real token
        with torch.no_grad():
            logits = self.model(input_ids=ids.to(device), attention_mask=mask.to(device),
                                position_ids=positions.to(device), logits_to_keep=keep + 1).logits  # (B, keep + 1, V)
        out = []
        for i, (row, start, end) in enumerate(rows):
            t = end - start
            # Logit k predicts token k + 1: the last t + 1 predictions (the response, then the
            # end of turn) come from the t + 1 positions before the final one.
            logp = torch.log_softmax(logits[i, -(t + 2):-1].float(), dim=-1)  # (T + 1, V)
            targets = torch.tensor(row[start:end + 1], device=logp.device)
            picked = logp.gather(-1, targets[:, None])[:, 0].cpu().numpy().astype(np.float64)  # (T + 1,)
            watched = logp[:, list(self.watch_ids.values())].cpu().numpy().astype(np.float64)  # (T + 1, K)
            skip = logp[:-1].gather(-1, targets[1:, None])[:, 0].cpu().numpy().astype(np.float64)  # (T,)
            out.append(Reading(picked[:-1], float(picked[-1]), row[start:end], watched, skip))
        return out

    def read(self, pairs: list[tuple[str, str]]) -> list[Reading]:
        """One `Reading` per (prompt, response) pair, in input order."""
        rows = [self.encode(p, r) for p, r in pairs]
        order = sorted(range(len(rows)), key=lambda i: len(rows[i][0]))
        out: list[Reading | None] = [None] * len(rows)
        for s in range(0, len(order), self.batch_size):
            chunk = order[s:s + self.batch_size]
            for i, reading in zip(chunk, self._batch([rows[i] for i in chunk])):
                out[i] = reading
        return out  # type: ignore[return-value]


@functools.lru_cache(maxsize=2)
def load_response_lm(name: str, batch_size: int = 8, device: str = "cpu") -> ResponseLM:
    """The `ResponseLM` of model `name` (the default alias, a path or a hub id), one per process
    and settings; float32 (the scores compare small log-probability differences)."""
    from instructune.model.load import load_model, load_tokenizer

    tokenizer = load_tokenizer(name)
    return ResponseLM(load_model(name, dtype="float32", device=device), tokenizer, name, batch_size)
