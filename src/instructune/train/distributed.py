"""FSDP2 through accelerate: the plugin `train.distributed: fsdp` builds.

Each decoder layer is its own FSDP unit (parameters all-gathered just before the layer runs and
freed after it); embeddings, final norm and LM head stay in the root unit, which `TrainingObjective`
is, so they are gathered for the loss's own forward. Under mixed precision accelerate keeps
float32 shards and all-gathers them in bf16 (MixedPrecisionPolicy), with float32 gradient
reduction. Checkpoints are sharded (`sharded_checkpoint.py`).

DeepSpeed ZeRO-2/3 needs no code here: `accelerate launch --config_file` with a DeepSpeed
config is picked up by the same Accelerator (docs/distributed.md, examples/accelerate/).
"""

from __future__ import annotations

from torch import nn


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
