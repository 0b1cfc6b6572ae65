"""Training throughput: the same LoRA job through instructune and through TRL's `SFTTrainer`.

    python bench/train_throughput.py [--model smollm2-135m-instruct] [--steps 40] [--batch-size 4]
        [--max-length 256] [--lr 2e-4] [--contenders instructune,trl,trl-no-ckpt]
        [--no-group-by-length] [--packing] [--padding-free] [--threads N] [--out results.json] [--verbose]

The job: the shipped starter training set (`starter:train`, 160 records), the model's own chat
template, loss on the response only (rationale + "\\nAnswer: " + answer for CoT records, and
the end-of-turn token), LoRA r=16 / alpha=32 / dropout 0 on all linear layers, float32, AdamW
with a cosine schedule and no warmup, batch size `--batch-size`, no gradient accumulation,
`--steps` optimizer steps, seed 0, on the CPU. Contenders:

- `instructune`   `instructune.train.assemble` and `TrainingRun.fit` with the equivalent config (it batches records
                  of similar length together by default; `--no-group-by-length` turns that off);
- `trl`           `trl.SFTTrainer` on a prompt-completion conversational dataset of the same
                  records, with TRL's defaults (activation/gradient checkpointing on);
- `trl-no-ckpt`   the same with gradient checkpointing off (the like-for-like comparison:
                  instructune does not checkpoint activations);
- `instructune+NAME`  instructune with the add-on NAME switched on (`addons.NAME.enabled=true`;
                  NAME from `model/addons/`, or a variant of one from `ADDON_VARIANTS`, e.g.
                  `instruction_attention_score`: its score form), to measure each add-on's
                  step-time overhead against `instructune` in the same run.

What is measured, per contender, each in its own fresh subprocess (the script re-invokes itself
with `--only NAME --json-out FILE`), so memory does not carry over:

- trained tokens / s and seconds / step, over the steady state: from the end of step 1 to the
  end of step N (step 1 is warm-up), i.e. (N - 1) steps; trained tokens are the tokens the loss
  is taken on (labels != -100 after the one-position shift). Model loading, tokenization,
  trainer construction and instructune's final export are outside the window.
- peak RSS (`getrusage(RUSAGE_SELF).ru_maxrss`) at the end of the last step ("loop"), which
  includes model load and data preparation, and at process exit ("exit"), which also includes
  instructune's adapter/merged-model export;
- final loss: the mean of the last 5 per-step losses (instructune: `metrics.jsonl`;
  TRL: `trainer.state.log_history`).

Then ratios against instructune: tok/s = instructune ÷ contender (>1: instructune faster),
s/step = contender ÷ instructune, peak RSS = instructune ÷ contender (<1: instructune leaner).
The headline is instructune vs `trl-no-ckpt`. Steps hold different records in each contender
(instructune groups by length, TRL samples at random), so compare tok/s rather than s/step.

All contenders use the same torch thread count (torch's default unless `--threads`); it is
printed. Runs offline (HF_HUB_OFFLINE=1). Needs `trl` (`pip install instructune[bench]`).
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

os.environ["TOKENIZERS_PARALLELISM"] = "false"
os.environ["HF_HUB_OFFLINE"] = "1"

CONTENDERS = ("instructune", "trl", "trl-no-ckpt")
HEADLINE = "trl-no-ckpt"
LAST_N_LOSSES = 5
TAG = "[bench]"


# --------------------------------------------------------------------------------------------
# helpers shared by the children
# --------------------------------------------------------------------------------------------

def peak_rss_mib() -> float:
    """Peak resident set size of this process so far, MiB (ru_maxrss is KiB on Linux)."""
    kib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return kib / 1024 if sys.platform != "darwin" else kib / 2**20  # macOS reports bytes


def weighted_loss(losses: list[float], tokens: list[int]) -> float:
    """Trained-token-weighted mean of per-step mean losses: the mean NLL over every trained
    token of the run. With --steps covering whole epochs every contender sees the same records,
    so this is the like-for-like loss (the last steps hold different records per contender)."""
    n = min(len(losses), len(tokens))
    return sum(l * t for l, t in zip(losses[:n], tokens[:n])) / max(1, sum(tokens[:n]))


def steady_state(times: list[float], tokens: list[int]) -> dict:
    """Throughput from per-step end times and trained-token counts, skipping step 1."""
    n = len(times)
    if n < 2:
        raise RuntimeError(f"need at least 2 timed steps for a steady-state window, got {n}")
    window = times[-1] - times[0]
    timed_tokens = sum(tokens[1:])
    return {"timed_steps": n - 1, "window_s": window, "s_per_step": window / (n - 1),
            "tokens_per_s": timed_tokens / window if window > 0 else float("nan"),
            "trained_tokens_per_step": timed_tokens / (n - 1)}


def trained_token_stats(ds) -> dict:
    """Rows and trained tokens (labels != -100, shifted by one) of a tokenized dataset."""
    labels = ds["labels"]
    trained = sum(sum(1 for t in row[1:] if t != -100) for row in labels)
    lengths = [len(row) for row in labels]
    return {"rows": len(labels), "trained_tokens_per_epoch": trained,
            "mean_length": sum(lengths) / max(1, len(lengths)), "max_length": max(lengths, default=0)}


def setup_threads(args) -> int:
    import torch

    if args.threads:
        torch.set_num_threads(args.threads)
    return torch.get_num_threads()


def progress(name: str, step: int, total: int, tokens: int, t_prev: float | None, t_now: float) -> None:
    dt = f"{t_now - t_prev:.3f}s" if t_prev is not None else "warm-up"
    print(f"{TAG} {name}: step {step}/{total}  trained tokens {tokens}  {dt}", flush=True)


# --------------------------------------------------------------------------------------------
# contender: instructune
# --------------------------------------------------------------------------------------------

# Contenders `instructune+VARIANT`: an add-on with settings other than its defaults, or a
# training setting other than the default (`fused`: the fused LoRA linears, which "auto" turns
# on only on CUDA).
ADDON_VARIANTS = {"instruction_attention_score": ["addons.instruction_attention.enabled=true",
                                                  "addons.instruction_attention.form=score"],
                  "fused": ["lora.fuse_adapters=true"],
                  "unfused": ["lora.fuse_adapters=false"]}


def addon_of(name: str) -> str | None:
    """The add-on (or variant) of a contender `instructune+NAME`, None for any other contender."""
    return name.split("+", 1)[1] if name.startswith("instructune+") else None


def addon_overrides(addon: str) -> list[str]:
    """The config overrides that switch on `addon` (an add-on name or an `ADDON_VARIANTS` key)."""
    return ADDON_VARIANTS.get(addon, [f"addons.{addon}.enabled=true"])


def known_contender(name: str) -> bool:
    from instructune.model.addons import ADDONS

    return name in CONTENDERS or addon_of(name) in ADDONS or addon_of(name) in ADDON_VARIANTS


def run_instructune(args, workdir: Path, addon: str | None = None) -> dict:
    threads = setup_threads(args)
    from instructune.config import load_config
    from instructune.train.assemble import assemble
    from instructune.train.metrics_log import MetricsLog

    out_dir = workdir / "instructune-run"
    overrides = [
        f"model.name={args.model}", f"output_dir={out_dir}", "train.method=lora",
        f"train.batch_size={args.batch_size}", "train.grad_accum=1", f"train.lr={args.lr!r}",
        f"train.max_steps={args.steps}", "train.epochs=100", "train.warmup_ratio=0.0",
        f"data.max_length={args.max_length}", "data.heldout=[]", "lora.r=16", "lora.alpha=32",
        "lora.dropout=0.0", "template.name=chat", "train.eval_every=0", "train.checkpoint_every=0",
        "train.seed=0", "train.log_every=1",
    ]
    if args.no_group_by_length:
        overrides.append("train.group_by_length=false")
    if args.packing:
        overrides.append("data.packing=true")  # --batch-size then counts packed rows of --max-length tokens
    if args.padding_free:
        overrides.append("data.padding_free=true")
    if addon:
        overrides += addon_overrides(addon)
    cfg = load_config(None, overrides)

    # MetricsLog.write is called once per optimizer step, right after the step (and its loss
    # .item()); stamp the time there. Read-only wrappers: behaviour is unchanged.
    stamps: list[tuple[float, dict, float]] = []
    original_write = MetricsLog.write

    def timed_write(self, row):
        now = time.perf_counter()
        if "loss" in row:
            stamps.append((now, dict(row), peak_rss_mib()))
            progress("instructune", row["step"], args.steps, row["trained_tokens"],
                     stamps[-2][0] if len(stamps) > 1 else None, now)
        return original_write(self, row)

    MetricsLog.write = timed_write
    try:
        run = assemble(cfg)
        loop = run.fit()  # no export: it is outside the measured window
    finally:
        MetricsLog.write = original_write

    rows = [json.loads(line) for line in (out_dir / "metrics.jsonl").read_text().splitlines() if line.strip()]
    rows = [r for r in rows if "loss" in r]
    if len(rows) != len(stamps):
        raise RuntimeError(f"{len(rows)} metric rows but {len(stamps)} timed writes")
    losses = [r["loss"] for r in rows]
    result = {
        **steady_state([s[0] for s in stamps], [r["trained_tokens"] for r in rows]),
        "steps": loop.step, "threads": threads,
        "final_loss": sum(losses[-LAST_N_LOSSES:]) / len(losses[-LAST_N_LOSSES:]),
        "run_loss": weighted_loss(losses, [r["trained_tokens"] for r in rows]),
        "losses": losses, "step_end_times": [s[0] - stamps[0][0] for s in stamps],
        "step_tokens": [r["trained_tokens"] for r in rows],
        "peak_rss_loop_mib": stamps[-1][2],
        "own_tokens_per_s_incl_step1": rows[-1]["tokens_per_s"],
        "data": trained_token_stats(run.data.ds),
        "settings": {"group_by_length": cfg.train.group_by_length, "optimizer": "torch.optim.AdamW",
                     "max_grad_norm": cfg.train.max_grad_norm, "weight_decay": cfg.train.weight_decay,
                     "activation_checkpointing": False, "dtype": cfg.model.dtype,
                     "attn_implementation": cfg.model.attn_implementation,
                     "packing": cfg.data.packing, "padding_free": cfg.data.padding_free,
                     "nonpad_share": loop.real_tokens / max(loop.slot_tokens, 1)},
    }
    return result


# --------------------------------------------------------------------------------------------
# contenders: TRL SFTTrainer
# --------------------------------------------------------------------------------------------

def starter_dataset():
    """The starter train split as a prompt-completion conversational `datasets.Dataset`, laid out
    exactly as instructune's "chat" template renders it (default separators)."""
    from datasets import Dataset
    from instructune.data.starter import resolve_input

    examples = []
    for line in Path(resolve_input("starter:train")).read_text(encoding="utf-8").splitlines():
        if not line.strip():
            continue
        r = json.loads(line)
        user = r["instruction"] + ("\n\n" + r["context"] if r.get("context") else "")
        answer = (r["rationale"] + "\nAnswer: " + r["response"]) if r.get("rationale") else r["response"]
        examples.append({"prompt": [{"role": "user", "content": user}],
                         "completion": [{"role": "assistant", "content": answer}]})
    return Dataset.from_list(examples)


def run_trl(args, workdir: Path, checkpointing: bool | None) -> dict:
    """`checkpointing=None` leaves TRL's default; True/False sets it."""
    threads = setup_threads(args)
    import dataclasses

    import torch
    from peft import LoraConfig
    from transformers import AutoModelForCausalLM, AutoTokenizer, TrainerCallback, set_seed
    from trl import SFTConfig, SFTTrainer

    from instructune.model.load import resolve_model

    name = "trl" if checkpointing is None else ("trl-ckpt" if checkpointing else "trl-no-ckpt")
    path = resolve_model(args.model)
    set_seed(0)
    tokenizer = AutoTokenizer.from_pretrained(path)
    if tokenizer.pad_token is None:
        tokenizer.pad_token = tokenizer.eos_token
    model = AutoModelForCausalLM.from_pretrained(path, dtype=torch.float32)
    dataset = starter_dataset()

    fields = {f.name for f in dataclasses.fields(SFTConfig)}
    kwargs = dict(
        output_dir=str(workdir / f"{name}-run"), per_device_train_batch_size=args.batch_size,
        gradient_accumulation_steps=1, learning_rate=args.lr, max_steps=args.steps,
        lr_scheduler_type="cosine", bf16=False, fp16=False, max_length=args.max_length,
        logging_steps=1, save_strategy="no", report_to=[], seed=0, use_cpu=True,
        dataloader_num_workers=0,
    )
    # transformers 5 dropped `warmup_ratio` (warmup_steps takes a ratio now).
    kwargs["warmup_steps" if "warmup_steps" in fields else "warmup_ratio"] = 0
    if checkpointing is not None:
        # transformers >= 5.2x renamed gradient_checkpointing (now a deprecated alias).
        key = "activation_checkpointing" if "activation_checkpointing" in fields else "gradient_checkpointing"
        kwargs[key] = checkpointing
    config = SFTConfig(**kwargs)
    peft_config = LoraConfig(r=16, lora_alpha=32, lora_dropout=0.0, target_modules="all-linear",
                             task_type="CAUSAL_LM")

    class StepTimer(TrainerCallback):
        def __init__(self):
            self.times, self.tokens, self.rss, self.pending = [], [], [], 0

        def on_step_end(self, args_, state, control, **kw):
            now = time.perf_counter()
            self.times.append(now)
            self.tokens.append(self.pending)
            self.rss.append(peak_rss_mib())
            progress(name, state.global_step, args.steps, self.pending,
                     self.times[-2] if len(self.times) > 1 else None, now)
            self.pending = 0

    timer = StepTimer()
    trainer = SFTTrainer(model=model, args=config, train_dataset=dataset, processing_class=tokenizer,
                         peft_config=peft_config, callbacks=[timer])

    # Count the tokens the loss is taken on: TRL's collator hands `labels` (-100 on prompt and
    # padding) and its fused LM head scores labels[:, 1:] != -100.
    original_compute_loss = trainer.compute_loss

    def counting_compute_loss(model_, inputs, *a, **kw):
        if "labels" in inputs:
            n = (inputs["labels"][:, 1:] != -100).sum()
        else:
            mask = inputs.get("completion_mask", inputs.get("assistant_masks"))
            if mask is None:
                mask = inputs["attention_mask"]
            elif "attention_mask" in inputs:
                mask = mask * inputs["attention_mask"]
            n = mask[:, 1:].sum()
        timer.pending += int(n)
        return original_compute_loss(model_, inputs, *a, **kw)

    trainer.compute_loss = counting_compute_loss
    train_output = trainer.train()

    logs = [e for e in trainer.state.log_history if "loss" in e]
    losses = [e["loss"] for e in logs]
    step_keys = sorted({k for e in logs for k in e})
    settings = {
        "gradient_checkpointing": config.gradient_checkpointing,
        "activation_checkpointing": getattr(config, "activation_checkpointing", None),
        "checkpointing_kwargs": getattr(config, "activation_checkpointing_kwargs", None)
        or config.gradient_checkpointing_kwargs,
        "model_is_checkpointing": bool(getattr(trainer.model, "is_activation_checkpointing", None)
                                       if hasattr(trainer.model, "is_activation_checkpointing")
                                       else getattr(trainer.model, "is_gradient_checkpointing", False)),
        "padding_free": trainer.padding_free, "packing": config.packing,
        "completion_only_loss(config)": config.completion_only_loss,
        "completion_only_loss(resolved)": trainer.completion_only_loss,
        "assistant_only_loss": config.assistant_only_loss, "loss_type": config.loss_type,
        "bf16": config.bf16, "optim": str(getattr(config.optim, "value", config.optim)),
        "lr_scheduler_type": str(getattr(config.lr_scheduler_type, "value", config.lr_scheduler_type)),
        "warmup_steps": config.warmup_steps, "weight_decay": config.weight_decay,
        "max_grad_norm": config.max_grad_norm,
        "train_sampling_strategy": getattr(config, "train_sampling_strategy", None),
        "group_by_length": getattr(config, "group_by_length", None),
        "max_length": config.max_length, "truncation_mode": config.truncation_mode,
        "pad_to_multiple_of": config.pad_to_multiple_of, "use_liger_kernel": config.use_liger_kernel,
        "torch_compile": config.torch_compile, "dataloader_drop_last": config.dataloader_drop_last,
        "attn_implementation": getattr(model.config, "_attn_implementation", None),
        "dtype": str(next(trainer.model.parameters()).dtype),
        "fused_lm_head": "trl add_fused_lm_head (chunked log-probs; on CPU every position is scored)",
    }
    return {
        **steady_state(timer.times, timer.tokens),
        "steps": trainer.state.global_step, "threads": threads,
        "final_loss": sum(losses[-LAST_N_LOSSES:]) / len(losses[-LAST_N_LOSSES:]),
        "run_loss": weighted_loss(losses, timer.tokens),
        "losses": losses, "step_end_times": [t - timer.times[0] for t in timer.times],
        "step_tokens": timer.tokens, "peak_rss_loop_mib": timer.rss[-1],
        "trainer_train_runtime_s": train_output.metrics.get("train_runtime"),
        "logged_step_metrics": step_keys,
        "data": trained_token_stats(trainer.train_dataset),
        "settings": settings,
    }


def run_child(args) -> int:
    workdir = Path(tempfile.mkdtemp(prefix=f"bench-{args.only}-"))
    t0 = time.perf_counter()
    try:
        if args.only == "instructune" or addon_of(args.only):
            result = run_instructune(args, workdir, addon_of(args.only))
        elif args.only == "trl":
            result = run_trl(args, workdir, None)
        elif args.only == "trl-no-ckpt":
            result = run_trl(args, workdir, False)
        else:
            raise SystemExit(f"unknown contender {args.only!r}; allowed: {', '.join(CONTENDERS)}")
        result.update(name=args.only, ok=True, child_wall_s=time.perf_counter() - t0,
                      peak_rss_mib=peak_rss_mib())
    finally:
        shutil.rmtree(workdir, ignore_errors=True)
    tmp = Path(args.json_out).with_suffix(".tmp")
    tmp.write_text(json.dumps(result, indent=2))
    os.replace(tmp, args.json_out)
    return 0


# --------------------------------------------------------------------------------------------
# parent: run each contender in a subprocess, print the table and ratios
# --------------------------------------------------------------------------------------------

def child_command(args, name: str, json_out: Path) -> list[str]:
    cmd = [sys.executable, str(Path(__file__).resolve()), "--only", name, "--json-out", str(json_out),
           "--model", args.model, "--steps", str(args.steps), "--batch-size", str(args.batch_size),
           "--max-length", str(args.max_length), "--lr", repr(args.lr)]
    if args.threads:
        cmd += ["--threads", str(args.threads)]
    if args.no_group_by_length:
        cmd.append("--no-group-by-length")
    cmd += ["--packing"] if args.packing else []
    cmd += ["--padding-free"] if args.padding_free else []
    return cmd


def run_keys(names: list[str]) -> list[tuple[str, str]]:
    """(result key, contender) per run, in order. A contender listed again runs again, under
    NAME#2, NAME#3, ...: interleaved repeats (`a,b,a,b`) are how an A/B on a noisy machine is
    taken, and each run keeps its own result."""
    seen: dict[str, int] = {}
    keys = []
    for name in names:
        seen[name] = seen.get(name, 0) + 1
        keys.append((name if seen[name] == 1 else f"{name}#{seen[name]}", name))
    return keys


def run_contender(args, name: str, logdir: Path, key: str | None = None) -> dict:
    key = key or name
    json_out, log_path = logdir / f"{key}.json", logdir / f"{key}.log"
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    print(f"\n== {key} (log: {log_path})", flush=True)
    t0 = time.perf_counter()
    with open(log_path, "w", encoding="utf-8") as log:
        proc = subprocess.Popen(child_command(args, name, json_out), stdout=subprocess.PIPE,
                                stderr=subprocess.STDOUT, text=True, env=env, errors="replace")
        for line in proc.stdout:
            log.write(line)
            if args.verbose:
                print(f"   {line.rstrip()}", flush=True)
            elif TAG in line:  # progress bars share the stream: show from the tag on
                print(f"   {line[line.index(TAG):].rstrip()}", flush=True)
        rc = proc.wait()
    if rc != 0 or not json_out.exists():
        tail = log_path.read_text(encoding="utf-8", errors="replace").splitlines()[-30:]
        print(f"!! {name} failed (exit {rc}); last lines of its log:", *("   " + t for t in tail), sep="\n")
        return {"name": name, "ok": False, "error": f"exit {rc}", "log": str(log_path)}
    result = json.loads(json_out.read_text())
    print(f"   done in {time.perf_counter() - t0:.1f}s: {result['tokens_per_s']:.1f} trained tok/s, "
          f"{result['s_per_step']:.3f} s/step", flush=True)
    return result


def fmt(x, spec: str) -> str:
    return "-" if x is None else format(x, spec)


def print_report(args, results: dict[str, dict], env_info: dict) -> dict:
    ok = {k: v for k, v in results.items() if v.get("ok")}
    print("\n" + "=" * 100)
    print(f"model {args.model} -> {env_info['model_path']}")
    print(f"steps {args.steps} (timed: steps 2..{args.steps}), batch size {args.batch_size}, max length "
          f"{args.max_length}, lr {args.lr}, LoRA r16/a32 all-linear, fp32, CPU, torch threads "
          + (", ".join(f"{k}={v.get('threads')}" for k, v in ok.items()) or str(env_info["threads"])))
    print("versions: " + ", ".join(f"{k} {v}" for k, v in env_info["versions"].items()))
    head = (f"{'contender':<34}{'tok/s':>10}{'s/step':>10}{'tok/step':>10}{'RSS loop MiB':>14}"
            f"{'RSS exit MiB':>14}{'final loss':>12}{'run loss':>10}{'data rows':>11}{'tok/epoch':>11}")
    print("\n" + head + "\n" + "-" * len(head))
    for name, r in results.items():
        if not r.get("ok"):
            print(f"{name:<34}  FAILED ({r.get('error')}; see {r.get('log')})")
            continue
        d = r.get("data", {})
        print(f"{name:<34}{r['tokens_per_s']:>10.1f}{r['s_per_step']:>10.3f}{r['trained_tokens_per_step']:>10.1f}"
              f"{r['peak_rss_loop_mib']:>14.0f}{r['peak_rss_mib']:>14.0f}{r['final_loss']:>12.4f}{r['run_loss']:>10.4f}"
              f"{fmt(d.get('rows'), 'd'):>11}{fmt(d.get('trained_tokens_per_epoch'), 'd'):>11}")
    ratios = {}
    base = ok.get("instructune")
    if base and len(ok) > 1:
        print("\nratios vs instructune (tok/s: instructune ÷ contender, >1 = instructune faster; "
              "s/step: contender ÷ instructune; RSS: instructune ÷ contender, <1 = instructune leaner)")
        order = [HEADLINE] + [n for n in ok if n not in (HEADLINE, "instructune")]
        for name in order:
            r = ok.get(name)
            if r is None:
                continue
            ratios[name] = {
                "tokens_per_s": base["tokens_per_s"] / r["tokens_per_s"],
                "s_per_step": r["s_per_step"] / base["s_per_step"],
                "peak_rss_loop": base["peak_rss_loop_mib"] / r["peak_rss_loop_mib"],
                "peak_rss_exit": base["peak_rss_mib"] / r["peak_rss_mib"],
                "final_loss_diff": base["final_loss"] - r["final_loss"],
                "run_loss_diff": base["run_loss"] - r["run_loss"],
            }
            x = ratios[name]
            label = " (headline)" if name == HEADLINE else ""
            print(f"  vs {name:<12} tok/s x{x['tokens_per_s']:.2f}   s/step x{x['s_per_step']:.2f}   "
                  f"RSS loop x{x['peak_rss_loop']:.2f}   RSS exit x{x['peak_rss_exit']:.2f}   "
                  f"final loss {x['final_loss_diff']:+.4f}   run loss {x['run_loss_diff']:+.4f}{label}")
    for name, r in ok.items():
        if name.startswith("trl"):
            s = r["settings"]
            print(f"\n{name}: TRL resolved settings: " + ", ".join(f"{k}={v}" for k, v in s.items()))
            print(f"{name}: per-step logged metrics: {', '.join(r['logged_step_metrics'])}")
    if "instructune" in ok:
        s = ok["instructune"]["settings"]
        print("\ninstructune settings: " + ", ".join(f"{k}={v}" for k, v in s.items()))
    return ratios


def versions() -> dict[str, str]:
    from importlib.metadata import PackageNotFoundError, version

    out = {}
    for pkg in ("torch", "transformers", "trl", "peft", "accelerate", "datasets"):
        try:
            out[pkg] = version(pkg)
        except PackageNotFoundError:
            out[pkg] = "missing"
    return out


def run_parent(args) -> int:
    names = [n.strip() for n in args.contenders.split(",") if n.strip()]
    bad = [n for n in names if not known_contender(n)]
    if bad:
        raise SystemExit(f"unknown contender(s) {bad}; allowed: {', '.join(CONTENDERS)}")
    if args.steps < 2:
        raise SystemExit("--steps must be at least 2 (step 1 is warm-up and is not timed)")
    # Resolve (and, for the default alias, convert once) the model before any child runs.
    from instructune.model.load import resolve_model

    env_info = {"model_path": resolve_model(args.model), "versions": versions()}
    import torch

    env_info["threads"] = args.threads or torch.get_num_threads()
    print(f"torch threads: {env_info['threads']} (same for every contender)")
    logdir = Path(tempfile.mkdtemp(prefix="bench-train-throughput-"))
    results = {key: run_contender(args, name, logdir, key) for key, name in run_keys(names)}
    ratios = print_report(args, results, env_info)
    if args.out:
        payload = {"args": {k: v for k, v in vars(args).items() if k not in ("only", "json_out")},
                   **env_info, "results": results, "ratios_vs_instructune": ratios}
        Path(args.out).write_text(json.dumps(payload, indent=2))
        print(f"\nresults written to {args.out}")
    return 0 if all(r.get("ok") for r in results.values()) else 1


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--model", default="smollm2-135m-instruct",
                   help="model alias or local path (default: smollm2-135m-instruct)")
    p.add_argument("--steps", type=int, default=40, help="optimizer steps (step 1 is warm-up); 40 x batch 4 = one epoch of the starter set")
    p.add_argument("--batch-size", type=int, default=4)
    p.add_argument("--max-length", type=int, default=256)
    p.add_argument("--lr", type=float, default=2e-4)
    p.add_argument("--contenders", default=",".join(CONTENDERS),
                   help=f"comma-separated, from {', '.join(CONTENDERS)}, and instructune+ADDON")
    p.add_argument("--no-group-by-length", action="store_true",
                   help="instructune: train.group_by_length=false (ablation; TRL samples at random)")
    p.add_argument("--packing", action="store_true",
                   help="instructune: data.packing=true (records packed into rows of --max-length tokens; "
                        "--batch-size counts rows)")
    p.add_argument("--padding-free", action="store_true",
                   help="instructune: data.padding_free=true (each micro-batch one unpadded row)")
    p.add_argument("--threads", type=int, default=0, help="torch threads for every contender (default: torch's)")
    p.add_argument("--out", help="write all results as JSON here")
    p.add_argument("--verbose", action="store_true", help="echo the contenders' full output")
    p.add_argument("--only", help=argparse.SUPPRESS)
    p.add_argument("--json-out", help=argparse.SUPPRESS)
    args = p.parse_args(argv)
    if args.only:
        if not args.json_out:
            p.error("--only needs --json-out")
        return run_child(args)
    return run_parent(args)


if __name__ == "__main__":
    sys.exit(main())
