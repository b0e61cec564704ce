"""Who is calling: resolved once per call by the interceptor, read by servicers.

Servicers call `current()` for the identity, `visible_projects()` for the projects
whose resources the caller may see, and `require(permission, project)` when what
a call needs depends on the record it touches (say, whose token is revoked).
Outside a gRPC call (tests, the reconciler) the identity is the system itself.
"""
from __future__ import annotations

import contextvars
from dataclasses import dataclass, field

from common.errors import NotFound, PermissionDenied

CERTIFICATE, TOKEN = "certificate", "token"


@dataclass(frozen=True)
class Identity:
    """A resolved caller. `bindings` are (role, project) pairs, project "" = cluster-wide;
    `role_permissions` maps each of those roles to its permission patterns."""

    name: str
    kind: str                         # "user", "service-account", "admin", "scheduler", "agent", "system"
    via: str                          # CERTIFICATE or TOKEN
    principal_id: str = ""
    token_id: str = ""
    superuser: bool = False           # admin certificate, peer scheduler, or an admin binding
    bindings: tuple[tuple[str, str], ...] = ()
    role_permissions: dict = field(default_factory=dict, compare=False, hash=False)
    scope_project: str = ""           # a scoped token: only this project...
    scope_role: str = ""
    scope_permissions: tuple[str, ...] = ()  # ...and only these permissions
    address: str = ""

    @property
    def audit_name(self) -> str:
        return self.name if self.via == TOKEN else f"cert:{self.name}"

    def member_of(self, project: str) -> bool:
        """Holds any role in `project` (cluster-wide roles count)."""
        if self.scope_project and self.scope_project != project:
            return False
        return self.superuser or any(p in ("", project) for _, p in self.bindings)

    def projects(self) -> set[str] | None:
        """The projects it holds a role in; None means every project."""
        if self.scope_project:
            return {self.scope_project}
        if self.superuser or any(p == "" for _, p in self.bindings):
            return None
        return {p for _, p in self.bindings}


SYSTEM = Identity(name="system", kind="system", via=CERTIFICATE, superuser=True)

_current: contextvars.ContextVar[Identity] = contextvars.ContextVar("thecloud_identity", default=SYSTEM)


def current() -> Identity:
    return _current.get()


def bind(identity: Identity) -> contextvars.Token:
    return _current.set(identity)


def unbind(token: contextvars.Token) -> None:
    try:
        _current.reset(token)
    except ValueError:
        # A stream's generator may be finished from another context; the next call binds anew.
        _current.set(SYSTEM)


def visible_projects() -> set[str] | None:
    """The projects the caller may see resources of; None means all of them."""
    return current().projects()


def require_visible(project: str, what: str = "project") -> None:
    """NOT_FOUND, never PERMISSION_DENIED, for a project the caller holds no role in:
    whether it exists is none of the caller's business."""
    if not current().member_of(project):
        raise NotFound(f"{what} {project!r} not found")


__all__ = ["Identity", "SYSTEM", "current", "visible_projects", "require_visible",
           "NotFound", "PermissionDenied"]
