"""Export a trained run: the adapter, and a merged HF checkpoint that plain transformers loads.

    run/adapter/   peft adapter (adapter_config.json + adapter_model.safetensors) + tokenizer
    run/export/    merged weights + tokenizer + chat template
"""

from __future__ import annotations

from pathlib import Path

from torch import nn

from instructune.data.templates import get_template
from instructune.model.quantize import dequantized_merge, is_quantized
from instructune.rundir import RunDir

# Chat templates for the non-chat layouts, so the export's apply_chat_template reproduces
# the prompt the model was trained on.
JINJA = {
    "inst": ("{% for m in messages %}{% if m['role'] == 'system' %}{{ m['content'] + '\n\n' }}"
             "{% elif m['role'] == 'user' %}{{ '[INST] ' + m['content'] + ' [/INST]' }}"
             "{% else %}{{ ' ' + m['content'] + eos_token }}{% endif %}{% endfor %}"),
    "alpaca": ("{% set ns = namespace(first=true) %}"
               "{% if messages[0]['role'] == 'system' %}{{ messages[0]['content'] + '\n\n' }}"
               "{% else %}{{ 'Below is an instruction that describes a task. Write a response that "
               "appropriately completes the request.\n\n' }}{% endif %}"
               "{% for m in messages %}{% if m['role'] == 'user' %}"
               "{{ ('' if ns.first else '\n\n') + '### Instruction:\n' + m['content'] + '\n\n### Response:\n' }}"
               "{% set ns.first = false %}"
               "{% elif m['role'] == 'assistant' %}{{ m['content'] + eos_token }}{% endif %}{% endfor %}"),
}


def export_run(model: nn.Module, tokenizer, run_dir: str | Path, template_name: str,
               dtype: str = "float32") -> dict[str, str]:
    """Save `adapter/` (peft models only) and `export/` (merged) under `run_dir`.

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
    merged.save_pretrained(run.export)
    tokenizer.save_pretrained(run.export)
    return out
