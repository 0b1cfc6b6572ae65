"""Packing and padding-free batches: no cross-contamination, exact losses, efficiency, resume."""

from __future__ import annotations

import json

import pytest
import torch

from instructune.config import ConfigError, load_config
from instructune.data.batching import epoch_batches, epoch_micro_batches, layout_shares, nonpad_share
from instructune.data.collate import collate, collate_packed, micro_batch
from instructune.data.inputs import load_inputs
from instructune.data.pack import pack_rows
from instructune.data.templates import get_template
from instructune.data.tokenized import tokenize_records
from instructune.model.load import load_model
from instructune.objectives.response_nll import response_nll

from assembled import trained
from killed import train_killed_at

LENGTHS = [5, 50, 7, 33, 12, 90, 3, 41, 8, 60]


@pytest.fixture(scope="module")
def rows(tiny_tokenizer):
    """Six rendered starter records of uneven length."""
    ds, _ = tokenize_records(load_inputs(["starter:train"])[:6], tiny_tokenizer, get_template("chat"))
    out = [ds[i] for i in range(6)]
    assert len({len(r["input_ids"]) for r in out}) > 2
    return out


# --- packing order ---------------------------------------------------------------------------

def test_pack_rows_best_fit_decreasing_golden():
    # Longest first into the tightest pack that fits: 90+5+3, 60+33+7, 50+41+8, 12.
    packs = pack_rows(LENGTHS, 100)
    assert packs == [[0, 5, 6], [2, 3, 9], [1, 7, 8], [4]]
    assert [sum(LENGTHS[i] for i in p) for p in packs] == [98, 100, 99, 12]
    assert pack_rows(LENGTHS, 100) == packs  # pure function of the lengths
    assert pack_rows(LENGTHS, 1000) == [list(range(10))]


def test_pack_rows_refuses_a_record_longer_than_a_row():
    with pytest.raises(ValueError, match="data.pack_length=80 .*90 tokens"):
        pack_rows(LENGTHS, 80)


def test_epoch_micro_batches_without_packing_is_the_plain_order():
    for grouped in (True, False):
        plain = epoch_batches(LENGTHS, 3, seed=1, epoch=2, group_by_length=grouped)
        units = epoch_micro_batches(LENGTHS, None, 3, seed=1, epoch=2, group_by_length=grouped)
        assert [[p[0] for p in mb] for mb in units] == plain
        assert all(len(p) == 1 for mb in units for p in mb)


def test_epoch_micro_batches_order_packs_deterministically():
    packs = pack_rows(LENGTHS, 100)
    a = epoch_micro_batches(LENGTHS, packs, 2, seed=0, epoch=0)
    assert a == [[[2, 3, 9], [1, 7, 8]], [[0, 5, 6], [4]]]
    assert a == epoch_micro_batches(LENGTHS, packs, 2, seed=0, epoch=0)
    assert sorted(i for mb in a for p in mb for i in p) == list(range(10))


# --- collation -------------------------------------------------------------------------------

def test_collate_packed_restarts_positions_and_never_trains_across_a_boundary():
    a = {"input_ids": [5, 6, 7], "labels": [-100, 6, 7], "segment_ids": [1, 3, 3]}
    b = {"input_ids": [8, 9], "labels": [8, 9], "segment_ids": [3, 3]}  # a label at its first token
    c = {"input_ids": [4], "labels": [-100], "segment_ids": [1]}
    batch = collate_packed([[a, b], [c]], pad_id=2, pad_to_multiple_of=3)
    assert batch["input_ids"].tolist() == [[5, 6, 7, 8, 9, 2], [4, 2, 2, 2, 2, 2]]
    # 8 would be predicted from 7 (the end of the record before it): ignored.
    assert batch["labels"].tolist() == [[-100, 6, 7, -100, 9, -100], [-100] * 6]
    assert batch["segment_ids"].tolist() == [[1, 3, 3, 3, 3, 0], [1, 0, 0, 0, 0, 0]]
    # Pads continue the last record's positions: a one-record row stays an ordinary padded row.
    assert batch["position_ids"].tolist() == [[0, 1, 2, 0, 1, 2], [0, 1, 2, 3, 4, 5]]
    assert batch["attention_mask"].tolist() == [[1, 1, 1, 1, 1, 0], [1, 0, 0, 0, 0, 0]]


def test_micro_batch_layouts(rows):
    class Rows:  # the `datasets.Dataset` column access `rows_at` uses
        def __getitem__(self, idx):
            return {k: [rows[i][k] for i in idx] for k in ("input_ids", "labels", "segment_ids")}

    lens = [len(r["input_ids"]) for r in rows]
    padded = micro_batch(Rows(), [[0], [1], [2]], 2, packed=False)
    assert padded["input_ids"].shape == (3, max(lens[:3])) and "position_ids" not in padded
    packed = micro_batch(Rows(), [[0, 1], [2]], 2, packed=True)
    assert packed["input_ids"].shape == (2, max(lens[0] + lens[1], lens[2]))
    free = micro_batch(Rows(), [[0], [1], [2]], 2, packed=False, padding_free=True)
    assert free["input_ids"].shape == (1, sum(lens[:3])) and int(free["attention_mask"].sum()) == sum(lens[:3])
    assert free["position_ids"][0].tolist() == [t for n in lens[:3] for t in range(n)]


# --- no cross-contamination ------------------------------------------------------------------

@pytest.mark.parametrize("attn", ["sdpa", "eager"])
def test_packed_logits_equal_each_record_alone(tiny_model, rows, attn):
    model = load_model(tiny_model, attn_implementation=attn).eval()
    packs = [[rows[0], rows[1], rows[2]], [rows[3], rows[4]]]  # row 2 is shorter: it is padded
    batch = collate_packed(packs, pad_id=0)
    with torch.no_grad():
        packed = model(input_ids=batch["input_ids"], position_ids=batch["position_ids"], use_cache=False).logits
        for b, pack in enumerate(packs):
            at = 0
            for r in pack:
                alone = model(input_ids=torch.tensor([r["input_ids"]]), use_cache=False).logits[0]
                n = len(r["input_ids"])
                torch.testing.assert_close(packed[b, at:at + n], alone, rtol=1e-5, atol=1e-5)
                at += n
        # Without the restarting positions the second record does see the first: the test can fail.
        naive = model(input_ids=batch["input_ids"], use_cache=False).logits
        n0 = len(rows[0]["input_ids"])
        assert (naive[0, n0] - packed[0, n0]).abs().max() > 1e-2


@pytest.mark.parametrize("attn", ["sdpa", "eager"])
@pytest.mark.parametrize("selective", [True, False])
def test_packed_and_padding_free_nll_equal_the_sum_over_records_alone(tiny_model, rows, attn, selective):
    model = load_model(tiny_model, attn_implementation=attn)
    alone = [response_nll(model, collate([r], 0), selective) for r in rows]
    want_sum = sum(float(o["nll_sum"]) for o in alone)
    want_n = sum(int(o["n_tokens"]) for o in alone)
    assert want_n == sum(r["n_trained"] for r in rows)
    layouts = {"packed": collate_packed([rows[:3], rows[3:5], rows[5:]], 0),
               "padding_free": collate_packed([rows], 0),
               "padded": collate(rows, 0)}
    for name, batch in layouts.items():
        out = response_nll(model, batch, selective)
        assert int(out["n_tokens"]) == want_n, name
        assert float(out["nll_sum"]) == pytest.approx(want_sum, rel=1e-5), name


# --- efficiency ------------------------------------------------------------------------------

def test_nonpad_share_golden():
    mbs = [[[0], [1]], [[2, 3]]]  # rows of 5 and 50 padded to 50; one packed row 7+33
    assert nonpad_share(LENGTHS, mbs) == pytest.approx((55 + 40) / (100 + 40))
    assert nonpad_share(LENGTHS, mbs, padding_free=True) == 1.0


def test_packing_beats_grouping_beats_random_padding():
    g = torch.Generator().manual_seed(0)
    lengths = torch.randint(5, 300, (256,), generator=g).tolist()
    s = layout_shares(lengths, batch_size=4, seed=0, pack_length=512)
    assert s["padded"] < s["grouped"] < s["packed"] < s["padding_free"] == 1.0
    assert s == pytest.approx({"padded": 0.6369, "grouped": 0.9799, "packed": 0.9952, "padding_free": 1.0},
                              abs=1e-4)


# --- the training loop -----------------------------------------------------------------------

def loop_cfg(tiny_model, out, *extra):
    return load_config(None, [f"model.name={tiny_model}", f"output_dir={out}", "data.max_length=256",
                              "train.lr=1e-2", "train.warmup_ratio=0.0", "train.seed=3", "data.heldout=[]",
                              *extra])


def test_loop_with_packing_and_padding_free_reports_token_share(tiny_model, tmp_path):
    from instructune.recipes import train
    from instructune.train.metrics_log import read_metrics

    for name, flags in {"packed": ["data.packing=true"], "free": ["data.padding_free=true"]}.items():
        summary = train.main(loop_cfg(tiny_model, tmp_path / name, "train.max_steps=2", "train.batch_size=2", *flags))
        saved = json.loads((tmp_path / name / "train_summary.json").read_text())
        shares = saved["nonpad_share"]
        assert set(shares) == {"padded", "grouped", "packed", "padding_free", "this_run"}
        assert shares["padded"] <= shares["grouped"] and shares["padding_free"] == 1.0
        metrics = read_metrics(tmp_path / name / "metrics.jsonl")
        assert len(metrics) == 2 and all(0 < m["nonpad_share"] <= 1 for m in metrics)
        if name == "free":
            assert shares["this_run"] == 1.0
        assert summary["final"]["loss"] > 0


def test_loop_refuses_packing_where_records_would_attend_across(tiny_model, tmp_path, monkeypatch):
    import transformers.masking_utils as mu

    from instructune.train.assemble import assemble

    monkeypatch.setattr(mu, "find_packed_sequence_indices", lambda position_ids: None)
    with pytest.raises(ConfigError, match="data.packing / data.padding_free"):
        assemble(loop_cfg(tiny_model, tmp_path / "x", "train.max_steps=1", "data.packing=true"))


def test_loop_with_packing_is_accumulation_invariant(tiny_model, tmp_path):
    from instructune.train.metrics_log import read_metrics

    common = ["train.max_steps=2", "train.group_by_length=false", "data.packing=true", "data.pack_length=256",
              "data.instruction_masking.fraction=0.3", "data.instruction_masking.mode=mix"]
    trained(loop_cfg(tiny_model, tmp_path / "a", "train.batch_size=4", "train.grad_accum=1", *common), export=False)
    trained(loop_cfg(tiny_model, tmp_path / "b", "train.batch_size=1", "train.grad_accum=4", *common), export=False)
    la = [m["loss"] for m in read_metrics(tmp_path / "a" / "metrics.jsonl")]
    lb = [m["loss"] for m in read_metrics(tmp_path / "b" / "metrics.jsonl")]
    assert len(la) == 2 and la == pytest.approx(lb, rel=1e-4)


def test_resume_is_exact_with_packing_padding_free_and_masking(tiny_model, tmp_path, monkeypatch):
    from safetensors.torch import load_file

    from instructune.recipes import train
    from instructune.train.metrics_log import read_metrics

    common = ["train.max_steps=4", "train.batch_size=2", "train.checkpoint_every=2", "lora.dropout=0.1",
              "data.packing=true", "data.padding_free=true", "data.pack_length=384",
              "data.instruction_masking.fraction=0.5", "data.instruction_masking.mode=mix"]
    train.main(loop_cfg(tiny_model, tmp_path / "full", *common))
    full = read_metrics(tmp_path / "full" / "metrics.jsonl")

    part = tmp_path / "part"
    train_killed_at(monkeypatch, loop_cfg(tiny_model, part, *common), 3)
    train.main(loop_cfg(tiny_model, part, *common), resume=True)
    resumed = read_metrics(part / "metrics.jsonl")
    assert [r["step"] for r in resumed] == [1, 2, 3, 4]
    for a, b in zip(resumed, full):
        assert a["loss"] == pytest.approx(b["loss"], rel=1e-5), a["step"]
        assert a["trained_tokens"] == b["trained_tokens"]
    wa = load_file(tmp_path / "full" / "adapter" / "adapter_model.safetensors")
    wb = load_file(part / "adapter" / "adapter_model.safetensors")
    for k in wa:
        torch.testing.assert_close(wa[k], wb[k])
