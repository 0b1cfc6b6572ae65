"""The training loop: one optimizer step per accumulation window, from a start position to
the last step, with logging, held-out evaluation and checkpoints on their schedules.

    result = run_loop(parts, data, settings, start=Position())

`run.py: TrainingRun.fit` hands it the parts (model, optimizer, data, logs) that
`assemble.py` built; this file holds only what happens per step. Windows come from `iter_windows`, an endless
stream over epochs cut to the run's remaining steps, so the loop has one exit; a background
thread collates them ahead of the step (`prefetch.py`). Loss, grad norm and token counts stay
device tensors until a step is logged: the host syncs with the device once per logged step.
"""

from __future__ import annotations

import functools
import itertools
import math
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

import torch

from instructune.data.batching import epoch_micro_batches
from instructune.data.collate import collate, micro_batch, nonpad_tokens, pin
from instructune.data.render import IGNORE
from instructune.objectives.objective import NLL
from instructune.train.prefetch import prefetch
from instructune.train.schedule import windows_of
from instructune.train.step import backward_window


@dataclass(frozen=True)
class Position:
    """Where a run is: optimizer steps done, and the next window (epoch, index in the epoch)."""

    step: int = 0
    epoch: int = 0
    window: int = 0


@dataclass
class TrainData:
    """The tokenized rows and how they are batched.

    Attributes:
        ds: tokenized rows (input_ids, labels, segment_ids, length).
        lengths: tokens per row (ds["length"]).
        packs: row indices per packed row, or None without packing.
        pad_id: padding id.
        padding_free: collate each micro-batch as one row without padding.
        masker: instruction-masking augmentation `(row, epoch=...) -> row`, or None.
    """

    ds: Any
    lengths: list[int]
    packs: list[list[int]] | None
    pad_id: int
    padding_free: bool = False
    masker: Callable | None = None


@dataclass(frozen=True)
class LoopSettings:
    """The loop's schedule (from the `train` section).

    Attributes:
        total_steps: optimizer steps of the whole run.
        batch_size: rows per micro-batch.
        grad_accum: micro-batches per optimizer step and process.
        seed: data-order seed.
        group_by_length: batch rows of similar length together.
        max_grad_norm: clip norm; 0 disables clipping.
        log_every: steps between metric lines (the last step is always logged).
        eval_every: steps between held-out evaluations; 0: none inside the loop.
        checkpoint_every: steps between checkpoints; 0: only after the last step.
        generate_every: steps between generation probes (`LoopParts.probe`); 0: none.
        prefetch: windows collated ahead in a background thread; 0: on the loop's thread.
        pin_memory: pin collated batches (CUDA: asynchronous host-to-device copies).
    """

    total_steps: int
    batch_size: int
    grad_accum: int
    seed: int
    group_by_length: bool
    max_grad_norm: float
    log_every: int = 1
    eval_every: int = 0
    checkpoint_every: int = 0
    generate_every: int = 0
    prefetch: int = 2
    pin_memory: bool = False


@dataclass
class LoopParts:
    """What the loop drives (`TrainingRun.fit` builds it).

    Attributes:
        loss_module: the prepared `TrainingObjective` (its `set_step` and `logged` are called
            on the unwrapped module).
        params: trainable parameters (for clipping).
        optimizer, scheduler: prepared optimizer and its LR schedule.
        accelerator: the `accelerate.Accelerator`.
        log: called with a metrics row to write (metrics.jsonl, trackers).
        progress: called with (step, metrics) to update the bar; metrics is None on steps
            that are not logged (their scalars are never pulled from the device).
        evaluate: held-out metrics now ({} when there is no held-out data).
        save: writes a checkpoint that resumes at the given position.
        probe: generation-based metrics now (`evaluate/probe.py`), or None.
    """

    loss_module: Any
    params: list[torch.nn.Parameter]
    optimizer: Any
    scheduler: Any
    accelerator: Any
    log: Callable[[dict[str, Any]], None]
    progress: Callable[[int, dict[str, Any] | None], None]
    evaluate: Callable[[], dict[str, float]]
    save: Callable[[Position], None]
    probe: Callable[[], dict[str, float]] | None = None


@dataclass
class LoopResult:
    """What the loop leaves: the step reached, the last metrics row, the real (non-pad)
    and total token slots it trained on, and the seconds its steps took (collation, forward,
    backward and update; evaluation, logging and checkpoints excluded)."""

    step: int
    last: dict[str, Any] = field(default_factory=dict)
    real_tokens: int = 0
    slot_tokens: int = 0
    seconds: float = 0.0


def iter_windows(data: TrainData, s: LoopSettings, world: int, rank: int, start: Position
                 ) -> Iterator[tuple[int, Position, list[list[int]]]]:
    """(epoch, position after this window, this process's micro-batches) from `start` on, endlessly.

    Batching is a pure function of (lengths, seed, epoch), so a resumed run sees the same
    windows as an uninterrupted one.
    """
    epoch, first, step = start.epoch, start.window, start.step
    while True:
        batches = epoch_micro_batches(data.lengths, data.packs, s.batch_size, s.seed, epoch, s.group_by_length)
        windows = windows_of(batches, s.grad_accum, world, rank)
        for w in range(first, len(windows)):
            step += 1
            after = Position(step, epoch, w + 1) if w + 1 < len(windows) else Position(step, epoch + 1, 0)
            yield epoch, after, windows[w]
        epoch, first = epoch + 1, 0


def placeholder_batch(pad_id: int) -> dict[str, torch.Tensor]:
    """One pad token, nothing trained: what a process runs for an empty share of a window, so
    that it still joins the step's gradient all-reduce, contributing zero."""
    return collate([{"input_ids": [pad_id], "labels": [IGNORE], "segment_ids": [0]}], pad_id)


def collate_window(data: TrainData, window: list[list[int]], epoch: int, pin_memory: bool = False
                   ) -> list[dict[str, torch.Tensor]]:
    """The window's micro-batches as tensors; masking is drawn per (seed, epoch, row)."""
    augment = functools.partial(data.masker, epoch=epoch) if data.masker else None
    micro = [micro_batch(data.ds, mb, data.pad_id, data.packs is not None, data.padding_free, augment)
             for mb in window] or [placeholder_batch(data.pad_id)]
    return [pin(mb) for mb in micro] if pin_memory else micro


def optimizer_step(parts: LoopParts, micro: list[dict[str, torch.Tensor]], max_grad_norm: float):
    """Backward the window, clip, step; returns (loss, trained tokens, grad norm, {term: window
    mean}), each a device tensor (or a host int) that is only read when the step is logged."""
    loss, n_tokens, terms = backward_window(parts.loss_module, micro, parts.accelerator)
    grad_norm = (parts.accelerator.clip_grad_norm_(parts.params, max_grad_norm)
                 if max_grad_norm > 0 else torch.zeros(()))
    parts.optimizer.step()
    parts.scheduler.step()
    parts.optimizer.zero_grad(set_to_none=True)
    return loss, n_tokens, grad_norm, terms


def term_metrics(terms: dict) -> dict[str, float]:
    """The loss terms other than the next-token loss ("loss"), as `<term>_loss` metrics; a
    term of a family (`nll/<task>`, `acc/instruction`) keeps its name. A term the step held no
    tokens of (NaN, `step.window_mean`) is left out."""
    values = {name if "/" in name else f"{name}_loss": float(scalar(v)) for name, v in terms.items() if name != NLL}
    return {k: v for k, v in values.items() if not math.isnan(v)}


def objective_metrics(parts: "LoopParts") -> dict[str, float]:
    """The loss module's learned and scheduled weights (`weight/<task>`, `lambda/instruction`)."""
    return parts.accelerator.unwrap_model(parts.loss_module).logged()


def set_step(parts: "LoopParts", step: int) -> None:
    """Tell the loss module the step of the window it is about to run (steps done before it)."""
    parts.accelerator.unwrap_model(parts.loss_module).set_step(step)


def scalar(x) -> float:
    """A host number from a device tensor (this waits for the device) or a number."""
    return x.item() if isinstance(x, torch.Tensor) else x


def due(step: int, every: int, last: bool) -> bool:
    """Whether a periodic action (`every` steps, 0: never periodically) runs at `step`."""
    return bool(every) and step % every == 0 or last


def run_loop(parts: LoopParts, data: TrainData, s: LoopSettings, start: Position) -> LoopResult:
    """Train from `start` to `s.total_steps`; returns the last metrics and token counts."""
    acc = parts.accelerator
    result = LoopResult(step=start.step)
    tokens_seen, t0 = 0, time.perf_counter()
    windows = itertools.islice(iter_windows(data, s, acc.num_processes, acc.process_index, start),
                               max(s.total_steps - start.step, 0))
    work = lambda w: collate_window(data, w[2], w[0], s.pin_memory)  # noqa: E731
    for (epoch, after, _), micro in prefetch(windows, work, s.prefetch):
        t_step = time.perf_counter()  # collation runs ahead in the prefetch thread
        real, slots = nonpad_tokens(micro)
        result.real_tokens, result.slot_tokens = result.real_tokens + real, result.slot_tokens + slots
        set_step(parts, after.step - 1)
        loss, n_tokens, grad_norm, terms = optimizer_step(parts, micro, s.max_grad_norm)
        result.seconds += time.perf_counter() - t_step
        step, done = after.step, after.step >= s.total_steps
        tokens_seen = tokens_seen + n_tokens
        evaluate = bool(s.eval_every) and due(step, s.eval_every, done)
        probe = bool(parts.probe and s.generate_every) and due(step, s.generate_every, done)
        last = None
        if step % s.log_every == 0 or done or evaluate or probe:
            n = int(scalar(n_tokens))
            last = {"step": step, "epoch": epoch, "loss": scalar(loss), "lr": parts.scheduler.get_last_lr()[0],
                    "grad_norm": float(scalar(grad_norm)), "trained_tokens": n, "nonpad_tokens": real,
                    "nonpad_share": real / slots,
                    "tokens_per_s": scalar(tokens_seen) / (time.perf_counter() - t0),
                    **term_metrics(terms), **objective_metrics(parts)}
            if evaluate:
                last.update(parts.evaluate())
            if probe:
                last.update(parts.probe())
            parts.log(last)
            result.last = last
        parts.progress(step, last)
        if due(step, s.checkpoint_every, done):
            parts.save(after)
        result.step = step
    return result
