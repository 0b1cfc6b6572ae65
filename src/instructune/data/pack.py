"""Packing: several records in one row, each attending only to itself.

    packs = pack_rows(lengths, pack_length=512)   # [[5, 17, 3], [8, 2], ...]: row indices per packed row
    batch = collate_packed([[rows of pack 0], [rows of pack 1]], pad_id)   # data/collate.py

How records are kept apart. `collate_packed` restarts `position_ids` at 0 at every record
and the model is called with no `attention_mask` and `use_cache=False` (`model_inputs` in
`model/forward.py` does both). transformers then reads each restart as a sequence boundary
(`masking_utils.find_packed_sequence_indices`, checked on 5.23) and builds a block-diagonal
causal mask, while RoPE sees each record's own positions. No explicit 4D mask is needed.

Where this works (packing and padding-free alike):
- `varlen` (model/attention.py, the default for training on a CUDA GPU): the collator also
  passes the records' boundaries (`cu_seqlens`), and attention runs per record in PyTorch's
  flash varlen kernel: no (T, T) mask, no work across records. On CPU it is computed through
  SDPA with a block-diagonal mask (tested equal to each record alone).
- sdpa and eager: tested on CPU (logits of each packed record equal the record alone). The
  mask is materialised as (B, 1, T, T), so SDPA leaves its mask-free causal kernel: whether
  packing pays off depends on how much padding it removes (`bench/train_throughput.py
  --packing / --padding-free` measures it).
- flash-attention (and flex): transformers builds `cu_seqlens` / a block mask from the same
  position_ids; by transformers' design, not tested here (no GPU in the tests).
Where it does not:
- any call with a 2D attention_mask or a KV cache (generation passes both): that turns the
  detection off. Generation and held-out evaluation (`evaluate/loss.py`) keep padded batches;
- model code that does not build its mask through `masking_utils` (remote code, forks): it
  would silently attend across records. `packing_supported` (`model/packing.py`) probes the
  model once and the training recipe refuses packing / padding-free when the probe fails.

The label at the first token of each record is set to -100 by the collator, so no record is
ever predicted from the end of the record before it.
"""

from __future__ import annotations

import bisect


def pack_rows(lengths: list[int], pack_length: int) -> list[list[int]]:
    """Best-fit-decreasing bin packing of rows into packs of at most `pack_length` tokens.

    Rows are placed longest first (ties: lower index first), each into the open pack whose
    free space is smallest but enough (ties: older pack), else into a new pack. The result is a
    pure function of (lengths, pack_length), so every process and every resumed run rebuilds
    the same packs. Records in a pack keep ascending index order.

    Args:
        lengths: token count of each row.
        pack_length: token budget of a packed row; must be at least the longest row.
    Returns:
        list of packs, each a list of row indices; packs in creation order.
    Raises:
        ValueError: a row is longer than `pack_length` (names `data.pack_length`).
    """
    if lengths and max(lengths) > pack_length:
        raise ValueError(f"data.pack_length={pack_length} is shorter than the longest record "
                         f"({max(lengths)} tokens); raise it or set it to 0 (= the longest record)")
    packs: list[list[int]] = []
    free: list[tuple[int, int]] = []  # sorted (free tokens, pack id) of packs with room left
    for i in sorted(range(len(lengths)), key=lambda j: (-lengths[j], j)):
        n = lengths[i]
        at = bisect.bisect_left(free, (n, -1))
        if at < len(free):
            room, p = free.pop(at)
        else:
            room, p = pack_length, len(packs)
            packs.append([])
        packs[p].append(i)
        if room - n > 0:
            bisect.insort(free, (room - n, p))
    return [sorted(p) for p in packs]


def packed_positions(lengths: list[int]) -> list[int]:
    """Position ids of records laid end to end: 0..n-1 for each record in turn."""
    return [t for n in lengths for t in range(n)]
