"""Fused LoRA linears compute what peft computes: same logits, same adapter gradients, same
saved adapter, same training losses; and peft's own path wherever fusion would differ."""

from __future__ import annotations

import copy

import pytest
import torch

from instructune.model import lora_fusion
from instructune.model.load import load_model
from instructune.model.lora_fusion import fuse_lora_linears, fused_lora_count, resolve_fuse, unfuse_lora_linears
from instructune.model.setup import apply_lora

IDS = torch.randint(5, 500, (2, 12), generator=torch.Generator().manual_seed(0))


def lora_model(tiny_model, dropout=0.0, r=4, alpha=8, **patterns):
    """The tiny model with LoRA on every linear and non-zero lora_B (peft starts B at zero, which
    would leave every lora_A gradient zero and hide a wrong one). `patterns`: peft's
    rank_pattern / alpha_pattern."""
    torch.manual_seed(0)
    base = load_model(tiny_model, device="cpu")
    if patterns:
        from peft import LoraConfig, get_peft_model

        model = get_peft_model(base, LoraConfig(r=r, lora_alpha=alpha, lora_dropout=dropout,
                                                target_modules="all-linear", **patterns))
    else:
        model = apply_lora(base, [], r=r, alpha=alpha, dropout=dropout, target_modules="all-linear")
    g = torch.Generator().manual_seed(1)
    with torch.no_grad():
        for name, p in model.named_parameters():
            if "lora_B" in name:
                p.copy_(torch.randn(p.shape, generator=g) * 0.05)
    return model


def logits_and_grads(model, ids=IDS):
    model.zero_grad(set_to_none=True)
    logits = model(input_ids=ids).logits
    # A loss that weighs every logit differently, so every output position's gradient counts.
    w = torch.randn(logits.shape, generator=torch.Generator().manual_seed(2))
    (logits * w).sum().backward()
    grads = {n: p.grad.clone() for n, p in model.named_parameters() if p.requires_grad}
    return logits.detach(), grads


def assert_close(got, want, tol=1e-6, name=""):
    """Equal up to float32 reassociation: the largest difference within `tol` of the largest
    value (sums taken in another order differ in their last bits, relative to the sum)."""
    err = (got - want).abs().max().item() / max(want.abs().max().item(), 1e-30)
    assert err <= tol, (name, err)


def count_applies(monkeypatch):
    calls = []
    apply = lora_fusion._FusedLoraFn.apply
    monkeypatch.setattr(lora_fusion._FusedLoraFn, "apply", lambda *a: calls.append(len(a[3])) or apply(*a))
    return calls


def test_fused_linears_give_peft_logits_and_every_adapter_gradient(tiny_model, monkeypatch):
    model = lora_model(tiny_model)
    ref_logits, ref_grads = logits_and_grads(model)
    assert fuse_lora_linears(model) == fused_lora_count(model) == 14  # 7 linears x 2 layers
    calls = count_applies(monkeypatch)
    logits, grads = logits_and_grads(model)
    # Per layer: q/k/v as one call, o alone, gate/up as one, down alone.
    assert calls == [3, 1, 2, 1] * 2
    assert_close(logits, ref_logits)
    assert grads.keys() == ref_grads.keys() and sum("lora_A" in n for n in grads) == 14
    for n in ref_grads:
        assert ref_grads[n].abs().sum() > 0, n
        assert_close(grads[n], ref_grads[n], name=n)


def test_different_scalings_and_ranks_in_one_group(tiny_model):
    model = lora_model(tiny_model, rank_pattern={"k_proj": 2, "up_proj": 6}, alpha_pattern={"v_proj": 3})
    attn = model.get_base_model().model.layers[0].self_attn
    assert attn.k_proj.lora_A["default"].weight.shape[0] == 2 and attn.v_proj.scaling["default"] == 0.75
    ref_logits, ref_grads = logits_and_grads(model)
    fuse_lora_linears(model)
    logits, grads = logits_and_grads(model)
    assert_close(logits, ref_logits)
    for n in ref_grads:
        assert_close(grads[n], ref_grads[n], name=n)


def test_under_bf16_autocast_fused_matches_peft_within_bf16_rounding(tiny_model):
    model = lora_model(tiny_model)
    with torch.autocast("cpu", dtype=torch.bfloat16):
        ref_logits, ref_grads = logits_and_grads(model)
        fuse_lora_linears(model)
        logits, grads = logits_and_grads(model)
    assert all(g.dtype == torch.float32 for g in grads.values())  # gradients reach the fp32 adapters
    torch.testing.assert_close(logits, ref_logits, rtol=3e-2, atol=3e-2)
    for n in ref_grads:
        rel = (grads[n] - ref_grads[n]).norm() / ref_grads[n].norm()
        assert rel < 3e-2, (n, rel)


def test_an_adapter_saved_from_a_fused_model_loads_into_plain_peft(tiny_model, tmp_path):
    from peft import PeftModel

    model = lora_model(tiny_model)
    fuse_lora_linears(model)
    model.eval()
    with torch.no_grad():
        fused = model(input_ids=IDS).logits
    model.save_pretrained(tmp_path / "adapter")
    plain = PeftModel.from_pretrained(load_model(tiny_model, device="cpu"), tmp_path / "adapter").eval()
    assert fused_lora_count(plain) == 0
    with torch.no_grad():
        loaded = plain(input_ids=IDS).logits
        unfuse_lora_linears(model)
        unfused = model(input_ids=IDS).logits
        merged = model.merge_and_unload()(input_ids=IDS).logits
    assert torch.equal(loaded, unfused)
    torch.testing.assert_close(fused, loaded, rtol=1e-6, atol=1e-6)
    torch.testing.assert_close(merged, loaded, rtol=1e-5, atol=1e-5)


def test_peft_path_where_fusion_would_differ(tiny_model, monkeypatch):
    model = lora_model(tiny_model, dropout=0.3)
    fuse_lora_linears(model)
    calls = count_applies(monkeypatch)
    model.train()  # dropout active: peft draws one mask per linear, so peft computes
    model(input_ids=IDS)
    assert calls == []
    model.eval()  # dropout off: fused
    with torch.no_grad():
        fused = model(input_ids=IDS).logits
    assert len(calls) == 8
    calls.clear()
    with torch.no_grad(), model.disable_adapter():
        off = model(input_ids=IDS).logits
    assert calls == []
    with torch.no_grad():
        unfuse_lora_linears(model)
        torch.testing.assert_close(model(input_ids=IDS).logits, fused, rtol=1e-6, atol=1e-6)
        with model.disable_adapter():
            assert torch.equal(model(input_ids=IDS).logits, off)


def test_a_member_called_on_another_input_is_recomputed(tiny_model):
    model = lora_model(tiny_model)
    attn = model.get_base_model().model.layers[0].self_attn
    x, y = torch.randn(3, 5, 64), torch.randn(3, 5, 64)
    plain = [type(m).forward.__get__(m) for m in (attn.q_proj, attn.k_proj, attn.v_proj)]
    fuse_lora_linears(model)
    with torch.no_grad():
        got = [attn.q_proj(x), attn.k_proj(y), attn.v_proj(x)]  # k on another tensor
        z = torch.randn(3, 5, 64)
        attn.q_proj(z)  # k and v for z are now waiting...
        z.add_(1)  # ...and stale: z changed in place
        got.append(attn.v_proj(z))
        want = [plain[0](x), plain[1](y), plain[2](x), plain[2](z)]
    for a, b in zip(got, want):
        torch.testing.assert_close(a, b, rtol=1e-5, atol=1e-5)


def test_a_deep_copy_is_fused_over_its_own_modules(tiny_model):
    model = lora_model(tiny_model)
    fuse_lora_linears(model)
    twin = copy.deepcopy(model)
    with torch.no_grad():
        for name, p in twin.named_parameters():
            if "lora_B" in name:
                p.zero_()
        base = twin.get_base_model()
        with twin.disable_adapter():
            want = twin(input_ids=IDS).logits
        got = twin(input_ids=IDS).logits  # adapters zeroed in the copy only
        assert not torch.allclose(model(input_ids=IDS).logits, got)
    assert fused_lora_count(twin) == 14 and base is not model.get_base_model()
    torch.testing.assert_close(got, want, rtol=1e-6, atol=1e-6)


def test_auto_is_on_for_cuda_training_without_compile():
    assert resolve_fuse("auto", "cuda") and not resolve_fuse("auto", "cpu")
    assert not resolve_fuse("auto", "cuda", compile=True)
    assert resolve_fuse(True, "cpu") and not resolve_fuse(False, "cuda")


def test_training_with_fused_adapters_gives_the_same_losses(tiny_model, tmp_path, capsys):
    from instructune.config import load_config
    from instructune.recipes import train
    from instructune.train.metrics_log import read_metrics

    def losses(out, fuse):
        cfg = load_config(None, [f"model.name={tiny_model}", f"output_dir={out}", "data.max_length=256",
                                 "train.max_steps=4", "train.batch_size=4", "train.seed=3", "data.heldout=[]",
                                 "data.packing=true", "train.eval_every=0", "train.checkpoint_every=0",
                                 "train.lr=1e-3", f"lora.fuse_adapters={fuse}"])
        train.main(cfg)
        return [r["loss"] for r in read_metrics(out / "metrics.jsonl") if "loss" in r]

    plain = losses(tmp_path / "plain", "false")
    assert "LoRA linears fused" not in capsys.readouterr().out
    fused = losses(tmp_path / "fused", "true")
    assert ", 14 LoRA linears fused" in capsys.readouterr().out
    assert len(plain) == 4 and plain[0] != plain[-1]
    assert fused == pytest.approx(plain, rel=1e-5)
