"""The generation engine: one in-process causal LM, token-id prompts in, `Generation`s out.

    engine = Engine.load("smollm2-135m-instruct")          # or a run dir, path, hub id
    engine.generate(engine.chat_ids([[{"role": "user", "content": "Hi"}]]), GenParams(temperature=0))

`instructune serve` (`serve/server.py`, through `generation/batch_worker.py`), `instructune
chat` (`recipes/generate.py`) and the synth local backend (`synth/backends/local.py`, a
subclass that adds counters and text-only `chat` / `complete`) all use it, so they answer
alike. Generation itself goes through `generation/batched.py: generate_ids` (prompts sorted by
length, left-padded, batched; EOS / end-of-turn / stop strings end a row); streaming through
`generation/streaming.py`.

Segments (what the instruction-aware add-ons read, `data/templates.py`): an instructune run
dir (one with a `config.yaml`) is served with the template it was trained with, so a chat is
rendered as a `Record` by `render_prompt_segments` (`chat_prompts`): prompt ids and segments
are exactly the training rendering. Any other model keeps its own chat template and gets no
segments. A raw completion prompt has none either: `generate_ids` then reads every prompt
token as instruction (a raw prompt is all directive).
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from dataclasses import dataclass

from torch import nn

from instructune.config import TemplateConfig
from instructune.data.record import Record, Turn
from instructune.data.render import render_prompt_segments
from instructune.data.templates import TemplateOptions, get_template
from instructune.generation.batched import generate_ids
from instructune.generation.generator import Message
from instructune.generation.load import load_for_inference, run_template
from instructune.generation.params import GenParams
from instructune.generation.running_batch import RunningBatch, joinable
from instructune.generation.stopping import cut_at_stop
from instructune.generation.streaming import TextDeltas, TokenSink
from instructune.model.forward import InstructForward


@dataclass
class Generation:
    """One generated continuation with what the OpenAI wire format reports about it.

    Attributes:
        text: decoded new text (special tokens skipped), cut before the first stop string.
        finish_reason: "stop" (EOS, end-of-turn or a stop string) or "length" (max_new_tokens hit).
        prompt_tokens: tokens in the prompt.
        completion_tokens: tokens generated (a stop string's own tokens included).
        temperature: the temperature it was sampled at (0.0: greedy); with temperature "auto",
            the one the model's temperature head chose for this prompt.
    """

    text: str
    finish_reason: str
    prompt_tokens: int
    completion_tokens: int
    temperature: float | None = None


def chat_record(conversation: list[Message]) -> Record:
    """The `Record` of an OpenAI-style conversation, as `recipes/generate.py chat` builds one:
    system messages (wherever they stand, joined by blank lines) → `system`, earlier turns →
    `history`, the last message (a user one) → `instruction`.

    Raises:
        ValueError: the conversation does not end with a user message.
    """
    system = [m["content"] for m in conversation if m["role"] == "system"]
    turns = [Turn(m["role"], m["content"]) for m in conversation if m["role"] != "system"]
    if not turns or turns[-1].role != "user":
        raise ValueError("the last message must be a user message: this model is an instructune run, "
                         "prompted as it was trained, with the final user turn as the instruction")
    return Record(id="chat", instruction=turns[-1].content, response="",
                  system="\n\n".join(system) if system else None, history=turns[:-1])


class Engine:
    """Generation over an in-process causal LM.

    Args:
        model: a HF causal LM or an `InstructForward` (eval mode is set on use).
        tokenizer: its tokenizer; `chat_ids` needs a chat template.
        name: shown in reports and in the server's `model` field.
        batch_size: prompts per forward batch.
        template: the run's `template` section when the model is an instructune run: chats are
            then rendered with it, with segments (`chat_prompts`); None: the chat template.
    """

    def __init__(self, model: nn.Module, tokenizer, name: str = "local", batch_size: int = 8,
                 template: TemplateConfig | None = None):
        self.model, self.tokenizer, self.name, self.batch_size = model, tokenizer, name, batch_size
        self.template = template

    @classmethod
    def load(cls, name: str, dtype: str = "float32", batch_size: int = 8):
        """Load `name`: the default alias, an instructune run dir (its `export/`, its add-ons and
        its template), a path or a hub id."""
        model, tokenizer = load_for_inference(name, dtype=dtype)  # a run dir's add-ons, if any
        return cls(model, tokenizer, name=name, batch_size=batch_size, template=run_template(name))

    @property
    def has_temperature_head(self) -> bool:
        """Whether the model can predict a temperature per prompt (`temperature="auto"`)."""
        return isinstance(self.model, InstructForward) and "temperature_head" in self.model.addons

    @functools.cached_property
    def _joinable(self) -> bool:
        return joinable(self.model)

    def joins(self, params: GenParams) -> bool:
        """Whether requests with `params` can share a `RunningBatch` (join it between decode
        steps): a model without add-ons, at a fixed temperature."""
        return params.temperature != "auto" and self._joinable

    def running_batch(self, params: GenParams) -> RunningBatch:
        """An empty running batch over this engine's model, for rows sampled with `params`."""
        return RunningBatch(self.model, self.tokenizer, params)

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

    def chat_prompts(self, conversations: list[list[Message]]) -> tuple[list[list[int]], list[list[int]] | None]:
        """(prompt ids, segments per prompt token) per conversation.

        An instructune run (`template` set) renders each conversation as a `Record`
        (`chat_record`) with its template, as in training: ids and segments are those of
        `render_prompt_segments`. Any other model: `chat_ids`, and segments None.

        Raises:
            ValueError: a conversation the template cannot render (or no chat template).
        """
        if self.template is None:
            return self.chat_ids(conversations), None
        return self.record_prompts([chat_record(c) for c in conversations])

    def record_prompts(self, records: list[Record]) -> tuple[list[list[int]], list[list[int]]]:
        """(prompt ids, segments per prompt token) per record (its instruction, context and
        history), rendered with `template` exactly as in training (`render_prompt_segments`).

        Raises:
            ValueError: the engine has no template (not an instructune run), or a record the
                template cannot render.
        """
        if self.template is None:
            raise ValueError(f"model {self.name!r} has no instructune template to render records with")
        t = self.template
        template = get_template(t.name)
        opts = TemplateOptions(t.context_separator, t.rationale_separator, t.train_rationale, t.train_answer)
        rendered = [render_prompt_segments(r, self.tokenizer, template, opts) for r in records]
        return [ids for ids, _ in rendered], [seg for _, seg in rendered]

    def complete_ids(self, prompts: list[str]) -> list[list[int]]:
        """Prompt ids per raw text (the tokenizer's own BOS rule applies, as in vLLM)."""
        return [self.tokenizer(p)["input_ids"] for p in prompts]

    def finish(self, prompt: list[int], ids: list[int], params: GenParams,
                temperature: float | None = None) -> Generation:
        """The `Generation` for the new `ids` of `prompt` (text cut at the first stop string),
        sampled at `temperature`."""
        text, stopped = cut_at_stop(self.tokenizer.decode(ids, skip_special_tokens=True), params.stop)
        # Fewer tokens than asked means EOS / end-of-turn (cut off by generate_ids) or a stop string.
        reason = "stop" if stopped or len(ids) < params.max_new_tokens else "length"
        return Generation(text, reason, len(prompt), len(ids), temperature)

    def generate(self, prompts: list[list[int]], params: GenParams, segments: list[list[int]] | None = None,
                 on_batch: Callable[[int, int], None] | None = None) -> list[Generation]:
        """Generate for token-id prompts; results in input order.

        Args:
            prompts: token ids per prompt.
            params: sampling parameters; `seed` seeds torch's RNG once for the whole call;
                temperature "auto": each prompt at the temperature head's prediction.
            segments: segment id per prompt token (`chat_prompts`); None: all instruction.
            on_batch: called after each batch with (prompts done, tokens generated so far).
        """
        temps: list[float | None] = [None] * len(prompts)

        def record(positions: list[int], chosen: list[float]) -> None:
            for i, t in zip(positions, chosen):
                temps[i] = t

        outs = generate_ids(self.model, self.tokenizer, prompts, params, batch_size=self.batch_size,
                            segments=segments, on_batch=on_batch, on_temperatures=record)
        return [self.finish(p, ids, params, t) for p, ids, t in zip(prompts, outs, temps)]

    def stream(self, prompt: list[int], params: GenParams, on_text: Callable[[str], None],
               cancelled: Callable[[], bool] = lambda: False, strip: bool = False,
               segments: list[int] | None = None) -> Generation:
        """Generate for one prompt, passing text to `on_text` as it becomes final.

        The pieces joined are exactly the returned `Generation.text` (`.strip()`ped when
        `strip`): text that may still turn into a stop string, an incomplete UTF-8 character or
        (with `strip`) trailing whitespace is held back until it is settled. Sampling equals
        `generate([prompt], params)`: same seed, same tokens.

        Args:
            prompt: token ids.
            params: sampling parameters.
            on_text: called with each new piece of text (never empty).
            cancelled: polled after every token; True ends generation early (the client left,
                Ctrl-C in chat).
            strip: leave out leading and trailing whitespace, as chat replies do.
            segments: segment id per prompt token; None: all instruction.
        """
        deltas = TextDeltas(self.tokenizer, params.stop, strip)

        def on_token(token_id: int) -> None:
            if piece := deltas.push(token_id):
                on_text(piece)

        chosen: list[float] = []
        (ids,) = generate_ids(self.model, self.tokenizer, [prompt], params, batch_size=1, streamer=TokenSink(on_token),
                              stop_when=cancelled, segments=[segments] if segments is not None else None,
                              on_temperatures=lambda _, temps: chosen.extend(temps))
        done = self.finish(prompt, ids, params, chosen[0])
        if strip:
            done.text = done.text.strip()
        if rest := deltas.finish(done.text):
            on_text(rest)
        return done
