"""Checks of InstanceSpec.secret_env: environment variables filled from secrets."""
from __future__ import annotations

import re

from common.errors import InvalidArgument, NotFound
from common.ids import check_name
from scheduler.auth import policy
from scheduler.state import secrets as secret_state

ENV_KEY_RE = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*\Z")
MAX_SECRET_ENV = 64
SECRET_USE = "secret.use"


def instance_secrets(spec) -> dict:
    """{"secret_env": {...}} for a spec that references secrets, else {} (so specs
    without secrets keep their shape)."""
    if not spec.secret_env:
        return {}
    if len(spec.secret_env) > MAX_SECRET_ENV:
        raise InvalidArgument("spec.secret_env", f"at most {MAX_SECRET_ENV} variables")
    for var, name in spec.secret_env.items():
        if not ENV_KEY_RE.match(var):
            raise InvalidArgument("spec.secret_env", f"invalid variable name {var!r}")
        if var in spec.env:
            raise InvalidArgument("spec.secret_env", f"${var} is also set in spec.env")
        check_name(name, "spec.secret_env")
    return {"secret_env": dict(spec.secret_env)}


def require_secret_use(project: str, spec: dict) -> None:
    """PERMISSION_DENIED naming `secret.use` unless the caller may put the project's
    secrets into an instance: one that references any (as env or files) receives
    their values, which `instance.create` alone must not reveal."""
    if spec.get("secret_env") or spec.get("secret_files"):
        policy.require(SECRET_USE, project)


def check_secrets_exist(state, project: str, spec: dict) -> None:
    """NOT_FOUND naming the first referenced secret the project does not hold (on a read view)."""
    for var, name in sorted((spec.get("secret_env") or {}).items()):
        if secret_state.by_name(state, project, name) is None:
            raise NotFound(f"secret {name!r} (for ${var}) not found in project {project!r}")