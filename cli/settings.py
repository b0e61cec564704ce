"""Where the `cloud` command finds the cluster and its admin certificate.

Each setting comes from, in order of precedence: the command-line flag, the
environment (THECLOUD_ENDPOINTS, THECLOUD_CA, THECLOUD_CERT, THECLOUD_KEY,
THECLOUD_PROJECT), then the config file: `--config`, else $THECLOUD_CONFIG,
else $XDG_CONFIG_HOME/thecloud/cli.toml (~/.config/thecloud/cli.toml).
Relative certificate paths in the file are relative to the file's directory.
"""
from __future__ import annotations

import os
import re
from dataclasses import dataclass
from pathlib import Path

from common.config import ConfigError, load, option, render
from common.tls import TlsFiles

from cli.errors import UsageError

ENV_PREFIX = "THECLOUD_"
CONFIG_ENV = "THECLOUD_CONFIG"
_ENDPOINT_RE = re.compile(r"^(\[[0-9a-fA-F:.]+\]|[A-Za-z0-9.-]+):\d{1,5}\Z")


@dataclass
class CliConfig:
    endpoints: list[str] = option([], "Scheduler API addresses (host:port); every one is tried in turn.")
    ca: str = option("", "The cluster CA certificate (PEM) the schedulers' certificates are checked against.")
    cert: str = option("", "The admin client certificate (PEM) presented to the schedulers.")
    key: str = option("", "The key of the admin client certificate (PEM).")
    project: str = option("default", "The project commands act on unless --project is given.")
    token: str = option("", "API token sent with every call (`cloud login` writes it; keep this file "
                            "mode 0600); empty: the certificate's own identity.")


@dataclass(frozen=True)
class ClientSettings:
    """What a command needs to reach the cluster."""

    endpoints: tuple[str, ...]
    tls: TlsFiles
    project: str
    config_path: Path
    token: str = ""


def default_config_path(env: dict[str, str] | None = None) -> Path:
    """$THECLOUD_CONFIG, else $XDG_CONFIG_HOME/thecloud/cli.toml, else ~/.config/thecloud/cli.toml."""
    env = os.environ if env is None else env
    if env.get(CONFIG_ENV):
        return Path(env[CONFIG_ENV]).expanduser()
    base = Path(env["XDG_CONFIG_HOME"]) if env.get("XDG_CONFIG_HOME") else Path.home() / ".config"
    return base / "thecloud" / "cli.toml"


def split_endpoints(value: str | list[str] | tuple[str, ...]) -> tuple[str, ...]:
    """"a:1, b:2,a:1" -> ("a:1", "b:2"): trimmed, empty items dropped, duplicates removed."""
    items = value.split(",") if isinstance(value, str) else list(value)
    seen: dict[str, None] = {}
    for item in items:
        item = str(item).strip()
        if item:
            if not _ENDPOINT_RE.match(item):
                raise UsageError(f"endpoint {item!r} is not host:port")
            seen.setdefault(item, None)
    return tuple(seen)


def load_cli_config(path: Path, endpoints_flag: str | None = None,
                    project_flag: str | None = None) -> CliConfig:
    """The merged config: flags over environment over the file at `path` (which may be absent)."""
    overrides = {"project": project_flag}
    if endpoints_flag is not None:
        overrides["endpoints"] = endpoints_flag
    try:
        return load(CliConfig, path, ENV_PREFIX, overrides)
    except ConfigError as err:
        raise UsageError(f"config: {err}") from None
    except (OSError, ValueError) as err:  # tomllib.TOMLDecodeError is a ValueError
        raise UsageError(f"config {path}: {err}") from None


def resolve(endpoints_flag: str | None = None, config_flag: str | None = None,
            project_flag: str | None = None) -> ClientSettings:
    """Settings for one command; UsageError says what is missing and where to put it."""
    path = Path(config_flag).expanduser() if config_flag else default_config_path()
    if config_flag and not path.exists():
        raise UsageError(f"config file {path} does not exist")
    config = load_cli_config(path, endpoints_flag, project_flag)
    endpoints = split_endpoints(config.endpoints)
    if not endpoints:
        raise UsageError(
            f"no scheduler endpoints: pass --endpoint HOST:PORT, set THECLOUD_ENDPOINTS "
            f"or write `endpoints` in {path} (`make up` writes it)")
    base = path.parent

    def tls_path(key: str) -> Path:
        value = getattr(config, key)
        if not value:
            raise UsageError(f"no `{key}` path for the admin certificate: set it in {path} "
                             f"or THECLOUD_{key.upper()}")
        resolved = Path(value).expanduser()
        resolved = resolved if resolved.is_absolute() else base / resolved
        if not resolved.exists():
            raise UsageError(f"{key} file {resolved} does not exist")
        return resolved

    tls = TlsFiles(tls_path("ca"), tls_path("cert"), tls_path("key"))
    return ClientSettings(endpoints, tls, config.project or "default", path, config.token)


def write_cli_config(path: Path, config: CliConfig, header: str = "") -> Path:
    """Write `config` as TOML (with each option's help) to `path`, atomically."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    text = "".join(f"# {line}\n" for line in header.splitlines()) + render(config)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    # Mode 0600 from the start: the file may hold an API token.
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as f:
        f.write(text)
    os.replace(tmp, path)
    return path

