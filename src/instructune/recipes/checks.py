"""Checks that run before any model is loaded, so a typo costs a second, not a model load.

Each check raises `CheckError` (a `ConfigError`: the CLI prints it as one line and exits 2)
naming the flag or config key at fault and what was expected. Recipes call the check for
their verb first:

    check_train(cfg, resume=False, overwrite=False)   # instructune train (run dir, model, data)
    check_eval(cfg, tuned=RUN_OR_MODEL, base=None)     # instructune eval
    check_generate(cfg, model=None, input_file=None)   # instructune generate / chat / serve
    check_output_dir("synth", DIR, resume, overwrite)  # any verb that writes a dir (rundir.py)

and the pieces are there for other callers: `check_inputs`, `check_model`, `check_run_dir`;
`bind_errors` turns a port in use into the same kind of error (serve, review).
"""

from __future__ import annotations

import difflib
import errno
import shlex
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from instructune.config import Config, entry_path, to_dict
from instructune.config.diff import differences, flatten
from instructune.config.errors import CheckError
from instructune.data.dataset_inputs import HF_PREFIX, check_dataset_input, is_dataset_input
from instructune.data.starter import resolve_input
from instructune.model.hub import (DEFAULT_MODEL, ModelUnavailable, cached_snapshot, default_model_dir, gguf_location,
                                   hub_model, is_hub_id)
from instructune.rundir import RunDir, held, holds_run, saved_config
from instructune.train.trackers import check_trackers

# Keys a resumed run must share with the run it continues: they fix the weights' shapes, the
# tokens trained on and their order, and the optimizer state the checkpoint restores (a new
# train.lr would be silently replaced by the saved optimizer's). A key names a field or a whole
# section. Everything else may change on resume: train.epochs and train.max_steps (to train
# longer), the log / eval / checkpoint cadence, data.heldout, data.cache, output_dir, and the
# sections training does not read (eval, generate, serve, synth, quality, ...).
RESUME_KEYS = (
    "model.name", "model.dtype", "model.quantization",
    "template",
    "data.train", "data.format", "data.max_length", "data.prepared", "data.reader", "data.packing",
    "data.pack_length", "data.padding_free", "data.instruction_masking", "data.augment",
    "lora",  # only when train.method is lora
    "train.method", "train.batch_size", "train.grad_accum", "train.seed", "train.group_by_length",
    "train.lr", "train.weight_decay", "train.warmup_ratio", "train.max_grad_norm",
    "addons", "objectives",
)


# --- input files ---------------------------------------------------------------------------

def _nearest_sibling(path: Path) -> str:
    """' (did you mean X?)' for the closest existing name in the same folder, else ''."""
    parent = path.parent if str(path.parent) else Path(".")
    if not parent.is_dir():
        return ""
    near = difflib.get_close_matches(path.name, [p.name for p in parent.iterdir()], n=1)
    return f" (did you mean {parent / near[0] if str(path.parent) != '.' else near[0]}?)" if near else ""


def check_inputs(names: list, key: str) -> None:
    """Every input of `names` (files, "starter:SPLIT", or datasets: hf:NAME, a save_to_disk
    folder, an .arrow file) exists and can be opened.

    Args:
        names: the inputs as given (strings or `SourceConfig` entries).
        key: the flag or config key they came from (named in the error).
    Raises:
        CheckError: a missing file; DataError: an unknown starter split, a dataset not in the
            local cache, a folder that is not a save_to_disk folder.
    """
    for name in map(entry_path, names):
        path = Path(resolve_input(name)).expanduser()
        if is_dataset_input(name) and (path.exists() or name.startswith(HF_PREFIX)):
            check_dataset_input(name)  # not cached, or a folder save_to_disk did not write: one line now
            continue
        if not path.exists():
            raise CheckError(f"{key}: {name}: no such file{_nearest_sibling(path)}")


# --- models --------------------------------------------------------------------------------

def _check_model_dir(path: Path, name: str, key: str) -> None:
    """An existing path must be a model folder or a run dir whose training finished."""
    if (path / "config.json").exists() or RunDir(path).has_export():
        return
    if path.is_dir() and holds_run(path):
        raise CheckError(f"{key} {name}: a run dir without export/ (its training did not finish); "
                         f"finish it with `{resume_command(path)}`")
    if path.is_dir():
        raise CheckError(f"{key} {name}: not a model: no config.json in it")
    raise CheckError(f"{key} {name}: a file, not a model folder (give the folder that holds config.json)")


def check_model(name: str, key: str) -> None:
    """`name` can be loaded without surprises: the default alias, a model folder, a finished run
    dir, or a hub id (without a reachable hub, or with HF_HUB_OFFLINE: only one already in the
    Hugging Face cache).

    A name that does not exist locally but looks like a path (absolute, ./ or ~/, more than one
    slash, or its first part is a local folder: `runs/typo`) is an error, not a hub lookup.

    Args:
        name: model name as given.
        key: the flag or config key it came from ("--model", "model.name").
    Raises:
        CheckError: with what was wrong.
    """
    if name == DEFAULT_MODEL:
        if not (default_model_dir() / "config.json").exists():
            try:
                gguf_location()
            except FileNotFoundError as e:
                raise CheckError(f"{key} {name}: {e}") from None
        return
    path = Path(name).expanduser()
    if path.exists():
        return _check_model_dir(path, name, key)
    partial = "/" in name and Path(name.split("/")[0]).expanduser().is_dir()
    if not is_hub_id(name) or (partial and not cached_snapshot(name)):
        raise CheckError(f"{key} {name}: no such file or directory")
    try:
        hub_model(name)
    except ModelUnavailable as e:
        raise CheckError(f"{key} {name}: not a local path, and {e}") from None


# --- ports ---------------------------------------------------------------------------------

@contextmanager
def bind_errors(host: str, port: int, how: str) -> Iterator[None]:
    """Turn a failed bind inside the block into a one-line `CheckError`.

    Args:
        host, port: the address being bound (named in the error).
        how: how this verb chooses another port ("--port N or serve.port=N").
    Raises:
        CheckError: the port is in use, or the address cannot be bound (no such local
            address, a privileged port).
    """
    try:
        yield
    except OSError as e:
        if e.errno == errno.EADDRINUSE:
            raise CheckError(f"port {port} on {host} is in use (another server?); choose another with {how} "
                             f"(0 picks a free one)") from None
        raise CheckError(f"cannot listen on {host}:{port}: {e.strerror or e}; choose another address or "
                         f"port ({how})") from None


# --- run dirs ------------------------------------------------------------------------------

def resume_differences(saved: dict[str, Any], cfg: Config) -> list[str]:
    """'key (saved X, now Y)' for each `RESUME_KEYS` field where `cfg` differs from `saved`."""
    keys = [k for k in RESUME_KEYS if k != "lora" or cfg.train.method == "lora"]
    new = flatten(to_dict(cfg))
    # only keys this instructune has: a key an older version saved and this one dropped is no change
    return differences({k: v for k, v in flatten(saved).items() if k in new}, new, only=keys)


def resume_command(run: Path, flag: str = "--resume") -> str:
    """The command that continues (`--resume`) or restarts (`--overwrite`) the run in `run` as it
    was configured. output_dir is named: a copied run dir's config.yaml still names the original."""
    return (f"instructune train {flag} --recipe {shlex.quote(str(RunDir(run).config))} "
            f"output_dir={shlex.quote(str(run))}")


def check_run_dir(cfg: Config, resume: bool, overwrite: bool, processes: int | None = None) -> None:
    """`output_dir` suits the command: a fresh dir, --overwrite, or --resume of a compatible run.

    Args:
        cfg: the resolved config (output_dir set).
        resume, overwrite: the train flags.
        processes: processes of this run, compared with the checkpoint's on resume (the data
            order depends on it); None skips that check.
    Raises:
        CheckError: a dir holding another run without --resume/--overwrite; --resume with no
            checkpoint, with differing `RESUME_KEYS`, a checkpoint past train.max_steps or
            written by another number of processes; both flags at once.
    """
    from instructune.train.checkpoint import list_checkpoints

    if not cfg.output_dir:
        raise CheckError("output_dir: empty; name the run dir (output_dir=runs/NAME)")
    run = Path(cfg.output_dir)
    if resume and overwrite:
        raise CheckError("--resume and --overwrite exclude each other: continue the run or replace it")
    found = holds_run(run)
    if not resume:
        if found and not overwrite:
            raise CheckError(f"output_dir {run} already holds a training run ({', '.join(found)}); "
                             f"pass --resume to continue it, --overwrite to replace it, or choose a new output_dir")
        return
    found_ckpts = list_checkpoints(RunDir(run).checkpoints)
    if not found_ckpts:
        why = "does not exist" if not run.exists() else "has no checkpoint (checkpoints/ is empty or missing)"
        raise CheckError(f"--resume: output_dir {run} {why}; nothing to resume. "
                         f"Run without --resume (add --overwrite to replace what is there)")
    try:
        saved = saved_config(run)
    except ValueError as e:
        raise CheckError(f"--resume: {e}") from None
    if saved is None:
        raise CheckError(f"--resume: {run} has checkpoints but no config.yaml, so its settings are unknown")
    diffs = resume_differences(saved, cfg)
    if diffs:
        raise CheckError(f"--resume: this command differs from the run in {run} in {'; '.join(diffs)}; "
                         f"a resumed run must keep these. To continue it as it was configured: "
                         f"{resume_command(run)} [train.max_steps=N]")
    check_checkpoint(found_ckpts[-1], cfg, processes)


def check_output_dir(verb: str, root: str | Path, resume: bool = False, overwrite: bool = False,
                     can_resume: bool = False, key: str = "--output") -> list[str]:
    """The run-dir rule of every verb that writes a dir: a dir already holding `verb`'s outputs
    (`rundir.held`) is refused unless --overwrite replaces them or, where the verb can continue
    (`can_resume`), --resume continues them.

    Args:
        verb: the verb (a writer in `rundir.LAYOUT`).
        root: its output dir.
        resume, overwrite: the verb's flags.
        can_resume: the verb takes --resume.
        key: the flag or config key that named `root` (named in the error).
    Returns:
        The names of `verb`'s outputs already in `root`.
    Raises:
        CheckError: both flags; --resume with nothing to continue; outputs there and no flag.
    """
    if resume and overwrite:
        raise CheckError(f"{verb}: --resume and --overwrite exclude each other: continue the run in {root} or replace it")
    found = held(root, verb)
    if resume and not found:
        raise CheckError(f"{verb} --resume: {key} {root} holds no {verb} output, so there is nothing to continue; "
                         f"run without --resume")
    if found and not (resume or overwrite):
        ways = "pass --resume to continue them, --overwrite to replace them" if can_resume \
            else "pass --overwrite to replace them"
        raise CheckError(f"{verb}: {key} {root} already holds {verb} outputs ({', '.join(found)}); {ways}, "
                         f"or choose a new {key}")
    return found


def check_checkpoint(ckpt: Path, cfg: Config, processes: int | None) -> None:
    """The checkpoint a resume starts from fits this run: not past train.max_steps, and written
    by as many processes (older checkpoints, without that field, pass)."""
    import json

    try:
        state = json.loads((ckpt / "state.json").read_text())
    except (OSError, ValueError):
        raise CheckError(f"--resume: {ckpt / 'state.json'} is unreadable") from None
    step, max_steps = int(state.get("step", 0)), cfg.train.max_steps
    if max_steps and step > max_steps:
        raise CheckError(f"--resume: the newest checkpoint, step {step}, is past this run's last step "
                         f"{max_steps} (train.max_steps); raise train.max_steps to train further")
    saved = state.get("processes")
    if processes is not None and saved is not None and saved != processes:
        raise CheckError(f"--resume: {ckpt.name} was written by {saved} processes; this run has {processes} "
                         f"(the data order depends on it); launch {saved} processes to resume it")


# --- per verb ------------------------------------------------------------------------------

def check_data(cfg: Config) -> None:
    """The `data` section's inputs: the prepared dir, or the train and held-out files."""
    if cfg.data.prepared:
        if cfg.data.augment.constraints.enabled:
            raise CheckError("data.augment.constraints.enabled: a prepared dir (data.prepared) is already "
                             "tokenized, so nothing can be added to it; augment before preparing "
                             "(`instructune augment --constraints`) or train from data.train")
        if not (Path(cfg.data.prepared) / "train").is_dir():
            raise CheckError(f"data.prepared: {cfg.data.prepared} holds no train/ split "
                             f"(write it with `instructune prepare --output DIR`)")
        return
    check_inputs(cfg.data.train, "data.train")
    check_inputs(cfg.data.heldout, "data.heldout")


def check_family(cfg: Config) -> None:
    """What the model's family cannot train with these settings, read from its config.json
    (no weight loads): an attention that cannot compute the family's scores
    (`model/attention.py: attention_limit`), an add-on that cannot run on it (`Addon.refusal`).
    The default model (a Llama, and maybe not converted yet) has no such limit.

    Raises:
        CheckError: one line naming the family, the setting and what works instead.
    """
    from instructune.config import ConfigError
    from instructune.model.addons import check_addons
    from instructune.model.attention import resolve_attention
    from instructune.model.load import model_config

    if cfg.model.name == DEFAULT_MODEL:
        return
    try:
        config = model_config(cfg.model.name)
    except (OSError, ValueError):  # not a plain model folder (a run dir): its loader says what is wrong
        return
    try:
        resolve_attention(cfg.model.attn_implementation, "cpu", training=True, config=config)
        check_addons(cfg.addons.enabled(), config)
    except ConfigError as e:
        raise CheckError(str(e)) from None


def check_quantization(cfg: Config) -> None:
    """What `model.quantization` cannot train with (`train/build.py: quantization_refusal`) as a
    one-line `CheckError`, before any model loads."""
    from instructune.train.build import quantization_refusal

    why = quantization_refusal(cfg.model, cfg.train, cfg.lora, cfg.objectives)
    if why:
        raise CheckError(why)


def check_train(cfg: Config, resume: bool = False, overwrite: bool = False, processes: int | None = None) -> None:
    """Everything `instructune train` needs, before the model loads: run dir, what a quantized
    base cannot train with (`check_quantization`), model, data, and what the model's family
    cannot train with (`check_family`)."""
    check_run_dir(cfg, resume, overwrite, processes)
    check_trackers(cfg.train.report_to)
    check_quantization(cfg)
    check_model(cfg.model.name, "model.name")
    check_data(cfg)
    check_family(cfg)  # the one check that imports transformers: after those that need nothing


def check_eval(cfg: Config, tuned: str | None, base: str | None = None) -> None:
    """What `instructune eval` needs: the held-out files, the base model and the tuned one.

    Args:
        cfg: the resolved config (data.heldout, model.name).
        tuned: --tuned (a run dir or a model), or None to evaluate the base only.
        base: --base, or None for model.name.
    """
    check_inputs(cfg.data.heldout, "data.heldout")
    check_model(base or cfg.model.name, "--base" if base else "model.name")
    if tuned:
        check_model(tuned, "--tuned")


def check_generate(cfg: Config, model: str | None = None, input_file: str | None = None) -> None:
    """What generate / chat / serve need: the model (--model or model.name) and --input."""
    check_model(model or cfg.model.name, "--model" if model else "model.name")
    if input_file:
        check_inputs([input_file], "--input")
