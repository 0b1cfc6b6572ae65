"""Quantized bases through bitsandbytes (QLoRA): load 4-bit / 8-bit, prepare for LoRA, export.

    qc = quantization_config("4bit", "float32")        # transformers' BitsAndBytesConfig, or None
    model = AutoModelForCausalLM.from_pretrained(path, quantization_config=qc, ...)
    prepare_quantized(model)                             # peft's k-bit preparation, before LoRA
    merged = dequantized_merge(peft_model, adapter_dir, "float32")   # for export/

"4bit" is NF4 with double quantization (the QLoRA recipe); the matmuls dequantize to the
compute dtype, which follows the run's weights dtype: bf16 on GPUs that have it, float32 on
CPUs (bf16 matmuls are emulated there and ~25x slower). "8bit" is LLM.int8 (outlier columns
in fp16, the rest int8; it quantizes activations too, so its forward is not exactly the
dequantized weights' forward). Only the decoder's Linear layers are quantized: embeddings,
norms and the LM head stay float (transformers skips the output embeddings, and peft's
preparation casts the half-precision ones to float32 so they are not a precision bottleneck).

What a quantized base cannot train with is refused before the model loads
(`train/build.py: quantization_refusal`, run by `recipes/checks.py` and by `assemble`): full
fine-tuning, lora.fuse_adapters=true (the fused LoRA linears cover float base weights only), EWC (its Fisher needs the base weights' gradients) and FSDP.
"""

from __future__ import annotations

import logging
from pathlib import Path

import torch
from torch import nn

QUANTIZATIONS = ("none", "4bit", "8bit")


def quantization_config(quantization: str, compute_dtype: str):
    """transformers' `BitsAndBytesConfig` for `quantization`, or None for "none".

    Args:
        quantization: "none" | "4bit" | "8bit".
        compute_dtype: dtype name the 4-bit matmuls run in ("bfloat16", "float32", ...): the
            run's weights dtype.
    """
    if quantization == "none":
        return None
    from transformers import BitsAndBytesConfig

    quiet_int8_warning()
    if quantization == "4bit":
        return BitsAndBytesConfig(load_in_4bit=True, bnb_4bit_quant_type="nf4", bnb_4bit_use_double_quant=True,
                                  bnb_4bit_compute_dtype=getattr(torch, compute_dtype))
    if quantization == "8bit":
        return BitsAndBytesConfig(load_in_8bit=True)
    raise ValueError(f"model.quantization: got {quantization!r}; expected one of {', '.join(QUANTIZATIONS)}")


def is_quantized(model: nn.Module) -> bool:
    """Whether `model` (a transformers model, or peft-wrapped) was loaded 4-bit or 8-bit."""
    base = model.get_base_model() if hasattr(model, "get_base_model") else model
    return bool(getattr(base, "is_loaded_in_4bit", False) or getattr(base, "is_loaded_in_8bit", False))


def quantized_linears(model: nn.Module) -> dict[str, nn.Module]:
    """{module name: bitsandbytes Linear4bit / Linear8bitLt} of `model`."""
    import bitsandbytes as bnb

    kinds = (bnb.nn.Linear4bit, bnb.nn.Linear8bitLt)
    return {n: m for n, m in model.named_modules() if isinstance(m, kinds)}


def prepare_quantized(model: nn.Module) -> nn.Module:
    """peft's k-bit preparation of a freshly loaded quantized model, before LoRA wraps it:
    every base parameter frozen, the half-precision ones that stay unquantized (norms,
    embeddings, LM head) cast to float32. Activation checkpointing is left to the caller
    (`setup.enable_activation_checkpointing`, non-reentrant, so the inputs need no grad)."""
    from peft import prepare_model_for_kbit_training

    keep_4bit_layout(model)
    return prepare_model_for_kbit_training(model, use_gradient_checkpointing=False)


def keep_4bit_layout(model: nn.Module) -> None:
    """Keep bitsandbytes from repacking the 4-bit weights of a model that trains.

    On a CPU with AVX512-BF16, a `Linear4bit` forward in eval mode without gradients (a
    held-out evaluation, the generation probe) repacks its weight in place for a bf16 inference
    kernel. The layer keeps that layout when training resumes, and its next training forward
    fails ("a view of a leaf Variable that requires grad is being used in an in-place
    operation"); its eval-mode logits are also bf16-rounded, not the dequantized float ones
    training sees. So a training run's 4-bit layers never repack."""
    import bitsandbytes as bnb

    for layer in model.modules():
        if isinstance(layer, bnb.nn.Linear4bit):
            layer.support_avx512bf16_for_cpu = False  # read by Linear4bit.forward on each call


def dequantized_merge(model: nn.Module, adapter_dir: str | Path, dtype: str) -> nn.Module:
    """A plain float model: `model`'s quantized base dequantized to `dtype`, with the adapter
    saved in `adapter_dir` merged into it. Consumes `model` (its LoRA layers are removed).

    Dequantizing first and merging in float keeps the merged weights exactly the trained
    model's W_deq + ΔW; peft's merge on a quantized layer would quantize the sum again.

    Args:
        model: the trained peft model over a quantized base.
        adapter_dir: where `model.save_pretrained` wrote its adapter.
        dtype: "float32" | "bfloat16" | "float16", the export's weights dtype.
    """
    from peft import PeftModel

    base = model.unload()  # peft's: the base model back, its bitsandbytes layers as they were
    base = base.dequantize(dtype=getattr(torch, dtype))  # transformers': Linear layers, no quantization_config
    base.to(getattr(torch, dtype))  # the unquantized parameters (float32 after preparation) too
    return PeftModel.from_pretrained(base, str(adapter_dir)).merge_and_unload()


class _Once(logging.Filter):
    """Let each distinct message through once."""

    def __init__(self) -> None:
        super().__init__()
        self.seen: set[str] = set()

    def filter(self, record: logging.LogRecord) -> bool:
        key = str(record.msg)
        if key in self.seen:
            return False
        self.seen.add(key)
        return True


def quiet_int8_warning() -> None:
    """bitsandbytes logs "MatMul8bitLt: inputs will be cast from float32 to float16" on every
    8-bit matmul with float32 inputs (every layer of every step on a CPU); show it once."""
    logger = logging.getLogger("bitsandbytes.autograd._functions")
    if not any(isinstance(f, _Once) for f in logger.filters):
        logger.addFilter(_Once())
