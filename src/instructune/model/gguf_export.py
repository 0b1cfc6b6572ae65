"""A merged export (an HF checkpoint dir) → one GGUF file, for llama.cpp and friends.

    write_gguf(export_dir, "run-f16.gguf", "f16")     # or "q8_0"

Built on the `gguf` package: its `GGUFWriter`, the tensor names of `gguf.TensorNameMap`, the
tokenizer readers of `gguf.vocab` and the Q8_0 quantizer of `gguf.quants`. What it lacks and
we add: the per-family hyperparameter keys, llama.cpp's row order of the rotary query / key
weights for Llama-shaped models (`rope_rows`), and which tensors stay F32.

Families: those transformers can also read back from GGUF and whose decoder the name map
covers with no extra tensors: Llama (SmolLM2 is one), Mistral without a sliding window (written
as llama, as llama.cpp does) and Qwen2. Any other family is refused in one line before
anything is written. Add-ons (model/addons) are not part of the export and so not of the GGUF.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

QUANTS = ("f16", "q8_0")


@dataclass(frozen=True)
class Family:
    """How one transformers `model_type` is written.

    Attributes:
        arch: the GGUF architecture name (a `gguf.MODEL_ARCH` member's name).
        rope_rows: llama.cpp keeps each head's rotary pairs interleaved, so q_proj / k_proj rows
            are reordered for it (Llama-shaped models; transformers undoes it on reading).
    """

    arch: str
    rope_rows: bool


FAMILIES = {"llama": Family("LLAMA", True), "mistral": Family("LLAMA", True), "qwen2": Family("QWEN2", False)}


class GGUFExportError(ValueError):
    """The checkpoint cannot be written as GGUF (its family, its tokenizer, its rope scaling)."""


def read_config(export_dir: Path) -> dict[str, Any]:
    """The export's config.json."""
    path = Path(export_dir) / "config.json"
    if not path.is_file():
        raise FileNotFoundError(f"{path} is missing: not a merged export (train writes RUN/export/)")
    return json.loads(path.read_text())


def family_of(config: dict[str, Any]) -> Family:
    """The family entry for a config.json, or a one-line refusal."""
    kind = config.get("model_type")
    if kind not in FAMILIES:
        raise GGUFExportError(f"--gguf: model_type {kind!r} is not supported; supported: {', '.join(FAMILIES)}")
    if kind == "mistral" and config.get("sliding_window"):
        raise GGUFExportError("--gguf: a Mistral model with a sliding window is not supported (llama.cpp's "
                              "llama architecture has none)")
    rope = config.get("rope_scaling") or {}
    if rope.get("rope_type", rope.get("type", "default")) not in ("default", None):
        raise GGUFExportError(f"--gguf: rope scaling {rope.get('rope_type', rope.get('type'))!r} is not written "
                              "yet; only plain rotary embeddings")
    return FAMILIES[kind]


def rope_theta(config: dict[str, Any]) -> float:
    """The rotary base, where transformers 5 (rope_parameters) or 4 (rope_theta) keeps it."""
    params = config.get("rope_parameters") or {}
    return float(params.get("rope_theta", config.get("rope_theta", 10000.0)))


def rope_rows(w: np.ndarray, heads: int) -> np.ndarray:
    """Reorder a q_proj / k_proj weight's rows from transformers' half-split rotary layout to
    llama.cpp's interleaved one (the inverse of what transformers' GGUF reader applies).

    Within each head's block of `head_dim` rows, transformers rotates row i with row i + half;
    llama.cpp rotates neighbours 2i and 2i + 1. So output row 2i + s of a head takes input row
    s·half + i (s = 0, 1).

    Args:
        w: (heads·head_dim, ...) weight.
        heads: attention heads of this projection (key-value heads for k_proj).
    """
    head_dim = w.shape[0] // heads
    j = np.arange(head_dim)
    within = (j % 2) * (head_dim // 2) + j // 2           # (head_dim,) source row inside a head
    return w[(np.arange(heads)[:, None] * head_dim + within).reshape(-1)]


def add_hparams(writer, config: dict[str, Any], name: str, ftype: int) -> None:
    """The model's shape keys under the architecture's prefix."""
    heads = config["num_attention_heads"]
    hidden = config["hidden_size"]
    writer.add_name(name)
    writer.add_context_length(config.get("max_position_embeddings", 2048))
    writer.add_embedding_length(hidden)
    writer.add_block_count(config["num_hidden_layers"])
    writer.add_feed_forward_length(config["intermediate_size"])
    writer.add_head_count(heads)
    writer.add_head_count_kv(config.get("num_key_value_heads", heads))
    writer.add_rope_dimension_count(config.get("head_dim") or hidden // heads)
    writer.add_rope_freq_base(rope_theta(config))
    writer.add_layer_norm_rms_eps(config.get("rms_norm_eps", 1e-6))
    writer.add_vocab_size(config["vocab_size"])
    writer.add_file_type(ftype)


def add_tokenizer(writer, export_dir: Path, vocab_size: int) -> None:
    """Tokens, their types, merges, special ids and the chat template, read by `gguf.vocab`.

    Byte-level BPE (GPT-2 style, as SmolLM2's) and Llama sentencepiece-as-BPE tokenizers are
    read; token ids beyond the tokenizer (a padded embedding) become unused `[PAD<i>]` tokens,
    as llama.cpp's converter writes them.
    """
    import gguf
    from gguf.vocab import BpeVocab, LlamaHfVocab, SpecialVocab

    try:
        vocab = BpeVocab(export_dir)
    except FileNotFoundError:
        try:
            vocab = LlamaHfVocab(export_dir)
        except (FileNotFoundError, TypeError) as e:
            raise GGUFExportError(f"--gguf: {export_dir}/tokenizer.json is neither a byte-level BPE nor a "
                                  f"Llama tokenizer ({e})") from None
    tokens, scores, types = [], [], []
    for text, score, kind in vocab.all_tokens():
        tokens.append(text)
        scores.append(score)
        types.append(kind)
    # The special tokens a tokenizer trained them into its vocabulary are read as normal
    # ones; llama.cpp must see them as control tokens or it prints them.
    special = {t["id"] for t in json.loads((export_dir / "tokenizer.json").read_text()).get("added_tokens", [])
               if t.get("special")}
    types = [gguf.TokenType.CONTROL if i in special else t for i, t in enumerate(types)]
    for i in range(len(tokens), vocab_size):
        tokens.append(f"[PAD{i}]".encode())
        scores.append(-1000.0)
        types.append(gguf.TokenType.UNUSED)
    writer.add_tokenizer_model(vocab.tokenizer_model)
    if vocab.tokenizer_model == "gpt2":
        writer.add_tokenizer_pre("default")  # the GPT-2 split pattern; llama.cpp's fallback
    writer.add_token_list(tokens)
    writer.add_token_scores(scores)
    writer.add_token_types(types)
    SpecialVocab(export_dir, load_merges=vocab.tokenizer_model == "gpt2", n_vocab=len(tokens)).add_to_gguf(
        writer, quiet=True)


def encode(w: np.ndarray, gguf_name: str, quant: str):
    """(data, raw dtype) for one tensor: norms and biases (1-D) stay F32 as in llama.cpp;
    matrices are F16, or Q8_0 where each row is whole 32-value blocks (else F16)."""
    from gguf import GGMLQuantizationType as Q
    from gguf import quants

    if w.ndim == 1:
        return w.astype(np.float32), Q.F32
    if quant == "q8_0" and w.shape[-1] % quants.GGML_QUANT_SIZES[Q.Q8_0][0] == 0:
        return quants.quantize(w.astype(np.float32), Q.Q8_0), Q.Q8_0
    return w.astype(np.float16), Q.F16


def gguf_tensors(state: dict[str, Any], config: dict[str, Any], family: Family, arch) -> list[tuple[str, np.ndarray]]:
    """(GGUF name, float32 array) for every weight, in llama.cpp's layout; a tied LM head is
    left out (the reader ties it back when output.weight is absent)."""
    import gguf

    names = gguf.get_tensor_name_map(arch, config["num_hidden_layers"])
    heads = config["num_attention_heads"]
    kv_heads = config.get("num_key_value_heads", heads)
    tied = config.get("tie_word_embeddings", False)
    out = []
    for hf_name, t in state.items():
        if hf_name.endswith("rotary_emb.inv_freq") or (tied and hf_name == "lm_head.weight"):
            continue
        name = names.get_name(hf_name, try_suffixes=(".weight", ".bias"))
        if name is None:
            raise GGUFExportError(f"--gguf: no GGUF name for tensor {hf_name!r} of a {config['model_type']} model")
        w = t.detach().float().cpu().numpy()
        if family.rope_rows and hf_name.endswith(("q_proj.weight", "k_proj.weight")):
            w = rope_rows(w, heads if "q_proj" in hf_name else kv_heads)
        out.append((name, w))
    return out


def write_gguf(export_dir: str | Path, output: str | Path, quant: str) -> dict[str, Any]:
    """Write the merged checkpoint in `export_dir` as one GGUF file at `output` (atomically).

    Args:
        export_dir: an HF checkpoint dir (config.json, safetensors, tokenizer.json).
        output: the .gguf file to write.
        quant: "f16" or "q8_0".
    Returns:
        {"output", "arch", "quant", "tensors", "bytes"}
    Raises:
        GGUFExportError: an unsupported family, tokenizer or rope scaling (before any write).
        FileNotFoundError: `export_dir` is not a merged export.
    """
    import gguf
    import torch
    from transformers import AutoModelForCausalLM

    from instructune.atomic import atomic_path

    if quant not in QUANTS:
        raise GGUFExportError(f"--gguf: got {quant!r}; expected one of {', '.join(QUANTS)}")
    export_dir = Path(export_dir)
    config = read_config(export_dir)
    family = family_of(config)
    arch = getattr(gguf.MODEL_ARCH, family.arch)
    model = AutoModelForCausalLM.from_pretrained(export_dir, dtype=torch.float32)
    config["vocab_size"] = model.get_input_embeddings().weight.shape[0]
    tensors = gguf_tensors(model.state_dict(), config, family, arch)
    del model
    ftype = gguf.LlamaFileType.MOSTLY_F16 if quant == "f16" else gguf.LlamaFileType.MOSTLY_Q8_0
    with atomic_path(output) as tmp:
        writer = gguf.GGUFWriter(str(tmp), gguf.MODEL_ARCH_NAMES[arch])
        add_hparams(writer, config, Path(output).stem, ftype)
        add_tokenizer(writer, export_dir, config["vocab_size"])
        for name, w in tensors:
            data, dtype = encode(w, name, quant)
            writer.add_tensor(name, data, raw_dtype=dtype)
        writer.write_header_to_file()
        writer.write_kv_data_to_file()
        writer.write_tensors_to_file()
        writer.close()
    return {"output": str(output), "arch": gguf.MODEL_ARCH_NAMES[arch], "quant": quant, "tensors": len(tensors),
            "bytes": Path(output).stat().st_size}
