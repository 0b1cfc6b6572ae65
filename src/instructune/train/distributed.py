"""Sharded training through accelerate: FSDP2 (the plugin `train.distributed: fsdp` builds) and
DeepSpeed ZeRO-2/3 (from an `accelerate launch` config).

Each decoder layer is its own FSDP unit (parameters all-gathered just before the layer runs and
freed after it); embeddings, final norm and LM head stay in the root unit, which `TrainingObjective`
is, so they are gathered for the loss's own forward. Under mixed precision accelerate keeps
float32 shards and all-gathers them in bf16 (MixedPrecisionPolicy), with float32 gradient
reduction. Checkpoints are sharded (`sharded_checkpoint.py`).

DeepSpeed ZeRO-2/3 comes from an `accelerate launch --config_file` with a DeepSpeed config
(docs/distributed.md, examples/accelerate/); `configure_deepspeed` fits it to the run, and its
checkpoints are DeepSpeed's own, one partition per process (`sharded_checkpoint.py`).
"""

from __future__ import annotations

import json
import os

from torch import nn


def deepspeed_launch() -> bool:
    """Whether `accelerate launch` was given a DeepSpeed config (it says so in the environment).

    Such a launch must reach the Accelerator with `cpu=False`: with `cpu=True` accelerate
    silently drops DeepSpeed and trains plain multi-process on the CPU."""
    return os.environ.get("ACCELERATE_USE_DEEPSPEED", "false").lower() == "true"


def fsdp_launch(distributed: str) -> bool:
    """Whether the run shards with FSDP: `train.distributed=fsdp`, or an `accelerate launch`
    FSDP config (it says so in the environment)."""
    return distributed == "fsdp" or os.environ.get("ACCELERATE_USE_FSDP", "false").lower() == "true"


def deepspeed_stage() -> int | None:
    """The ZeRO stage of a DeepSpeed launch (from accelerate's environment or the DeepSpeed
    config file it names), or None when the launch is not DeepSpeed."""
    if not deepspeed_launch():
        return None
    file = os.environ.get("ACCELERATE_DEEPSPEED_CONFIG_FILE", "")
    if file and file.lower() != "none":
        from instructune.config import ConfigError

        try:
            return int(json.loads(open(file).read()).get("zero_optimization", {}).get("stage", 0))
        except (OSError, ValueError) as e:
            raise ConfigError(f"{file}: not a readable DeepSpeed JSON config ({e})") from None
    return int(os.environ.get("ACCELERATE_DEEPSPEED_ZERO_STAGE", "2"))


def weight_sharding(distributed: str) -> str | None:
    """What splits the model's weights across processes, if anything: "fsdp" (ours, with
    `train.distributed=fsdp`, or an accelerate FSDP launch) or "deepspeed zero-3"; None for DDP
    and ZeRO-0/1/2 (whole weights on every process).

    Args:
        distributed: the `train.distributed` setting.
    """
    if fsdp_launch(distributed):
        return "fsdp"
    return "deepspeed zero-3" if deepspeed_stage() == 3 else None


def parallel_name(accelerator) -> str:
    """How the run's processes split the work, for the settings printout ("" for one process)."""
    from accelerate.utils import DistributedType

    kind = accelerator.distributed_type
    if kind == DistributedType.DEEPSPEED:
        return f"deepspeed zero-{accelerator.state.deepspeed_plugin.zero_stage}"
    if kind == DistributedType.FSDP:
        return "fsdp2 (one unit per decoder layer)"
    return "ddp" if accelerator.num_processes > 1 else ""


def weights_split(accelerator) -> bool:
    """Whether the prepared model's weights are partitioned across processes (FSDP, ZeRO-3), so
    saving the trained model needs a gather first."""
    from accelerate.utils import DistributedType

    kind = accelerator.distributed_type
    return kind == DistributedType.FSDP or (kind == DistributedType.DEEPSPEED
                                            and accelerator.state.deepspeed_plugin.zero_stage == 3)


def plain_model_loading() -> None:
    """Let transformers load whole models again after a ZeRO-3 run: while DeepSpeed's config is
    registered with transformers, `from_pretrained` partitions every new model across the
    processes (a collective that would hang the main process's host copy for the export)."""
    from transformers.integrations.deepspeed import unset_hf_deepspeed_config

    unset_hf_deepspeed_config()


def configure_deepspeed(accelerator, batch_size: int, max_grad_norm: float, log=print) -> None:
    """Fit a DeepSpeed launch config to the run before `accelerator.prepare`.

    DeepSpeed must know the micro-batch size, which accelerate otherwise reads from a prepared
    DataLoader (instructune has none); it must step once per instructune window, so its own
    accumulation has to be 1; and it clips inside its step, so its clip norm is set to
    `train.max_grad_norm` (0 turns clipping off in both)."""
    from instructune.config import ConfigError

    ds = accelerator.state.deepspeed_plugin.deepspeed_config
    accum = ds.get("gradient_accumulation_steps", 1)
    if accum not in (1, "auto"):
        raise ConfigError(f"DeepSpeed config: gradient_accumulation_steps={accum}; it must be 1 (or auto): "
                          "instructune accumulates train.grad_accum micro-batches itself")
    clip = ds.get("gradient_clipping", "auto")
    if clip not in ("auto", max_grad_norm):
        log(f"DeepSpeed config: gradient_clipping {clip} -> {max_grad_norm} (train.max_grad_norm)")
    ds.update(train_micro_batch_size_per_gpu=batch_size, gradient_accumulation_steps=1,
              gradient_clipping=max_grad_norm)
    ds.pop("train_batch_size", None)  # DeepSpeed derives it from the two above and the world size
    zero = ds.setdefault("zero_optimization", {})
    if zero.get("stage") == 3:
        # The export gathers the partitioned weights (accelerator.get_state_dict needs this).
        zero["stage3_gather_16bit_weights_on_model_save"] = True


def decoder_layer_names(model: nn.Module) -> list[str]:
    """Class names of the model's decoder layers (what transformers won't split across devices)."""
    from instructune.model.forward import base_causal_lm

    names = getattr(base_causal_lm(model), "_no_split_modules", None) or []
    if not names:
        raise ValueError("train.distributed=fsdp: the model names no decoder layer class (_no_split_modules)")
    return list(names)


def fsdp_plugin(model: nn.Module):
    """An accelerate FSDP2 plugin that shards `model` layer by layer, with sharded state dicts."""
    from accelerate import FullyShardedDataParallelPlugin

    return FullyShardedDataParallelPlugin(
        fsdp_version=2, auto_wrap_policy="transformer_based_wrap",
        transformer_cls_names_to_wrap=decoder_layer_names(model), reshard_after_forward=True,
        state_dict_type="SHARDED_STATE_DICT", cpu_ram_efficient_loading=False)


def use_fsdp_on_cpu(accelerator, plugin) -> None:
    """Turn FSDP2 on for CPU processes (gloo). accelerate only selects FSDP for accelerator
    devices; FSDP2 itself shards over a CPU device mesh as well, which is how the 2-process
    tests exercise the same sharding, clipping and sharded checkpoints as a GPU run."""
    from accelerate import PartialState
    from accelerate.utils import DistributedType

    if accelerator.mixed_precision != "no":
        plugin.set_mixed_precision(accelerator.mixed_precision)
    accelerator.state.fsdp_plugin = plugin
    # Both shared states: every new AcceleratorState() copies the process state's type over its own.
    PartialState().distributed_type = DistributedType.FSDP
    accelerator.state.distributed_type = DistributedType.FSDP
