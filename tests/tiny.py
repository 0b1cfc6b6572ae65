"""A tiny seeded Llama (2 layers, 64 dims) with a byte-level BPE tokenizer, built offline.

The tokenizer is trained on the starter set's text and carries a ChatML chat template like
SmolLM2's, with the same special tokens, so every template and code path runs as on the
real model, in milliseconds.
"""

from __future__ import annotations

import json
from pathlib import Path

import torch

CHATML = ("{% for message in messages %}{% if loop.first and messages[0]['role'] != 'system' %}"
          "{{ '<|im_start|>system\\nYou are a helpful assistant.<|im_end|>\\n' }}{% endif %}"
          "{{'<|im_start|>' + message['role'] + '\\n' + message['content'] + '<|im_end|>' + '\\n'}}"
          "{% endfor %}{% if add_generation_prompt %}{{ '<|im_start|>assistant\\n' }}{% endif %}")
SPECIALS = ["<|endoftext|>", "<|im_start|>", "<|im_end|>"]


# The tiny tokenizer is trained on the starter set as it first was (160 training and 30 held-out
# records): golden generations and losses across the suite depend on its vocabulary, so records
# added to the set later stay out of it.
FIRST_TRAIN_RECORDS = 160


def first_starter_lines(split: str) -> list[str]:
    """The JSONL lines of a starter split as the set first was (the first 160 of train)."""
    from instructune.data.starter import STARTER_DIR

    lines = (STARTER_DIR / f"{split}.jsonl").read_text(encoding="utf-8").splitlines(True)
    return lines[:FIRST_TRAIN_RECORDS] if split == "train" else lines


def first_starter_train(directory: Path) -> Path:
    """A file of the starter set's first 160 training records, the set the golden numbers and
    tolerances of some training tests were recorded on; returns its path."""
    path = Path(directory) / "starter_first_160.jsonl"
    path.write_text("".join(first_starter_lines("train")), encoding="utf-8")
    return path


def corpus() -> list[str]:
    from instructune.data.starter import STARTER_DIR

    texts = []
    for f in sorted(STARTER_DIR.glob("*.jsonl")):
        for line in first_starter_lines(f.stem):
            r = json.loads(line)
            texts += [r["instruction"], r["context"], r["response"], r["rationale"]]
    texts += ["### Instruction:\n", "### Response:\n", "### Input:\n", "Below is an instruction"]
    return [t for t in texts if t]


def build_tiny(out: str | Path, seed: int = 0, vocab_size: int = 1024) -> Path:
    """Write a tiny model + tokenizer to `out`; returns the path."""
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers
    from transformers import LlamaConfig, LlamaForCausalLM, PreTrainedTokenizerFast

    out = Path(out)
    tok = Tokenizer(models.BPE())
    tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    tok.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(vocab_size=vocab_size, special_tokens=SPECIALS,
                                  initial_alphabet=pre_tokenizers.ByteLevel.alphabet(), show_progress=False)
    tok.train_from_iterator(corpus(), trainer)
    hf = PreTrainedTokenizerFast(tokenizer_object=tok, bos_token="<|im_start|>", eos_token="<|im_end|>",
                                 pad_token="<|im_end|>", unk_token="<|endoftext|>")
    hf.chat_template = CHATML
    hf.save_pretrained(out)
    torch.manual_seed(seed)
    cfg = LlamaConfig(vocab_size=len(hf), hidden_size=64, intermediate_size=128, num_hidden_layers=2,
                      num_attention_heads=4, num_key_value_heads=2, max_position_embeddings=1024,
                      tie_word_embeddings=True, bos_token_id=hf.bos_token_id, eos_token_id=hf.eos_token_id,
                      pad_token_id=hf.pad_token_id)
    model = LlamaForCausalLM(cfg)
    model.save_pretrained(out)
    return out


# Evaluation settings that keep the tiny model's suites fast: a random model never stops early,
# so every generation runs to its cap.
FAST_EVAL = ["eval.ifeval_max_prompts=4", "eval.ifeval_max_new_tokens=8", "eval.forgetting_max_tokens=256"]
