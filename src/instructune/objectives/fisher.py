"""The diagonal (empirical) Fisher of a causal LM on a reference corpus, for EWC.

    ids = corpus_ids(tokenizer, load_corpus(None), max_length=512, max_tokens=4096, take="last")
    fisher, info = cached_fisher(model, ids, settings={...})     # {param name: F}, {seconds, ...}

F_θ = (1/N) Σ_n (∂ℓ_n/∂θ)², where ℓ_n is the mean next-token NLL of document n (one document
is one example, a batch of one, so the square is per example and not of a batch's mean
gradient). Gradients are squared and summed in fp32 whatever the weights' dtype (bf16 grads
squared in bf16 would lose the small entries).

Which θ: only what training can change (`fisher_targets`):
- full fine-tuning: every parameter that requires grad;
- LoRA: the base weight W of every adapted layer (its change is scale·B·A); its gradient
  dℓ/dW is taken by switching `requires_grad` on for those weights alone during the
  estimate (the adapters get none), with the adapters disabled, so F is the base model's.

Estimate it before training starts (and before a resume restores trained weights): F belongs
to the pretrained model. `cached_fisher` saves it under `cache_dir()/fisher/<key>.safetensors`,
keyed by the target weights (names, shapes, dtype, a fingerprint of their values), the
documents' token ids and the settings, and reuses it.

Cost: one forward + backward per document, and fp32 memory for one gradient and one
accumulator per target weight (`bench/ewc_cost.py` measures it).
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import resource
import sys
import time
from collections.abc import Callable, Iterable

import torch
import torch.nn.functional as F
from torch import nn

from instructune.atomic import atomic_path
from instructune.cache import cache_dir
from instructune.data.documents import encode, within_budget
from instructune.objectives.quadratic import base_weight_name, lora_layers

FORMAT = 1  # bump when the estimate changes, so old cache entries are not reused


def corpus_ids(tokenizer, docs: list[str], max_length: int, max_tokens: int, take: str = "last") -> list[list[int]]:
    """Token ids of the documents the Fisher is estimated on.

    Each document is tokenized without special tokens and cut to `max_length` (as the
    forgetting eval does); "last" walks the corpus from its end, "first" from its start,
    taking documents of at least two tokens until `max_tokens` predictions (the last whole).
    """
    ids = [x for x in encode(tokenizer, docs, max_length) if len(x) >= 2]
    return within_budget(ids[::-1] if take == "last" else ids, max_tokens)


def fisher_targets(model: nn.Module) -> dict[str, nn.Parameter]:
    """{name: parameter} that training can change: LoRA-adapted base weights, else every
    parameter that requires grad."""
    layers = lora_layers(model)
    if layers:
        return {base_weight_name(n): m.get_base_layer().weight for n, m in layers.items()}
    return {n: p for n, p in model.named_parameters() if p.requires_grad}


@contextlib.contextmanager
def grads_only_on(model: nn.Module, params: Iterable[nn.Parameter]):
    """Inside: only `params` require grad (so backward computes nothing else); restored after."""
    saved = [(p, p.requires_grad) for p in model.parameters()]
    wanted = {id(p) for p in params}
    try:
        for p, _ in saved:
            p.requires_grad_(id(p) in wanted)
        yield
    finally:
        for p, flag in saved:
            p.requires_grad_(flag)


def diagonal_fisher(loss_fn: Callable[[object], torch.Tensor], examples: list, params: dict[str, torch.Tensor]
                    ) -> dict[str, torch.Tensor]:
    """(1/N) Σ_n (∂ loss_fn(example_n) / ∂θ)² for each θ in `params`, in fp32.

    Args:
        loss_fn: example -> () loss of that example alone.
        examples: the N examples.
        params: {name: tensor requiring grad}.
    Returns:
        {name: F}, each fp32 with its parameter's shape.
    """
    names, tensors = list(params), list(params.values())
    acc = {n: torch.zeros(t.shape, dtype=torch.float32, device=t.device) for n, t in params.items()}
    for ex in examples:
        grads = torch.autograd.grad(loss_fn(ex), tensors, allow_unused=True)
        for n, g in zip(names, grads):
            if g is not None:  # a weight the example does not reach (an unused embedding row is 0, not None)
                acc[n].addcmul_(g.float(), g.float())
    for f in acc.values():
        f.div_(max(len(examples), 1))
    return acc


def lm_fisher(model: nn.Module, ids: list[list[int]]) -> dict[str, torch.Tensor]:
    """The diagonal Fisher of causal LM `model` (plain or peft-wrapped) on documents `ids`,
    for `fisher_targets(model)`; each document's loss is its mean next-token NLL."""
    targets = fisher_targets(model)
    device = next(model.parameters()).device

    def loss(x: list[int]) -> torch.Tensor:
        t = torch.tensor([x], device=device)  # (1, T)
        logits = model(input_ids=t).logits[0, :-1].float()  # (T-1, V)
        return F.cross_entropy(logits, t[0, 1:])

    # peft: the base model alone (the adapters are zero before training, but are off anyway).
    no_adapter = model.disable_adapter() if hasattr(model, "disable_adapter") and lora_layers(model) \
        else contextlib.nullcontext()
    was_training = model.training
    model.eval()  # no dropout: the Fisher of the model, not of a random sub-network
    try:
        with no_adapter, grads_only_on(model, targets.values()):
            return diagonal_fisher(loss, ids, targets)
    finally:
        model.train(was_training)


def fingerprint(t: torch.Tensor) -> bytes:
    """A cheap identity of a tensor's values: its fp64 sum and ~1k evenly spaced entries."""
    flat = t.detach().reshape(-1)
    sample = flat[::max(1, flat.numel() // 1024)].float().cpu()
    return sample.numpy().tobytes() + repr(float(flat.double().sum())).encode()


def fisher_key(targets: dict[str, torch.Tensor], ids: list[list[int]], settings: dict) -> str:
    """Cache key: target names, shapes, dtypes and values, document token ids, settings."""
    h = hashlib.sha256(json.dumps({"format": FORMAT, **settings}, sort_keys=True).encode())
    for n, t in targets.items():
        h.update(f"{n}|{tuple(t.shape)}|{t.dtype}".encode())
        h.update(fingerprint(t))
    for x in ids:
        h.update(torch.tensor(x, dtype=torch.int64).numpy().tobytes() + b"|")
    return h.hexdigest()[:32]


def peak_memory_mib(device: torch.device) -> float:
    """Peak memory so far: the accelerator's allocated peak, else the process's peak RSS."""
    if device.type == "cuda":
        return torch.cuda.max_memory_allocated(device) / 2**20
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return rss / 2**20 if sys.platform == "darwin" else rss / 2**10  # bytes on macOS, KiB elsewhere


def cached_fisher(model: nn.Module, ids: list[list[int]], settings: dict, use_cache: bool = True
                  ) -> tuple[dict[str, torch.Tensor], dict]:
    """(Fisher from the cache or estimated now, info) for `model` on documents `ids`.

    Args:
        settings: what else decides the estimate (corpus name, max_length, ...), part of the key.
        use_cache: read and write `cache_dir()/fisher/<key>.safetensors`.
    Returns:
        {name: F (fp32, on the model's device)} and {"key", "path", "cached", "seconds",
        "peak_memory_mib", "memory_mib" (the Fisher's own size), "documents", "tokens",
        "parameters", "mean"}.
    """
    from safetensors.torch import load_file, save_file

    targets = fisher_targets(model)
    device = next(model.parameters()).device
    key = fisher_key(targets, ids, settings)
    path = cache_dir() / "fisher" / f"{key}.safetensors"
    info = {"key": key, "path": str(path), "documents": len(ids), "tokens": sum(len(x) - 1 for x in ids)}
    t0 = time.perf_counter()
    if use_cache and path.exists():
        fisher = {n: t.to(device) for n, t in load_file(path).items()}
        info["cached"] = True
    else:
        if device.type == "cuda":
            torch.cuda.reset_peak_memory_stats(device)
        fisher = lm_fisher(model, ids)
        info["cached"] = False
        info["peak_memory_mib"] = round(peak_memory_mib(device), 1)
        if use_cache:
            with atomic_path(path) as tmp:
                save_file({n: f.contiguous().cpu() for n, f in fisher.items()}, str(tmp),
                          metadata={"settings": json.dumps(settings, sort_keys=True)})
    info["seconds"] = round(time.perf_counter() - t0, 2)
    n = sum(f.numel() for f in fisher.values())
    info["parameters"] = n
    info["memory_mib"] = round(n * 4 / 2**20, 1)
    info["mean"] = float(sum(f.double().sum() for f in fisher.values()) / max(n, 1))
    return fisher, info
