"""Golden values of each extra objective's terms on tiny hand-made inputs (`_inputs.py`),
each checked against a literal number and against the formula written out here."""

from __future__ import annotations

import math
import sys
from pathlib import Path

import pytest
import torch
import torch.nn.functional as F

sys.path.insert(0, str(Path(__file__).parent))
from _inputs import IDS, SEGMENTS, batch, head, hidden, output  # noqa: E402

from instructune.objectives.instruction import InstructionObjective  # noqa: E402
from instructune.objectives.instruction_tokens import InstructionTokensObjective  # noqa: E402
from instructune.objectives.multitask import MultitaskObjective, inverse_frequency  # noqa: E402
from instructune.objectives.representation import RepresentationObjective, cached_embeddings  # noqa: E402


def mean_over(h, mask):
    return (h * mask[..., None]).sum(0) / mask.sum()


# --- dual objective -----------------------------------------------------------------------
def test_instruction_term_golden():
    b, h = batch(), hidden()
    torch.manual_seed(0)
    obj = InstructionObjective(4, 1.0, dim=3, temperature=0.5)
    assert obj.counts(b) == {"instruction": 3, "acc/instruction": 3}
    t = obj.terms(output(b, h, head()), b)
    assert float(t["instruction"]) == pytest.approx(5.5393295, rel=1e-6)
    assert float(t["acc/instruction"]) == 1.0
    # The formula: pooled response / instruction per row, projected, cosine / temperature, CE.
    with torch.no_grad():
        resp = torch.stack([mean_over(h[r], SEGMENTS[r] == 3) for r in range(3)])
        instr = torch.stack([mean_over(h[r], SEGMENTS[r] == 1) for r in range(3)])
        q = F.normalize(obj.response(resp), dim=-1)
        k = F.normalize(obj.instruction(instr), dim=-1)
        ref = F.cross_entropy(q @ k.t() / 0.5, torch.arange(3), reduction="sum")
        acc = float(((q @ k.t()).argmax(1) == torch.arange(3)).sum())
    assert float(t["instruction"]) == pytest.approx(float(ref), rel=1e-6)
    assert float(t["acc/instruction"]) == acc


def test_instruction_groups_and_records_without_an_instruction():
    b = batch()
    obj = InstructionObjective(4, 1.0, group=2)
    # Groups {0, 1} and {2}: record 2 is alone, so it is not scored (it would be a free 0).
    assert obj.counts(b)["instruction"] == 2
    b2 = batch()
    b2["segment_ids"][1] = torch.where(b2["segment_ids"][1] == 1, 0, b2["segment_ids"][1])  # no instruction
    assert InstructionObjective(4, 1.0).counts(b2)["instruction"] == 2
    t = InstructionObjective(4, 1.0).terms(output(b2, hidden(), head()), b2)
    assert torch.isfinite(t["instruction"])


def test_instruction_packed_rows_match_one_record_per_row():
    """The same three records packed in one row (position_ids restart) give the same term."""
    b, h = batch(), hidden()
    lens = [6, 4, 6]
    packed = {"segment_ids": torch.cat([SEGMENTS[r, :n] for r, n in enumerate(lens)])[None],
              "position_ids": torch.cat([torch.arange(n) for n in lens])[None],
              "tasks": b["tasks"], "rows": b["rows"]}
    hp = torch.cat([h[r, :n] for r, n in enumerate(lens)])[None]
    torch.manual_seed(0)
    obj = InstructionObjective(4, 1.0, dim=3, temperature=0.5)
    a = obj.terms(output(b, h, head()), b)["instruction"]
    p = obj.terms(type(output(b, h, head()))(hp, None, head()), packed)["instruction"]
    assert obj.counts(packed) == obj.counts(b)
    assert float(p) == pytest.approx(float(a), rel=1e-6)


def test_lambda_warms_up_linearly():
    obj = InstructionObjective(4, 0.5, warmup_steps=4)
    seen = []
    for step in range(6):
        obj.set_step(step)
        seen.append(obj.weights()["instruction"])
    assert seen == pytest.approx([0.125, 0.25, 0.375, 0.5, 0.5, 0.5])
    assert obj.weights()["acc/instruction"] == 0.0  # logged, never trained
    assert obj.logged() == {"lambda/instruction": 0.5}


# --- instruction modelling ----------------------------------------------------------------
def test_instruction_tokens_golden():
    b, h, lm = batch(), hidden(), head()
    obj = InstructionTokensObjective(1.0)
    assert obj.counts(b) == {"instruction_tokens": 5}
    got = float(obj.terms(output(b, h, lm), b)["instruction_tokens"])
    assert got == pytest.approx(11.772568, rel=1e-6)
    # Positions whose next token is an instruction token: (0,0) (0,1) (1,0) (2,0) (2,1).
    pos = [(0, 0), (0, 1), (1, 0), (2, 0), (2, 1)]
    with torch.no_grad():
        ref = sum(F.cross_entropy(lm(h[r, t])[None], IDS[r, t + 1][None]) for r, t in pos)
    assert got == pytest.approx(float(ref), rel=1e-6)


def test_instruction_tokens_skip_a_packed_records_first_token():
    seg = torch.tensor([[1, 1, 3, 1, 3]])
    pos = torch.tensor([[0, 1, 2, 0, 1]])  # the second record starts with an instruction token
    assert InstructionTokensObjective(1.0).counts({"segment_ids": seg, "position_ids": pos})["instruction_tokens"] == 1
    assert InstructionTokensObjective(1.0).counts({"segment_ids": seg})["instruction_tokens"] == 2


def test_instruction_tokens_never_target_the_mask_token():
    # Instruction masking put the mask token (id 7) at instruction position 1 of row 0: the term
    # drops the position predicting it, (0, 0), and keeps the other four.
    b, h, lm = batch(), hidden(), head()
    masked = {**b, "input_ids": b["input_ids"].clone()}
    masked["input_ids"][0, 1] = 7
    obj = InstructionTokensObjective(1.0, ignore_id=7)
    assert obj.counts(masked) == {"instruction_tokens": 4}
    got = float(obj.terms(output(masked, h, lm), masked)["instruction_tokens"])
    with torch.no_grad():
        ref = sum(F.cross_entropy(lm(h[r, t])[None], masked["input_ids"][r, t + 1][None])
                  for r, t in [(0, 1), (1, 0), (2, 0), (2, 1)])
    assert got == pytest.approx(float(ref), rel=1e-6)


# --- multi-task weighting -----------------------------------------------------------------
def per_task_nll(b, h, lm):
    """{task: summed NLL of its trained tokens}, token by token."""
    out = {"math": 0.0, "code": 0.0}
    T = b["labels"].shape[1]
    with torch.no_grad():
        for i, y in zip(b["target_index"].tolist(), b["target_ids"].tolist()):
            r, t = divmod(i, T)
            out[b["tasks"][r]] += float(F.cross_entropy(lm(h[r, t])[None], torch.tensor([y])))
    return out


def test_multitask_fixed_golden_and_ones_are_the_plain_loss():
    b, h, lm = batch(), hidden(), head()
    ref = per_task_nll(b, h, lm)
    obj = MultitaskObjective(["math", "code"], "fixed", {"math": 2.0})
    assert obj.counts(b) == {"nll/code": 2, "nll/math": 5, "multitask": 7}
    t = obj.terms(output(b, h, lm), b)
    assert float(t["nll/math"]) == pytest.approx(13.629202, rel=1e-6) == pytest.approx(ref["math"], rel=1e-6)
    assert float(t["nll/code"]) == pytest.approx(4.8919492, rel=1e-6) == pytest.approx(ref["code"], rel=1e-6)
    assert float(t["multitask"]) == pytest.approx(32.150352, rel=1e-6)
    assert obj.weights() == {"nll": 0.0, "nll/code": 0.0, "nll/math": 0.0, "multitask": 1.0}
    ones = MultitaskObjective(["math", "code"], "fixed").terms(output(b, h, lm), b)["multitask"]
    assert float(ones) == pytest.approx(ref["math"] + ref["code"], rel=1e-6)


def test_inverse_frequency_makes_tasks_count_alike():
    w = inverse_frequency({"a": 30, "b": 10})
    assert w == pytest.approx({"a": 40 / 60, "b": 40 / 20})
    assert w["a"] * 30 == pytest.approx(w["b"] * 10)


def test_multitask_learned_golden():
    b, h, lm = batch(), hidden(), head()
    ref = per_task_nll(b, h, lm)
    obj = MultitaskObjective(["math", "code"], "learned", floor=0.05, max_weight=10.0)
    assert obj.logged() == pytest.approx({"weight/code": 1.0, "weight/math": 1.0})  # starts at 1
    t = obj.terms(output(b, h, lm), b)
    var = 0.5 / 0.95  # weight 1 = floor + 0.5/σ²
    assert float(t["task/math"]) == pytest.approx(15.743486, rel=1e-6)
    assert float(t["task/math"]) == pytest.approx(ref["math"] + math.log1p(var) * 5, rel=1e-6)
    assert float(t["task/code"]) == pytest.approx(ref["code"] + math.log1p(var) * 2, rel=1e-6)
    # The gradient reaches the learned parameter through the term (not through weights()).
    t["task/math"].backward()
    assert obj.rho.grad is not None and obj.rho.grad[obj.index["math"]] != 0


def minimise_weight(loss_value: float, steps: int = 3000, **kw) -> tuple[float, float]:
    """Run Adam on one task's learned weight with its mean loss held at `loss_value`;
    returns (effective weight, the task's total term) at the end."""
    obj = MultitaskObjective(["a"], "learned", **kw)
    opt = torch.optim.Adam(obj.parameters(), lr=1e-2)
    for _ in range(steps):
        total = obj.uncertainty_weighted(torch.tensor([loss_value]), torch.tensor([1])).sum()
        opt.zero_grad()
        total.backward()
        opt.step()
    return float(obj.effective()[0]), float(total)


def test_learned_weight_does_not_collapse_when_a_loss_reaches_zero():
    w, total = minimise_weight(0.0, floor=0.05, max_weight=10.0)
    assert w <= 10.0 + 1e-6 and w == pytest.approx(10.0, rel=1e-2)  # capped, not infinite
    assert total >= 0.0 and math.isfinite(total)  # log(1+σ²) ≥ 0: the total cannot run to -∞
    w, total = minimise_weight(1e4, floor=0.05, max_weight=10.0)
    assert w >= 0.05  # a huge loss is down-weighted, never switched off
    assert math.isfinite(total)


# --- instruction representation -----------------------------------------------------------
def test_representation_golden_mse_and_cosine():
    b, h = batch(), hidden()
    torch.manual_seed(0)
    targets = torch.randn(3, 2)
    obj = RepresentationObjective(4, targets, torch.tensor([True, False, True]), 1.0, "mse")
    assert obj.counts(b) == {"representation": 2}  # row 1 has no target
    got = float(obj.terms(output(b, h, head()), b)["representation"])
    assert got == pytest.approx(3.0394793, rel=1e-6)
    with torch.no_grad():
        y = [obj.proj(mean_over(h[r], SEGMENTS[r] == 1)) for r in (0, 2)]
        mse = sum(float(((yy - targets[r]) ** 2).mean()) for yy, r in zip(y, (0, 2)))
        cos = sum(1 - float(F.cosine_similarity(yy, targets[r], dim=0)) for yy, r in zip(y, (0, 2)))
    assert got == pytest.approx(mse, rel=1e-6)
    obj.distance = "cosine"
    got = float(obj.terms(output(b, h, head()), b)["representation"])
    assert got == pytest.approx(1.8809531, rel=1e-6) == pytest.approx(cos, rel=1e-6)


def test_embeddings_are_computed_once_per_dataset(tmp_path):
    calls = []

    def embed(texts):
        calls.append(list(texts))
        return torch.arange(len(texts) * 2, dtype=torch.float32).reshape(-1, 2).numpy()

    a = cached_embeddings(["x", "y"], embed, "fake", tmp_path)
    b = cached_embeddings(["x", "y"], embed, "fake", tmp_path)
    assert calls == [["x", "y"]] and (a == b).all()
    cached_embeddings(["x", "z"], embed, "fake", tmp_path)  # other texts: computed
    cached_embeddings(["x", "y"], embed, "other", tmp_path)  # another embedder: computed
    assert len(calls) == 3
