"""`instructune generate` (batched) and `instructune chat` (interactive REPL).

Prompts are rendered with the run's template exactly as in training, so a model tuned with
`inst` or `alpaca` is prompted the way it learned.
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from typing import TextIO

from rich.console import Console

from instructune.config import Config, ConfigError
from instructune.data.inputs import load_inputs
from instructune.data.jsonio import write_jsonl
from instructune.data.record import Record, Turn
from instructune.data.render import render_prompt
from instructune.data.templates import get_template
from instructune.model.load import resolve_tuned
from instructune.recipes.builders import model_for_template, template_options
from instructune.recipes.checks import check_generate
from instructune.serve.generation import generate_text


def load(cfg: Config, model: str | None):
    """(model, tokenizer) for a run dir, export dir, path or hub id (default cfg.model.name)."""
    m, tok, _ = model_for_template(cfg, resolve_tuned(model) if model else None)
    return m, tok


def generate(cfg: Config, records: list[Record], model: str | None = None) -> list[str]:
    """Responses for `records` (their instruction, context, history)."""
    m, tok = load(cfg, model)
    template, opts = get_template(cfg.template.name), template_options(cfg.template)
    prompts = [render_prompt(r, tok, template, opts) for r in records]
    return generate_text(m, tok, prompts, cfg.generate)


def main(cfg: Config, prompts: list[str], input_file: str | None = None, output: str | None = None,
         model: str | None = None, console: Console | None = None) -> list[dict]:
    """Answer `prompts` and the records of `input_file`; write JSONL to `output` or print.

    Returns:
        one row per prompt: id, instruction, context, generation.
    """
    console = console or Console()
    check_generate(cfg, model, input_file)
    records = [Record(id=f"prompt-{i}", instruction=p, response="") for i, p in enumerate(prompts)]
    if input_file:
        records += load_inputs([input_file])
    if not records:
        raise ConfigError("give --prompt TEXT (repeatable) or --input FILE")
    texts = generate(cfg, records, model)
    rows = [{"id": r.id, "instruction": r.instruction, "context": r.context, "generation": t}
            for r, t in zip(records, texts)]
    if output:
        write_jsonl(output, rows)
        console.print(f"wrote {len(rows)} generations to {output}")
    else:
        for row in rows:
            console.print(f"[bold]> {row['instruction']}[/bold]\n{row['generation']}\n")
    return rows


def chat(cfg: Config, model: str | None = None, read: Callable[[str], str] = input,
         out: TextIO = sys.stdout) -> None:
    """A REPL: each line is a user turn; `/reset` clears the history, `/exit` or EOF quits."""
    check_generate(cfg, model)
    m, tok = load(cfg, model)
    template, opts = get_template(cfg.template.name), template_options(cfg.template)
    history: list[Turn] = []
    print("instructune chat — /reset clears the conversation, /exit quits", file=out)
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
        reply = generate_text(m, tok, [render_prompt(rec, tok, template, opts)], cfg.generate)[0]
        print(f"model> {reply}", file=out, flush=True)
        history += [Turn("user", line), Turn("assistant", reply)]
