"""The `model` section: the base model."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from instructune.config.errors import require

# transformers' own backends plus this project's `varlen` (model/attention.py). Hub kernels
# ("kernels-community/flash-attn2", ...) and paged variants ("paged|sdpa") pass as written.
ATTENTION = ("auto", "varlen", "sdpa", "eager", "flex_attention", "flash_attention_2", "flash_attention_3",
             "flash_attention_4")


@dataclass
class ModelConfig:
    """The base model.

    Attributes:
        name: "smollm2-135m-instruct" (the embedded default, offline), a local path or a hub id.
        dtype: dtype of the loaded weights. "auto": for LoRA training, the frozen base weights
            in the mixed-precision dtype (bf16 on GPUs that have it) and float32 when
            `train.mixed_precision` resolves to "no" (CPUs); for full fine-tuning float32
            (the master weights; compute runs in bf16 under autocast); for inference bf16 on
            GPUs, float32 on CPUs. Trained parameters are always kept in float32.
        attn_implementation: "auto" (training on a CUDA GPU: `varlen`, flash attention per
            packed record; otherwise "sdpa"), "varlen", or any backend transformers accepts
            ("sdpa", "eager", "flex_attention", "flash_attention_2", a hub kernel, ...).
            Packing / padding-free batches are refused at start when the chosen backend would
            let records attend to each other (`data/pack.py`).
        quantization: "none", "4bit" or "8bit": load the frozen base weights quantized through
            bitsandbytes for LoRA training (QLoRA). "4bit" is NF4 with double quantization,
            computing in the run's weights dtype (bf16 on GPUs that have it, float32 on CPUs,
            where bf16 is far slower); "8bit" is LLM.int8. Norms, embeddings and the LM head
            stay unquantized, in float32 (peft's k-bit preparation). Refused with full
            fine-tuning, lora.fuse_adapters=true, EWC and weight-split training
            (`model/quantize.py`); the export is dequantized with the adapter merged.
    """

    name: str = "smollm2-135m-instruct"
    dtype: Literal["auto", "float32", "bfloat16", "float16"] = "auto"
    attn_implementation: str = "auto"
    quantization: Literal["none", "4bit", "8bit"] = "none"

    def __post_init__(self) -> None:
        a = self.attn_implementation
        require(a in ATTENTION or "/" in a or a.startswith("paged|"), "attn_implementation",
                f"got {a!r}; expected one of {', '.join(ATTENTION)}, a hub kernel (org/name) or paged|<backend>")
