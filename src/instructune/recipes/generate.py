"""`instructune generate` (batched) and `instructune chat` (interactive REPL).

Prompts are rendered with the run's template exactly as in training, so a model tuned with
`inst` or `alpaca` is prompted the way it learned. Chat streams each reply as it is generated;
Ctrl-C during a reply stops that reply and the conversation goes on.
"""

from __future__ import annotations

import dataclasses
import sys
import threading
import time
from collections.abc import Callable
from typing import TextIO

import torch
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn, TimeRemainingColumn

from instructune.config import Config, ConfigError, GenerateConfig
from instructune.data.prompts import load_prompts
from instructune.data.jsonio import write_jsonl
from instructune.data.record import Record, Turn
from instructune.data.render import render_prompt_segments, stop_ids
from instructune.data.templates import get_template, template_options
from instructune.recipes.builders import model_with_addons
from instructune.recipes.checks import check_generate
from instructune.model.forward import InstructForward
from instructune.serve.generation import generate_ids, sampling


def load(cfg: Config, model: str | None):
    """(model with its run's add-ons, tokenizer) for a run dir, export dir, path or hub id
    (default cfg.model.name)."""
    return model_with_addons(cfg, model)


class GenerationProgress:
    """A progress bar for `generate`: records done, tokens/s and ETA, on stderr.

    Off when disabled or when the console is not a terminal (a pipe or a log file gets no
    bar). A context manager; `update(done, tokens)` after each batch.
    """

    def __init__(self, total: int, enabled: bool = True, console: Console | None = None):
        console = console or Console(stderr=True)
        self.t0 = time.perf_counter()
        self.progress = Progress(TextColumn("[bold]generate"), BarColumn(), MofNCompleteColumn(),
                                 TextColumn("{task.fields[rate]}"), TimeElapsedColumn(), TimeRemainingColumn(),
                                 console=console, disable=not (enabled and console.is_terminal))
        self.task = self.progress.add_task("generate", total=total, rate="")

    def __enter__(self) -> GenerationProgress:
        self.progress.__enter__()
        return self

    def __exit__(self, *exc) -> None:
        self.progress.__exit__(*exc)

    def update(self, done: int, tokens: int) -> None:
        rate = tokens / max(time.perf_counter() - self.t0, 1e-9)
        self.progress.update(self.task, completed=done, rate=f"{rate:.1f} tok/s")


def generate(cfg: Config, records: list[Record], model: str | None = None,
             on_batch: Callable[[int, int], None] | None = None) -> list[str]:
    """Responses for `records` (their instruction, context, history), in order.

    Prompts are grouped by length into batches of `generate.batch_size`, as `generate_ids`
    groups them, and each batch is one call so progress can be reported between batches;
    batch k samples with seed `generate.seed + k`.

    Args:
        on_batch: called after each batch with (records done, tokens generated so far).
    """
    m, tok = load(cfg, model)
    template, opts = get_template(cfg.template.name), template_options(cfg.template)
    prompts, segments = map(list, zip(*[render_prompt_segments(r, tok, template, opts) for r in records])) \
        if records else ([], [])
    g = cfg.generate
    order = sorted(range(len(prompts)), key=lambda i: len(prompts[i]))
    texts: list[str] = [""] * len(prompts)
    tokens = 0
    for k, start in enumerate(range(0, len(order), g.batch_size)):
        idx = order[start:start + g.batch_size]
        ids = generate_ids(m, tok, [prompts[i] for i in idx], dataclasses.replace(g, seed=g.seed + k),
                           segments=[segments[i] for i in idx])
        for i, new in zip(idx, ids):
            texts[i] = tok.decode(new, skip_special_tokens=True).strip()  # as generate_text decodes
            tokens += len(new)
        if on_batch:
            on_batch(start + len(idx), tokens)
    return texts


def main(cfg: Config, prompts: list[str], input_file: str | None = None, output: str | None = None,
         model: str | None = None, console: Console | None = None, progress: bool = True) -> list[dict]:
    """Answer `prompts` and the records of `input_file`; write JSONL to `output` or print.

    Args:
        progress: show a progress bar on stderr (only when it is a terminal).
    Returns:
        one row per prompt: id, instruction, context, generation.
    """
    console = console or Console()
    check_generate(cfg, model, input_file)
    records = [Record(id=f"prompt-{i}", instruction=p, response="") for i, p in enumerate(prompts)]
    if input_file:
        records += load_prompts([input_file])  # prompt-only rows too (no response needed)
    if not records:
        raise ConfigError("give --prompt TEXT (repeatable) or --input FILE")
    with GenerationProgress(len(records), progress) as bar:
        texts = generate(cfg, records, model, on_batch=bar.update)
    rows = [{"id": r.id, "instruction": r.instruction, "context": r.context, "generation": t}
            for r, t in zip(records, texts)]
    if output:
        write_jsonl(output, rows)
        console.print(f"wrote {len(rows)} generations to {output}")
    else:
        for row in rows:
            console.print(f"[bold]> {row['instruction']}[/bold]\n{row['generation']}\n")
    return rows


class _StopWhenSet:
    """A stopping criterion that ends generation once `event` is set (Ctrl-C in the main thread)."""

    def __init__(self, event: threading.Event):
        self.event = event

    def __call__(self, input_ids: torch.Tensor, scores, **kwargs) -> torch.Tensor:
        return torch.full((input_ids.shape[0],), self.event.is_set(), dtype=torch.bool, device=input_ids.device)


def sampling_kwargs(tokenizer, g: GenerateConfig, model=None, prompt: list[int] | None = None,
                    segments: list[int] | None = None) -> dict:
    """`model.generate` keyword arguments for the `generate` section (as batched generation
    uses; temperature "auto" predicts the prompt's temperature with `model`'s head)."""
    stops = sorted(stop_ids(tokenizer))
    pad = tokenizer.pad_token_id if tokenizer.pad_token_id is not None else stops[0]
    fwd = model if isinstance(model, InstructForward) else None
    return {"max_new_tokens": g.max_new_tokens, "repetition_penalty": g.repetition_penalty,
            "eos_token_id": stops, "use_cache": True, "pad_token_id": pad,
            **sampling(g, fwd, [prompt or []], [segments] if segments else None, pad)}


def stream_reply(model, tokenizer, prompt: list[int], g: GenerateConfig, out: TextIO,
                 segments: list[int] | None = None) -> tuple[str, bool]:
    """Generate one reply, writing it to `out` piece by piece as it is decoded.

    `model.generate` runs in a worker thread feeding a `TextIteratorStreamer`; the main thread
    prints. Ctrl-C (KeyboardInterrupt, which only the main thread receives) sets an event that a
    stopping criterion reads, so the worker ends after its current token.

    Returns:
        (the reply, stripped; whether Ctrl-C stopped it).
    """
    from transformers import StoppingCriteriaList, TextIteratorStreamer

    streamer = TextIteratorStreamer(tokenizer, skip_prompt=True, skip_special_tokens=True)
    stop, failure = threading.Event(), []

    def work() -> None:
        try:
            torch.manual_seed(g.seed)
            device = next(model.parameters()).device
            ids = torch.tensor([prompt], device=device)
            kwargs = dict(attention_mask=torch.ones(1, len(prompt), dtype=torch.long, device=device),
                          streamer=streamer, stopping_criteria=StoppingCriteriaList([_StopWhenSet(stop)]),
                          **sampling_kwargs(tokenizer, g, model, prompt, segments))
            if isinstance(model, InstructForward):
                seg = torch.tensor([segments], device=device) if segments else None
                model.generate(ids, seg, **kwargs)
            else:
                model.generate(input_ids=ids, **kwargs)
        except BaseException as e:  # surfaced in the main thread; end() so its loop cannot hang
            failure.append(e)
            streamer.end()

    worker = threading.Thread(target=work, daemon=True)
    worker.start()
    parts: list[str] = []
    stopped = False
    try:
        for piece in streamer:
            piece = piece if "".join(parts).strip() else piece.lstrip()  # no leading blank line
            if piece:
                out.write(piece)
                out.flush()
                parts.append(piece)
    except KeyboardInterrupt:
        stop.set()
        stopped = True
    worker.join()
    if failure:
        raise failure[0]
    return "".join(parts).strip(), stopped


def chat(cfg: Config, model: str | None = None, read: Callable[[str], str] = input,
         out: TextIO = sys.stdout) -> None:
    """A REPL: each line is a user turn; `/reset` clears the history, `/exit`, Ctrl-C at the
    prompt or EOF quits. Replies stream; Ctrl-C during one stops it (what was said is kept)."""
    check_generate(cfg, model)
    m, tok = load(cfg, model)
    m.eval()
    template, opts = get_template(cfg.template.name), template_options(cfg.template)
    history: list[Turn] = []
    print("instructune chat — /reset clears the conversation, /exit quits; Ctrl-C stops a reply", file=out)
    while True:
        try:
            line = read("you> ").strip()
        except (EOFError, KeyboardInterrupt):
            break
        if line in ("/exit", "/quit"):
            break
        if line == "/reset":
            history = []
            print("(history cleared)", file=out)
            continue
        if not line:
            continue
        rec = Record(id="chat", instruction=line, response="", history=list(history))
        out.write("model> ")
        out.flush()
        prompt, segments = render_prompt_segments(rec, tok, template, opts)
        reply, stopped = stream_reply(m, tok, prompt, cfg.generate, out, segments)
        print(" (stopped)" if stopped else "", file=out, flush=True)
        history += [Turn("user", line), Turn("assistant", reply)]
