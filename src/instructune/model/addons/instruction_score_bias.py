"""Instruction-guided attention, score form (`addons.instruction_attention.form=score`): a
learned, gated bias on the attention scores of instruction keys.

    score_{l,h}(q, k) += b_{l,h} · γ_{r(q),l} · [segment(k) = instruction]
    γ_{r,l} = max_gate · sigmoid(w_l · ē_r + c_l)        ē_r: record r's mean instruction embedding

b starts at 0, so the attached, untrained model is the base model. The gate γ makes the bias
strength depend on the instruction (the seeds: "the bias strength adapts based on the
instruction complexity, using the instruction embedding to modulate attention intensity");
w = 0 and c = 0 at init, so γ starts at max_gate / 2 (1 by default).

It goes through transformers' registries, never a forked model file: `bind` registers an
attention function (and, with it, the mask function of the kernel it wraps: an attention
function registered without one would get no mask at all, and silently lose causal masking)
and switches the model to it. The function adds the bias through SDPA's own `position_bias`
(or onto the eager kernel's additive mask), so causal masks, packed rows' block-diagonal
masks, left padding and the KV cache are all the wrapped kernel's; the segments of cached
keys come from `SegmentState.keys`. The `varlen` packing kernel takes no bias: packed rows
then use the block-diagonal mask that transformers builds from `position_ids`.

The bias is query-independent and dense: a (B, H, T, T) tensor per layer, which costs memory
and keeps flash / varlen kernels out. The key form (`instruction_attention.py`, the default)
needs none of it.
"""

from __future__ import annotations

import functools
import sys

import torch
from torch import nn

from instructune.data.templates import INSTRUCTION
from instructune.model.addons.base import Addon
from instructune.model.attention import attention_limit

ATTR = "_instructune_guidance"  # set on each attention module; not an nn.Module attribute
NAMES = {"sdpa": "instructune_guided_sdpa", "eager": "instructune_guided_eager"}


def _eager_kernel(module: nn.Module):
    """The eager attention function of `module`'s own modeling file."""
    return sys.modules[type(module).__module__].eager_attention_forward


def guided_attention_forward(module: nn.Module, query: torch.Tensor, key: torch.Tensor, value: torch.Tensor,
                             attention_mask: torch.Tensor | None, *, base: str, **kwargs):
    """The wrapped kernel with the instruction bias added; (B, Tq, H, D) output as transformers
    expects. query (B, H, Tq, D), key/value (B, H_kv, Tk, D) (the cache included)."""
    guide = module.__dict__.get(ATTR)
    bias = None if guide is None else guide.bias(module.layer_idx, query.shape[2], key.shape[2], query.dtype)
    if base == "eager":
        if bias is not None:
            attention_mask = bias if attention_mask is None else attention_mask + bias
        return _eager_kernel(module)(module, query, key, value, attention_mask, **kwargs)
    from transformers.integrations.sdpa_attention import sdpa_attention_forward

    return sdpa_attention_forward(module, query, key, value, attention_mask, position_bias=bias, **kwargs)


@functools.cache
def register() -> None:
    """Register both guided kernels with their masks (idempotent)."""
    from transformers import AttentionInterface, AttentionMaskInterface
    from transformers.masking_utils import eager_mask, sdpa_mask

    for base, name in NAMES.items():
        AttentionInterface.register(name, functools.partial(guided_attention_forward, base=base))
        AttentionMaskInterface.register(name, eager_mask if base == "eager" else sdpa_mask)


class InstructionScoreBias(Addon):
    """Args: n_layers, n_heads: the decoder's; hidden: d; attention: the kernel wrapped
    ("sdpa" | "eager"); max_gate: the gate's ceiling."""

    name = "instruction_attention"

    def __init__(self, n_layers: int, n_heads: int, hidden: int, attention: str = "sdpa", max_gate: float = 2.0):
        super().__init__()
        self.strength = nn.Parameter(torch.zeros(n_layers, n_heads))  # b
        self.gate = nn.Linear(hidden, n_layers)  # w, c
        nn.init.zeros_(self.gate.weight)
        nn.init.zeros_(self.gate.bias)
        self.attention, self.max_gate = attention, max_gate
        self._previous: str | None = None

    @classmethod
    def refusal(cls, section, lm_config) -> str | None:
        """The SDPA kernel on a model whose attention SDPA cannot compute (Gemma 2's soft-capped
        scores): the eager kernel wraps the model's own, soft-capping included."""
        limit = attention_limit(lm_config)
        if limit and section.attention == "sdpa":
            return (f"addons.instruction_attention.attention=sdpa: {lm_config.model_type} {limit}, which SDPA "
                    f"cannot compute; set addons.instruction_attention.attention=eager, or form=key")
        return None

    @classmethod
    def from_config(cls, section, lm_config, **resources) -> "InstructionScoreBias":
        return cls(lm_config.num_hidden_layers, lm_config.num_attention_heads, lm_config.hidden_size,
                   section.attention, section.max_gate)

    def bind(self, lm: nn.Module, state) -> None:
        super().bind(lm, state)
        register()
        self._previous = lm.config._attn_implementation
        lm.set_attn_implementation(NAMES[self.attention])
        for layer in lm.get_decoder().layers:
            object.__setattr__(layer.self_attn, ATTR, self)

    def unbind(self, lm: nn.Module) -> None:
        for layer in lm.get_decoder().layers:
            layer.self_attn.__dict__.pop(ATTR, None)
        if self._previous is not None:
            lm.set_attn_implementation(self._previous)

    def gates(self) -> torch.Tensor:
        """(R, L) γ per record and layer, from the pooled instruction (once per forward / prompt)."""
        st = self.state
        if "instruction_gate" not in st.cache:
            pooled = st.pooled_instruction().to(self.param_dtype())
            st.cache["instruction_gate"] = self.max_gate * torch.sigmoid(self.gate(pooled))
        return st.cache["instruction_gate"]

    def bias(self, layer: int, q_len: int, k_len: int, dtype: torch.dtype) -> torch.Tensor:
        """(B, H, Tq, Tk) additive attention bias of `layer` for this call."""
        st = self.state
        gate = st.per_token(self.gates()[:, layer])  # (B, Tq)
        keys = st.keys == INSTRUCTION  # (B, Tk)
        if keys.shape[1] != k_len:  # a cache longer than the keys seen (static caches): no instruction there
            keys = torch.nn.functional.pad(keys, (0, k_len - keys.shape[1]))[:, :k_len]
        b = self.strength[layer]
        return (b[None, :, None, None] * gate[:, None, -q_len:, None] * keys[:, None, None, :]).to(dtype)
