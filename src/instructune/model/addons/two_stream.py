"""Two-stream instruction encoder with fusion and gated per-layer re-injection.

    c_r    = Encoder([s; U·e_t for the instruction tokens t of record r])[0]   (R, k)
    e'_t   = e_t + m_t · F·c_{r(t)}                              F zero-initialised: fusion starts at 0
    h'_l,t = h_l,t + m_t · γ_l,t · W_l·c_{r(t)}

    gate: token (default)  γ_l,t = tanh(a_l·ĥ_l,t + b_l·c_{r(t)} + β_l)    ĥ = h / rms(h)
                           m_t = 1 when record r(t) has an instruction segment, else 0
    gate: static           γ_l,t = tanh(g_l)                             m_t = 1 for every token

The second stream reads only the instruction: by default a small transformer encoder over the
base model's token embeddings of the instruction tokens of each record (packed records apart),
with a learned summary token s in front whose output is the record's instruction context c_r
(the summary token also gives a record without instruction tokens a defined context). With
`encoder: minilm` it is instead the frozen MiniLM sentence embedding of the instruction's text
(decoded from its tokens; each distinct text embedded once per process), read by a trainable
linear map: c_r = U'·MiniLM(text_r). The context is fused into the input embeddings and
re-injected after every decoder layer.

The seeds' gate is per token: the model decides, at each layer and token, how much of the
instruction is still relevant there, from what the token's hidden state holds and what the
instruction says (`gate: token`). It is a scalar per token and layer (2·d + k + 1 parameters a
layer rather than a (d + k) × d matrix); h is RMS-normalised before a_l reads it, because the
residual stream's scale grows with depth and differs per model, and c is LayerNorm-ed already.
The static gate (`gate: static`, the earlier form) re-injects the same amount into every token,
plain text included, where the summary token's context is all there is to inject.

Init: a_l = b_l = β_l = 0 (and g_l = 0) make every gate exactly 0 and F = 0, so the attached,
untrained model is the base model bit for bit. tanh rather than the seeds' σ for that reason:
σ is never 0, so an exact identity with σ would need W_l = 0, and then the gate would get no
gradient at the first step; with tanh, W_l stays random and ∂h'/∂β_l = W_l·c,
∂h'/∂a_l = ĥ_t·(W_l·c) are non-zero at step 1. No LayerNorm after the residual add (the seeds
put one there): a new norm after a pretrained layer would change its output at init, and every
decoder layer already normalises what it reads (its input norm).

At generation c_r, and whether record r has an instruction, are computed on the prompt and
kept for every generated token.
"""

from __future__ import annotations

import torch
from torch import nn

from instructune.model.addons.base import Addon

CACHE_KEY = "two_stream"


def gather_instructions(embeds: torch.Tensor, where: torch.Tensor, record: torch.Tensor, n_records: int
                        ) -> tuple[torch.Tensor, torch.Tensor]:
    """Each record's instruction tokens, left-aligned in a padded batch.

    Args:
        embeds: (B, T, d).
        where: (B, T) bool, instruction tokens.
        record: (B, T) long record of each token (records contiguous in the flattened order).
        n_records: R.
    Returns:
        (tokens (R, L, d) with zeros past each record's count, padding (R, L) bool True at pads),
        L the longest instruction (at least 1).
    """
    d = embeds.shape[-1]
    idx = where.reshape(-1).nonzero(as_tuple=True)[0]  # (n,) flat positions, in order
    rec = record.reshape(-1)[idx]
    counts = torch.bincount(rec, minlength=n_records)
    starts = counts.cumsum(0) - counts
    rank = torch.arange(idx.numel(), device=idx.device) - starts[rec]
    L = max(int(counts.max()) if n_records else 0, 1)
    tokens = embeds.new_zeros(n_records, L, d)
    tokens[rec, rank] = embeds.reshape(-1, d)[idx]
    padding = torch.ones(n_records, L, dtype=torch.bool, device=embeds.device)
    padding[rec, rank] = False
    return tokens, padding


class TwoStream(Addon):
    """Args: hidden: d; n_layers: decoder layers; dim: k, the encoder width; layers: encoder
    layers; heads: encoder heads; gate: "token" | "static" (see above); tokenizer and embed (an
    `EmbedFn`, with `embed_dim`) for the MiniLM encoder (`minilm=True`)."""

    name = "two_stream"

    @classmethod
    def saved_section(cls, raw: dict) -> dict:
        """A run saved before the per-token gate existed has no `gate`: it was the static one."""
        return {"gate": "static", **raw}

    def __init__(self, hidden: int, n_layers: int, dim: int = 64, layers: int = 1, heads: int = 4,
                 minilm: bool = False, tokenizer=None, embed=None, embed_dim: int = 0, gate: str = "token"):
        super().__init__()
        self.gate = gate
        if dim % heads:
            raise ValueError(f"addons.two_stream.heads={heads} must divide addons.two_stream.dim={dim}")
        if minilm and (tokenizer is None or embed is None):
            raise ValueError("addons.two_stream.encoder=minilm needs the tokenizer and the sentence embedder")
        self.minilm, self.tokenizer, self.embed = minilm, tokenizer, embed
        self._texts: dict[str, torch.Tensor] = {}  # instruction text → its embedding, once per process
        if minilm:
            self.read_text = nn.Linear(embed_dim, dim)
        else:
            self.read = nn.Linear(hidden, dim)
            self.summary = nn.Parameter(torch.randn(dim) * 0.02)
            layer = nn.TransformerEncoderLayer(dim, heads, 2 * dim, dropout=0.0, batch_first=True, norm_first=True)
            self.encoder = nn.TransformerEncoder(layer, layers, enable_nested_tensor=False)
        self.norm = nn.LayerNorm(dim)
        self.fuse = nn.Linear(dim, hidden)
        nn.init.zeros_(self.fuse.weight)
        nn.init.zeros_(self.fuse.bias)
        # W_l: one (k → d) map per layer; non-zero so the closed gates still get a gradient.
        self.inject = nn.Parameter(torch.randn(n_layers, dim, hidden) * 0.02)
        if gate == "static":
            self.gates = nn.Parameter(torch.zeros(n_layers))  # g_l
        else:
            self.gate_hidden = nn.Parameter(torch.zeros(n_layers, hidden))  # a_l
            self.gate_context = nn.Parameter(torch.zeros(n_layers, dim))  # b_l
            self.gate_bias = nn.Parameter(torch.zeros(n_layers))  # β_l

    @classmethod
    def from_config(cls, section, lm_config, **resources) -> "TwoStream":
        minilm = section.encoder == "minilm"
        embed = resources.get("embed")
        if minilm and embed is None:
            from instructune.embed import load_embedder

            embed = load_embedder()
        dim = (embed.dim if hasattr(embed, "dim") else len(embed(["x"])[0])) if minilm else 0
        return cls(lm_config.hidden_size, lm_config.num_hidden_layers, section.dim, section.layers, section.heads,
                   minilm, resources.get("tokenizer"), embed, dim, section.gate)

    def text_context(self) -> torch.Tensor:
        """(R, k) the MiniLM embedding of each record's instruction text, read by U'."""
        st = self.state
        ids = st.ids.reshape(-1)
        where = st.instruction_mask().reshape(-1)
        rec = st.record.reshape(-1)
        texts = []
        for r in range(st.n_records):
            sel = ids[where & (rec == r)]
            texts.append(self.tokenizer.decode(sel.tolist(), skip_special_tokens=True).strip())
        new = [t for t in dict.fromkeys(texts) if t not in self._texts]
        if new:
            for t, v in zip(new, self.embed(new)):
                self._texts[t] = torch.as_tensor(v, dtype=torch.float32)
        vecs = torch.stack([self._texts[t] for t in texts]).to(self.read_text.weight)
        return self.read_text(vecs)

    def context(self) -> torch.Tensor:
        """(R, k) each record's instruction context, computed once per forward (and prompt)."""
        st = self.state
        if CACHE_KEY not in st.cache and self.minilm:
            st.cache[CACHE_KEY] = self.norm(self.text_context())
        if CACHE_KEY not in st.cache:
            tokens, padding = gather_instructions(st.embeds.to(self.param_dtype()), st.instruction_mask(),
                                                  st.record, st.n_records)
            x = self.read(tokens)
            R = x.shape[0]
            x = torch.cat([self.summary.expand(R, 1, -1), x], dim=1)
            padding = torch.cat([padding.new_zeros(R, 1), padding], dim=1)
            st.cache[CACHE_KEY] = self.norm(self.encoder(x, src_key_padding_mask=padding)[:, 0])
        return st.cache[CACHE_KEY]

    def token_context(self) -> torch.Tensor:
        """(B, T, k) each token's record context, gathered once per model call at width k, so
        each layer's re-injection is one (B·T, k) × (k, d) matmul (rather than a (B·T, d)
        gather and, in backward, scatter-add per layer); with `gate: token`, zero in records
        without an instruction (m_t = 0), so that no re-injection reaches them."""
        if CACHE_KEY not in self.state.per_call:
            c = self.state.per_token(self.context())
            if self.gate == "token":
                c = c * self.state.instructed()[..., None].to(c.dtype)
            self.state.per_call[CACHE_KEY] = c
        return self.state.per_call[CACHE_KEY]

    def on_embeddings(self, e: torch.Tensor) -> torch.Tensor:
        """e: (B, T, d) → e + m·F·c per token (F's bias would reach m = 0 tokens without m)."""
        fused = self.fuse(self.token_context())
        if self.gate == "token":
            fused = fused * self.state.instructed()[..., None].to(fused.dtype)
        return e + fused.to(e.dtype)

    def layer_gate(self, index: int, h: torch.Tensor, c: torch.Tensor) -> torch.Tensor:
        """γ of layer `index`: () for the static gate, (B, T, 1) per token. h (B, T, d), c (B, T, k)."""
        if self.gate == "static":
            return torch.tanh(self.gates[index])
        x = h.to(c.dtype)
        x = x * torch.rsqrt(x.pow(2).mean(-1, keepdim=True) + 1e-6)
        z = x @ self.gate_hidden[index] + c @ self.gate_context[index] + self.gate_bias[index]  # (B, T)
        return torch.tanh(z)[..., None]

    def on_layer(self, index: int, h: torch.Tensor) -> torch.Tensor:
        """h: (B, T, d) the output of layer `index` → h + γ·W_l·c per token."""
        c = self.token_context()
        delta = self.layer_gate(index, h, c) * (c @ self.inject[index])  # (B, T, d)
        return h + delta.to(h.dtype)
