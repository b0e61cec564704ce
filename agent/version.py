"""The agent's version, as reported at join and in GetInfo."""
from __future__ import annotations

from common.version import installed_version


def agent_version() -> str:
    # Cached at the first call (start-up): a `pip install --upgrade` under the
    # running agent must not make it report code it is not running yet.
    return installed_version()
