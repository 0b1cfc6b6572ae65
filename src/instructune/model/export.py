"""Export a trained run: the adapter, and a merged HF checkpoint that plain transformers loads.

    run/adapter/   peft adapter (adapter_config.json + adapter_model.safetensors) + tokenizer
    run/export/    merged weights + tokenizer + chat template + generation_config.json (the run's
                   sampling defaults); the model card (README.md) is written after by
                   `evaluate/card.py`, which reads the run's other files
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from torch import nn

from instructune.data.templates import AlpacaTemplate, get_template
from instructune.model.quantize import dequantized_merge, is_quantized
from instructune.rundir import RunDir

# Chat templates for the non-chat layouts, so the export's apply_chat_template reproduces
# the prompt the model was trained on (the Alpaca preamble from its one home, the template).
JINJA = {
    "inst": ("{% for m in messages %}{% if m['role'] == 'system' %}{{ m['content'] + '\n\n' }}"
             "{% elif m['role'] == 'user' %}{{ '[INST] ' + m['content'] + ' [/INST]' }}"
             "{% else %}{{ ' ' + m['content'] + eos_token }}{% endif %}{% endfor %}"),
    "alpaca": ("{% set ns = namespace(first=true) %}"
               "{% if messages[0]['role'] == 'system' %}{{ messages[0]['content'] + '\n\n' }}"
               "{% else %}{{ '" + AlpacaTemplate.PREAMBLE + "' }}{% endif %}"
               "{% for m in messages %}{% if m['role'] == 'user' %}"
               "{{ ('' if ns.first else '\n\n') + '### Instruction:\n' + m['content'] + '\n\n### Response:\n' }}"
               "{% set ns.first = false %}"
               "{% elif m['role'] == 'assistant' %}{{ m['content'] + eos_token }}{% endif %}{% endfor %}"),
}


def generation_config(model_config, sampling: dict[str, Any]):
    """A `GenerationConfig` of the run's `generate` section, with the model's special tokens.

    Temperature 0 is greedy (no sampling keys, so transformers does not warn about unused
    ones); "auto" needs the temperature head, an add-on the export does not carry, so it is
    greedy here too.
    """
    from transformers import GenerationConfig

    temp = sampling.get("temperature", 0.0)
    sample = isinstance(temp, (int, float)) and temp > 0
    kw: dict[str, Any] = {"max_new_tokens": sampling.get("max_new_tokens"), "do_sample": sample,
                          "repetition_penalty": sampling.get("repetition_penalty", 1.0)}
    if sample:
        kw.update(temperature=float(temp), top_p=sampling.get("top_p", 1.0), top_k=sampling.get("top_k", 0))
    ids = {k: getattr(model_config, k, None) for k in ("bos_token_id", "eos_token_id", "pad_token_id")}
    return GenerationConfig(**kw, **{k: v for k, v in ids.items() if v is not None})


def export_run(model: nn.Module, tokenizer, run_dir: str | Path, template_name: str,
               sampling: dict[str, Any] | None = None, dtype: str = "float32") -> dict[str, str]:
    """Save `adapter/` (peft models only) and `export/` (merged) under `run_dir`; `sampling`
    (the `generate` section as a dict) becomes export/generation_config.json.

    A LoRA model over a quantized base (`model.quantization`) is exported as a plain float
    checkpoint in `dtype` (the run's weights dtype): the base dequantized, then the adapter
    merged (`quantize.dequantized_merge`); this consumes `model`. Other models keep their dtype.

    Returns:
        {"adapter": path or "", "export": path}
    """
    run = RunDir(run_dir)
    out = {"adapter": "", "export": str(run.export)}
    if template_name in JINJA:
        tokenizer.chat_template = JINJA[template_name]
    elif hasattr(get_template(template_name), "chat_template"):  # a family's turn format
        tokenizer.chat_template = get_template(template_name).chat_template(tokenizer)
    if hasattr(model, "merge_and_unload"):
        model.save_pretrained(run.adapter)
        tokenizer.save_pretrained(run.adapter)
        out["adapter"] = str(run.adapter)
        merged = dequantized_merge(model, run.adapter, dtype) if is_quantized(model) else model.merge_and_unload()
    else:
        merged = model
    merged.config.use_cache = True
    if sampling is not None:
        merged.generation_config = generation_config(merged.config, sampling)
    merged.save_pretrained(run.export)
    tokenizer.save_pretrained(run.export)
    return out
