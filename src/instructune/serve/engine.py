"""The generation engine: one in-process causal LM, token-id prompts in, `Generation`s out.

    engine = Engine.load("smollm2-135m-instruct")          # or a run dir, path, hub id
    engine.generate(engine.chat_ids([[{"role": "user", "content": "Hi"}]]), GenParams(temperature=0))

This is the one home of model-side generation: `instructune serve` (`serve/server.py`) and the
synth local backend (`synth/backends/local.py`, a subclass that adds counters and text-only
`chat` / `complete`) both use it, so the HTTP server and the local backend answer alike.
Generation itself goes through `serve.generation.generate_ids` (prompts sorted by length,
left-padded, batched; EOS / end-of-turn / stop strings end a row).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from torch import nn

from instructune.config import GenerateConfig
from instructune.serve.generation import generate_ids
from instructune.serve.streaming import TextDeltas, TokenSink
from instructune.synth.generator import GenParams, Message

# Below this temperature sampling is the greedy choice in all but name, and dividing logits by
# a subnormal temperature overflows to inf (NaN probabilities, a crash in sampling): decode
# greedily instead.
MIN_SAMPLING_TEMPERATURE = 1e-5


@dataclass
class Generation:
    """One generated continuation with what the OpenAI wire format reports about it.

    Attributes:
        text: decoded new text (special tokens skipped), cut before the first stop string.
        finish_reason: "stop" (EOS, end-of-turn or a stop string) or "length" (max_new_tokens hit).
        prompt_tokens: tokens in the prompt.
        completion_tokens: tokens generated (a stop string's own tokens included).
    """

    text: str
    finish_reason: str
    prompt_tokens: int
    completion_tokens: int


def cut_at_stop(text: str, stop: list[str]) -> tuple[str, bool]:
    """(text before the earliest stop string, whether one was found)."""
    hits = [i for i in (text.find(s) for s in stop if s) if i >= 0]
    return (text[:min(hits)], True) if hits else (text, False)


class Engine:
    """Generation over an in-process causal LM.

    Args:
        model: a HF causal LM (eval mode is set on use).
        tokenizer: its tokenizer; `chat_ids` needs a chat template.
        name: shown in reports and in the server's `model` field.
        batch_size: prompts per forward batch.
    """

    def __init__(self, model: nn.Module, tokenizer, name: str = "local", batch_size: int = 8):
        self.model, self.tokenizer, self.name, self.batch_size = model, tokenizer, name, batch_size

    @classmethod
    def load(cls, name: str, dtype: str = "float32", batch_size: int = 8):
        """Load `name`: the default alias, an instructune run dir (its `export/`), a path or a hub id."""
        from instructune.model.addons.store import attach_saved
        from instructune.model.load import load_model, load_tokenizer, resolve_tuned

        path = resolve_tuned(name)
        model = attach_saved(load_model(path, dtype), name)  # a run dir's add-ons, if it saved any
        return cls(model, load_tokenizer(path), name=name, batch_size=batch_size)

    @property
    def max_positions(self) -> int | None:
        """The model's context length (prompt + generation), when its config says."""
        return getattr(self.model.config, "max_position_embeddings", None)  # InstructForward has .config too

    def chat_ids(self, conversations: list[list[Message]]) -> list[list[int]]:
        """Prompt ids per conversation: the chat template with the assistant turn opened."""
        if not getattr(self.tokenizer, "chat_template", None):
            raise ValueError(f"model {self.name!r} has no chat template; use complete() with raw prompts")
        texts = [self.tokenizer.apply_chat_template(c, add_generation_prompt=True, tokenize=False)
                 for c in conversations]
        # The template already holds BOS and role markers; adding special tokens would double them.
        return [self.tokenizer(t, add_special_tokens=False)["input_ids"] for t in texts]

    def complete_ids(self, prompts: list[str]) -> list[list[int]]:
        """Prompt ids per raw text (the tokenizer's own BOS rule applies, as in vLLM)."""
        return [self.tokenizer(p)["input_ids"] for p in prompts]

    def _config(self, params: GenParams, batch_size: int) -> GenerateConfig:
        temperature = params.temperature if params.temperature >= MIN_SAMPLING_TEMPERATURE else 0.0
        return GenerateConfig(max_new_tokens=params.max_new_tokens, temperature=temperature,
                              top_p=params.top_p, batch_size=batch_size, seed=params.seed)

    def _finish(self, prompt: list[int], ids: list[int], params: GenParams) -> Generation:
        """The `Generation` for the new `ids` of `prompt` (text cut at the first stop string)."""
        text, stopped = cut_at_stop(self.tokenizer.decode(ids, skip_special_tokens=True), params.stop)
        # Fewer tokens than asked means EOS / end-of-turn (cut off by generate_ids) or a stop string.
        reason = "stop" if stopped or len(ids) < params.max_new_tokens else "length"
        return Generation(text, reason, len(prompt), len(ids))

    def generate(self, prompts: list[list[int]], params: GenParams) -> list[Generation]:
        """Generate for token-id prompts; results in input order.

        Args:
            prompts: token ids per prompt.
            params: sampling parameters; `seed` seeds torch's RNG once for the whole call.
        """
        outs = generate_ids(self.model, self.tokenizer, prompts, self._config(params, self.batch_size),
                            stop_strings=params.stop or None)
        return [self._finish(p, ids, params) for p, ids in zip(prompts, outs)]

    def stream(self, prompt: list[int], params: GenParams, on_text: Callable[[str], None],
               cancelled: Callable[[], bool] = lambda: False, strip: bool = False) -> Generation:
        """Generate for one prompt, passing text to `on_text` as it becomes final.

        The pieces joined are exactly the returned `Generation.text` (`.strip()`ped when
        `strip`): text that may still turn into a stop string, an incomplete UTF-8 character or
        (with `strip`) trailing whitespace is held back until it is settled. Sampling equals
        `generate([prompt], params)`: same seed, same tokens.

        Args:
            prompt: token ids.
            params: sampling parameters.
            on_text: called with each new piece of text (never empty).
            cancelled: polled after every token; True ends generation early (the client left).
            strip: leave out leading and trailing whitespace, as chat replies do.
        """
        deltas = TextDeltas(self.tokenizer, params.stop, strip)

        def on_token(token_id: int) -> None:
            if piece := deltas.push(token_id):
                on_text(piece)

        (ids,) = generate_ids(self.model, self.tokenizer, [prompt], self._config(params, 1),
                              stop_strings=params.stop or None, streamer=TokenSink(on_token),
                              stop_when=cancelled)
        done = self._finish(prompt, ids, params)
        if strip:
            done.text = done.text.strip()
        if rest := deltas.finish(done.text):
            on_text(rest)
        return done
