"""The agent's version, as reported at join and in GetInfo."""
from __future__ import annotations

from importlib import metadata


def agent_version() -> str:
    try:
        return metadata.version("thecloud")
    except metadata.PackageNotFoundError:
        return "0.0.0+unknown"
