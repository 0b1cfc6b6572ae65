"""`instructune generate` (batched) and `instructune chat` (interactive REPL).

Prompts are rendered with the run's template exactly as in training, so a model tuned with
`inst` or `alpaca` is prompted the way it learned. Both verbs run on the generation engine
(`generation/engine.py`): `generate` calls its batched generate, chat streams each reply
through its batch worker, whose thread owns the model while the REPL's thread prints; Ctrl-C
during a reply stops that reply and the conversation goes on.
"""

from __future__ import annotations

import queue
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import TextIO

from rich.console import Console

from instructune.config import Config, ConfigError
from instructune.data.errors import DataError
from instructune.data.jsonio import write_jsonl
from instructune.data.prompts import load_prompts
from instructune.data.record import Record, Turn
from instructune.generation.batch_worker import BatchWorker, StreamJob
from instructune.generation.engine import Engine, Generation
from instructune.generation.load import load_for_inference
from instructune.generation.params import GenParams
from instructune.progress import RunProgress
from instructune.recipes.builders import inference_kwargs
from instructune.recipes.checks import check_generate


def load(cfg: Config, model: str | None) -> Engine:
    """The engine for a run dir, export dir, path or hub id (default cfg.model.name): its
    run's add-ons attached, prompts rendered with the `template` section, batches of
    `generate.batch_size`."""
    name = model or cfg.model.name
    m, tokenizer = load_for_inference(name, **inference_kwargs(cfg))
    return Engine(m, tokenizer, name=name, batch_size=cfg.generate.batch_size, template=cfg.template)


@contextmanager
def progress_bar(total: int, enabled: bool = True, console: Console | None = None
                 ) -> Iterator[Callable[[int, int], None]]:
    """A progress bar for `generate` on stderr: records done, tokens/s and ETA; yields the
    `on_batch(done, tokens)` to call after each batch. Off when disabled or when the console
    is not a terminal (a pipe or a log file gets no bar)."""
    console = console or Console(stderr=True)
    t0 = time.perf_counter()
    with RunProgress("generate", total, fields="{task.fields[rate]}", remaining=True,
                     enabled=enabled and console.is_terminal, console=console, rate="") as bar:
        yield lambda done, tokens: bar.update(done, rate=f"{tokens / max(time.perf_counter() - t0, 1e-9):.1f} tok/s")


def generate(cfg: Config, records: list[Record], model: str | None = None,
             on_batch: Callable[[int, int], None] | None = None) -> list[Generation]:
    """Responses for `records` (their instruction, context, history), in order, text stripped.

    Args:
        on_batch: called after each batch with (records done, tokens generated so far).
    """
    engine = load(cfg, model)
    prompts, segments = engine.record_prompts(records)
    gens = engine.generate(prompts, GenParams.from_config(cfg.generate), segments, on_batch=on_batch)
    for g in gens:
        g.text = g.text.strip()
    return gens


def empty_input(path: str) -> str:
    """Why an --input file gave no prompts: it is empty (or blank), or none of its rows is one."""
    with open(path, encoding="utf-8", errors="replace") as f:
        blank = not f.read(1 << 16).strip()
    if blank:
        return "--input: the file is empty; give one prompt per row (any training format, or {\"prompt\": ...})"
    return "--input: the file holds no prompts (no rows); give one prompt per row"


def main(cfg: Config, prompts: list[str], input_file: str | None = None, output: str | None = None,
         model: str | None = None, console: Console | None = None, progress: bool = True) -> list[dict]:
    """Answer `prompts` and the records of `input_file`; write JSONL to `output` or print.

    Args:
        progress: show a progress bar on stderr (only when it is a terminal).
    Returns:
        one row per prompt: id, instruction, context, generation; with temperature "auto",
        also the temperature the model's head chose for the prompt.
    """
    console = console or Console()
    check_generate(cfg, model, input_file)
    records = [Record(id=f"prompt-{i}", instruction=p, response="") for i, p in enumerate(prompts)]
    if input_file:
        from_file = load_prompts([input_file])  # prompt-only rows too (no response needed)
        if not from_file:
            raise DataError(input_file, empty_input(input_file))
        records += from_file
    if not records:
        raise ConfigError("give --prompt TEXT (repeatable) or --input FILE")
    with progress_bar(len(records), progress) as on_batch:
        gens = generate(cfg, records, model, on_batch=on_batch)
    auto = cfg.generate.temperature == "auto"
    rows = [{"id": r.id, "instruction": r.instruction, "context": r.context, "generation": g.text,
             **({"temperature": round(g.temperature, 4)} if auto else {})}
            for r, g in zip(records, gens)]
    if output:
        write_jsonl(output, rows)
        console.print(f"wrote {len(rows)} generations to {output}")
    else:
        for row in rows:
            at = f" (temperature {row['temperature']:g})" if "temperature" in row else ""
            console.print(f"[bold]> {row['instruction']}[/bold]{at}\n{row['generation']}\n")
    return rows


def stream_reply(worker: BatchWorker, prompt: list[int], segments: list[int], params: GenParams,
                 out: TextIO) -> tuple[str, bool]:
    """Generate one reply on `worker`'s thread, writing it to `out` piece by piece.

    Ctrl-C (KeyboardInterrupt, which only the main thread receives) cancels the job, so the
    worker ends after its current token; nothing more is printed.

    Returns:
        (the reply as printed, stripped; whether Ctrl-C stopped it).
    """
    events: queue.Queue = queue.Queue()
    job = StreamJob([prompt], params, strip=True, emit=events.put, segments=[segments])
    worker.submit_stream(job)
    parts: list[str] = []
    failures: list[BaseException] = []
    stopped = False
    try:
        while (event := events.get())[0] != "end":
            if event[0] == "text":
                out.write(event[2])
                out.flush()
                parts.append(event[2])
            elif event[0] == "error":
                failures.append(event[1])
    except KeyboardInterrupt:
        job.cancelled.set()
        stopped = True
        while (event := events.get())[0] != "end":  # the worker ends the job; nothing more is shown
            if event[0] == "error":
                failures.append(event[1])
    if failures:
        raise failures[0]
    return "".join(parts).strip(), stopped


def chat(cfg: Config, model: str | None = None, read: Callable[[str], str] = input,
         out: TextIO = sys.stdout) -> None:
    """A REPL: each line is a user turn; `/reset` clears the history, `/exit`, Ctrl-C at the
    prompt or EOF quits. Replies stream; Ctrl-C during one stops it (what was said is kept)."""
    check_generate(cfg, model)
    engine = load(cfg, model)
    worker, params = BatchWorker(engine), GenParams.from_config(cfg.generate)
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
        out.write("model> ")
        out.flush()
        (prompt,), (segments,) = engine.record_prompts([Record(id="chat", instruction=line, response="",
                                                               history=list(history))])
        reply, stopped = stream_reply(worker, prompt, segments, params, out)
        print(" (stopped)" if stopped else "", file=out, flush=True)
        history += [Turn("user", line), Turn("assistant", reply)]
