"""Daemon configuration: one TOML file, overridden by environment, then by flags.

A daemon declares its options as a dataclass whose fields carry their help text
(`option(default, "help")`); that one declaration gives the defaults, the
environment names (THECLOUD_<DAEMON>_<FIELD>), the validation of types and the
sample file (`render_sample`).
"""
from __future__ import annotations

import dataclasses
import os
import tomllib
import typing
from pathlib import Path


def option(default, help: str):  # noqa: A002 - mirrors argparse's word
    """A config field with its default and one sentence of help."""
    if isinstance(default, (list, dict)):
        return dataclasses.field(default_factory=lambda: type(default)(default),
                                 metadata={"help": help})
    return dataclasses.field(default=default, metadata={"help": help})


class ConfigError(ValueError):
    pass


def coerce(name: str, kind, value):
    origin = typing.get_origin(kind) or kind
    try:
        if origin is bool:
            if isinstance(value, str):
                if value.lower() in ("1", "true", "yes", "on"):
                    return True
                if value.lower() in ("0", "false", "no", "off"):
                    return False
                raise ValueError(value)
            return bool(value)
        if origin in (int, float, str):
            return origin(value)
        if origin is Path:
            return Path(value)
        if origin is list:
            if isinstance(value, str):
                return [item.strip() for item in value.split(",") if item.strip()]
            return list(value)
        if origin is dict:
            if isinstance(value, str):
                pairs = [item.split("=", 1) for item in value.split(",") if item.strip()]
                return {k.strip(): v.strip() for k, v in pairs}
            return dict(value)
    except (TypeError, ValueError):
        raise ConfigError(f"{name}: cannot use {value!r} as {getattr(origin, '__name__', origin)}")
    return value


def load(cls, path: Path | None, env_prefix: str, overrides: dict | None = None):
    """Build `cls` from the TOML file at `path` (if it exists), the environment and `overrides`."""
    values: dict = {}
    if path and Path(path).exists():
        with open(path, "rb") as f:
            values.update(tomllib.load(f))
    hints = typing.get_type_hints(cls)
    fields = {f.name for f in dataclasses.fields(cls)}
    unknown = set(values) - fields
    if unknown:
        raise ConfigError(f"{path}: unknown option(s): {', '.join(sorted(unknown))}")
    for name in fields:
        env = os.environ.get(f"{env_prefix}{name.upper()}")
        if env is not None:
            values[name] = env
    for name, value in (overrides or {}).items():
        if value is not None:
            values[name] = value
    return cls(**{name: coerce(name, hints[name], value) for name, value in values.items()})


def _toml_value(value) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, float)):
        return repr(value)
    if isinstance(value, Path):
        value = str(value)
    if isinstance(value, str):
        return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'
    if isinstance(value, list):
        return "[" + ", ".join(_toml_value(v) for v in value) + "]"
    if isinstance(value, dict):
        return "{" + ", ".join(f"{k} = {_toml_value(v)}" for k, v in value.items()) + "}"
    raise TypeError(f"cannot write {value!r} as TOML")


def render(obj, with_help: bool = True) -> str:
    """TOML for a config object (its current values), each option preceded by its help."""
    lines = []
    own = set(type(obj).__dict__.get("__annotations__", {}))
    # The daemon's own options first, then those it shares (common/metrics_options.py).
    for field in sorted(dataclasses.fields(obj), key=lambda f: f.name not in own):
        if with_help:
            lines.append(f"# {field.metadata.get('help', '')}")
        lines.append(f"{field.name} = {_toml_value(getattr(obj, field.name))}")
        if with_help:
            lines.append("")
    return "\n".join(lines) + "\n"


def render_sample(cls) -> str:
    return render(cls())
