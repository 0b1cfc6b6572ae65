"""QLoRA on the CPU: 4-bit (NF4) and 8-bit (LLM.int8) bases through bitsandbytes train LoRA,
checkpoint and resume exactly, export a dequantized merged checkpoint, and refuse what they
cannot do before any model loads."""

from __future__ import annotations

import math

import pytest
import torch

from instructune.cli import main
from instructune.config import ConfigError, load_config
from instructune.config.errors import CheckError
from instructune.recipes import train
from instructune.recipes.checks import check_quantization, check_run_dir
from instructune.train.metrics_log import read_metrics

from assembled import trained
from killed import train_killed_at

bnb = pytest.importorskip("bitsandbytes")


def qcfg(tiny_model, out, quantization, *extra):
    return load_config(None, [f"model.name={tiny_model}", f"output_dir={out}", f"model.quantization={quantization}",
                              "data.max_length=128", "data.train=[starter:train]", "data.heldout=[]",
                              "train.lr=1e-2", "train.warmup_ratio=0.0", "train.seed=3", "train.batch_size=4",
                              "lora.target_modules=all-linear", *extra])


def base_of(run):
    return run.model.get_base_model()


@pytest.mark.parametrize("quantization,kind", [("4bit", "Linear4bit"), ("8bit", "Linear8bitLt")])
def test_quantized_lora_trains_with_finite_changing_loss(tiny_model, tmp_path, quantization, kind):
    run, _ = trained(qcfg(tiny_model, tmp_path / "run", quantization, "train.max_steps=4",
                          "train.activation_checkpointing=true"), export=False)
    losses = [r["loss"] for r in read_metrics(tmp_path / "run" / "metrics.jsonl") if "loss" in r]
    assert len(losses) == 4 and all(math.isfinite(x) for x in losses)
    assert len(set(losses)) > 1
    base = base_of(run)
    layer = base.model.layers[0]
    # Every decoder Linear really is a bitsandbytes layer (under peft's LoRA wrapper).
    for proj in (layer.self_attn.q_proj, layer.self_attn.o_proj, layer.mlp.down_proj):
        assert type(proj.base_layer) is getattr(bnb.nn, kind)
        assert proj.lora_A["default"].weight.dtype == torch.float32
    if quantization == "4bit":
        w = layer.self_attn.q_proj.base_layer.weight
        assert w.quant_type == "nf4" and w.quant_state.nested  # NF4 with double quantization
        assert layer.self_attn.q_proj.base_layer.compute_dtype == torch.float32  # the run's precision on a CPU
    # Norms, embeddings and the head stay unquantized, in float32, and frozen.
    for p in (layer.input_layernorm.weight, base.model.norm.weight, base.lm_head.weight):
        assert p.dtype == torch.float32
    assert not base.model.norm.weight.requires_grad
    assert base.is_activation_checkpointing  # activation checkpointing on the quantized base


def test_bf16_weights_compute_in_bf16_with_float32_norms_and_head(tiny_model, tmp_path):
    """With model.dtype=bfloat16 the 4-bit matmuls compute in bf16 (the run's precision) while
    peft's k-bit preparation lifts what stays unquantized (norms, embeddings, head) to float32."""
    run, _ = trained(qcfg(tiny_model, tmp_path / "run", "4bit", "train.max_steps=2", "model.dtype=bfloat16"),
                     export=False)
    base = base_of(run)
    layer = base.model.layers[0]
    assert layer.self_attn.q_proj.base_layer.compute_dtype == torch.bfloat16
    for p in (layer.input_layernorm.weight, layer.post_attention_layernorm.weight, base.model.norm.weight,
              base.lm_head.weight):
        assert p.dtype == torch.float32
    losses = [r["loss"] for r in read_metrics(tmp_path / "run" / "metrics.jsonl") if "loss" in r]
    assert all(math.isfinite(x) for x in losses)


def logits(model, ids, train_mode: bool = False):
    """Logits of `ids` without gradients, in eval mode or (`train_mode`) in the training forward."""
    model.train(train_mode)
    with torch.no_grad():
        return model(input_ids=ids).logits.float()


# 4-bit: the trained forward dequantizes NF4 to the float32 compute dtype, exactly the export's
# weights, so only float summation order differs. 8-bit: LLM.int8 also quantizes the activations
# (and computes outliers in fp16), so its forward is the dequantized one's only to ~1% of the
# logits' scale.
# The reference is the training forward: on a CPU with AVX512-BF16, bitsandbytes' eval-mode
# 4-bit forward repacks the weights for a kernel that computes in bf16 (~1e-3 of the scale off).
TOLERANCE = {"4bit": 1e-4, "8bit": 2e-2}


@pytest.mark.parametrize("quantization", ["4bit", "8bit"])
def test_export_is_a_dequantized_merged_checkpoint(tiny_model, tmp_path, quantization):
    from transformers import AutoModelForCausalLM

    run, _ = trained(qcfg(tiny_model, tmp_path / "run", quantization, "train.max_steps=3"), export=False)
    ids = torch.tensor([[1, 5, 9, 40, 77, 300, 12, 3]])
    expected = logits(run.model, ids, train_mode=True)  # the run's lora dropout is 0
    run.export()
    export = tmp_path / "run" / "export"
    config = (export / "config.json").read_text()
    assert "quantization_config" not in config
    plain = AutoModelForCausalLM.from_pretrained(export)
    q = plain.model.layers[0].self_attn.q_proj
    assert type(q) is torch.nn.Linear and q.weight.dtype == torch.float32
    got = logits(plain, ids)
    scale = expected.abs().max().item()
    assert (got - expected).abs().max().item() <= TOLERANCE[quantization] * max(scale, 1.0)


def test_checkpoint_and_exact_resume_on_a_4bit_base(tiny_model, tmp_path, monkeypatch):
    common = ["train.max_steps=6", "train.checkpoint_every=3", "lora.dropout=0.1"]
    train.main(qcfg(tiny_model, tmp_path / "full", "4bit", *common))
    full = read_metrics(tmp_path / "full" / "metrics.jsonl")
    part = tmp_path / "part"
    train_killed_at(monkeypatch, qcfg(tiny_model, part, "4bit", *common), 5)
    train.main(qcfg(tiny_model, part, "4bit", *common), resume=True)
    resumed = read_metrics(part / "metrics.jsonl")
    assert [r["step"] for r in resumed] == [1, 2, 3, 4, 5, 6]
    for a, b in zip(resumed, full):
        assert a["loss"] == pytest.approx(b["loss"], rel=1e-5), a["step"]
    # The quantization fixes the weights the adapter was trained on: a resume must keep it.
    with pytest.raises(CheckError, match=r"model.quantization \(saved '4bit', now '8bit'\)"):
        check_run_dir(qcfg(tiny_model, part, "8bit", *common), resume=True, overwrite=False)


def test_an_addon_trains_on_a_4bit_base(tiny_model, tmp_path):
    run, _ = trained(qcfg(tiny_model, tmp_path / "run", "4bit", "train.max_steps=2",
                          "addons.segment_embedding.enabled=true"), export=False)
    losses = [r["loss"] for r in read_metrics(tmp_path / "run" / "metrics.jsonl") if "loss" in r]
    assert len(losses) == 2 and all(math.isfinite(x) for x in losses)
    assert run.forward.addons


REFUSED = [
    ("train.method=full", "train.method=full: a model.quantization=4bit base cannot be fully fine-tuned"),
    ("lora.fuse_adapters=true", "lora.fuse_adapters=true: the fused LoRA linears compute over float"),
    ("objectives.ewc.weight=0.1", "objectives.ewc.weight: EWC's Fisher needs gradients"),
    ("train.distributed=fsdp", "train.distributed=fsdp: FSDP cannot shard"),
]


@pytest.mark.parametrize("override,message", REFUSED)
def test_what_a_quantized_base_cannot_do_is_refused_before_loading(tiny_model, tmp_path, override, message,
                                                                   monkeypatch, capsys):
    cfg = qcfg(tiny_model, tmp_path / "run", "4bit", override)
    with pytest.raises(ConfigError, match=message.replace("(", r"\(")):
        check_quantization(cfg)
    check_quantization(qcfg(tiny_model, tmp_path / "run", "none", override))  # unquantized: not ours to refuse

    def no_load(*a, **k):
        raise AssertionError("the model was loaded")

    monkeypatch.setattr("instructune.model.load.load_model", no_load)
    monkeypatch.setattr("instructune.model.setup.load_model", no_load)
    code = main(["train", f"model.name={tiny_model}", f"output_dir={tmp_path / 'cli'}", "model.quantization=4bit",
                 "data.train=[starter:train]", override])
    err = capsys.readouterr().err.strip()
    assert code == 2 and message in err and len(err.splitlines()) == 1 and "Traceback" not in err


def test_a_bad_quantization_value_names_the_key_and_the_choices(capsys):
    assert main(["config", "model.quantization=3bit"]) == 2
    assert "model.quantization: got '3bit'; expected one of none, 4bit, 8bit" in capsys.readouterr().err


def test_a_4bit_run_trains_the_same_with_or_without_held_out_evaluations(tiny_model, tmp_path):
    """Held-out evaluation runs the model in eval mode without gradients; on a CPU with
    AVX512-BF16 bitsandbytes then repacked the 4-bit weights for its bf16 inference kernel, and
    the steps after it trained through that kernel: other gradients, silently (step 3's grad
    norm 0.240 against 0.267). `keep_4bit_layout` keeps every layer as it loaded."""
    import bitsandbytes as bnb

    def steps(every):
        cfg = qcfg(tiny_model, tmp_path / f"every{every}", "4bit", "train.max_steps=4", f"train.eval_every={every}",
                   "data.heldout=[starter:heldout]")
        run, _ = trained(cfg, export=False)
        layers = [m for m in run.model.modules() if isinstance(m, bnb.nn.Linear4bit)]
        assert layers and not any(getattr(m.weight.quant_state, "packing_format_for_cpu", False) for m in layers)
        rows = read_metrics(tmp_path / f"every{every}" / "metrics.jsonl")
        return [(r["loss"], r["grad_norm"]) for r in rows if "loss" in r], [r["step"] for r in rows if "eval_loss" in r]

    (plain, _), (evaluated, at) = steps(0), steps(2)
    assert at == [2, 4] and evaluated == plain  # step 3 trained after an evaluation, as if there were none
