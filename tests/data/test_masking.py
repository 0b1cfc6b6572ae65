"""Instruction masking: exactly which positions change, and nothing outside the instruction."""

from __future__ import annotations

import functools
import math

import pytest

from instructune.config import ConfigError, load_config
from instructune.data.collate import collate, micro_batch, rows_at
from instructune.data.inputs import load_inputs
from instructune.data.masking import (InstructionMasker, build_masker, choose_positions, mask_row, mask_token_id,
                                      record_rng)
from instructune.data.templates import get_template
from instructune.data.tokenized import tokenize_records

# template 0, instruction 1 (positions 2..11), context 2, response 3, rationale 4
SEG = [0, 0, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 0, 2, 2, 2, 0, 3, 3, 3, 4, 4, 0]
ROW = {"input_ids": list(range(100, 123)), "labels": [-100] * 17 + list(range(117, 122)) + [-100],
       "segment_ids": SEG, "length": 23}
MASK = 5000  # outside the tiny vocabulary: a masked token cannot be mistaken for a real one


@pytest.fixture(scope="module")
def ds(tiny_tokenizer):
    ds, _ = tokenize_records(load_inputs(["starter:train"])[:10], tiny_tokenizer, get_template("chat"))
    return ds


def test_golden_mask_positions():
    out = mask_row(ROW, 0.3, "mask", MASK, record_rng(0, 0, 4))
    # 10 instruction tokens x 0.3 = exactly 3: positions 6, 8, 9.
    assert out["input_ids"] == [100, 101, 102, 103, 104, 105, MASK, 107, MASK, MASK, *range(110, 123)]
    assert out["labels"] == ROW["labels"] and out["segment_ids"] == SEG and out["length"] == 23
    # The next epoch draws afresh: positions 2, 5, 11.
    out = mask_row(ROW, 0.3, "mask", MASK, record_rng(0, 1, 4))
    assert [t for t in range(23) if out["input_ids"][t] != ROW["input_ids"][t]] == [2, 5, 11]


def test_golden_drop_keeps_labels_and_segments_aligned():
    out = mask_row(ROW, 0.3, "drop", MASK, record_rng(0, 0, 4))  # drops positions 6, 8, 9
    keep = [t for t in range(23) if t not in (6, 8, 9)]
    assert out["input_ids"] == [100 + t for t in keep]
    assert out["labels"] == [ROW["labels"][t] for t in keep]
    assert out["segment_ids"] == [SEG[t] for t in keep]
    assert out["length"] == 20
    assert out["labels"][-6:] == [117, 118, 119, 120, 121, -100]  # response/rationale labels kept, in place


def test_golden_mix_masks_some_and_drops_others():
    # seed 5, row 1, fraction 0.45: 4.5 expected -> 4 chosen (5, 8, 9, 10); 5 and 8 masked, 9 and 10 dropped.
    assert choose_positions(SEG, 0.45, record_rng(5, 0, 1)) == [5, 8, 9, 10]
    out = mask_row(ROW, 0.45, "mix", MASK, record_rng(5, 0, 1))
    assert out["input_ids"] == [100, 101, 102, 103, 104, MASK, 106, 107, MASK, *range(111, 123)]
    assert out["segment_ids"] == [SEG[t] for t in range(23) if t not in (9, 10)]
    assert out["labels"] == [ROW["labels"][t] for t in range(23) if t not in (9, 10)]


@pytest.mark.parametrize("mode", ["mask", "drop", "mix"])
@pytest.mark.parametrize("fraction", [0.2, 0.5, 1.0])
def test_nothing_outside_the_instruction_changes(ds, mode, fraction):
    for epoch in range(3):
        for i in range(len(ds)):
            row = ds[i]
            chosen = choose_positions(row["segment_ids"], fraction, record_rng(1, epoch, i))
            out = mask_row(row, fraction, mode, MASK, record_rng(1, epoch, i))
            n_inst = row["segment_ids"].count(1)
            assert len(chosen) in (math.floor(fraction * n_inst), math.ceil(fraction * n_inst))
            assert all(row["segment_ids"][t] == 1 for t in chosen)
            # Every unchosen position survives unchanged and in order; a chosen one is masked or gone.
            kept = [t for t in range(len(row["input_ids"])) if t not in chosen]
            others = [(row["input_ids"][t], row["labels"][t], row["segment_ids"][t]) for t in kept]
            got = list(zip(out["input_ids"], out["labels"], out["segment_ids"]))
            if mode == "mask":
                assert len(got) == len(row["input_ids"])
                assert [got[t] for t in kept] == others
                assert all(got[t] == (MASK, row["labels"][t], 1) for t in chosen)
            elif mode == "drop":
                assert got == others
            else:
                assert [g for g in got if g[0] != MASK or g[2] != 1] == others
                assert len(got) - len(others) == sum(1 for g in got if g[0] == MASK and g[2] == 1)
            assert out["length"] == len(out["input_ids"])


def test_fraction_is_respected_over_many_records():
    seg = [0] * 3 + [1] * 7 + [3] * 4
    row = {"input_ids": list(range(14)), "labels": [-100] * 10 + [10, 11, 12, 13], "segment_ids": seg}
    counts = [len(choose_positions(seg, 0.15, record_rng(0, 0, i))) for i in range(2000)]
    assert set(counts) == {1, 2}  # 7 x 0.15 = 1.05: one token, sometimes two
    assert sum(counts) == 2090  # golden; expected 2000 x 1.05 = 2100, sd ~ 9.7
    everything = mask_row(row, 1.0, "mask", MASK, record_rng(0, 0, 0))
    assert everything["input_ids"] == [0, 1, 2] + [MASK] * 7 + [10, 11, 12, 13]
    assert mask_row(row, 0.0, "drop", MASK, record_rng(0, 0, 0)) == row


def test_fresh_every_epoch_and_reproducible_under_the_seed(ds):
    masker = InstructionMasker(0.3, "mix", MASK, seed=11)
    idx = list(range(len(ds)))
    rows = rows_at(ds, idx)
    e0 = masker(rows, idx, epoch=0)
    assert e0 == InstructionMasker(0.3, "mix", MASK, seed=11)(rows_at(ds, idx), idx, epoch=0)
    assert e0 != masker(rows, idx, epoch=1)
    assert e0 != InstructionMasker(0.3, "mix", MASK, seed=12)(rows, idx, epoch=0)
    # A row's draw depends on its dataset index only, not on what else is in the batch.
    assert masker(rows[3:4], [3], epoch=0) == e0[3:4]
    assert rows == rows_at(ds, idx)  # inputs are not modified in place


def test_micro_batch_applies_masking_at_batch_time(ds, tiny_tokenizer):
    masker = build_masker(0.5, "mask", None, tiny_tokenizer, seed=0)
    batch = micro_batch(ds, [[3], [7]], tiny_tokenizer.pad_token_id, packed=False,
                        augment=functools.partial(masker, epoch=2))
    want = collate(masker(rows_at(ds, [3, 7]), [3, 7], 2), tiny_tokenizer.pad_token_id)
    for k in want:  # tensors, and host lists (the records' task categories)
        assert (batch[k] if isinstance(batch[k], list) else batch[k].tolist()) == \
            (want[k] if isinstance(want[k], list) else want[k].tolist())
    plain = collate(rows_at(ds, [3, 7]), tiny_tokenizer.pad_token_id)
    changed = (batch["input_ids"] != plain["input_ids"])
    assert changed.any() and (plain["segment_ids"][changed] == 1).all()
    assert (batch["input_ids"][changed] == tiny_tokenizer.unk_token_id).all()


def test_mask_token_defaults_to_unk_and_config_is_validated(tiny_tokenizer):
    assert mask_token_id(tiny_tokenizer, None) == tiny_tokenizer.unk_token_id == tiny_tokenizer.convert_tokens_to_ids(
        "<|endoftext|>")
    assert mask_token_id(tiny_tokenizer, "<|im_start|>") == tiny_tokenizer.convert_tokens_to_ids("<|im_start|>")
    with pytest.raises(ConfigError, match="instruction_masking.token: 'not one token'"):
        mask_token_id(tiny_tokenizer, "not one token")

    class NoUnk:
        unk_token_id = None

    with pytest.raises(ConfigError, match="no unk token"):
        build_masker(0.1, "mask", None, NoUnk(), seed=0)
    assert build_masker(0.1, "drop", None, NoUnk(), seed=0).mode == "drop"  # dropping needs no token
    assert build_masker(0.0, "mask", None, tiny_tokenizer, seed=0) is None
    with pytest.raises(ConfigError, match=r"fraction: got 1.5; expected a number in \[0, 1\]"):
        build_masker(1.5, "mask", None, tiny_tokenizer, seed=0)
    with pytest.raises(ConfigError, match="mode: got 'swap'"):
        load_config(None, ["data.instruction_masking.mode=swap"])


def test_training_loop_applies_masking(tiny_model, tmp_path):
    from assembled import trained
    from instructune.train.metrics_log import read_metrics

    def first_loss(name, *extra):
        cfg = load_config(None, [f"model.name={tiny_model}", f"output_dir={tmp_path / name}", "train.max_steps=1",
                                 "train.seed=3", "data.heldout=[]", *extra])
        trained(cfg, export=False)
        return read_metrics(tmp_path / name / "metrics.jsonl")[0]

    plain = first_loss("plain")
    masked = first_loss("masked", "data.instruction_masking.fraction=0.5")
    dropped = first_loss("dropped", "data.instruction_masking.fraction=0.5", "data.instruction_masking.mode=drop")
    # Same records and trained tokens; only the instruction the model reads differs.
    assert plain["trained_tokens"] == masked["trained_tokens"] == dropped["trained_tokens"]
    assert len({plain["loss"], masked["loss"], dropped["loss"]}) == 3
    assert masked["nonpad_share"] == plain["nonpad_share"] != dropped["nonpad_share"]
