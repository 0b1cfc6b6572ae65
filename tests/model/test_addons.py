"""The instruction-aware add-ons on the tiny model: identity at init, gradients, save/load,
KV-cache generation, packing; and, with every add-on on at once, accumulation invariance and
exact resume of the training loop."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from safetensors.torch import load_file

from instructune.config import load_config
from instructune.data.templates import CONTEXT, INSTRUCTION, RESPONSE, TEMPLATE
from instructune.generation.batched import generate_ids
from instructune.generation.params import GenParams
from instructune.model.addons import ADDONS, build_addons
from instructune.model.addons.store import attach_saved, save_addons
from instructune.model.forward import InstructForward
from instructune.model.load import load_model

from assembled import trained
from killed import train_killed_at

NAMES = list(ADDONS)
# Every add-on in its default form, plus the forms an option selects: (name, overrides).
VARIANTS = [(n, ()) for n in NAMES] + [
    ("segment_embedding", ("addons.segment_embedding.instruction_rank=4",)),
    ("two_stream", ("addons.two_stream.gate=static",)),
    ("reasoning_head", ("addons.reasoning_head.scope=all",)),
    ("segment_embedding", ("addons.segment_embedding.scope=all",)),
]
VARIANT_IDS = [" ".join((n, *x)).replace("addons.", "") for n, x in VARIANTS]
T_, I_, C_, R_ = TEMPLATE, INSTRUCTION, CONTEXT, RESPONSE
SEGMENTS = torch.tensor([[T_, I_, I_, I_, C_, C_, T_, R_, R_, R_, R_, R_],
                         [T_, I_, I_, T_, R_, R_, R_, R_, R_, R_, R_, R_]])


def sections(name: str, *extra: str):
    return load_config(None, [f"addons.{name}.enabled=true", *extra]).addons.enabled()


def attached(tiny_model, name: str, perturb: float = 0.0, *extra: str) -> InstructForward:
    """The tiny model (fp32, sdpa) with add-on `name` (and config overrides `extra`);
    `perturb` moves its weights off the init (a trained add-on), so tests see it act."""
    model = load_model(tiny_model, "float32", "sdpa", device="cpu")
    torch.manual_seed(1)
    fwd = InstructForward(model, build_addons(sections(name, *extra), model.config))
    with torch.no_grad():
        for p in fwd.addons.parameters():
            p.add_(torch.randn_like(p) * perturb)
    return fwd


def ids_for(B: int = 2, T: int = 12) -> torch.Tensor:
    return torch.randint(5, 500, (B, T), generator=torch.Generator().manual_seed(0))


@pytest.mark.parametrize("name, extra", VARIANTS, ids=VARIANT_IDS)
def test_attached_untrained_the_model_is_the_base_model(tiny_model, name, extra):
    ids = ids_for()
    plain = load_model(tiny_model, "float32", "sdpa", device="cpu")(input_ids=ids).logits
    fwd = attached(tiny_model, name, 0.0, *extra)
    logits = fwd(ids, SEGMENTS, full_logits=True).logits
    torch.testing.assert_close(logits, plain, rtol=0, atol=1e-6)


@pytest.mark.parametrize("name, extra", VARIANTS, ids=VARIANT_IDS)
def test_gradients_reach_the_addon_and_a_step_changes_its_output(tiny_model, name, extra):
    from instructune.objectives.objective import TrainingObjective

    fwd = attached(tiny_model, name, 0.0, *extra)
    for p in fwd.model.parameters():
        p.requires_grad_(False)
    objective = TrainingObjective(fwd)
    ids = ids_for()
    labels = torch.where(SEGMENTS == RESPONSE, ids, torch.full_like(ids, -100))
    batch = {"input_ids": ids, "segment_ids": SEGMENTS, "labels": labels, "tasks": ["math", "creative_writing"]}
    before = fwd(ids, SEGMENTS, full_logits=True).logits.detach()
    head = fwd.addons["temperature_head"] if "temperature_head" in fwd.addons else None
    t_before = head.predict(fwd(ids, SEGMENTS).hidden, SEGMENTS).detach() if head else None
    sums = objective(**batch)
    counts, weights = objective.counts(batch), objective.weights()
    sum(weights[k] * v / counts[k] for k, v in sums.items()).backward()
    grads = {n: p.grad for n, p in fwd.addons.named_parameters() if p.grad is not None and p.grad.abs().sum() > 0}
    assert grads, f"no gradient reached {name}"
    with torch.no_grad():
        for p in fwd.addons.parameters():
            if p.grad is not None:
                p.sub_(0.1 * p.grad.sign())
    if head:  # a side head: the logits stay the base model's, its prediction moves
        assert torch.equal(fwd(ids, SEGMENTS, full_logits=True).logits, before)
        assert not torch.equal(head.predict(fwd(ids, SEGMENTS).hidden, SEGMENTS), t_before)
    else:
        assert (fwd(ids, SEGMENTS, full_logits=True).logits - before).abs().max() > 1e-4


@pytest.mark.parametrize("gate, params", [("static", ["gates"]), ("token", ["gate_hidden", "gate_context", "gate_bias"])])
def test_the_two_stream_gates_get_a_gradient_at_the_first_step(tiny_model, gate, params):
    fwd = attached(tiny_model, "two_stream", 0.0, f"addons.two_stream.gate={gate}")
    ids = ids_for()
    fwd(ids, SEGMENTS, full_logits=True).logits.sum().backward()
    two = fwd.addons["two_stream"]
    for p in params:  # closed gates, open branch: each gate learns at step 1, in every layer
        assert (getattr(two, p).grad.abs().sum(-1) > 0).all() if getattr(two, p).dim() > 1 else \
            (getattr(two, p).grad.abs() > 0).all(), p
    assert two.fuse.weight.grad.abs().sum() > 0


def test_the_two_stream_token_gate_differs_per_token(tiny_model):
    """The seeds' gate: each token of one record gets its own amount of the same context."""
    fwd = attached(tiny_model, "two_stream", 0.05)  # small: a large one saturates tanh
    two = fwd.addons["two_stream"]
    seen = []
    hook = fwd.lm.get_decoder().layers[0].register_forward_hook(
        lambda m, a, out: seen.append(two.layer_gate(0, out[0] if isinstance(out, tuple) else out,
                                                     two.token_context())))
    fwd(ids_for(), SEGMENTS, full_logits=True)
    hook.remove()
    gate = seen[0][0, :, 0]  # (T,) of the first record
    assert gate.std() > 1e-3 and gate.abs().max() < 1


PLAIN = torch.full_like(SEGMENTS, RESPONSE)  # a record with no instruction segment: plain text


@pytest.mark.parametrize("name, extra", [("two_stream", ()), ("reasoning_head", ()), ("segment_embedding", ()),
                                         ("segment_embedding", ("addons.segment_embedding.instruction_rank=4",))],
                         ids=["two_stream token", "reasoning_head instructed", "segment_embedding instructed",
                              "instruction embedding"])
def test_a_record_without_an_instruction_is_left_alone(tiny_model, name, extra):
    """Trained (perturbed) add-ons leave text without an instruction as the model without them
    reads it: plain text (no segments), a row of response only, and, packed beside an
    instructed record, that record's tokens alone (the other record is still changed)."""
    fwd = attached(tiny_model, name, 0.3, *extra)
    ids = ids_for()
    T = ids.shape[1]
    plain = load_model(tiny_model, "float32", "sdpa", device="cpu")
    base = plain(input_ids=ids).logits
    torch.testing.assert_close(fwd(ids, full_logits=True).logits, base, rtol=0, atol=0)
    torch.testing.assert_close(fwd(ids, PLAIN, full_logits=True).logits, base, rtol=0, atol=0)
    seg = torch.cat([SEGMENTS[0], PLAIN[1]])[None]
    packed = fwd(ids.reshape(1, -1), seg, position_ids=torch.arange(T).repeat(2)[None], full_logits=True).logits[0]
    torch.testing.assert_close(packed[T:], base[1], rtol=1e-4, atol=1e-5)
    assert (packed[:T] - base[0]).abs().max() > 1e-3


@pytest.mark.parametrize("name, extra", [("two_stream", ("addons.two_stream.gate=static",)),
                                         ("reasoning_head", ("addons.reasoning_head.scope=all",)),
                                         ("segment_embedding", ("addons.segment_embedding.scope=all",))])
def test_the_earlier_forms_change_plain_text(tiny_model, name, extra):
    """What the instruction condition removes: the static gate, the head on every response
    token and the segment vectors on every token rewrite text that has no instruction."""
    fwd = attached(tiny_model, name, 0.3, *extra)
    ids = ids_for()
    base = load_model(tiny_model, "float32", "sdpa", device="cpu")(input_ids=ids).logits
    assert (fwd(ids, full_logits=True).logits - base).abs().max() > 1e-3


@pytest.mark.parametrize("name, key, earlier", [("two_stream", "gate", "static"), ("reasoning_head", "scope", "all"),
                                                ("segment_embedding", "scope", "all")])
def test_a_run_saved_before_the_options_reloads_in_its_earlier_form(tiny_model, tmp_path, name, key, earlier):
    """A saved add-on config without `gate` / `scope` was trained in the earlier form."""
    import json

    from instructune.model.addons.store import saved_sections

    option = f"addons.{name}.{key}={earlier}"
    fwd = attached(tiny_model, name, 0.3, option)
    save_addons(fwd, sections(name, option), tmp_path)
    path = tmp_path / "addons" / "config.json"
    raw = json.loads(path.read_text())
    del raw[name][key]
    path.write_text(json.dumps(raw))
    assert getattr(saved_sections(tmp_path)[name], key) == earlier
    loaded = attach_saved(load_model(tiny_model, "float32", "sdpa", device="cpu"), tmp_path)
    ids = ids_for()
    for segments in (SEGMENTS, PLAIN):  # the forms differ on plain text
        assert torch.equal(loaded(ids, segments, full_logits=True).logits, fwd(ids, segments, full_logits=True).logits)


@pytest.mark.parametrize("name, extra", VARIANTS, ids=VARIANT_IDS)
def test_save_and_load_give_identical_logits(tiny_model, name, tmp_path, extra):
    fwd = attached(tiny_model, name, 0.3, *extra)
    ids = ids_for()
    want = fwd(ids, SEGMENTS, full_logits=True)
    save_addons(fwd, sections(name, *extra), tmp_path)
    loaded = attach_saved(load_model(tiny_model, "float32", "sdpa", device="cpu"), tmp_path)
    assert list(loaded.addons) == [name]
    got = loaded(ids, SEGMENTS, full_logits=True)
    assert torch.equal(got.logits, want.logits)
    if name == "temperature_head":
        predicted = [f.addons[name].predict(f(ids, SEGMENTS).hidden, SEGMENTS) for f in (fwd, loaded)]
        assert torch.equal(*predicted)


@pytest.mark.parametrize("name, extra", VARIANTS, ids=VARIANT_IDS)
def test_kv_cache_generation_matches_full_forward_token_for_token(tiny_model, tiny_tokenizer, name, extra):
    fwd = attached(tiny_model, name, 0.3, *extra)
    # Prompts of different lengths: left padding, and the prompt's segments from the renderer.
    prompts = [ids_for(1, 9)[0].tolist(), ids_for(1, 6)[0, :6].tolist()]
    segments = [SEGMENTS[0, :9].tolist(), SEGMENTS[1, :6].tolist()]
    params = GenParams(max_new_tokens=6, temperature=0.0)
    stops = {tiny_tokenizer.eos_token_id, tiny_tokenizer.pad_token_id}
    out = generate_ids(fwd, tiny_tokenizer, prompts, params, batch_size=2, segments=segments)
    for p, s, new in zip(prompts, segments, out):
        ids, seg = list(p), list(s)
        for _ in range(len(new)):
            logits = fwd(torch.tensor([ids]), torch.tensor([seg]), full_logits=True).logits[0, -1]
            ids.append(int(logits.argmax()))
            seg.append(RESPONSE)
        assert ids[len(p):] == new
        assert len(new) == 6 or ids[-1] in stops


@pytest.mark.parametrize("name, extra", VARIANTS, ids=VARIANT_IDS)
def test_kv_cache_logits_equal_full_forward_logits(tiny_model, name, extra):
    """Every decode step's logits (one new token, the rest from the cache) equal a full forward's
    over the whole sequence: a stronger check than equal argmax tokens."""
    fwd = attached(tiny_model, name, 0.3, *extra)
    prompt, seg = ids_for(1, 9), SEGMENTS[:1, :9]
    out = fwd.generate(prompt, seg, attention_mask=torch.ones_like(prompt), max_new_tokens=4, do_sample=False,
                       pad_token_id=0, eos_token_id=[], use_cache=True, output_logits=True,
                       return_dict_in_generate=True)
    seq = out.sequences
    full_seg = torch.cat([seg, torch.full((1, seq.shape[1] - seg.shape[1]), RESPONSE)], dim=1)
    full = fwd(seq, full_seg, full_logits=True).logits[0]
    for k, step in enumerate(out.logits):  # step k predicts token 9 + k from position 8 + k
        torch.testing.assert_close(step[0], full[8 + k], rtol=0, atol=5e-6)


@pytest.mark.parametrize("name, extra", VARIANTS, ids=VARIANT_IDS)
def test_packed_rows_equal_separate_rows(tiny_model, name, extra):
    fwd = attached(tiny_model, name, 0.3, *extra)
    ids = ids_for()
    T = ids.shape[1]
    alone = [fwd(ids[i:i + 1], SEGMENTS[i:i + 1], full_logits=True).logits[0] for i in range(2)]
    packed = fwd(ids.reshape(1, -1), SEGMENTS.reshape(1, -1), position_ids=torch.arange(T).repeat(2)[None],
                 full_logits=True).logits[0]
    torch.testing.assert_close(packed[:T], alone[0], rtol=1e-4, atol=1e-5)
    torch.testing.assert_close(packed[T:], alone[1], rtol=1e-4, atol=1e-5)


def test_instruction_score_bias_on_the_eager_kernel(tiny_model, tiny_tokenizer):
    """The score form's bias through the eager kernel's additive mask: identity at init, the
    same logits as through SDPA once trained, packed rows kept apart, KV cache = full forward."""
    score = "addons.instruction_attention.form=score"
    eager = (score, "addons.instruction_attention.attention=eager")
    ids = ids_for()
    plain = load_model(tiny_model, "float32", "sdpa", device="cpu")(input_ids=ids).logits
    torch.testing.assert_close(attached(tiny_model, "instruction_attention", 0.0, *eager)(
        ids, SEGMENTS, full_logits=True).logits, plain, rtol=0, atol=1e-5)
    e, s = (attached(tiny_model, "instruction_attention", 0.3, *x) for x in (eager, [score]))
    assert e.config._attn_implementation == "instructune_guided_eager"
    torch.testing.assert_close(e(ids, SEGMENTS, full_logits=True).logits, s(ids, SEGMENTS, full_logits=True).logits,
                               rtol=1e-4, atol=1e-5)
    T = ids.shape[1]
    packed = e(ids.reshape(1, -1), SEGMENTS.reshape(1, -1), position_ids=torch.arange(T).repeat(2)[None],
               full_logits=True).logits[0]
    torch.testing.assert_close(packed[T:], e(ids[1:], SEGMENTS[1:], full_logits=True).logits[0], rtol=1e-4, atol=1e-5)
    prompts, segments = [ids[0, :9].tolist(), ids[1, :6].tolist()], [SEGMENTS[0, :9].tolist(), SEGMENTS[1, :6].tolist()]
    out = generate_ids(e, tiny_tokenizer, prompts, GenParams(max_new_tokens=5, temperature=0.0), batch_size=2,
                       segments=segments)
    for p, sg, new in zip(prompts, segments, out):
        full = list(p)
        for _ in new:
            full.append(int(e(torch.tensor([full]), torch.tensor([sg + [RESPONSE] * (len(full) - len(p))]),
                              full_logits=True).logits[0, -1].argmax()))
        assert full[len(p):] == new


def kernel_extras(fwd: InstructForward, monkeypatch) -> list[tuple[tuple[int, ...], ...]]:
    """What reaches SDPA besides q, k, v (the mask / bias tensors' shapes), call by call, in a
    forward over two unpadded rows and in the prompt + decode calls of a generation."""
    seen: list[tuple[tuple[int, ...], ...]] = []
    sdpa = torch.nn.functional.scaled_dot_product_attention

    def recording(q, k, v, *args, **kwargs):
        seen.append(tuple(tuple(a.shape) for a in (*args, *kwargs.values()) if isinstance(a, torch.Tensor)))
        return sdpa(q, k, v, *args, **kwargs)

    with monkeypatch.context() as m:
        m.setattr(torch.nn.functional, "scaled_dot_product_attention", recording)
        fwd(ids_for(), SEGMENTS, full_logits=True)
        fwd.generate(ids_for(1, 9), SEGMENTS[:1, :9], max_new_tokens=3, do_sample=False, pad_token_id=0,
                     eos_token_id=[])
    return seen


@pytest.mark.parametrize("form", ["key", "score"])
def test_instruction_attention_passes_no_t_by_t_bias_to_the_kernel(tiny_model, monkeypatch, form):
    """The key form hands SDPA exactly what the plain model does (here: no mask at all, so no
    (T, T)-sized tensor); the score form hands it a (B, H, Tq, Tk) bias per call, so the check
    can fail."""
    plain = kernel_extras(InstructForward(load_model(tiny_model, "float32", "sdpa", device="cpu")), monkeypatch)
    seen = kernel_extras(attached(tiny_model, "instruction_attention", 0.3,
                                  f"addons.instruction_attention.form={form}"), monkeypatch)
    assert len(seen) == len(plain) == 2 * 4  # every layer of the forward and of the 4 generation calls
    if form == "key":
        assert seen == plain and not any(seen)
    else:
        assert all((2, 4, 12, 12) in call for call in seen[:2]) and all((1, 4, 1, 9 + k) in seen[2 + 2 * k]
                                                                       for k in range(1, 3))


def test_the_key_bias_reaches_fused_lora_linears(tiny_model):
    """`lora.fuse_adapters` computes q, k, v in one group: the key bias still lands on k (the
    fused and the peft forward give the same logits, which differ from the model without it)."""
    from instructune.model.lora_fusion import fuse_lora_linears
    from instructune.model.setup import apply_lora

    def biased(fuse: bool) -> InstructForward:
        torch.manual_seed(0)
        model = apply_lora(load_model(tiny_model, "float32", "sdpa", device="cpu"), [], r=4, alpha=8, dropout=0.0,
                           target_modules="all-linear")
        with torch.no_grad():
            for n, p in model.named_parameters():
                if "lora_B" in n:
                    p.normal_(0, 0.05, generator=torch.Generator().manual_seed(3))
        if fuse:
            assert fuse_lora_linears(model) > 0
        fwd = InstructForward(model, build_addons(sections("instruction_attention"), model.get_base_model().config))
        torch.manual_seed(1)
        with torch.no_grad():
            for p in fwd.addons.parameters():
                p.add_(torch.randn_like(p) * 0.3)
        return fwd

    ids = ids_for()
    peft_way, fused = biased(False), biased(True)
    want = peft_way(ids, SEGMENTS, full_logits=True).logits
    torch.testing.assert_close(fused(ids, SEGMENTS, full_logits=True).logits, want, rtol=1e-5, atol=1e-5)
    peft_way.detach_addons()
    assert (peft_way(ids, SEGMENTS, full_logits=True).logits - want).abs().max() > 1e-3


def test_a_run_saved_before_the_key_form_loads_as_the_score_form(tiny_model, tmp_path):
    """A saved instruction_attention section without `form` was the score form: it loads as
    one, with its weights, rather than as the key form with missing keys."""
    import json

    fwd = attached(tiny_model, "instruction_attention", 0.3, "addons.instruction_attention.form=score")
    save_addons(fwd, sections("instruction_attention", "addons.instruction_attention.form=score"), tmp_path)
    path = tmp_path / "addons" / "config.json"
    raw = json.loads(path.read_text())
    del raw["instruction_attention"]["form"]
    path.write_text(json.dumps(raw))
    loaded = attach_saved(load_model(tiny_model, "float32", "sdpa", device="cpu"), tmp_path)
    ids = ids_for()
    assert torch.equal(loaded(ids, SEGMENTS, full_logits=True).logits, fwd(ids, SEGMENTS, full_logits=True).logits)


def test_the_key_form_refuses_latent_attention_before_loading():
    from transformers import DeepseekV3Config

    from instructune.config import ConfigError
    from instructune.model.addons import check_addons

    with pytest.raises(ConfigError, match="form=key: deepseek_v3 forms its keys from a latent.*form=score"):
        check_addons(sections("instruction_attention"), DeepseekV3Config())
    check_addons(sections("instruction_attention", "addons.instruction_attention.form=score"), DeepseekV3Config())


def test_detaching_restores_the_plain_model(tiny_model):
    fwd = attached(tiny_model, "instruction_attention", 0.3)
    ids = ids_for()
    fwd.detach_addons()
    plain = load_model(tiny_model, "float32", "sdpa", device="cpu")(input_ids=ids).logits
    assert fwd.config._attn_implementation == "sdpa"
    torch.testing.assert_close(fwd.model(input_ids=ids).logits, plain, rtol=0, atol=0)


ALL_ON = [f"addons.{n}.enabled=true" for n in NAMES] + ["addons.segment_embedding.instruction_rank=4"]


def tiny_cfg(tiny_model, out, *extra):
    return load_config(None, [f"model.name={tiny_model}", f"output_dir={out}", "data.max_length=256",
                              "train.lr=1e-2", "train.warmup_ratio=0.0", "train.seed=3", "eval.batch_size=16",
                              "data.heldout=[]", *ALL_ON, *extra])


def test_every_addon_on_batch8x1_equals_batch2x4(tiny_model, tmp_path):
    from instructune.train.metrics_log import read_metrics

    common = ["train.max_steps=3", "train.group_by_length=false"]
    trained(tiny_cfg(tiny_model, tmp_path / "a", "train.batch_size=8", "train.grad_accum=1", *common))
    trained(tiny_cfg(tiny_model, tmp_path / "b", "train.batch_size=2", "train.grad_accum=4", *common))
    ma, mb = read_metrics(tmp_path / "a" / "metrics.jsonl"), read_metrics(tmp_path / "b" / "metrics.jsonl")
    for key in ("loss", "temperature_loss"):
        assert [m[key] for m in ma] == pytest.approx([m[key] for m in mb], rel=1e-4), key
    wa = load_file(tmp_path / "a" / "addons" / "addons.safetensors")
    wb = load_file(tmp_path / "b" / "addons" / "addons.safetensors")
    assert set(wa) == set(wb) and any(k.startswith("two_stream.") for k in wa)
    for k in wa:  # Adam turns float-rounding differences of near-zero gradients into ~1e-5 steps
        torch.testing.assert_close(wa[k], wb[k], rtol=1e-3, atol=5e-5)


def test_every_addon_on_resume_is_exact(tiny_model, tmp_path, monkeypatch):
    from instructune.recipes import train
    from instructune.train.metrics_log import read_metrics

    common = ["train.max_steps=4", "train.batch_size=4", "train.checkpoint_every=2", "data.packing=true"]
    train.main(tiny_cfg(tiny_model, tmp_path / "full", *common))
    part = tmp_path / "part"
    train_killed_at(monkeypatch, tiny_cfg(tiny_model, part, *common), 3)
    train.main(tiny_cfg(tiny_model, part, *common), resume=True)
    full, resumed = read_metrics(tmp_path / "full" / "metrics.jsonl"), read_metrics(part / "metrics.jsonl")
    assert [r["step"] for r in resumed] == [1, 2, 3, 4]
    for a, b in zip(resumed, full):
        assert a["loss"] == pytest.approx(b["loss"], rel=1e-6)
        assert a["temperature_loss"] == pytest.approx(b["temperature_loss"], rel=1e-6)
    wa = load_file(tmp_path / "full" / "addons" / "addons.safetensors")
    wb = load_file(part / "addons" / "addons.safetensors")
    for k in wa:
        torch.testing.assert_close(wa[k], wb[k])


def test_addons_train_alongside_full_finetuning_and_restore_for_generation(tiny_model, tmp_path):
    from instructune.cli import main as cli

    run = tmp_path / "full"
    assert cli(["train", f"model.name={tiny_model}", f"output_dir={run}", "train.method=full", "train.max_steps=2",
                "data.max_length=64", "train.eval_every=0", "addons.two_stream.enabled=true",
                "addons.reasoning_head.enabled=true"]) == 0
    saved = load_file(run / "addons" / "addons.safetensors")
    assert saved["two_stream.gate_bias"].abs().sum() > 0  # trained off its closed init
    assert saved["reasoning_head.project.weight"].abs().sum() > 0
    assert not (run / "adapter").exists() and (run / "export" / "config.json").exists()
    from instructune.generation.load import load_for_inference
    from instructune.recipes.builders import inference_kwargs

    cfg = load_config(None, [f"model.name={tiny_model}"])
    fwd, _ = load_for_inference(str(run), **inference_kwargs(cfg))
    plain, _ = load_for_inference(str(run), addons=False, **inference_kwargs(cfg))
    assert list(fwd.addons) == ["two_stream", "reasoning_head"] and not plain.addons
    ids = ids_for()
    assert not torch.equal(fwd(ids, SEGMENTS, full_logits=True).logits, plain(ids, SEGMENTS, full_logits=True).logits)


def test_two_stream_minilm_encoder_reads_the_instruction_text(tiny_model, tiny_tokenizer, tmp_path):
    """encoder=minilm: the context is a map of the sentence embedding of each record's decoded
    instruction (a fake embedder here, counting its calls), packed records apart, once per text."""
    calls: list[list[str]] = []

    def fake_embed(texts):
        calls.append(list(texts))
        return np.stack([np.full(8, float(len(t)), dtype=np.float32) for t in texts])

    model = load_model(tiny_model, "float32", "sdpa", device="cpu")
    section = sections("two_stream", "addons.two_stream.encoder=minilm")
    fwd = InstructForward(model, build_addons(section, model.config, tokenizer=tiny_tokenizer, embed=fake_embed))
    two = fwd.addons["two_stream"]
    assert two.read_text.in_features == 8 and not hasattr(two, "encoder")  # its width probed by one call
    calls.clear()
    ids = ids_for()
    plain = load_model(tiny_model, "float32", "sdpa", device="cpu")(input_ids=ids).logits
    torch.testing.assert_close(fwd(ids, SEGMENTS, full_logits=True).logits, plain, rtol=0, atol=1e-6)  # identity
    texts = [tiny_tokenizer.decode(ids[r][SEGMENTS[r] == INSTRUCTION].tolist(), skip_special_tokens=True).strip()
             for r in range(2)]
    assert calls == [list(dict.fromkeys(texts))]
    with torch.no_grad():
        for p in two.parameters():
            p.add_(torch.randn_like(p) * 0.3)
    T = ids.shape[1]
    packed = fwd(ids.reshape(1, -1), SEGMENTS.reshape(1, -1), position_ids=torch.arange(T).repeat(2)[None],
                 full_logits=True).logits[0]
    torch.testing.assert_close(packed[T:], fwd(ids[1:], SEGMENTS[1:], full_logits=True).logits[0], rtol=1e-4, atol=1e-5)
    assert len(calls) == 1  # the texts were embedded once
    save_addons(fwd, section, tmp_path)
    loaded = attach_saved(load_model(tiny_model, "float32", "sdpa", device="cpu"), tmp_path, tokenizer=tiny_tokenizer,
                          embed=fake_embed)
    assert torch.equal(loaded(ids, SEGMENTS, full_logits=True).logits, fwd(ids, SEGMENTS, full_logits=True).logits)
