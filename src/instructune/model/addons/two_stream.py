"""Two-stream instruction encoder with fusion and gated per-layer re-injection.

    c_r    = Encoder([s; U·e_t for the instruction tokens t of record r])[0]   (R, k)
    e'_t   = e_t + F·c_{r(t)}                                   F zero-initialised: fusion starts at 0
    h'_l,t = h_l,t + tanh(g_l) · W_l·c_{r(t)}                   g_l = 0: every gate starts closed

The second stream reads only the instruction: by default a small transformer encoder over the
base model's token embeddings of the instruction tokens of each record (packed records apart),
with a learned summary token s in front whose output is the record's instruction context c_r
(the summary token also gives a record without instruction tokens a defined context). With
`encoder: minilm` it is instead the frozen MiniLM sentence embedding of the instruction's text
(decoded from its tokens; each distinct text embedded once per process), read by a trainable
linear map: c_r = U'·MiniLM(text_r). The
context is fused into the input embeddings and re-injected after every decoder layer. W_l is
not zero, so each gate g_l gets a gradient at the first step (∂h'/∂g_l = W_l·c at g_l = 0);
F starts at zero, so the attached, untrained model is the base model. At generation c_r is
computed on the prompt and kept for every generated token.
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
    layers; heads: encoder heads; tokenizer and embed (an `EmbedFn`, with `embed_dim`) for the
    MiniLM encoder (`minilm=True`)."""

    name = "two_stream"

    def __init__(self, hidden: int, n_layers: int, dim: int = 64, layers: int = 1, heads: int = 4,
                 minilm: bool = False, tokenizer=None, embed=None, embed_dim: int = 0):
        super().__init__()
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
        self.gates = nn.Parameter(torch.zeros(n_layers))

    @classmethod
    def from_config(cls, section, lm_config, **resources) -> "TwoStream":
        minilm = section.encoder == "minilm"
        embed = resources.get("embed")
        if minilm and embed is None:
            from instructune.embed import load_embedder

            embed = load_embedder()
        dim = (embed.dim if hasattr(embed, "dim") else len(embed(["x"])[0])) if minilm else 0
        return cls(lm_config.hidden_size, lm_config.num_hidden_layers, section.dim, section.layers, section.heads,
                   minilm, resources.get("tokenizer"), embed, dim)

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
        gather and, in backward, scatter-add per layer)."""
        if CACHE_KEY not in self.state.per_call:
            self.state.per_call[CACHE_KEY] = self.state.per_token(self.context())
        return self.state.per_call[CACHE_KEY]

    def on_embeddings(self, e: torch.Tensor) -> torch.Tensor:
        """e: (B, T, d) → e + F·c per token."""
        return e + self.fuse(self.token_context()).to(e.dtype)

    def on_layer(self, index: int, h: torch.Tensor) -> torch.Tensor:
        """h: (B, T, d) the output of layer `index` → h + tanh(g_l)·W_l·c per token."""
        delta = torch.tanh(self.gates[index]) * (self.token_context() @ self.inject[index])  # (B, T, d)
        return h + delta.to(h.dtype)
