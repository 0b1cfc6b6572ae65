"""Generation-based evaluation during training: a small held-out subset, greedy, batched.

    probe = GenerationProbe(records, prompts, render, max_new_tokens=96, batch_size=8)
    probe(model, tokenizer)   # {"gen_rouge_l": 0.31, "gen_if_loose": 0.25, "gen_eval_s": 12.4}

It generates with the KV cache and keeps only token ids (never logits), so its memory does
not grow with the vocabulary or the number of records; its cost is reported with it.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass

from instructune.data.record import Record
from instructune.evaluate import ifeval
from instructune.evaluate.metrics import final_answer, rouge_l
from instructune.generation.batched import generate_text
from instructune.generation.params import GenParams


@dataclass
class GenerationProbe:
    """What to generate on, and how.

    Attributes:
        records: held-out records (ROUGE-L against their responses).
        prompts: IFEval prompts (loose prompt-level pass rate).
        render: record → (prompt token ids, their segment ids), as the run's template renders
            them (`render_prompt_segments`).
        max_new_tokens: generation length.
        batch_size: prompts per generate call.
        rationale_separator: chain-of-thought records are scored on the text after it.
    """

    records: list[Record]
    prompts: list
    render: Callable[[Record], tuple[list[int], list[int]]]
    max_new_tokens: int = 96
    batch_size: int = 8
    rationale_separator: str = "\nAnswer: "

    def __call__(self, model, tokenizer) -> dict[str, float]:
        t0 = time.perf_counter()
        was_training = model.training
        params = GenParams(max_new_tokens=self.max_new_tokens, temperature=0.0)
        if_records = [Record(id=f"ifeval-{p.key}", instruction=p.prompt, response="") for p in self.prompts]
        rendered = [self.render(r) for r in self.records + if_records]
        texts = generate_text(model, tokenizer, [p for p, _ in rendered], params, self.batch_size,
                              [s for _, s in rendered])
        model.train(was_training)
        out: dict[str, float] = {}
        if self.records:
            held = texts[:len(self.records)]
            preds = [final_answer(t, self.rationale_separator) if r.rationale else t for t, r in zip(held, self.records)]
            out["gen_rouge_l"] = sum(rouge_l(p, r.response) for p, r in zip(preds, self.records)) / len(self.records)
        if self.prompts:
            verdicts, _ = ifeval.score(self.prompts, {p.prompt: t for p, t in zip(self.prompts, texts[len(self.records):])})
            out["gen_if_loose"] = sum(v.follow_all_instructions_loose for v in verdicts) / len(verdicts)
        out["gen_eval_s"] = time.perf_counter() - t0
        return out
