"""Checks of InstanceSpec.secret_files: secrets a VM receives as files (cloud-init write_files).

Only the secret's name is stored with the instance; the leader decrypts the value
when it asks the agent to make the VM (scheduler/secrets/vm_delivery.py).
"""
from __future__ import annotations

import posixpath

from common.errors import InvalidArgument, NotFound
from common.ids import check_name
from scheduler.state import secrets as secret_state

MAX_SECRET_FILES = 16
MAX_GUEST_PATH = 255
# Paths cloud-init would write somewhere surprising, or that would not be files at all.
_REFUSED_PREFIXES = ("/proc/", "/sys/", "/dev/")


def check_guest_path(path: str, field: str = "spec.secret_files") -> str:
    """`path` when it is an absolute, normalized file path a guest can hold."""
    if not path.startswith("/") or path.endswith("/"):
        raise InvalidArgument(field, f"{path!r} is not an absolute file path")
    if len(path) > MAX_GUEST_PATH:
        raise InvalidArgument(field, f"path {path[:40]!r}… is longer than {MAX_GUEST_PATH} characters")
    if posixpath.normpath(path) != path or "/../" in f"{path}/":
        raise InvalidArgument(field, f"{path!r} is not a normalized path (no '.', '..' or '//')")
    if any(ch in path for ch in "\0\n\r\"\\") or not path.isprintable():
        raise InvalidArgument(field, f"{path!r} holds characters a path in the guest may not")
    if path.startswith(_REFUSED_PREFIXES):
        raise InvalidArgument(field, f"{path!r} is in a kernel filesystem of the guest")
    return path


def instance_secret_files(spec) -> dict:
    """{"secret_files": {...}} for a VM spec that asks for secret files, else {}.

    Containers take secrets as environment variables (secret_env); a VM has no
    environment of its own, so it takes them only as files."""
    kind = spec.kind or "container"
    if kind == "vm" and spec.secret_env:
        raise InvalidArgument("spec.secret_env", "a VM has no environment to fill; use secret_files "
                                                 "(cloud instance create … --secret-file SECRET:/path)")
    if not spec.secret_files:
        return {}
    if kind != "vm":
        raise InvalidArgument("spec.secret_files", "secret files are for kind 'vm'; containers "
                                                   "take secrets as secret_env")
    if len(spec.secret_files) > MAX_SECRET_FILES:
        raise InvalidArgument("spec.secret_files", f"at most {MAX_SECRET_FILES} files")
    for path, name in spec.secret_files.items():
        check_guest_path(path)
        check_name(name, "spec.secret_files")
    return {"secret_files": dict(spec.secret_files)}


def check_secret_files_exist(state, project: str, spec: dict) -> None:
    """NOT_FOUND naming the first secret file whose secret the project does not hold (on a read view)."""
    for path, name in sorted((spec.get("secret_files") or {}).items()):
        if secret_state.by_name(state, project, name) is None:
            raise NotFound(f"secret {name!r} (for {path}) not found in project {project!r}")