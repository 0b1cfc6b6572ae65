"""Typed configs, YAML recipes and dotted `key.sub=value` overrides (DESIGN §5).

One dataclass per concern; `Config` gathers them. A recipe is a YAML file of overrides of
the defaults below; the command line adds `section.key=value` overrides on top:

    cfg = load_config("quickstart", ["train.lr=1e-4", "template.name=alpaca"])

Unknown keys and bad values raise `ConfigError` naming the key and what is allowed. Every
field is documented in its class docstring.
"""

from __future__ import annotations

import dataclasses
import types
import typing
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import yaml

RECIPES_DIR = Path(__file__).parent / "configs"


class ConfigError(ValueError):
    """A bad config key or value; the message names the key and the allowed values."""


@dataclass
class ModelConfig:
    """The base model.

    Attributes:
        name: "smollm2-135m-instruct" (the embedded default, offline), a local path or a hub id.
        dtype: weights dtype; float32 on CPUs without bf16 support.
        attn_implementation: transformers attention backend.
    """

    name: str = "smollm2-135m-instruct"
    dtype: Literal["float32", "bfloat16", "float16"] = "float32"
    attn_implementation: Literal["sdpa", "eager"] = "sdpa"


@dataclass
class DataConfig:
    """Training and held-out data.

    Attributes:
        train: input files (any supported format) or "starter:train" for the shipped set.
        heldout: held-out files, or "starter:heldout".
        format: force an input format (see `instructune ingest --help`); None detects it.
        max_length: cap on tokens per record; longer ones are cut (context first) or dropped.
        prepared: a directory written by `instructune prepare`; when set, train reads its
            tokenized splits instead of tokenizing `train` / `heldout`.
    """

    train: list[str] = field(default_factory=lambda: ["starter:train"])
    heldout: list[str] = field(default_factory=lambda: ["starter:heldout"])
    format: str | None = None
    max_length: int = 512
    prepared: str | None = None


@dataclass
class TemplateConfig:
    """How records are laid out as tokens.

    Attributes:
        name: "chat" (the model's own chat template), "inst" ([INST] tokens) or "alpaca".
        context_separator: text between instruction and context in the user turn.
        rationale_separator: text between a rationale and the final answer.
        train_rationale: take the loss on rationale tokens.
        train_answer: take the loss on answer tokens.
    """

    name: Literal["chat", "inst", "alpaca"] = "chat"
    context_separator: str = "\n\n"
    rationale_separator: str = "\nAnswer: "
    train_rationale: bool = True
    train_answer: bool = True


@dataclass
class LoraConfig:
    """LoRA adapter settings (used when train.method is "lora").

    Attributes:
        r: rank.
        alpha: scaling numerator (scale = alpha / r).
        dropout: dropout on the LoRA input.
        target_modules: "all-linear" or a list of module names (e.g. [q_proj, v_proj]).
    """

    r: int = 16
    alpha: int = 32
    dropout: float = 0.0
    target_modules: str | list[str] = "all-linear"


@dataclass
class TrainConfig:
    """The training loop.

    Attributes:
        method: "lora" (adapter via peft) or "full" (all weights).
        epochs: passes over the training data.
        max_steps: stop after this many optimizer steps; 0 for no cap.
        batch_size: records per micro-batch (per process).
        grad_accum: micro-batches per optimizer step.
        lr: peak learning rate.
        weight_decay: AdamW weight decay.
        warmup_ratio: share of steps with linear warmup.
        max_grad_norm: gradient clipping norm; 0 disables clipping.
        seed: seed for init, data order and dropout.
        group_by_length: batch records of similar length together (less padding).
        checkpoint_every: optimizer steps between checkpoints; 0 only at the end.
        keep_checkpoints: how many recent checkpoints to keep.
        eval_every: optimizer steps between held-out evaluations; 0 only at the end.
        log_every: optimizer steps between metric lines.
        tensorboard: also log to TensorBoard under the run dir.
    """

    method: Literal["lora", "full"] = "lora"
    epochs: int = 1
    max_steps: int = 0
    batch_size: int = 4
    grad_accum: int = 1
    lr: float = 2e-4
    weight_decay: float = 0.0
    warmup_ratio: float = 0.05
    max_grad_norm: float = 1.0
    seed: int = 0
    group_by_length: bool = True
    checkpoint_every: int = 0
    keep_checkpoints: int = 2
    eval_every: int = 0
    log_every: int = 1
    tensorboard: bool = False


@dataclass
class EvalConfig:
    """Evaluation of base and tuned models on the held-out split.

    Attributes:
        max_records: evaluate on at most this many held-out records; 0 for all.
        max_new_tokens: generation length for ROUGE-L / exact match.
        batch_size: records per forward pass.
    """

    max_records: int = 0
    max_new_tokens: int = 96
    batch_size: int = 8


@dataclass
class GenerateConfig:
    """Sampling parameters for generate / chat.

    Attributes:
        max_new_tokens: tokens to generate at most.
        temperature: 0 for greedy decoding.
        top_p: nucleus sampling mass.
        top_k: top-k sampling; 0 disables it.
        repetition_penalty: >1 discourages repeats.
        batch_size: prompts per batch.
        seed: sampling seed.
    """

    max_new_tokens: int = 128
    temperature: float = 0.0
    top_p: float = 1.0
    top_k: int = 0
    repetition_penalty: float = 1.0
    batch_size: int = 8
    seed: int = 0


@dataclass
class Config:
    """A whole run.

    Attributes:
        output_dir: the run dir (config.yaml, metrics.jsonl, checkpoints/, adapter/, export/, eval.json).
    """

    output_dir: str = "runs/quickstart"
    model: ModelConfig = field(default_factory=ModelConfig)
    data: DataConfig = field(default_factory=DataConfig)
    template: TemplateConfig = field(default_factory=TemplateConfig)
    lora: LoraConfig = field(default_factory=LoraConfig)
    train: TrainConfig = field(default_factory=TrainConfig)
    eval: EvalConfig = field(default_factory=EvalConfig)
    generate: GenerateConfig = field(default_factory=GenerateConfig)


def _describe(tp: Any) -> str:
    origin = typing.get_origin(tp)
    if origin is Literal:
        return "one of " + ", ".join(map(str, typing.get_args(tp)))
    if origin in (typing.Union, types.UnionType):
        return " or ".join(_describe(a) for a in typing.get_args(tp))
    if origin is list:
        return f"a list of {_describe(typing.get_args(tp)[0])}"
    return {type(None): "null"}.get(tp, getattr(tp, "__name__", str(tp)))


def _coerce(value: Any, tp: Any, key: str) -> Any:
    """`value` checked against (and where lossless, converted to) type `tp`."""
    origin = typing.get_origin(tp)
    if origin is Literal:
        if value in typing.get_args(tp):
            return value
    elif origin in (typing.Union, types.UnionType):
        for arg in typing.get_args(tp):
            try:
                return _coerce(value, arg, key)
            except ConfigError:
                continue
    elif origin is list:
        if isinstance(value, list):
            return [_coerce(v, typing.get_args(tp)[0], f"{key}[{i}]") for i, v in enumerate(value)]
    elif tp is type(None):
        if value is None:
            return None
    elif tp is bool:
        if isinstance(value, bool):
            return value
    elif tp is int:
        if isinstance(value, int) and not isinstance(value, bool):
            return value
    elif tp is float:
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            return float(value)
        if isinstance(value, str):  # YAML reads "1e-4" as a string
            try:
                return float(value)
            except ValueError:
                pass
    elif tp is str:
        if isinstance(value, (str, int, float)) and not isinstance(value, bool):
            return str(value)
    raise ConfigError(f"{key}: got {value!r}; expected {_describe(tp)}")


def from_dict(cls: type, data: dict[str, Any], prefix: str = "") -> Any:
    """Build dataclass `cls` from a nested dict, validating every key and value."""
    if not isinstance(data, dict):
        raise ConfigError(f"{prefix.rstrip('.') or 'config'}: expected a mapping, got {data!r}")
    hints = typing.get_type_hints(cls)
    names = [f.name for f in dataclasses.fields(cls)]
    kwargs = {}
    for key, value in data.items():
        if key not in names:
            raise ConfigError(f"unknown key '{prefix}{key}'; allowed: {', '.join(names)}")
        tp = hints[key]
        if dataclasses.is_dataclass(tp):
            kwargs[key] = from_dict(tp, value or {}, f"{prefix}{key}.")
        else:
            kwargs[key] = _coerce(value, tp, f"{prefix}{key}")
    return cls(**kwargs)


def apply_override(data: dict[str, Any], override: str) -> None:
    """Set `a.b=value` in nested dict `data` (value parsed as YAML)."""
    if "=" not in override:
        raise ConfigError(f"override {override!r} must look like section.key=value")
    path, raw = override.split("=", 1)
    keys = path.strip().split(".")
    node = data
    for k in keys[:-1]:
        node = node.setdefault(k, {})
        if not isinstance(node, dict):
            raise ConfigError(f"override {override!r}: '{k}' is not a section")
    node[keys[-1]] = yaml.safe_load(raw) if raw.strip() else ""


def recipe_path(name_or_path: str) -> Path:
    """A shipped recipe by name (see `list_recipes`) or a YAML path."""
    p = Path(name_or_path)
    if p.suffix in (".yaml", ".yml") or p.exists():
        if not p.exists():
            raise ConfigError(f"recipe file {p} does not exist")
        return p
    shipped = RECIPES_DIR / f"{name_or_path}.yaml"
    if not shipped.exists():
        raise ConfigError(f"unknown recipe {name_or_path!r}; shipped: {', '.join(list_recipes())}")
    return shipped


def list_recipes() -> list[str]:
    """Names of the recipes that ship with instructune."""
    return sorted(p.stem for p in RECIPES_DIR.glob("*.yaml"))


def load_config(recipe: str | None = None, overrides: list[str] | None = None) -> Config:
    """Defaults, then the recipe's YAML, then `key=value` overrides; validated."""
    data: dict[str, Any] = {}
    if recipe:
        path = recipe_path(recipe)
        loaded = yaml.safe_load(path.read_text()) or {}
        if not isinstance(loaded, dict):
            raise ConfigError(f"{path}: a recipe must be a YAML mapping")
        data = loaded
    for o in overrides or []:
        apply_override(data, o)
    return from_dict(Config, data)


def to_dict(cfg: Config) -> dict[str, Any]:
    """A plain nested dict of the config (for saving as YAML)."""
    return dataclasses.asdict(cfg)


def save_config(cfg: Config, path: str | Path) -> None:
    """Write the resolved config as YAML (atomically)."""
    from instructune.data.jsonio import atomic_path

    with atomic_path(path) as tmp:
        tmp.write_text(yaml.safe_dump(to_dict(cfg), sort_keys=False))
