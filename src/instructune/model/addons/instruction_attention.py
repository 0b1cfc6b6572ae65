"""Instruction-guided attention: a learned, gated bias added to the keys of instruction tokens.

    k_{l}(x_t) = W_k x_t + γ_{r(t),l} · b_l · [segment(t) = instruction]
    γ_{r,l} = max_gate · sigmoid(w_l · ē_r + c_l)        ē_r: record r's mean instruction embedding

b_l is one vector per layer, (H_kv · D): a direction per KV head. Its effect on the score of a
query q on an instruction key is q · (γ b_l), so, unlike a bias on the scores (the `score`
form, `instruction_score_bias.py`), it depends on the query: which queries look more (or less)
at the instruction is learned. The gate γ scales it by the instruction (the seeds' "dynamic
bias adjustment" from the instruction embedding); w = 0, c = 0 at init, so γ starts at
max_gate / 2. b starts at 0, so the attached, untrained model is the base model.

Where: on the output of the key projection (`k_proj`, or the key slice of Phi-3's fused
`qkv_proj`), through a forward hook, never a forked model file. That is before RoPE (and before
Qwen3 / Gemma 3's per-head key norm), like the projection's own bias (Qwen2's k_proj bias sits
there): the bias is part of the instruction token's key content and is rotated with its
position, so its effect q·R(i-j)b depends on the distance between query and key only, and a
record scores the same wherever it sits in a row (after RoPE a fixed b would be read by each
query at its absolute position). With a key norm the bias goes through the norm, as the
projection's output does.

Nothing reaches the attention kernel but keys: no (T, T) bias, no change of attention
function, so SDPA, flash, the `varlen` kernel and soft-capping eager all run unchanged, packed
rows keep their own masks, and the KV cache stores keys after the bias was added (decode steps
are response tokens: no bias on them).
"""

from __future__ import annotations

import torch
from torch import nn

from instructune.config import ConfigError
from instructune.model.addons.base import Addon

COEF = "key_bias_coefficient"  # per-call cache entry in SegmentState.per_call


def head_dim(lm_config) -> int:
    """D of the model's attention heads."""
    return getattr(lm_config, "head_dim", None) or lm_config.hidden_size // lm_config.num_attention_heads


def key_projection(attention: nn.Module, lm_config) -> tuple[nn.Module, int]:
    """(the module whose output holds the keys, where the keys start in its last dimension).

    Raises:
        ConfigError: an attention module with neither `k_proj` nor Phi-3's fused `qkv_proj`.
    """
    if isinstance(getattr(attention, "k_proj", None), nn.Module):
        return attention.k_proj, 0
    if isinstance(getattr(attention, "qkv_proj", None), nn.Module):  # [q (H·D) | k (H_kv·D) | v (H_kv·D)]
        return attention.qkv_proj, lm_config.num_attention_heads * head_dim(lm_config)
    raise ConfigError(f"addons.instruction_attention.form=key: {type(attention).__name__} has no k_proj or qkv_proj "
                      f"to add the key bias to; use addons.instruction_attention.form=score")


class InstructionAttention(Addon):
    """Args: n_layers: the decoder's; kv_dim: H_kv · D, the keys' width; hidden: d (the pooled
    instruction's width); max_gate: the gate's ceiling."""

    name = "instruction_attention"

    def __init__(self, n_layers: int, kv_dim: int, hidden: int, max_gate: float = 2.0):
        super().__init__()
        self.key_bias = nn.Parameter(torch.zeros(n_layers, kv_dim))  # b_l
        self.gate = nn.Linear(hidden, n_layers)  # w, c
        nn.init.zeros_(self.gate.weight)
        nn.init.zeros_(self.gate.bias)
        self.max_gate = max_gate
        self._hooks: list = []

    @classmethod
    def refusal(cls, section, lm_config) -> str | None:
        """Multi-head latent attention (DeepSeek's `kv_lora_rank`) forms keys from a compressed
        latent and a separate RoPE part: there is no key projection to add the bias to."""
        if section.form == "score":
            from instructune.model.addons.instruction_score_bias import InstructionScoreBias

            return InstructionScoreBias.refusal(section, lm_config)
        if getattr(lm_config, "kv_lora_rank", None):
            return (f"addons.instruction_attention.form=key: {lm_config.model_type} forms its keys from a latent "
                    f"(multi-head latent attention), with no key projection to bias; use form=score")
        return None

    @classmethod
    def from_config(cls, section, lm_config, **resources) -> Addon:
        """The key form, or the score form for `form: score`."""
        if section.form == "score":
            from instructune.model.addons.instruction_score_bias import InstructionScoreBias

            return InstructionScoreBias.from_config(section, lm_config, **resources)
        kv_heads = getattr(lm_config, "num_key_value_heads", None) or lm_config.num_attention_heads
        return cls(lm_config.num_hidden_layers, kv_heads * head_dim(lm_config), lm_config.hidden_size,
                   section.max_gate)

    @classmethod
    def saved_section(cls, raw: dict) -> dict:
        """A run saved before the key form existed has no `form`: it was the score form."""
        return {"form": "score", **raw}

    def bind(self, lm: nn.Module, state) -> None:
        super().bind(lm, state)
        for i, layer in enumerate(lm.get_decoder().layers):
            module, start = key_projection(layer.self_attn, lm.config)
            self._hooks.append(module.register_forward_hook(self._adds_bias(i, start)))

    def unbind(self, lm: nn.Module) -> None:
        for h in self._hooks:
            h.remove()
        self._hooks.clear()

    def _adds_bias(self, layer: int, start: int):
        def hook(module, args, out):
            return self.biased(layer, start, out)
        return hook

    def gates(self) -> torch.Tensor:
        """(R, L) γ per record and layer, from the pooled instruction (once per forward / prompt)."""
        st = self.state
        if "instruction_key_gate" not in st.cache:
            pooled = st.pooled_instruction().to(self.param_dtype())
            st.cache["instruction_key_gate"] = self.max_gate * torch.sigmoid(self.gate(pooled))
        return st.cache["instruction_key_gate"]

    def coefficients(self) -> torch.Tensor:
        """(B, Tq, L): γ of each token's record on instruction tokens of this call, 0 elsewhere
        (once per model call, shared by the layers)."""
        st = self.state
        if COEF not in st.per_call:
            on = st.instruction_mask().to(self.param_dtype())
            st.per_call[COEF] = st.per_token(self.gates()) * on[..., None]
        return st.per_call[COEF]

    def biased(self, layer: int, start: int, out: torch.Tensor) -> torch.Tensor:
        """The projection's output (B, Tq, width) with the key bias added to columns
        [start, start + H_kv·D) of the instruction tokens."""
        bias = self.coefficients()[..., layer, None] * self.key_bias[layer]  # (B, Tq, H_kv·D)
        if start or bias.shape[-1] != out.shape[-1]:  # a fused projection: q and v get nothing
            bias = nn.functional.pad(bias, (start, out.shape[-1] - start - bias.shape[-1]))
        return out + bias.to(out.dtype)
