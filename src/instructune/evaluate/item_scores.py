"""Per-item scores of one evaluated model, as `eval_items.json` keeps them for later pairing.

    table = item_table(ev.items, ev.verdicts, ev.ids)   # ev: a harness.ModelEval after its suites
    # {"sets.heldout.response_loss": {"ids": ["row-0", ...], "num": [nll sums], "den": [tokens]},
    #  "ifeval.prompt_level_loose": {"ids": [prompt keys], "num": [0/1], "den": [1, ...]},
    #  "ifeval.instruction_level_loose": {"ids": [prompt keys], "num": [followed], "den": [instructions]},
    #  "forgetting": {"ids": ["doc-0", ...], "num": [nll sums], "den": [predicted tokens]}, ...}

Every figure eval reports is a ratio of sums over its items, Σnum / Σden (a mean when every den
is 1; perplexity is exp of one), so one layout holds all of them. An item is what an evaluation
draws from a population: a held-out record, a verifiable prompt (its instructions stay together,
so instruction-level accuracy is prompt-clustered), a corpus document. `instructune ablate`
resamples these items, paired between arms, for its two-way (seeds × items) intervals.
Entries holding a non-finite number are left out (the file stays valid JSON; the ablation falls
back to intervals over seeds for that figure).
"""

from __future__ import annotations

import math
from typing import Any

# (the accuracy's name, the Verdict field it is read from)
IFEVAL_PROMPT = (("prompt_level_strict", "follow_all_instructions"),
                 ("prompt_level_loose", "follow_all_instructions_loose"))
IFEVAL_INSTRUCTION = (("instruction_level_strict", "follow_instruction_list"),
                      ("instruction_level_loose", "follow_instruction_list_loose"))


def entry(ids: list[str], num: list[float], den: list[float]) -> dict[str, list] | None:
    """One figure's items, or None when a value is not finite or the lists disagree in length."""
    if not (len(ids) == len(num) == len(den)) or not ids:
        return None
    if not all(math.isfinite(float(x)) for x in (*num, *den)):
        return None
    return {"ids": [str(i) for i in ids], "num": [float(x) for x in num], "den": [float(x) for x in den]}


def verdict_entries(verdicts: list) -> dict[str, dict[str, list] | None]:
    """The four IFEval accuracies per prompt: prompt level 0/1 over 1, instruction level the
    instructions followed over the prompt's instructions."""
    ids = [str(v.key) for v in verdicts]
    out = {f"ifeval.{level}": entry(ids, [float(getattr(v, field)) for v in verdicts], [1.0] * len(verdicts))
           for level, field in IFEVAL_PROMPT}
    for level, field in IFEVAL_INSTRUCTION:
        out[f"ifeval.{level}"] = entry(ids, [float(sum(getattr(v, field))) for v in verdicts],
                                       [float(len(getattr(v, field))) for v in verdicts])
    return out


def item_table(items: dict[str, Any], verdicts: list, ids: dict[str, list[str]]) -> dict[str, dict[str, list]]:
    """Per-item scores of one model for eval_items.json.

    Args:
        items: `ModelEval.items` ({"sets.<name>.response_loss": (row_nll, row_tokens),
            "sets.<name>.rouge_l" / ".exact_match": [per record], "forgetting": corpus result, ...}).
        verdicts: `ModelEval.verdicts` (IFEval, in prompt order).
        ids: `ModelEval.ids`: "sets.<name>" → record ids of the generation suite.
    Returns:
        figure key → {"ids", "num", "den"}, each list one value per item, in item order.
    """
    out: dict[str, dict[str, list] | None] = {}
    for key, value in items.items():
        if key.endswith(".response_loss"):
            nll, tokens = value  # rows of the tokenized set, in its order (dropped records are gone)
            out[key] = entry([f"row-{i}" for i in range(len(nll))], nll, tokens)
        elif key.endswith((".rouge_l", ".exact_match")):
            rec = ids.get(key.rsplit(".", 1)[0], [f"record-{i}" for i in range(len(value))])
            out[key] = entry(rec, value, [1.0] * len(value))
        elif key == "forgetting":
            out[key] = entry([f"doc-{i}" for i in range(len(value["doc_tokens"]))], value["doc_nll_sum"],
                             value["doc_tokens"])
    if verdicts:
        out.update(verdict_entries(verdicts))
    return {k: v for k, v in sorted(out.items()) if v is not None}
