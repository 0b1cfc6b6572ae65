"""GPU training throughput: one LoRA job through instructune and TRL, plus full fine-tuning.

    python bench/gpu_throughput.py --out DIR [--shape 1.7b] [--parts checks,instructune,trl,...]
    python bench/gpu_throughput.py --tiny --out DIR        # the same code paths on a CPU, in a minute

The job (every contender): 999 synthetic Alpaca-like records (instruction, optional input,
output; lengths drawn from log-normal distributions shaped like Alpaca's, words drawn from the
tokenizer's vocabulary, seed 0), the model's chat template (SmolLM2's tokenizer), loss on the
response only, max_length 1024, LoRA r=16 / alpha=32 / dropout 0 on all linear layers, lr 2e-4,
constant LR (no warmup), bf16 mixed precision, no gradient checkpointing unless said. Models
are built from a config with random weights in the shapes of SmolLM2-135M / SmolLM2-1.7B or a
Llama-2-7B-like decoder (`--shape 7b`, for the QLoRA contenders: ~13.5 GB of bf16 on disk) and saved once, so every contender loads the same weights from disk.

Contenders (each in its own fresh subprocess; `--parts` picks):
- `instructune`         instructune defaults on the GPU (varlen attention, fused/chunked loss, bf16
                        autocast, fp32 adapters), packed rows of 1024 tokens, --rows per micro-batch,
                        --accum micro-batches per step;
- `instructune-ckpt`    the same with `train.activation_checkpointing=true`;
- `instructune-compile` the same with `train.compile=true`;
- `instructune-nofused` the same with `train.fused_kernels=false` (no liger RMSNorm/SwiGLU/RoPE);
- `instructune-unfused` the same with `lora.fuse_adapters=false` (peft's own LoRA forward);
- `instructune-fused`   the same with `lora.fuse_adapters=true` (the default on CUDA; on a CPU too);
- `instructune-2xrows`  twice --rows per micro-batch, half --accum (the same tokens per step);
- `instructune-zero2` / `instructune-zero3`  the same under DeepSpeed ZeRO-2 / ZeRO-3, launched by
                        `accelerate launch` with a DeepSpeed config on every visible GPU (bf16 when
                        the device has it): what DeepSpeed's engine costs at equal records per step;
- `instructune+NAME`   the same with the instruction-aware add-on NAME on (`addons.NAME.enabled=true`,
                        `model/addons/`; or a variant from `ADDON_VARIANTS`, e.g.
                        `instructune+instruction_attention_score`, the score form): its step-time
                        and memory cost on the GPU;
- `lora-micro`          one decoder layer's seven adapted linears alone, --rows x --max-length
                        tokens, forward + backward: the base linears without LoRA (the floor),
                        peft, fused one linear at a time, fused with shared inputs;
- `instructune-qlora`   the same LoRA job on a 4-bit base (`model.quantization=4bit`: NF4, double
                        quantization, bf16 compute; norms and head in fp32): against `instructune`
                        (bf16 LoRA) it is what 4 bits cost in speed and save in memory;
- `instructune-qlora-ckpt`  the same with activation checkpointing (what a 24 GB card needs at 7B);
- `trl`                 TRL `SFTTrainer` with its defaults (8 padded rows per step, gradient
                        checkpointing on);
- `trl-best`            TRL with its own packing (bfd, padding-free), liger-kernel when installed, no
                        checkpointing, --rows x --accum packed rows per step (equal tokens per step);
- `trl-qlora`           TRL + peft QLoRA at their defaults: the model loaded with transformers'
                        `BitsAndBytesConfig` (NF4, double quantization, bf16 compute), SFTTrainer's
                        defaults otherwise (its k-bit preparation, gradient checkpointing on);
- `full-bf16` / `full-fp32`  full fine-tuning, 20 steps, 4 packed rows: bf16 autocast over fp32
                        master weights vs an all-fp32 reference (TF32 off): the loss curves must
                        agree within 1%;
- `full-mfu`            full fine-tuning, bf16 autocast, --rows packed rows per step;
- `full-mfu-zero3`      the same under DeepSpeed ZeRO-3.

Per contender: trained tokens/s and non-pad tokens/s over the steady state (after --warmup
steps), peak GPU memory (`torch.cuda.max_memory_allocated`, whole run), the losses, and
MFU = (k·N·non-pad tokens/s + k·V·d·trained tokens/s) / peak, with N the non-embedding
parameters, V·d the LM head, k = 4 for LoRA (forward + input gradients) and 6 for full
fine-tuning, peak = 989e12 (H100/H200 SXM dense bf16, `--peak-flops`). Attention FLOPs are not
counted, and the head counts only trained positions for every contender (useful work).
"""

from __future__ import annotations

import argparse
import json
import math
import os
import random
import re
import subprocess
import sys
import time
from pathlib import Path

os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
os.environ.setdefault("HF_HUB_OFFLINE", "1")

SHAPES = {  # hidden, layers, heads, kv heads, intermediate
    "tiny": (64, 2, 4, 2, 128),
    "135m": (576, 30, 9, 3, 1536),
    "1.7b": (2048, 24, 32, 32, 8192),
    "7b": (4096, 32, 32, 32, 11008),  # Llama-2-7B's decoder (the 4-bit-on-24-GB case)
}
LORA_PARTS = ("instructune", "instructune-ckpt", "instructune-compile", "instructune-nofused", "instructune-unfused",
              "instructune-fused", "instructune-2xrows", "instructune-qlora", "instructune-qlora-ckpt", "trl", "trl-best",
              "trl-qlora")
FULL_PARTS = ("full-bf16", "full-fp32", "full-mfu")
# Contenders `instructune+VARIANT`: an add-on with settings other than its defaults.
ADDON_VARIANTS = {"instruction_attention_score": ["addons.instruction_attention.enabled=true",
                                                  "addons.instruction_attention.form=score"]}
TAG = "[gpu-bench]"


def log(msg: str) -> None:
    print(f"{TAG} {msg}", flush=True)


# --------------------------------------------------------------------------------------------
# the job: model and records
# --------------------------------------------------------------------------------------------

def build_model(shape: str, tokenizer_dir: str, out: Path) -> Path:
    """A Llama of `shape` with random weights (bf16) and the tokenizer, saved to `out`."""
    import torch
    from transformers import AutoTokenizer, LlamaConfig, LlamaForCausalLM

    if (out / "config.json").exists():
        return out
    tok = AutoTokenizer.from_pretrained(tokenizer_dir)
    d, layers, heads, kv, inter = SHAPES[shape]
    cfg = LlamaConfig(vocab_size=len(tok), hidden_size=d, intermediate_size=inter, num_hidden_layers=layers,
                      num_attention_heads=heads, num_key_value_heads=kv, max_position_embeddings=8192,
                      tie_word_embeddings=True, rope_theta=100000.0, bos_token_id=tok.bos_token_id,
                      eos_token_id=tok.eos_token_id, pad_token_id=tok.pad_token_id)
    torch.manual_seed(0)
    device = "cuda" if torch.cuda.is_available() else "cpu"
    with torch.device(device):
        model = LlamaForCausalLM(cfg).to(torch.bfloat16)
    model.save_pretrained(out)
    tok.save_pretrained(out)
    return out


def vocab_words(tokenizer) -> list[str]:
    """Whole-word pieces of the vocabulary (" the", " model", ...): text of known token length."""
    words = []
    for piece in tokenizer.get_vocab():
        if re.fullmatch(r"Ġ[a-z]{2,12}", piece):
            words.append(piece[1:])
    return sorted(words)


def alpaca_like(tokenizer, n: int, seed: int = 0) -> list[dict]:
    """`n` records with Alpaca-like lengths: instruction ~13 words, input on 40% (~25 words),
    output log-normal around 80 words with a long tail (clipped at 700)."""
    rng = random.Random(seed)
    words = vocab_words(tokenizer)

    def text(median: float, sigma: float, lo: int, hi: int) -> str:
        k = int(min(hi, max(lo, rng.lognormvariate(math.log(median), sigma))))
        return " ".join(rng.choice(words) for _ in range(k)).capitalize() + "."

    return [{"instruction": text(12, 0.5, 3, 60), "input": text(20, 0.8, 2, 300) if rng.random() < 0.4 else "",
             "output": text(80, 0.9, 1, 700)} for _ in range(n)]


def write_records(records: list[dict], path: Path) -> Path:
    path.write_text("".join(json.dumps(r) + "\n" for r in records))
    return path


def non_embedding_params(shape: str) -> int:
    d, layers, heads, kv, inter = SHAPES[shape]
    hd = d // heads
    return layers * (2 * d * d + 2 * d * kv * hd + 3 * d * inter + 2 * d) + d


# --------------------------------------------------------------------------------------------
# measuring
# --------------------------------------------------------------------------------------------

def cuda_sync() -> None:
    import torch

    if torch.cuda.is_available():
        torch.cuda.synchronize()


def peak_mem_gib() -> float:
    import torch

    return torch.cuda.max_memory_allocated() / 2**30 if torch.cuda.is_available() else float("nan")


def summarize(name: str, times: list[float], trained: list[int], nonpad: list[int], losses: list[float],
              args, k: int) -> dict:
    """Steady-state rates over the steps after `args.warmup`, MFU, and the loss curve."""
    w = min(args.warmup, len(times) - 2)
    dt = times[-1] - times[w]
    tr, npd = sum(trained[w + 1:]), sum(nonpad[w + 1:])
    d = SHAPES[args.shape][0]
    vocab = args.vocab
    flops = k * non_embedding_params(args.shape) * npd + k * vocab * d * tr
    return {"name": name, "steps": len(times), "timed_steps": len(times) - 1 - w, "seconds": dt,
            "trained_tok_s": tr / dt, "nonpad_tok_s": npd / dt, "tokens_per_step": npd / max(1, len(times) - 1 - w),
            "mfu": flops / dt / args.peak_flops, "peak_mem_gib": peak_mem_gib(),
            "first_loss": losses[0] if losses else None,
            "final_loss": sum(losses[-3:]) / len(losses[-3:]) if losses else None, "losses": losses}


# --------------------------------------------------------------------------------------------
# contender: instructune
# --------------------------------------------------------------------------------------------

def instructune_overrides(args, name: str, workdir: Path) -> tuple[list[str], int]:
    """(config overrides, FLOPs factor k) for an instructune contender."""
    common = [f"model.name={args.model_dir}", f"output_dir={workdir / name}", "template.name=chat",
              f"data.train=[{args.data}]", "data.heldout=[]", f"data.max_length={args.max_length}",
              "data.packing=true", f"data.pack_length={args.max_length}", "train.epochs=0",
              "train.warmup_ratio=0.0", "train.log_every=1", "train.checkpoint_every=0", "train.seed=0",
              "train.max_grad_norm=1.0", "data.cache=false"]
    if name.startswith("full"):
        rows = 4 if name in ("full-bf16", "full-fp32") else args.rows
        steps = args.full_steps if name in ("full-bf16", "full-fp32") else args.steps
        extra = ["train.method=full", "train.lr=1e-5", f"train.batch_size={rows}", "train.grad_accum=1",
                 f"train.max_steps={steps}"]
        if name == "full-fp32":
            extra += ["model.dtype=float32", "train.mixed_precision=no"]
        return common + extra, 6
    rows, accum = (args.rows * 2, max(1, args.accum // 2)) if name.endswith("-2xrows") else (args.rows, args.accum)
    extra = ["train.method=lora", "lora.r=16", "lora.alpha=32", "lora.dropout=0.0", "lora.target_modules=all-linear",
             "train.lr=2e-4", f"train.batch_size={rows}", f"train.grad_accum={accum}",
             f"train.max_steps={args.steps}"]
    if name in ("instructune-ckpt", "instructune-qlora-ckpt"):
        extra.append("train.activation_checkpointing=true")
    if name.startswith("instructune-qlora"):
        extra.append("model.quantization=4bit")
    if name == "instructune-compile":
        extra.append("train.compile=true")
    if name == "instructune-nofused":
        extra.append("train.fused_kernels=false")
    if name == "instructune-unfused":
        extra.append("lora.fuse_adapters=false")
    if name == "instructune-fused":
        extra.append("lora.fuse_adapters=true")
    if name.startswith("instructune+"):
        addon = name.split("+", 1)[1]
        extra += ADDON_VARIANTS.get(addon, [f"addons.{addon}.enabled=true"])
    return common + extra, 4


def run_instructune(args, name: str, workdir: Path) -> dict:
    import torch

    if name == "full-fp32":
        torch.backends.cuda.matmul.allow_tf32 = False  # a true fp32 reference
        torch.backends.cudnn.allow_tf32 = False
    from instructune.config import load_config
    from instructune.train.assemble import assemble
    from instructune.train.metrics_log import MetricsLog

    overrides, k = instructune_overrides(args, name, workdir)
    cfg = load_config(None, overrides)
    times, rows = [], []
    original = MetricsLog.write

    def timed_write(self, row):
        if "loss" in row:  # the loop pulled loss/tokens: the step is finished on the device
            cuda_sync()
            times.append(time.perf_counter())
            rows.append(dict(row))
            if len(times) % 5 == 0 or len(times) < 3:
                log(f"{name}: step {row['step']} loss {row['loss']:.4f} tokens {row['trained_tokens']}")
        return original(self, row)

    MetricsLog.write = timed_write
    try:
        assemble(cfg).fit()  # no export: the merged export (GBs of writes) is not what is measured
    finally:
        MetricsLog.write = original
    out = summarize(name, times, [r["trained_tokens"] for r in rows], [r["nonpad_tokens"] for r in rows],
                    [r["loss"] for r in rows], args, k)
    return out


# --------------------------------------------------------------------------------------------
# contenders: TRL
# --------------------------------------------------------------------------------------------

def trl_dataset(path: Path):
    """The records as TRL's prompt-completion conversational dataset, laid out as instructune's
    "chat" template renders them (instruction, a blank line, the input)."""
    from datasets import Dataset

    rows = [json.loads(line) for line in path.read_text().splitlines() if line.strip()]
    return Dataset.from_list([
        {"prompt": [{"role": "user", "content": r["instruction"] + ("\n\n" + r["input"] if r["input"] else "")}],
         "completion": [{"role": "assistant", "content": r["output"]}]} for r in rows])


def run_trl(args, name: str, workdir: Path) -> dict:
    import dataclasses

    import torch
    from peft import LoraConfig
    from transformers import AutoModelForCausalLM, AutoTokenizer, TrainerCallback, set_seed
    from trl import SFTConfig, SFTTrainer

    best = name == "trl-best"
    set_seed(0)
    tok = AutoTokenizer.from_pretrained(args.model_dir)
    on_gpu = torch.cuda.is_available()
    dtype = torch.bfloat16 if on_gpu else torch.float32
    quantized = {}
    if name == "trl-qlora":  # the QLoRA recipe as transformers / peft document it (fp32 compute on a CPU)
        from transformers import BitsAndBytesConfig

        quantized = {"quantization_config": BitsAndBytesConfig(
            load_in_4bit=True, bnb_4bit_quant_type="nf4", bnb_4bit_use_double_quant=True, bnb_4bit_compute_dtype=dtype),
            **({"device_map": {"": 0}} if on_gpu else {})}
    model = AutoModelForCausalLM.from_pretrained(args.model_dir, dtype=dtype, attn_implementation="sdpa", **quantized)
    fields = {f.name for f in dataclasses.fields(SFTConfig)}
    kw = dict(output_dir=str(workdir / name), learning_rate=2e-4, max_steps=args.steps, lr_scheduler_type="constant",
              max_length=args.max_length, logging_steps=1, save_strategy="no", report_to=[], seed=0,
              bf16=on_gpu, use_cpu=not on_gpu, dataloader_num_workers=0, max_grad_norm=1.0)
    kw["warmup_steps" if "warmup_steps" in fields else "warmup_ratio"] = 0
    if best:
        ckpt_key = "activation_checkpointing" if "activation_checkpointing" in fields else "gradient_checkpointing"
        liger = False
        try:
            import liger_kernel  # noqa: F401
            liger = on_gpu
        except ImportError:
            pass
        kw.update({"packing": True, "per_device_train_batch_size": args.rows,
                   "gradient_accumulation_steps": args.accum, ckpt_key: False, "use_liger_kernel": liger})
    config = SFTConfig(**kw)
    peft_config = LoraConfig(r=16, lora_alpha=32, lora_dropout=0.0, target_modules="all-linear", task_type="CAUSAL_LM")

    class Timer(TrainerCallback):
        def __init__(self):
            self.times, self.trained, self.nonpad = [], [], []
            self.pending = [0, 0]

        def on_step_end(self, a, state, control, **k):
            cuda_sync()
            self.times.append(time.perf_counter())
            self.trained.append(int(self.pending[0]))
            self.nonpad.append(int(self.pending[1]))
            self.pending = [0, 0]
            if len(self.times) % 5 == 0 or len(self.times) < 3:
                log(f"{name}: step {state.global_step} tokens {self.nonpad[-1]}")

    timer = Timer()
    trainer = SFTTrainer(model=model, args=config, train_dataset=trl_dataset(Path(args.data)), processing_class=tok,
                         peft_config=peft_config, callbacks=[timer])
    compute_loss = trainer.compute_loss

    def counting(model_, inputs, *a, **k):
        # Counted as device tensors; read once per step in on_step_end (no extra sync).
        mask = inputs.get("completion_mask")
        ids = inputs["input_ids"]
        nonpad = inputs["attention_mask"].sum() if "attention_mask" in inputs else torch.tensor(ids.numel())
        if mask is not None:
            trained = (mask[:, 1:] * inputs["attention_mask"][:, 1:]).sum() if "attention_mask" in inputs \
                else mask[:, 1:].sum()
        else:
            trained = (inputs["labels"][:, 1:] != -100).sum()
        timer.pending = [timer.pending[0] + trained, timer.pending[1] + nonpad]
        return compute_loss(model_, inputs, *a, **k)

    trainer.compute_loss = counting
    trainer.train()
    losses = [e["loss"] for e in trainer.state.log_history if "loss" in e]
    out = summarize(name, timer.times, timer.trained, timer.nonpad, losses, args, 4)
    out["settings"] = {"packing": config.packing, "padding_free": getattr(trainer, "padding_free", None),
                       "use_liger_kernel": config.use_liger_kernel, "batch": config.per_device_train_batch_size,
                       "accum": config.gradient_accumulation_steps,
                       "checkpointing": getattr(config, "activation_checkpointing", config.gradient_checkpointing)}
    return out


# --------------------------------------------------------------------------------------------
# checks: fused / chunked loss against all logits on the device
# --------------------------------------------------------------------------------------------

def run_checks(args) -> dict:
    import torch
    from torch import nn

    from instructune.model.kernels import liger_available
    from instructune.objectives.linear_ce import linear_cross_entropy

    device = "cuda" if torch.cuda.is_available() else "cpu"
    d = SHAPES[args.shape][0]
    torch.manual_seed(0)
    head = nn.Linear(d, args.vocab, bias=False, device=device, dtype=torch.bfloat16 if device == "cuda" else None)
    h0 = torch.randn(4096 if device == "cuda" else 256, d, device=device)
    t = torch.randint(0, args.vocab, (h0.shape[0],), device=device)
    res = {}
    impls = ["logits", "chunked"] + (["liger"] if device == "cuda" and liger_available() else [])
    for impl in impls:
        h = h0.clone().requires_grad_(True)
        torch.cuda.reset_peak_memory_stats() if device == "cuda" else None
        with torch.autocast(device, dtype=torch.bfloat16, enabled=device == "cuda"):
            loss = linear_cross_entropy(h, head, t, impl, 1024)
        loss.backward()
        res[impl] = (loss.detach().float(), h.grad.float(), peak_mem_gib())
    ref = res["logits"]
    out = {}
    for impl, (loss, grad, mem) in res.items():
        out[impl] = {"loss_rel_err": float((loss - ref[0]).abs() / ref[0].abs()),
                     "grad_rel_err": float((grad - ref[1]).norm() / ref[1].norm()), "peak_mem_gib": mem}
    return {"name": "checks", "loss_vs_logits": out, "torch": torch.__version__,
            "device": torch.cuda.get_device_name() if device == "cuda" else "cpu"}


# --------------------------------------------------------------------------------------------
# lora-micro: one layer's adapted linears, peft against fused
# --------------------------------------------------------------------------------------------

def run_lora_micro(args) -> dict:
    """Forward + backward of one decoder layer's seven linears (q/k/v/o on a hidden-sized input,
    gate/up on one, down on an intermediate-sized one) over --rows x --max-length tokens, bf16
    autocast, frozen bf16 weights: without LoRA (the floor), peft's LoRA r16, fused one linear at
    a time, fused with shared inputs. Milliseconds per pass (CUDA events) and peak memory."""
    import torch
    from peft import LoraConfig, get_peft_model
    from torch import nn

    from instructune.model.lora_fusion import fuse_lora_linears, unfuse_lora_linears
    from instructune.train.precision import autocast_adapter_inputs

    cuda = torch.cuda.is_available()
    device = "cuda" if cuda else "cpu"
    d, _, heads, kv, inter = SHAPES[args.shape]
    kvd = kv * (d // heads)
    n = args.rows * args.max_length

    class Attn(nn.Module):
        def __init__(self):
            super().__init__()
            self.q_proj, self.k_proj = nn.Linear(d, d, bias=False), nn.Linear(d, kvd, bias=False)
            self.v_proj, self.o_proj = nn.Linear(d, kvd, bias=False), nn.Linear(d, d, bias=False)

    class Mlp(nn.Module):
        def __init__(self):
            super().__init__()
            self.gate_proj, self.up_proj = nn.Linear(d, inter, bias=False), nn.Linear(d, inter, bias=False)
            self.down_proj = nn.Linear(inter, d, bias=False)

    class Layer(nn.Module):
        def __init__(self):
            super().__init__()
            self.self_attn, self.mlp = Attn(), Mlp()

        def forward(self, x, m):
            a, f = self.self_attn, self.mlp
            return [a.q_proj(x), a.k_proj(x), a.v_proj(x), a.o_proj(x), f.gate_proj(x), f.up_proj(x), f.down_proj(m)]

    torch.manual_seed(0)
    dt = torch.bfloat16 if cuda else torch.float32
    layer = Layer().to(device=device, dtype=dt).requires_grad_(False)
    x = torch.randn(n, d, device=device, dtype=dt, requires_grad=True)
    m = torch.randn(n, inter, device=device, dtype=dt, requires_grad=True)

    def bench(model) -> tuple[float, float]:
        grads = None
        for i in range(13):
            if i == 3:
                if cuda:
                    torch.cuda.synchronize()
                    torch.cuda.reset_peak_memory_stats()
                    start, end = torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)
                    start.record()
                t0 = time.perf_counter()
            with torch.autocast(device, dtype=torch.bfloat16, enabled=cuda):
                outs = model(x, m)
            grads = grads or [torch.randn_like(o) for o in outs]
            torch.autograd.backward(outs, grads)
            x.grad = m.grad = None
        if cuda:
            end.record()
            torch.cuda.synchronize()
            return start.elapsed_time(end) / 10, peak_mem_gib()
        return (time.perf_counter() - t0) * 100, float("nan")

    out = {"name": "lora-micro", "tokens": n, "ms": {}, "peak_mem_gib": {}}
    out["ms"]["base"], out["peak_mem_gib"]["base"] = bench(layer)
    names = ["q_proj", "k_proj", "v_proj", "o_proj", "gate_proj", "up_proj", "down_proj"]
    peft = get_peft_model(layer, LoraConfig(r=16, lora_alpha=32, lora_dropout=0.0, target_modules=names))
    autocast_adapter_inputs(peft)
    peft = peft.to(device)

    def model(x_, m_):
        return peft.base_model.model(x_, m_)

    for variant in ("peft", "fused-single", "fused-shared"):
        unfuse_lora_linears(peft)
        if variant != "peft":
            fuse_lora_linears(peft, share_inputs=variant == "fused-shared")
        out["ms"][variant], out["peak_mem_gib"][variant] = bench(model)
        log(f"lora-micro {variant}: {out['ms'][variant]:.2f} ms (base {out['ms']['base']:.2f})")
    return out


# --------------------------------------------------------------------------------------------
# driver
# --------------------------------------------------------------------------------------------

def environment() -> str:
    """Versions and device, for the record."""
    import importlib.metadata as md

    import torch

    from instructune.model.attention import varlen_kernel_available

    names = ("torch", "transformers", "peft", "accelerate", "trl", "datasets", "liger-kernel", "triton")
    versions = {}
    for n in names:
        try:
            versions[n] = md.version(n)
        except md.PackageNotFoundError:
            versions[n] = None
    gpu = torch.cuda.get_device_name() if torch.cuda.is_available() else "cpu"
    return json.dumps({"device": gpu, "varlen": varlen_kernel_available("cuda") if torch.cuda.is_available() else False,
                       **versions})


def deepspeed_launch(name: str, workdir: Path) -> list[str]:
    """The `accelerate launch` prefix for a `-zeroN` contender: a DeepSpeed config of that stage on
    every visible GPU (one CPU process without one), bf16 where the device has it."""
    import torch

    stage = int(name.rsplit("-zero", 1)[1])
    gpus = torch.cuda.device_count()
    bf16 = gpus > 0 and torch.cuda.is_bf16_supported()
    precision = "bf16" if bf16 else '"no"'  # quoted: YAML reads a bare no as false
    config = workdir / f"zero{stage}.yaml"
    config.write_text(
        "compute_environment: LOCAL_MACHINE\ndistributed_type: DEEPSPEED\nnum_machines: 1\n"
        f"num_processes: {max(gpus, 1)}\nmixed_precision: {precision}\n"
        f"deepspeed_config:\n  zero_stage: {stage}\n  gradient_accumulation_steps: 1\n  gradient_clipping: 1.0\n"
        "  offload_optimizer_device: none\n  offload_param_device: none\n  zero3_init_flag: false\n")
    return [sys.executable, "-m", "accelerate.commands.launch", "--config_file", str(config)]


def child(args) -> None:
    workdir = Path(args.workdir)
    name = args.only
    if name == "checks":
        result = run_checks(args)
    elif name == "lora-micro":
        result = run_lora_micro(args)
    elif name.startswith("trl"):
        result = run_trl(args, name, workdir)
    else:
        result = run_instructune(args, name, workdir)
    if int(os.environ.get("RANK", "0")) == 0:  # a launched contender: one result, from the main process
        Path(args.json_out).write_text(json.dumps(result, indent=2))


def table(results: list[dict], trl_default: dict | None, trl_best: dict | None) -> str:
    lines = [f"{'contender':22} {'tok/s trained':>13} {'tok/s non-pad':>13} {'tok/step':>9} {'MFU':>6} "
             f"{'peak GiB':>9} {'loss first→last':>18} {'x TRL':>6} {'x best':>6}"]
    for r in results:
        if "trained_tok_s" not in r:
            continue
        x = r["nonpad_tok_s"] / trl_default["nonpad_tok_s"] if trl_default else float("nan")
        xb = r["nonpad_tok_s"] / trl_best["nonpad_tok_s"] if trl_best else float("nan")
        lines.append(f"{r['name']:22} {r['trained_tok_s']:13.0f} {r['nonpad_tok_s']:13.0f} {r['tokens_per_step']:9.0f} "
                     f"{r['mfu']:6.1%} {r['peak_mem_gib']:9.1f} {r['first_loss']:8.4f}→{r['final_loss']:.4f} "
                     f"{x:6.2f} {xb:6.2f}")
    return "\n".join(lines)


def full_ft_agreement(results: dict) -> dict | None:
    a, b = results.get("full-bf16"), results.get("full-fp32")
    if not (a and b and a.get("losses") and b.get("losses")):
        return None
    rel = [abs(x - y) / abs(y) for x, y in zip(a["losses"], b["losses"])]
    return {"max_rel_diff": max(rel), "mean_rel_diff": sum(rel) / len(rel), "steps": len(rel),
            "within_1pct": max(rel) <= 0.01}


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--out", default="gpu-bench")
    p.add_argument("--tiny", action="store_true", help="a 2-layer model, 200 records, 256 tokens, a few steps (CPU)")
    p.add_argument("--shape", default="1.7b", choices=sorted(SHAPES))
    p.add_argument("--tokenizer", default=None, help="tokenizer dir (default: the embedded SmolLM2 one)")
    p.add_argument("--parts", default="checks,instructune,trl,trl-best,instructune-ckpt,full-bf16,full-fp32,full-mfu,"
                                      "instructune-compile")
    p.add_argument("--records", type=int, default=999)
    p.add_argument("--max-length", type=int, default=1024)
    p.add_argument("--rows", type=int, default=16, help="packed rows per micro-batch")
    p.add_argument("--accum", type=int, default=2, help="micro-batches per optimizer step")
    p.add_argument("--steps", type=int, default=14)
    p.add_argument("--full-steps", type=int, default=20)
    p.add_argument("--warmup", type=int, default=3, help="steps left out of the rates")
    p.add_argument("--peak-flops", type=float, default=989e12)
    p.add_argument("--budget-s", type=float, default=0, help="skip parts once this many seconds have passed")
    p.add_argument("--only"), p.add_argument("--json-out"), p.add_argument("--workdir")
    p.add_argument("--model-dir"), p.add_argument("--data"), p.add_argument("--vocab", type=int)
    args = p.parse_args()
    if args.only:
        return child(args)

    t_start = time.perf_counter()
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    if args.tiny:
        args.shape, args.records, args.max_length, args.rows, args.accum = "tiny", 200, 256, 4, 2
        args.steps, args.full_steps, args.warmup = 5, 4, 1
    workdir = Path(args.workdir or out / "work")
    workdir.mkdir(parents=True, exist_ok=True)
    from transformers import AutoTokenizer

    tok_dir = args.tokenizer
    if tok_dir is None:
        from instructune.model.load import resolve_model

        tok_dir = resolve_model("smollm2-135m-instruct")
    tok = AutoTokenizer.from_pretrained(tok_dir)
    model_dir = build_model(args.shape, tok_dir, workdir / f"model-{args.shape}")
    data = write_records(alpaca_like(tok, args.records), workdir / "records.jsonl")
    log(f"model {args.shape} at {model_dir}; {args.records} records at {data}; setup {time.perf_counter() - t_start:.0f}s")
    log(environment())
    os.environ.setdefault("INSTRUCTUNE_CACHE", str(workdir / "cache"))

    results: dict[str, dict] = {}
    for name in [n for n in args.parts.split(",") if n]:
        if args.budget_s and time.perf_counter() - t_start > args.budget_s:
            log(f"{name}: skipped (budget of {args.budget_s:.0f}s spent)")
            continue
        json_out = workdir / f"{name}.json"
        launcher = deepspeed_launch(name, workdir) if "-zero" in name else [sys.executable]
        cmd = [*launcher, __file__, "--only", name, "--json-out", str(json_out), "--workdir", str(workdir),
               "--model-dir", str(model_dir), "--data", str(data), "--vocab", str(len(tok)), "--shape", args.shape,
               "--max-length", str(args.max_length), "--rows", str(args.rows), "--accum", str(args.accum),
               "--steps", str(args.steps), "--full-steps", str(args.full_steps), "--warmup", str(args.warmup),
               "--peak-flops", str(args.peak_flops)]
        t0 = time.perf_counter()
        left = args.budget_s - (t0 - t_start) if args.budget_s else None
        try:
            proc = subprocess.run(cmd, capture_output=True, text=True, timeout=max(30.0, left) if left else None)
        except subprocess.TimeoutExpired as e:
            proc = subprocess.CompletedProcess(cmd, -9, (e.stdout or b"").decode(errors="replace") if isinstance(
                e.stdout, bytes) else (e.stdout or ""), "timed out (budget)")
        logs = (workdir / f"{name}.log")
        logs.write_text(proc.stdout + proc.stderr)
        with open(out / "logs.txt", "a") as f:  # one file: the device run brings back few files
            f.write(f"\n===== {name} (rc {proc.returncode}) =====\n" + (proc.stdout + proc.stderr)[-6000:])
        if proc.returncode != 0 or not json_out.exists():
            log(f"{name}: FAILED rc={proc.returncode} ({time.perf_counter() - t0:.0f}s)\n" + proc.stderr[-2500:])
            results[name] = {"name": name, "error": proc.stderr[-2500:]}
        else:
            results[name] = json.loads(json_out.read_text())
            log(f"{name}: done in {time.perf_counter() - t0:.0f}s")
        (out / "results.json").write_text(json.dumps(results, indent=2))

    summary = {"full_ft_bf16_vs_fp32": full_ft_agreement(results), "checks": results.get("checks"),
               "wall_s": time.perf_counter() - t_start}
    (out / "results.json").write_text(json.dumps({**results, "summary": summary}, indent=2))
    print(table(list(results.values()), results.get("trl"), results.get("trl-best")))
    print(json.dumps(summary, indent=1, default=str)[:3000])


if __name__ == "__main__":
    main()
