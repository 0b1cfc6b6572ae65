"""Loading a config: defaults, then a YAML recipe, then dotted `key.sub=value` overrides; validated."""

from __future__ import annotations

import dataclasses
import difflib
import types
import typing
from pathlib import Path
from typing import Any, Literal

import yaml

from instructune.config.errors import ConfigError, FieldError
from instructune.config.run import Config

RECIPES_DIR = Path(__file__).parent.parent / "configs"


def _describe(tp: Any) -> str:
    origin = typing.get_origin(tp)
    if origin is Literal:
        return "one of " + ", ".join(map(str, typing.get_args(tp)))
    if origin in (typing.Union, types.UnionType):
        return " or ".join(_describe(a) for a in typing.get_args(tp))
    if origin is list:
        return f"a list of {_describe(typing.get_args(tp)[0])}"
    if origin is dict:
        k, v = typing.get_args(tp)
        return f"a mapping of {_describe(k)} to {_describe(v)}"
    if dataclasses.is_dataclass(tp):
        return "a mapping {" + ", ".join(f.name for f in dataclasses.fields(tp)) + "}"
    return {type(None): "null"}.get(tp, getattr(tp, "__name__", str(tp)))


def _coerce(value: Any, tp: Any, key: str) -> Any:
    """`value` checked against (and where lossless, converted to) type `tp`."""
    origin = typing.get_origin(tp)
    if origin is Literal:
        if value in typing.get_args(tp):
            return value
    elif origin in (typing.Union, types.UnionType):
        mappings = [a for a in typing.get_args(tp) if dataclasses.is_dataclass(a)]
        if isinstance(value, dict) and len(mappings) == 1:  # its own errors name the bad key
            return from_dict(mappings[0], value, f"{key}.")
        for arg in typing.get_args(tp):
            try:
                return _coerce(value, arg, key)
            except ConfigError:
                continue
    elif origin is list:
        if isinstance(value, list):
            return [_coerce(v, typing.get_args(tp)[0], f"{key}[{i}]") for i, v in enumerate(value)]
    elif origin is dict:
        if isinstance(value, dict):
            k_tp, v_tp = typing.get_args(tp)
            return {_coerce(k, k_tp, f"{key}.{k}"): _coerce(v, v_tp, f"{key}.{k}") for k, v in value.items()}
    elif dataclasses.is_dataclass(tp):
        if isinstance(value, dict):
            return from_dict(tp, value, f"{key}.")
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


# Keys that were replaced: a config that still uses one is told what took its place.
REPLACED = {"train.tensorboard": "train.tensorboard was replaced by train.report_to "
                                 "(train.report_to=[tensorboard]; also wandb, mlflow)"}


def from_dict(cls: type, data: dict[str, Any], prefix: str = "") -> Any:
    """Build dataclass `cls` from a nested dict, validating every key and value."""
    if not isinstance(data, dict):
        raise ConfigError(f"{prefix.rstrip('.') or 'config'}: expected a mapping, got {data!r}")
    hints = typing.get_type_hints(cls)
    names = [f.name for f in dataclasses.fields(cls)]
    kwargs = {}
    for key, value in data.items():
        if f"{prefix}{key}" in REPLACED:
            raise ConfigError(REPLACED[f"{prefix}{key}"])
        if key not in names:
            near = difflib.get_close_matches(str(key), names, n=1)
            raise ConfigError(f"unknown key '{prefix}{key}'" + (f" (nearest: {near[0]})" if near else "")
                              + f"; allowed: {', '.join(names)}")
        tp = hints[key]
        if dataclasses.is_dataclass(tp):
            kwargs[key] = from_dict(tp, value or {}, f"{prefix}{key}.")
        else:
            kwargs[key] = _coerce(value, tp, f"{prefix}{key}")
    try:
        return cls(**kwargs)
    except FieldError as e:  # a section's own range check knows its field, not its place
        raise ConfigError(f"{prefix}{e.field}: {e.detail}") from None


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
    try:
        node[keys[-1]] = yaml.safe_load(raw) if raw.strip() else ""
    except yaml.YAMLError as e:
        raise ConfigError(f"override {override!r}: the value is not valid YAML ({_yaml_problem(e)})") from None


def _yaml_problem(e: yaml.YAMLError) -> str:
    """One line from a YAML error: what went wrong and where (1-based line and column)."""
    mark = getattr(e, "problem_mark", None)
    where = f"line {mark.line + 1}, column {mark.column + 1}: " if mark else ""
    return where + (getattr(e, "problem", None) or str(e).splitlines()[0])


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
        try:
            loaded = yaml.safe_load(path.read_text()) or {}
        except yaml.YAMLError as e:
            raise ConfigError(f"{path}: not valid YAML: {_yaml_problem(e)}") from None
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
    from instructune.atomic import atomic_path

    with atomic_path(path) as tmp:
        tmp.write_text(yaml.safe_dump(to_dict(cfg), sort_keys=False))
