"""The families users bring (Llama 3, Qwen2, Qwen3, Mistral, Gemma 2, Gemma 3, Phi-3, Qwen3-MoE),
each a tiny seeded model (`tests/families.py`), through every feature: LoRA and full training,
packing, the add-ons, KV-cache generation, exact resume, export into plain transformers; and
the combinations that cannot work, refused before the model loads in one line."""

from __future__ import annotations

import math

import pytest
import torch

from instructune.config import ConfigError, load_config
from instructune.data.templates import CONTEXT, INSTRUCTION, RESPONSE, TEMPLATE
from instructune.generation.batched import generate_ids
from instructune.generation.params import GenParams
from instructune.model.addons import ADDONS, build_addons
from instructune.model.forward import InstructForward, model_inputs
from instructune.model.load import load_model, load_tokenizer

from assembled import trained
from families import FAMILIES, build_family
from killed import train_killed_at

T_, I_, C_, R_ = TEMPLATE, INSTRUCTION, CONTEXT, RESPONSE
# Two records of 20 tokens, longer than the sliding windows (8), so a window that is ignored shows.
SEGMENTS = torch.tensor([[T_] + [I_] * 6 + [C_] * 4 + [T_] + [R_] * 8,
                         [T_] + [I_] * 4 + [T_] + [R_] * 14])
SOFTCAPPED = {"gemma2"}  # attention scores soft-capped: neither SDPA nor varlen can compute them


@pytest.fixture(scope="session")
def family_dir(tmp_path_factory, tiny_model):
    """family → the path of its tiny model (built on first use, once per session)."""
    root = tmp_path_factory.mktemp("families")
    built: dict[str, str] = {}

    def get(family: str) -> str:
        if family not in built:
            built[family] = str(build_family(family, root / family, tiny_model))
        return built[family]
    return get


def attention(family: str) -> str:
    """The attention a test loads the family with: eager where SDPA cannot soft-cap."""
    return "eager" if family in SOFTCAPPED else "sdpa"


def ids_for(B: int = 2, T: int = 20) -> torch.Tensor:
    return torch.randint(5, 500, (B, T), generator=torch.Generator().manual_seed(0))


def family_cfg(path: str, out, *extra: str):
    return load_config(None, [f"model.name={path}", f"output_dir={out}", "data.max_length=128", "train.lr=1e-2",
                              "train.warmup_ratio=0.0", "train.seed=3", "data.heldout=[]", "train.batch_size=4",
                              "train.eval_every=0", *extra])


def losses(run_dir) -> list[float]:
    from instructune.train.metrics_log import read_metrics

    return [m["loss"] for m in read_metrics(run_dir / "metrics.jsonl")]


# --- training, then export into plain transformers ---------------------------------------------

@pytest.mark.parametrize("method", ["lora", "full"])
@pytest.mark.parametrize("family", FAMILIES)
def test_trains_and_exports_logits_plain_transformers_reproduces(family_dir, family, method, tmp_path):
    """A few steps change the loss (finite), and the merged export, loaded by plain transformers,
    gives the trained model's logits within 1e-5."""
    from transformers import AutoModelForCausalLM

    cfg = family_cfg(family_dir(family), tmp_path, f"train.method={method}", "train.max_steps=3",
                     "train.log_every=1")
    run, _ = trained(cfg, export=False)
    seen = losses(tmp_path)
    assert len(seen) == 3 and all(math.isfinite(x) for x in seen) and seen[-1] != seen[0], seen
    ids = ids_for()
    run.forward.eval()
    with torch.no_grad():
        ours = run.forward(ids, SEGMENTS, full_logits=True).logits
    run.export()
    plain = AutoModelForCausalLM.from_pretrained(tmp_path / "export", dtype=torch.float32)
    with torch.no_grad():
        theirs = plain(input_ids=ids).logits
    torch.testing.assert_close(theirs, ours, rtol=0, atol=1e-5)


# --- packing -----------------------------------------------------------------------------------

@pytest.mark.parametrize("attn", ["sdpa", "varlen"])
@pytest.mark.parametrize("family", FAMILIES)
def test_packed_records_equal_each_record_alone(family_dir, family, attn):
    """Two 20-token records packed in one row (restarting positions, the collator's cu_seqlens)
    give each record's own logits, sliding windows included; a soft-capped family is refused."""
    path = family_dir(family)
    if family in SOFTCAPPED:
        with pytest.raises(ConfigError, match=f"{family}.*soft-caps"):
            load_model(path, "float32", attn, device="cpu", training=True)
        return
    model = load_model(path, "float32", attn, device="cpu", training=True).eval()
    ref = load_model(path, "float32", "eager", device="cpu").eval()
    ids = ids_for()
    T = ids.shape[1]
    batch = {"input_ids": ids.reshape(1, -1), "position_ids": torch.arange(T).repeat(2)[None],
             "cu_seqlens": torch.tensor([0, T, 2 * T], dtype=torch.int32), "max_seqlen": T}
    with torch.no_grad():
        packed = model(**model_inputs(model, batch)).logits[0]
        for i in range(2):
            alone = ref(input_ids=ids[i:i + 1]).logits[0]
            torch.testing.assert_close(packed[i * T:(i + 1) * T], alone, rtol=1e-4, atol=1e-5)


@pytest.mark.parametrize("family", FAMILIES)
def test_packed_training_runs(family_dir, family, tmp_path):
    cfg = family_cfg(family_dir(family), tmp_path, "data.packing=true", "train.max_steps=2", "train.log_every=1",
                     f"model.attn_implementation={attention(family) if family in SOFTCAPPED else 'auto'}")
    trained(cfg, export=False)
    assert all(math.isfinite(x) for x in losses(tmp_path))


# --- add-ons -----------------------------------------------------------------------------------

def addon_sections(name: str, *extra: str):
    return load_config(None, [f"addons.{name}.enabled=true", *extra]).addons.enabled()


@pytest.mark.parametrize("name", list(ADDONS))
@pytest.mark.parametrize("family", FAMILIES)
def test_addon_attached_untrained_is_the_base_model(family_dir, family, name):
    path, attn = family_dir(family), attention(family)
    ids = ids_for()
    with torch.no_grad():
        plain = load_model(path, "float32", attn, device="cpu")(input_ids=ids).logits
        model = load_model(path, "float32", attn, device="cpu")
        extra = ["addons.instruction_attention.attention=eager"] if family in SOFTCAPPED else []
        extra += ["addons.segment_embedding.instruction_rank=4"]  # the instruction embedding matrix too
        fwd = InstructForward(model, build_addons(addon_sections(name, *extra), model.config))
        torch.testing.assert_close(fwd(ids, SEGMENTS, full_logits=True).logits, plain, rtol=0, atol=1e-6)


def key_biased(path: str, attn: str, training: bool = False) -> InstructForward:
    """The family with the key form of instruction attention, its weights moved off the init."""
    model = load_model(path, "float32", attn, device="cpu", training=training).eval()
    fwd = InstructForward(model, build_addons(addon_sections("instruction_attention"), model.config))
    torch.manual_seed(1)
    with torch.no_grad():
        for p in fwd.addons.parameters():
            p.add_(torch.randn_like(p) * 0.3)
    return fwd


@pytest.mark.parametrize("family", FAMILIES)
def test_key_bias_lands_on_the_keys_of_instruction_tokens_only(family_dir, family):
    """What the hook adds to the key projection's output (Phi-3: the fused qkv_proj) is nonzero
    exactly on the key columns of instruction tokens: q, v and other tokens are untouched."""
    from instructune.model.addons.instruction_attention import key_projection

    fwd = key_biased(family_dir(family), attention(family))
    module, _ = key_projection(fwd.lm.get_decoder().layers[0].self_attn, fwd.config)
    seen = []
    handle = module.register_forward_hook(lambda m, args, out: seen.append((args[0], out)))
    with torch.no_grad():
        fwd(ids_for(), SEGMENTS, full_logits=True)
        x, out = seen[0]
        added = out - type(module).forward(module, x)  # the projection without its hooks
    handle.remove()
    kv = fwd.addons["instruction_attention"].key_bias.shape[1]
    start = out.shape[-1] - 2 * kv if family == "phi3" else 0  # Phi-3's qkv_proj: [q | k | v], k and v H_kv·D wide
    cols = torch.zeros(out.shape[-1], dtype=torch.bool)
    cols[start:start + kv] = True
    rows = SEGMENTS == I_
    assert (added[rows][:, cols] != 0).all()
    assert (added[~rows] == 0).all() and (added[..., ~cols] == 0).all()


@pytest.mark.parametrize("attn", ["sdpa", "varlen"])
@pytest.mark.parametrize("family", [f for f in FAMILIES if f not in SOFTCAPPED])
def test_key_bias_packed_records_equal_each_record_alone(family_dir, family, attn):
    """With a trained key bias, two records packed in one row (restarting positions, the
    collator's cu_seqlens for varlen) give each record's own logits (alone: through sdpa, whose
    mask keeps the sliding windows; varlen without cu_seqlens applies none)."""
    fwd, ref = key_biased(family_dir(family), attn, training=True), key_biased(family_dir(family), "sdpa")
    ids = ids_for()
    T = ids.shape[1]
    with torch.no_grad():
        packed = fwd(ids.reshape(1, -1), SEGMENTS.reshape(1, -1), position_ids=torch.arange(T).repeat(2)[None],
                     cu_seqlens=torch.tensor([0, T, 2 * T], dtype=torch.int32), max_seqlen=T,
                     full_logits=True).logits[0]
        for i in range(2):
            alone = ref(ids[i:i + 1], SEGMENTS[i:i + 1], full_logits=True).logits[0]
            torch.testing.assert_close(packed[i * T:(i + 1) * T], alone, rtol=1e-4, atol=1e-5)


@pytest.mark.parametrize("family", FAMILIES)
def test_key_bias_kv_cache_logits_equal_full_forward(family_dir, family):
    """Greedy decoding through the KV cache with a trained key bias: each step's logits equal a
    full forward's (the cached instruction keys kept their bias), past the sliding window."""
    fwd = key_biased(family_dir(family), attention(family))
    prompt, seg = ids_for(1, 14), SEGMENTS[:1, :14]
    with torch.no_grad():
        out = fwd.generate(prompt, seg, attention_mask=torch.ones_like(prompt), max_new_tokens=4, do_sample=False,
                           pad_token_id=0, eos_token_id=[], use_cache=True, output_logits=True,
                           return_dict_in_generate=True)
        seq = out.sequences
        full_seg = torch.cat([seg, torch.full((1, seq.shape[1] - 14), R_)], dim=1)
        full = fwd(seq, full_seg, full_logits=True).logits[0]
    for k, step in enumerate(out.logits):
        torch.testing.assert_close(step[0], full[13 + k], rtol=1e-4, atol=1e-5)


# --- generation --------------------------------------------------------------------------------

@pytest.mark.parametrize("family", FAMILIES)
def test_kv_cache_generation_equals_full_forward_at_temperature_0(family_dir, family):
    """Greedy tokens through the KV cache (left-padded batch of two prompts, past the sliding
    window) are the argmax of a full forward over the whole sequence, token for token."""
    path = family_dir(family)
    tokenizer = load_tokenizer(path)
    fwd = InstructForward(load_model(path, "float32", attention(family), device="cpu").eval())
    prompts = [ids_for(1, 14)[0].tolist(), ids_for(1, 9)[0].tolist()]
    segments = [SEGMENTS[0, :14].tolist(), SEGMENTS[1, :9].tolist()]
    out = generate_ids(fwd, tokenizer, prompts, GenParams(max_new_tokens=6, temperature=0.0), batch_size=2,
                       segments=segments)
    stops = {tokenizer.eos_token_id, tokenizer.pad_token_id}
    for p, new in zip(prompts, out):
        ids = list(p)
        with torch.no_grad():
            for _ in new:
                ids.append(int(fwd(torch.tensor([ids]), full_logits=True).logits[0, -1].argmax()))
        assert ids[len(p):] == new
        assert len(new) == 6 or ids[-1] in stops


# --- resume ------------------------------------------------------------------------------------

@pytest.mark.parametrize("family", FAMILIES)
def test_resume_is_exact(family_dir, family, tmp_path, monkeypatch):
    from instructune.recipes import train

    common = ["train.max_steps=3", "train.checkpoint_every=1", "train.log_every=1"]
    path = family_dir(family)
    train.main(family_cfg(path, tmp_path / "full", *common))
    part = tmp_path / "part"
    train_killed_at(monkeypatch, family_cfg(path, part, *common), 3)
    train.main(family_cfg(path, part, *common), resume=True)
    assert losses(part) == pytest.approx(losses(tmp_path / "full"), rel=1e-6)


# --- refusals, before any model loads ----------------------------------------------------------

@pytest.mark.parametrize("settings, says", [
    (["model.attn_implementation=sdpa"], "model.attn_implementation=sdpa: gemma2 soft-caps its attention scores"),
    (["model.attn_implementation=varlen"], "model.attn_implementation=varlen: gemma2 soft-caps"),
    (["addons.instruction_attention.enabled=true", "addons.instruction_attention.form=score"],
     "addons.instruction_attention.attention=sdpa: gemma2 soft-caps its attention scores.*attention=eager"),
])
def test_gemma2_refuses_what_cannot_soft_cap_before_loading(family_dir, tmp_path, monkeypatch, settings, says):
    from transformers import AutoModelForCausalLM

    from instructune.recipes.checks import CheckError, check_train

    def no_load(*args, **kwargs):
        raise AssertionError("a model was loaded")

    monkeypatch.setattr(AutoModelForCausalLM, "from_pretrained", no_load)
    with pytest.raises(CheckError, match=says) as e:
        check_train(family_cfg(family_dir("gemma2"), tmp_path / "run", *settings))
    assert "\n" not in str(e.value)


@pytest.mark.parametrize("form", [["addons.instruction_attention.form=key"],
                                  ["addons.instruction_attention.form=score", "addons.instruction_attention.attention=eager"]])
def test_gemma2_auto_attention_is_eager_and_instruction_attention_runs_on_eager(family_dir, tmp_path, form):
    """The key form leaves the (eager) kernel alone, so it needs no setting; the score form
    wraps the eager kernel when told to."""
    from instructune.recipes.checks import check_train

    path = family_dir("gemma2")
    cfg = family_cfg(path, tmp_path / "run", "addons.instruction_attention.enabled=true", *form)
    check_train(cfg)
    assert load_model(path, "float32", "auto", device="cpu").config._attn_implementation == "eager"
    model = load_model(path, "float32", "auto", device="cpu", training=True)
    fwd = InstructForward(model, build_addons(cfg.addons.enabled(), model.config))
    ids = ids_for()
    with torch.no_grad():
        plain = load_model(path, "float32", "auto", device="cpu")(input_ids=ids).logits
        torch.testing.assert_close(fwd(ids, SEGMENTS, full_logits=True).logits, plain, rtol=0, atol=1e-6)


def test_varlen_refuses_a_softcap_rather_than_dropping_it():
    from instructune.model.attention import varlen_attention_forward

    q = torch.zeros(1, 4, 6, 16)
    kv = torch.zeros(1, 2, 6, 16)
    with pytest.raises(ValueError, match="soft-cap"):
        varlen_attention_forward(torch.nn.Module(), q, kv, kv, None, softcap=50.0,
                                 cu_seq_lens_q=torch.tensor([0, 6], dtype=torch.int32), max_length_q=6)


# --- fused LoRA --------------------------------------------------------------------------------

@pytest.mark.parametrize("family", FAMILIES)
def test_fused_lora_gives_peft_logits_and_gradients(family_dir, family):
    """`lora.fuse_adapters` on every linear of the family (Phi-3's fused qkv_proj / gate_up_proj
    alone, Qwen2's biased q/k/v as a group, the MoE's router and attention): the logits and
    every adapter gradient are peft's own."""
    from instructune.model.lora_fusion import fuse_lora_linears
    from instructune.model.setup import apply_lora

    torch.manual_seed(0)
    model = apply_lora(load_model(family_dir(family), "float32", attention(family), device="cpu"), [], r=4,
                       alpha=8, dropout=0.0, target_modules="all-linear")
    g = torch.Generator().manual_seed(1)
    with torch.no_grad():  # non-zero B, so every lora_A gradient shows
        for name, p in model.named_parameters():
            if "lora_B" in name:
                p.copy_(torch.randn(p.shape, generator=g) * 0.05)
    ids = ids_for()
    w = torch.randn(2, 20, model.config.vocab_size, generator=torch.Generator().manual_seed(2))

    def run():
        model.zero_grad(set_to_none=True)
        logits = model(input_ids=ids).logits
        (logits * w).sum().backward()
        return logits.detach(), {n: p.grad.clone() for n, p in model.named_parameters() if p.requires_grad}

    want, want_grads = run()
    assert fuse_lora_linears(model) > 0
    got, grads = run()
    assert relative_error(got, want) <= 1e-6
    assert grads.keys() == want_grads.keys()
    for n in want_grads:
        assert relative_error(grads[n], want_grads[n]) <= 1e-5, n


def relative_error(got: torch.Tensor, want: torch.Tensor) -> float:
    """The largest difference relative to the largest value: sums taken in another order differ
    in their last bits relative to the sum, not to each element."""
    return (got - want).abs().max().item() / max(want.abs().max().item(), 1e-30)


# --- each family's own chat format ---------------------------------------------------------------

OWN_FORMAT = {"llama3": "llama3", "qwen2": "chat", "qwen3": "chat", "mistral": "inst", "gemma2": "gemma",
              "gemma3": "gemma", "phi3": "phi3", "qwen3_moe": "chat"}  # Qwen's is ChatML: the tiny tokenizer's


@pytest.mark.parametrize("family", FAMILIES)
def test_trains_in_its_own_chat_format_and_the_export_prompts_as_trained(family_dir, family, tmp_path):
    """LoRA with the family's turn format: the markers the tokenizer lacks are added (rows
    mean-initialised and trained), and the export's chat template gives the prompt training saw."""
    from transformers import AutoModelForCausalLM, AutoTokenizer

    from instructune.data.record import Record
    from instructune.data.render import render_prompt
    from instructune.data.templates import get_template

    name = OWN_FORMAT[family]
    cfg = family_cfg(family_dir(family), tmp_path, f"template.name={name}", "train.max_steps=2")
    run, _ = trained(cfg)
    template = get_template(name)
    tok = AutoTokenizer.from_pretrained(tmp_path / "export")
    assert all(m in tok.get_vocab() for m in template.special_tokens)
    rec = Record(id="r", instruction="Name a colour.", response="Blue.", system="Be brief.")
    prompt = tok.apply_chat_template([{"role": "system", "content": "Be brief."},
                                      {"role": "user", "content": "Name a colour."}],
                                     tokenize=False, add_generation_prompt=True)
    assert prompt == tok.decode(render_prompt(rec, tok, template))
    model = AutoModelForCausalLM.from_pretrained(tmp_path / "export")
    assert model.get_input_embeddings().num_embeddings == len(tok)
