"""`InstructForward`: the one forward of training, evaluation and generation.

    fwd = InstructForward(model, addons)               # model: HF causal LM, peft-wrapped or not
    out = fwd(input_ids, segment_ids, position_ids=None, at_index=index)
    out.hidden  (B, T, d)  final hidden states;  out.at  (N, d) at `at_index`;  out.head  the LM head

It holds the transformers model and the attached add-ons (`model/addons/`). The add-ons run
inside the model through hooks that this module installs (input embeddings, each decoder
layer, the decoder's output) and read the current forward's segments from `self.state`
(`model/segments.py`); with no add-on attached no hook is installed and the forward is the
plain model's, call for call. Objectives are functions of (outputs, batch)
(`objectives/`): the logits are left to them, so they can compute them only where a loss is
taken, chunk by chunk.

Generation goes through the same hooks: `fwd.generate(input_ids, prompt_segments, ...)` runs
`transformers`' generate with the prompt's segments, and every generated token gets the
response segment, through the KV cache (`SegmentState.advance`).
"""

from __future__ import annotations

import contextlib
from dataclasses import dataclass

import torch
from torch import nn

from instructune.model.addons.base import Addon
from instructune.model.attention import CU_K, CU_Q, MAX_K, MAX_Q, reads_cu_seqlens
from instructune.data.templates import RESPONSE
from instructune.model.segments import SegmentState

# Config attributes that transform logits after the LM head; with any of them set the
# selective path would skip that transform, so the full forward is used instead.
_LOGIT_TRANSFORMS = ("final_logit_softcapping", "logit_scale", "logits_scaling")


def base_causal_lm(model: nn.Module) -> nn.Module:
    """The transformers model under an `InstructForward` and/or a peft wrapper."""
    if isinstance(model, InstructForward):
        model = model.model
    return model.get_base_model() if hasattr(model, "get_base_model") else model


def supports_selective_head(model: nn.Module) -> bool:
    """Whether the decoder + LM head can be called apart for this model."""
    lm = base_causal_lm(model)
    if any(getattr(lm.config, a, None) not in (None, 1.0) for a in _LOGIT_TRANSFORMS):
        return False
    return hasattr(lm, "get_decoder") and lm.get_output_embeddings() is not None


@dataclass
class ForwardOutput:
    """What the objectives read.

    Attributes:
        hidden: (B, T, d) final hidden states (after the last norm and the add-ons), or None
            when the model's head could not be called apart (then `logits` is set).
        at: (N, d) hidden states at the positions asked for, or None.
        head: the LM head (d → V), to compute logits where they are needed.
        logits: (B, T, V), only when the selective path is not possible for this model.
    """

    hidden: torch.Tensor | None
    at: torch.Tensor | None
    head: nn.Module
    logits: torch.Tensor | None = None


def as_forward(model: nn.Module) -> "InstructForward":
    """`model` itself when it is an `InstructForward`, else a plain one around it."""
    return model if isinstance(model, InstructForward) else InstructForward(model)


def model_inputs(model: nn.Module, batch: dict) -> dict:
    """Keyword arguments of a plain transformers call on a collated `batch`, as the training
    step makes it: no attention mask, no cache, and the `varlen` attention's record boundaries
    (`cu_seqlens`, `max_seqlen`) when the model reads them."""
    return as_forward(model)._inputs(batch["input_ids"], batch.get("position_ids"), batch.get("cu_seqlens"),
                                     batch.get("max_seqlen"))


class InstructForward(nn.Module):
    """A causal LM (peft-wrapped or not) with its add-ons, called with segments.

    Args:
        model: the transformers causal LM, possibly peft-wrapped. The add-ons attach to the
            model under peft, after peft wrapped it, so LoRA never lands on add-on layers.
        addons: {name: Addon}, attached in this order; None or {}: the plain model.
    """

    def __init__(self, model: nn.Module, addons: dict[str, Addon] | None = None):
        super().__init__()
        self.model = model
        self.addons = nn.ModuleDict(addons or {})
        self.state = SegmentState()
        self._hooks: list = []
        if self.addons:
            self._attach()

    # --- attaching ------------------------------------------------------------------------
    @property
    def lm(self) -> nn.Module:
        """The transformers model (under peft, if any)."""
        return base_causal_lm(self.model)

    @property
    def config(self):
        return self.lm.config

    def changes_forward(self) -> bool:
        """Whether an attached add-on changes the logits (a plain transformers export then differs)."""
        return any(a.changes_forward for a in self.addons.values())

    def _stage(self, stage: str) -> list[Addon]:
        return [a for a in self.addons.values() if a.uses(stage)]

    def _attach(self) -> None:
        lm = self.lm
        decoder = lm.get_decoder()
        for addon in self.addons.values():
            addon.bind(lm, self.state)
        self._hooks.append(decoder.register_forward_pre_hook(self._advance, with_kwargs=True))
        # Always hooked: the raw embeddings are what the instruction is pooled from.
        self._hooks.append(lm.get_input_embeddings().register_forward_hook(
            self._embeddings_hook(self._stage("on_embeddings"))))
        if per_layer := self._stage("on_layer"):
            for i, layer in enumerate(decoder.layers):
                self._hooks.append(layer.register_forward_hook(self._layer_hook(i, per_layer)))
        if lasts := self._stage("on_final"):
            self._hooks.append(decoder.register_forward_hook(self._final_hook(lasts)))

    def detach_addons(self) -> None:
        """Remove every hook and undo the add-ons' changes to the model (the plain model again)."""
        for h in self._hooks:
            h.remove()
        self._hooks.clear()
        for addon in self.addons.values():
            addon.unbind(self.lm)

    def _advance(self, module, args, kwargs):
        ids = kwargs.get("input_ids", args[0] if args else None)
        ref = ids if ids is not None else kwargs["inputs_embeds"]
        self.state.advance(ref.shape[1], ref.shape[0], ref.device)

    def _embeddings_hook(self, addons: list[Addon]):
        def hook(module, args, e):
            self.state.embeds = e
            self.state.ids = args[0] if args else None
            for a in addons:
                e = a.on_embeddings(e)
            return e
        return hook

    def _layer_hook(self, index: int, addons: list[Addon]):
        def hook(module, args, out):
            h = out[0] if isinstance(out, tuple) else out
            for a in addons:
                h = a.on_layer(index, h)
            return (h, *out[1:]) if isinstance(out, tuple) else h
        return hook

    def _final_hook(self, addons: list[Addon]):
        def hook(module, args, out):
            h = out.last_hidden_state
            for a in addons:
                h = a.on_final(h)
            out.last_hidden_state = h
            return out
        return hook

    # --- forward --------------------------------------------------------------------------
    def _inputs(self, input_ids, position_ids, cu_seqlens, max_seqlen) -> dict:
        """Decoder keyword arguments: never an attention_mask (rows are right-padded, so causal
        attention keeps real tokens from pads and SDPA keeps its fast path); packed records'
        boundaries for the `varlen` attention."""
        inputs = {"input_ids": input_ids, "position_ids": position_ids, "use_cache": False}
        if cu_seqlens is not None and reads_cu_seqlens(self.lm):
            inputs.update({CU_Q: cu_seqlens, CU_K: cu_seqlens, MAX_Q: int(max_seqlen), MAX_K: int(max_seqlen)})
        return inputs

    def forward(self, input_ids: torch.Tensor, segment_ids: torch.Tensor | None = None,
                position_ids: torch.Tensor | None = None, at_index: torch.Tensor | None = None,
                cu_seqlens: torch.Tensor | None = None, max_seqlen: int | None = None,
                full_logits: bool = False) -> ForwardOutput:
        """One forward over whole sequences (no cache).

        Args:
            input_ids: (B, T) long.
            segment_ids: (B, T) long (`data/templates.py`); None: every token is response
                (plain text, which the model reads as text it writes).
            position_ids: (B, T) long for packed / padding-free rows (restarting per record).
            at_index: (N,) long flat indices b*T + t whose hidden states `out.at` holds.
            cu_seqlens, max_seqlen: packed records' boundaries (`data/collate.py`).
            full_logits: run the model whole and return `logits` (B, T, V) (a reference path;
                also taken when the head cannot be called apart).
        Returns:
            `ForwardOutput`.
        """
        if self.addons:
            seg = segment_ids if segment_ids is not None else torch.full_like(input_ids, RESPONSE)
            self.state.begin(seg, position_ids)
        inputs = self._inputs(input_ids, position_ids, cu_seqlens, max_seqlen)
        lm = self.lm
        if full_logits or not supports_selective_head(lm):
            logits = self.model(**inputs).logits
            return ForwardOutput(None, None, lm.get_output_embeddings(), logits)
        hidden = lm.get_decoder()(**inputs).last_hidden_state
        at = None if at_index is None else hidden.reshape(-1, hidden.shape[-1]).index_select(0, at_index)
        return ForwardOutput(hidden, at, lm.get_output_embeddings())

    # --- generation ------------------------------------------------------------------------
    @contextlib.contextmanager
    def generating(self, prompt_segments: torch.Tensor):
        """Within: the model's calls are a generation over prompts with these segments (B, T),
        left-padded like the prompts."""
        if self.addons:
            self.state.begin_generation(prompt_segments)
        try:
            yield
        finally:
            self.state.end()

    def generate(self, input_ids: torch.Tensor, prompt_segments: torch.Tensor | None = None, **kwargs):
        """`transformers` generate, with the prompt's segments (B, T) for the add-ons."""
        if prompt_segments is None and self.addons:
            prompt_segments = torch.full_like(input_ids, RESPONSE)
        with self.generating(prompt_segments):
            return self.model.generate(input_ids=input_ids, **kwargs)
