"""The version of thecloud this process runs (what a rolling upgrade changes)."""
from __future__ import annotations

import functools
from importlib import metadata


@functools.cache
def installed_version() -> str:
    """The distribution's version when first asked; "0.0.0+unknown" from a bare checkout.

    Cached because `pip install --upgrade` rewrites the metadata under a running
    process: until it restarts, it must go on reporting the code it really runs.
    Daemons ask once at start-up.
    """
    try:
        return metadata.version("thecloud")
    except metadata.PackageNotFoundError:
        return "0.0.0+unknown"
