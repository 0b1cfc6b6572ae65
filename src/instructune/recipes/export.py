"""`instructune export RUN --gguf f16|q8_0 [--output FILE]`: a trained run's merged export/ as
one GGUF file (`model/gguf_export.py`), for llama.cpp, Ollama and the like.

The default output is RUN/model-<quant>.gguf (`rundir.gguf_name`), so `train --overwrite`
removes it with the model it came from. The run's add-ons are not in export/, so not in the
GGUF either: this says so, and the model card records it.
"""

from __future__ import annotations

from pathlib import Path

from instructune.config import ConfigError
from instructune.evaluate.card import enabled_addons
from instructune.model.gguf_export import GGUFExportError, family_of, read_config, write_gguf
from instructune.rundir import RunDir, gguf_name, saved_config


def main(run_dir: str, quant: str, output: str | None = None, say=print) -> dict:
    """Write the GGUF of the run in `run_dir` (or of a bare HF checkpoint dir); returns what
    `write_gguf` returns.

    Raises:
        ConfigError: not a finished run or checkpoint dir, or a family / tokenizer GGUF cannot hold.
    """
    run = RunDir(run_dir)
    source = run.export if run.has_export() else Path(run_dir)
    if not (source / "config.json").is_file():
        raise ConfigError(f"export: {run_dir} holds no merged model (no export/config.json: has training finished?)")
    try:
        family_of(read_config(source))  # refuse before the weights load
    except GGUFExportError as e:
        raise ConfigError(f"export {e}") from None
    out = Path(output) if output else run.root / gguf_name(quant)
    addons = enabled_addons(saved_config(run.root) or {}) if run.has_export() else []
    if addons:
        say(f"note: add-ons {', '.join(addons)} are not in the GGUF (nor in export/): llama.cpp runs the model "
            f"without them; `instructune chat --model {run_dir}` keeps them")
    try:
        res = write_gguf(source, out, quant)
    except GGUFExportError as e:
        raise ConfigError(f"export {e}") from None
    say(f"wrote {res['output']} ({res['arch']}, {quant}, {res['tensors']} tensors, {res['bytes'] / 2**20:.1f} MiB)")
    return res
